"""Binder's environment really runs the course: a fresh virtual environment built from
requirements.txt alone (as repo2docker does, with runtime.txt's Python) executes every
chapter notebook and every exercise solution.

The chapters reuse the training runs of the book build (same pinned TensorFlow, so the
same cache keys): this test is about the environment, and the build already trained
every model once. The exercise solutions train their own small models for real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def binder_python(tmp_path_factory, built_book):
    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", f"runtime.txt says {runtime}"
    venv = tmp_path_factory.mktemp("binder") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", "-r", "requirements.txt"], cwd=ROOT)
    return python


def _execute(python: Path, notebook: Path, workdir: Path) -> None:
    # Two notebooks at a time, each with one TensorFlow thread: two wide thread pools slow each other down.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    env.setdefault("MNIST_COURSE_CACHE", str(ROOT / "_build" / ".training_cache"))
    _run(
        [str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=900",
         "--output-dir", str(workdir), str(notebook)],
        cwd=workdir,
        env=env,
    )


def _execute_all(python: Path, notebooks: list[Path], workdir=None) -> None:
    """Two at a time: most of a notebook's time is its kernel starting and importing TensorFlow."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_execute, python, nb, workdir or nb.parent) for nb in notebooks]
        for future in futures:
            future.result()


def test_fresh_environment_imports_the_course(binder_python):
    result = _run([str(binder_python), "-c", "import mnist_course, keras, tensorflow, ipywidgets, otter, myst_nb; print(mnist_course.__file__)"])
    assert str(ROOT / "mnist_course") in result.stdout


def test_fresh_environment_runs_every_chapter(binder_python, tmp_path):
    chapters = sorted((ROOT / "book").glob("*.ipynb"))
    assert len(chapters) >= 6
    _execute_all(binder_python, chapters, tmp_path)


def test_fresh_environment_runs_every_exercise_solution(binder_python, tmp_path):
    autograder = tmp_path / "autograder"
    _run([str(binder_python), str(ROOT / "exercises" / "build.py"), "--no-run-tests", "--student-dir", str(tmp_path / "students"),
          "--autograder-dir", str(autograder)], cwd=ROOT)
    solutions = sorted(autograder.glob("*/*.ipynb"))
    assert len(solutions) >= 5
    _execute_all(binder_python, solutions)
