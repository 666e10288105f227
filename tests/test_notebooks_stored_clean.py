"""Notebooks are stored without outputs: the build executes them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRACKED = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
NOTEBOOKS = sorted({*TRACKED, *(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))})


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_has_no_outputs(path):
    notebook = json.loads((ROOT / path).read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path}: cell {index} is stored with outputs (strip them)"
            assert cell.get("execution_count") is None, f"{path}: cell {index} has an execution count"


def test_there_are_notebooks():
    assert any(p.startswith("book/") for p in NOTEBOOKS)


CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def _cells(path):
    return [(cell, "".join(cell["source"])) for cell in json.loads(path.read_text())["cells"]]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_follows_the_launch_notebook_rules(path):
    """What tools/launch_notebooks.py relies on to turn a chapter into a plain Jupyter notebook.

    Glue bookkeeping only in remove-cell cells (the launch notebook drops them); no install
    cell (the build writes it from _config.yml); every figure is the output of its own
    cell, with caption, name and alt text in the cell's metadata.
    """
    for cell, source in _cells(path):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "markdown":
            assert "{glue:figure}" not in source and "{raw}" not in source, f"{path.name}: a figure or raw HTML only the site shows"
            continue
        if cell["cell_type"] != "code":
            continue
        assert "google.colab" not in source and "%pip" not in source, f"{path.name}: install cells are generated, not stored"
        if "remove-cell" not in tags:
            assert "myst_nb" not in source and "glue(" not in source, f"{path.name}: glue belongs in remove-cell cells:\n{source[:300]}"
        figure = cell.get("metadata", {}).get("mystnb", {})
        if "figure" in figure:
            assert figure["figure"].get("caption") and figure["figure"].get("name"), f"{path.name}: a figure cell without caption or name"
            assert figure.get("image", {}).get("alt"), f"{path.name}: figure {figure['figure'].get('name')} has no alt text"
            assert "remove-cell" not in tags, f"{path.name}: figure {figure['figure'].get('name')} would not be in the launch notebook"
