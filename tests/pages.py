"""Reading the built HTML pages (for the build and claim tests)."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from tools import toc  # shared with the build

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every document of _toc.yml, in reading order, without extension."""
    return toc.book_files(ROOT)


def chapter_notebooks() -> list[str]:
    """The chapters that are notebooks (book/, in reading order): what a learner can launch."""
    return [doc for doc in toc_files() if doc.startswith("book/") and source_of(doc).suffix == ".ipynb"]


def source_of(doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{doc}{suffix}").exists():
            return ROOT / f"{doc}{suffix}"
    raise FileNotFoundError(doc)


def page(html_root: Path, doc: str) -> BeautifulSoup:
    return BeautifulSoup((html_root / f"{doc}.html").read_text(encoding="utf-8"), "html.parser")


def main_text(soup: BeautifulSoup) -> str:
    """The article's visible text, whitespace folded."""
    article = soup.select_one("article") or soup
    text = article.get_text("").replace("\u2019", "'")  # Sphinx's typographic apostrophes
    return " ".join(text.split())


def figures(soup: BeautifulSoup) -> list:
    """The images of the article (glued figures and cell outputs)."""
    article = soup.select_one("article") or soup
    return article.select("img")
