"""The documents of the book's table of contents, ``_toc.yml``.

Read by sphinx-external-toc, the parser Jupyter Book's own build uses: a ``_toc.yml``
it cannot parse (a document listed twice, a wrong key) is rejected with its message.
"""

from __future__ import annotations

from pathlib import Path

from sphinx_external_toc.api import FileItem, GlobItem
from sphinx_external_toc.parsing import parse_toc_yaml


def book_files(root: Path) -> list[str]:
    """Every document of the book in ``root``, root first, then in reading order."""
    site = parse_toc_yaml(Path(root) / "_toc.yml")
    documents: list[str] = []

    def visit(docname: str) -> None:
        documents.append(docname)
        for subtree in site[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, GlobItem):
                    # The build, the tests and the launch notebooks need every document by name.
                    raise ValueError(f"_toc.yml: list each document with file:, not glob: {item}")
                if isinstance(item, FileItem):  # a document, not a URL
                    visit(item)

    visit(site.root.docname)
    return documents


def site_pages(root: Path) -> list[str]:
    """Every page of the built site a reader can open: the redirecting index, the book's
    documents, and Sphinx's index and search pages."""
    return ["index", *book_files(root), "genindex", "search"]
