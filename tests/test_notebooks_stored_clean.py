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


def test_chapters_install_the_library_in_colab():
    """Each chapter's first code cell installs the course from the repository of _config.yml, in Colab only."""
    import yaml

    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        first = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
        source = "".join(first["source"])
        assert 'if "google.colab" in sys.modules:' in source, f"{path.name}: no Colab install cell first"
        assert f"git+{url}" in source, f"{path.name}: the Colab cell does not install from {url}"
