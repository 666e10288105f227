"""The documents of the book's table of contents, ``_toc.yml``.

Read by sphinx-external-toc, the parser Jupyter Book's own build uses: a ``_toc.yml``
the book would reject is rejected here too, with the same message.
"""

from __future__ import annotations

from pathlib import Path

from sphinx_external_toc.api import FileItem
from sphinx_external_toc.parsing import parse_toc_yaml


def book_files(root: Path) -> list[str]:
    """Every document of the book in ``root``, root first, then in reading order."""
    site = parse_toc_yaml(Path(root) / "_toc.yml")
    documents: list[str] = []

    def visit(docname: str) -> None:
        documents.append(docname)
        for subtree in site[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, FileItem):  # a document (not a glob or a URL)
                    visit(item)

    visit(site.root.docname)
    return documents
