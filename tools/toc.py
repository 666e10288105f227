"""The documents of a Jupyter Book table of contents (``_toc.yml``, format jb-book)."""

from __future__ import annotations

from pathlib import Path

import yaml


def book_files(root: Path) -> list[str]:
    """Every document of the book in ``root`` (its ``_toc.yml``), root first, in reading order."""
    return toc_files(yaml.safe_load((Path(root) / "_toc.yml").read_text()))


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
