"""The documents of a Jupyter Book table of contents (``_toc.yml``, format jb-book)."""

from __future__ import annotations


def toc_files(toc: dict) -> list[str]:
    """Every ``file:`` of a jb-book table of contents, root first, in reading order."""
    found = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return found
