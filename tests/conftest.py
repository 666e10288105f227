"""Shared fixtures: the real MNIST data and the built book."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def pytest_configure(config):
    from tools.environment import with_defaults

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


# One id per `pytest` command, shared by its test workers (pytest-xdist gives it to each).
SESSION = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
BUILD_LOG = ROOT / "_build" / "make-book.log"
BUILT_IN_SESSION = ROOT / "_build" / ".built-in-session"  # the session id, then " ok" or " failed"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once per test session, as `make book` does, and return _build/html.

    The first test worker to ask builds it; another one asking meanwhile waits for that build
    and uses it (a second `make book` would rewrite pages the first worker is reading). It reuses
    the caches in _build; CI starts from a clean clone, which has none (.ci/run).
    """
    from filelock import FileLock

    (ROOT / "_build").mkdir(exist_ok=True)
    with FileLock(ROOT / "_build" / ".build.lock"):
        done = BUILT_IN_SESSION.read_text().split() if BUILT_IN_SESSION.exists() else []
        if done[:1] != [SESSION]:
            venv = Path(sys.executable).parent.parent
            result = subprocess.run(["make", "--no-print-directory", "book", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True)
            # Kept for the tests that check how the book was built (and for a reader of a failed run).
            BUILD_LOG.write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
            done = [SESSION, "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"]
            BUILT_IN_SESSION.write_text(" ".join(done))
    if done[1] != "ok":
        log = BUILD_LOG.read_text()
        pytest.fail(f"The book did not build, {' '.join(done[1:])}; the end of {BUILD_LOG.relative_to(ROOT)}:\n{log[-12000:]}")
    return HTML


@pytest.fixture(scope="session")
def uv() -> Path:
    """uv, which the Makefile installs beside this Python: it resolves requirements.txt as pip
    does, in seconds."""
    path = Path(sys.executable).with_name("uv")
    if not path.exists():
        pytest.fail(f"{path} is missing: `make test` installs it (uv, from PyPI)")
    return path


@pytest.fixture(scope="session")
def binder_python(uv, tmp_path_factory) -> Path:
    """A fresh virtual environment from requirements.txt alone, as Binder (repo2docker) builds one,
    made once per test session and shared by its workers (the first to ask makes it, another
    asking meanwhile waits). Returns its Python.

    Made by uv, not by pip as Binder makes it: the same pinned requirements, resolved the same
    way in practice, in seconds. A failure only pip's resolver would hit is not seen here."""
    from filelock import FileLock

    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", f"runtime.txt says {runtime}"
    session_temp = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session_temp = session_temp.parent  # each worker's folder is in the session's
    venv = session_temp / "binder-env"
    python, outcome = venv / "bin" / "python", session_temp / "binder-env.outcome"
    # Compiled at install, as Binder's pip does: else every kernel compiles what it
    # imports (TensorFlow: 10 s) wherever Python may not write bytecode.
    with FileLock(session_temp / "binder-env.lock"):
        if not outcome.exists():
            # Without ensurepip (6 s): uv installs pip, which Binder's environment has, with the rest.
            steps = [[sys.executable, "-m", "venv", "--without-pip", str(venv)],
                     [str(uv), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), "-r", "requirements.txt", "pip"]]
            result = "ok"
            for step in steps:
                run = subprocess.run(step, cwd=ROOT, capture_output=True, text=True)
                if run.returncode != 0:
                    result = f"{' '.join(map(str, step))} failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
                    break
            outcome.write_text(result)
    if outcome.read_text() != "ok":
        pytest.fail(f"The fresh environment from requirements.txt could not be made: {outcome.read_text()}")
    return python


# `make test` runs two workers, each taking whole files in this order (--dist loadfile
# --no-loadscope-reorder; a worker takes the next file when it has two tests or fewer left).
# The book build first, so that it starts at once; meanwhile the other worker makes Binder's
# fresh environment and runs the exercises, then the execution step, which needs no book either
# (whichever of the two ends first keeps its core busy). Then the two longest that need the book,
# so that neither starts late: the launch notebooks in JupyterLab and the site audit, one on each
# worker; then Draw a digit's page (a minute) and the files of ten seconds or more; then the
# short ones, by name, which even out the end.
FIRST_FILES = [
    "test_book.py",
    "test_binder_environment.py", "test_exercises.py", "test_execute_notebooks.py",
    "test_launch_notebooks.py", "test_site.py", "test_draw_digit.py",
    "test_explorer.py", "test_numpy_net.py", "test_training.py", "test_data.py",
]


def pytest_collection_modifyitems(items):
    for item in items:
        # `make check` deselects slow tests: a test that needs the built book is slow whether or not it says so.
        if "built_book" in item.fixturenames and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)

    def rank(indexed):
        index, item = indexed
        name = item.path.name
        # Within a file, the tests that need no book first: they run while the book builds.
        return (FIRST_FILES.index(name) if name in FIRST_FILES else len(FIRST_FILES), name, "built_book" in item.fixturenames, index)

    items[:] = [item for _, item in sorted(enumerate(items), key=rank)]
