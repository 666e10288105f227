"""Shared fixtures: the real MNIST data and the built book."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
# The helpers the tests share with the build and the benchmark (browser, toc, environment)
# live in tools/: the tests import them by name, from here.
sys.path.insert(0, str(ROOT / "tools"))


def pytest_configure(config):
    from environment import with_defaults

    # The environment of `make book` (tools/environment.py), here and in every process a test
    # starts: the same training cache, so tests see the runs the pages show; a quiet TensorFlow.
    os.environ.update(with_defaults())
    if not os.environ.get("MNIST_DIR"):
        pytest.exit(
            "MNIST_DIR is not set. The tests run on the real MNIST files: set MNIST_DIR to the folder "
            "holding the four IDX files (on the project's machines: export MNIST_DIR=$PWD/../shared/mnist).",
            returncode=2,
        )


@pytest.fixture(scope="session")
def mnist():
    import mnist_course

    return mnist_course.load_mnist()


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once per test session, as `make book` does, and return _build/html.

    On CI (CI=true) the build starts from nothing: no HTML, no execution cache,
    no training cache. Elsewhere it reuses the caches, so a rebuild is quick.
    """
    if os.environ.get("CI") == "true":
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
    venv = Path(sys.executable).parent.parent
    result = subprocess.run(["make", "--no-print-directory", "book", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True)
    # Kept for the tests that check how the book was built (and for a reader of a failed run).
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "make-book.log").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    if result.returncode != 0:
        pytest.fail(f"The book did not build (exit {result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return HTML


def pytest_collection_modifyitems(items):
    # `make check` deselects slow tests: a test that needs the built book is slow whether or not it says so.
    for item in items:
        if "built_book" in item.fixturenames and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
