"""Binder's environment, made from requirements.txt alone (tests/conftest.py's binder_python),
holds everything the chapters and exercises import.

Its own file so that `make test` makes it early, on the worker that does not build the book:
the launch notebooks then run in it in JupyterLab (tests/test_launch_notebooks.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_fresh_environment_imports_the_course(binder_python):
    result = subprocess.run(
        [str(binder_python), "-c", "import mnist_course, keras, tensorflow, ipywidgets, otter, jupyterlab; print(mnist_course.__file__)"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, f"importing the course in Binder's environment failed:\n{result.stderr[-4000:]}"
    # requirements.txt's `-e .`: this repository's library (or, once tests/test_launch_notebooks.py
    # has put the launch tree's copy in its place, as Binder does, that copy).
    where = Path(result.stdout.strip()).parent
    assert where == ROOT / "mnist_course" or (where / "build_runs").is_dir(), f"mnist_course came from {where}"
