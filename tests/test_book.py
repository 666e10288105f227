"""The built book: every page there, executed, with its figures and glued numbers."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

from exercise_helpers import NAMES, SOURCES, hidden_lines, solution_lines
from pages import figures, main_text, page, source_of, toc_files

pytestmark = pytest.mark.slow


def test_index_and_every_toc_page_built(built_book):
    assert (built_book / "index.html").exists()
    for doc in toc_files():
        assert (built_book / f"{doc}.html").exists(), f"{doc} is in _toc.yml but was not built"


def test_notebook_pages_are_executed_without_errors(built_book):
    for doc in toc_files():
        if source_of(doc).suffix != ".ipynb" or doc.startswith("exercises/"):
            continue  # the exercises are shown unexecuted, as students get them
        soup = page(built_book, doc)
        assert soup.select(".cell_output"), f"{doc}: no executed output"
        text = main_text(soup)
        for marker in ("Traceback (most recent call last)", "Error:", "[glue]"):
            assert marker not in text, f"{doc}: {marker!r} in the page"
        assert not soup.select(".output.error, .output.traceback, .stderr"), f"{doc}: error output"


def test_dataset_chapter_figures_and_glued_numbers(built_book, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    soup = page(built_book, "book/01_dataset")
    images = figures(soup)
    assert len(images) >= 4
    text = main_text(soup)
    counts = np.bincount(y_train)
    expected = [
        f"There are {len(x_train):,} training images and {len(x_test):,} test images",
        f"from {x_train.min()} (background) to {x_train.max()} (the darkest ink)",
        f"{(x_train == 0).mean() * 100:.1f} % of all training pixels are exactly 0",
        f"The most common training digit is {counts.argmax()} ({counts.max():,} images)",
        f"the rarest is {counts.argmin()} ({counts.min():,} images)",
        f"right on only {np.bincount(y_test).max() / len(y_test) * 100:.1f} %",
    ]
    for claim in expected:
        assert claim in text, f"missing or wrong: {claim!r}"


def test_glue_keys_all_resolve(built_book):
    """An unknown glue key leaves its raw role in the page (and a warning); none may remain."""
    for doc in toc_files():
        text = (built_book / f"{doc}.html").read_text(encoding="utf-8")
        assert not re.search(r"\{glue:(text|figure|any|md)\}", text), doc


def test_sphinx_executed_no_notebook_itself(built_book):
    """Every notebook came from make book's parallel step (tools/execute_notebooks.py); MyST-NB only read the cache."""
    log = (built_book.parent / "make-book.log").read_text()
    assert "Executing notebook" not in log, "MyST-NB executed a notebook that the parallel step had cached"
    assert "Using cached notebook" in log or "every notebook is in the cache" in log


def test_no_solutions_or_hidden_tests_in_built_html(built_book):
    """The exercises' pages on the site show what students get: no solution, no hidden test."""
    folder = built_book / "exercises"
    for name in NAMES:
        # Each exercise's page against its own solutions: a later exercise may hand out
        # an earlier one's answer as its starting code (exercise 4 builds exercise 3's model).
        text = html.unescape((folder / f"{name}.html").read_text(encoding="utf-8", errors="replace"))
        source = SOURCES / f"{name}.ipynb"
        for line in solution_lines(source) + hidden_lines(source):
            assert line not in text, f"{name}: {line!r} (solution or hidden test) is in the built HTML"
