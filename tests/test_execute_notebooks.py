"""`make book` executes the notebooks in parallel before Sphinx (tools/execute_notebooks.py).

The parallel step is worth something only if MyST-NB then finds every notebook
in jupyter-cache: these tests check that, that failures are reported by name,
and that two notebooks needing the same model train it once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, *sources: str) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


@pytest.fixture
def small_book(tmp_path) -> Path:
    """A book of three notebooks (one of them excluded from execution) and a page."""
    (tmp_path / "_toc.yml").write_text(textwrap.dedent("""\
        format: jb-book
        root: intro
        chapters:
          - file: chapters/one
          - file: chapters/two
            sections:
              - file: chapters/skipped
    """))
    (tmp_path / "_config.yml").write_text(
        "execute:\n  execute_notebooks: cache\n  timeout: 60\n  exclude_patterns: ['chapters/skipped*']\n"
    )
    (tmp_path / "intro.md").write_text("# Intro\n")
    _notebook(tmp_path / "chapters" / "one.ipynb", "print(1 + 1)")
    _notebook(tmp_path / "chapters" / "two.ipynb", "import os\nprint(os.getcwd())")
    _notebook(tmp_path / "chapters" / "skipped.ipynb", "raise SystemExit('must not run')")
    return tmp_path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.execute_notebooks", "--root", str(root), *args], cwd=ROOT, capture_output=True, text=True)


def test_executes_the_toc_notebooks_into_the_cache_myst_nb_reads(small_book):
    from jupyter_cache import get_cache

    done = _run(small_book, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert "2 notebook(s), 2 at a time" in done.stdout
    cache = get_cache(str(small_book / "_build" / ".jupyter_cache"))
    for name, expected in (("one", "2"), ("two", str(small_book / "chapters"))):
        # Matched as MyST-NB matches: by the notebook as stored (no outputs).
        _, merged = cache.merge_match_into_notebook(nbformat.read(small_book / "chapters" / f"{name}.ipynb", as_version=4))
        assert merged.cells[0].outputs[0]["text"].strip() == expected  # run in the notebook's own folder
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(small_book / "chapters" / "skipped.ipynb", as_version=4))

    again = _run(small_book)
    assert again.returncode == 0 and "every notebook is in the cache" in again.stdout


def test_a_failing_notebook_is_named_with_its_error_and_the_others_still_run(small_book):
    _notebook(small_book / "chapters" / "one.ipynb", "x = 1", "x / 0")
    done = _run(small_book, "--jobs", "2")
    assert done.returncode == 1
    assert "chapters/one.ipynb FAILED" in done.stderr and "ZeroDivisionError" in done.stderr
    assert "chapters/two.ipynb: Executed notebook" in done.stdout


def test_each_kernel_gets_its_share_of_the_cores_even_when_one_notebook_is_left(small_book):
    """Every model of the book trains with the same threads: a notebook executed on its own
    (the others cached) does not get more, or its training times would not compare."""
    from jupyter_cache import get_cache

    from mnist_course.training import available_cores

    probe = "import os  # {}\nprint(os.environ.get('TF_NUM_INTRAOP_THREADS', 'every core'))"
    share = str(max(1, available_cores() // 2))
    for name in ("one", "two"):  # each its own code: jupyter-cache matches notebooks by their code
        _notebook(small_book / "chapters" / f"{name}.ipynb", probe.format(name))
    done = _run(small_book, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert f"2 notebook(s), 2 at a time, {share} thread(s) each" in done.stdout
    _notebook(small_book / "chapters" / "two.ipynb", probe.format("two, edited"))
    again = _run(small_book, "--jobs", "2")
    assert again.returncode == 0, again.stderr
    assert f"1 notebook(s), 1 at a time, {share} thread(s) each" in again.stdout
    cache = get_cache(str(small_book / "_build" / ".jupyter_cache"))
    for name in ("one", "two"):
        _, merged = cache.merge_match_into_notebook(nbformat.read(small_book / "chapters" / f"{name}.ipynb", as_version=4))
        assert merged.cells[0].outputs[0]["text"].strip() == share, name


def test_a_kernel_that_dies_as_it_starts_is_started_again(small_book, tmp_path):
    """As a kernel that lost the race for its ports does: it dies before it answers, having run
    nothing. Here a kernel of its own, which dies the first time it is started."""
    first_start = tmp_path / "first-start"
    kernel = tmp_path / "jupyter" / "kernels" / "dies-once"
    kernel.mkdir(parents=True)
    (kernel / "launch.py").write_text(textwrap.dedent(f"""\
        import pathlib, sys
        marker = pathlib.Path({str(first_start)!r})
        if not marker.exists():
            marker.touch()
            sys.exit(1)
        from ipykernel import kernelapp
        kernelapp.launch_new_instance()
    """))
    (kernel / "kernel.json").write_text(json.dumps(
        {"argv": [sys.executable, str(kernel / "launch.py"), "-f", "{connection_file}"], "display_name": "dies once", "language": "python"}))
    notebook = small_book / "chapters" / "one.ipynb"
    _notebook(notebook, "print('ran')")
    content = nbformat.read(notebook, as_version=4)
    content.metadata["kernelspec"] = {"name": "dies-once", "display_name": "dies once", "language": "python"}
    nbformat.write(content, notebook)
    done = subprocess.run([sys.executable, "-m", "tools.execute_notebooks", "--root", str(small_book), "--jobs", "2"], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter")))
    assert done.returncode == 0, done.stderr
    assert first_start.exists(), "the kernel was never started by the test's kernelspec"
    assert "one.ipynb: the kernel died as it started" in done.stderr
    assert "chapters/one.ipynb: Executed notebook" in done.stdout


def test_a_kernel_that_dies_is_named_and_the_others_still_run(small_book):
    _notebook(small_book / "chapters" / "one.ipynb", "import os\nos._exit(1)")
    done = _run(small_book, "--jobs", "2")
    assert done.returncode == 1
    assert "chapters/one.ipynb FAILED" in done.stderr and "1 notebook(s) failed: chapters/one.ipynb" in done.stderr
    assert "chapters/two.ipynb: Executed notebook" in done.stdout


def test_leaves_execution_to_jupyter_book_unless_it_uses_the_cache(small_book):
    config = small_book / "_config.yml"
    config.write_text(config.read_text().replace("execute_notebooks: cache", "execute_notebooks: force"))
    done = _run(small_book)
    assert done.returncode == 0 and "left to jupyter-book" in done.stdout
    assert not (small_book / "_build").exists()


def test_first_must_name_a_notebook_the_build_executes(small_book):
    done = _run(small_book, "--first", "chapters/skipped.ipynb")
    assert done.returncode == 2
    assert "--first names notebooks the build does not execute: chapters/skipped.ipynb" in done.stderr
    assert not (small_book / "_build").exists()


@pytest.mark.slow
def test_two_processes_needing_the_same_model_train_it_once(tmp_path):
    """mnist_course.train locks each run: a second process that asks for the run while the first
    trains it waits, then loads it."""
    from filelock import FileLock, Timeout

    from mnist_course import TUTORIAL_MODEL
    from mnist_course.training.cache import cache_key

    settings = dict(epochs=1, batch_size=1024)
    # The first process holds the lock (at the end of its epoch) until the test has seen the
    # second one wait for it, however slowly either starts: no timing to guess. Were the lock
    # broken, the second would train too, never say it waits, and the test would fail.
    release = tmp_path / "release"
    program = textwrap.dedent("""\
        import json, pathlib, sys, time, mnist_course
        release, deadline = pathlib.Path(sys.argv[1]), time.monotonic() + 300
        def hold(*args):
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        run = mnist_course.train(mnist_course.TUTORIAL_MODEL.replace(**json.loads(sys.argv[2])), quiet=True, on_epoch=hold)
        print(json.dumps({"from_cache": run.from_cache, "test_accuracy": run.test_accuracy}))
    """)
    env = dict(os.environ, MNIST_COURSE_CACHE=str(tmp_path / "cache"))
    command = [sys.executable, "-c", program, str(release), json.dumps(settings)]
    trainer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    waiter = None
    try:
        lock = tmp_path / "cache" / "locks" / f"{cache_key(TUTORIAL_MODEL.replace(**settings))}.lock"
        deadline = time.monotonic() + 120
        while True:  # until the first process holds the lock
            assert time.monotonic() < deadline and trainer.poll() is None, "the first process never took the lock"
            if lock.exists():
                probe = FileLock(lock)
                try:
                    probe.acquire(timeout=0)
                except Timeout:
                    break
                probe.release()
            time.sleep(0.1)
        waiter = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said, waiting = [], threading.Event()

        def read_stderr():
            for line in waiter.stderr:
                said.append(line)
                if "Waiting for another process that is training this model" in line:
                    waiting.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not waiting.wait(1):
            if waiter.poll() is not None or trainer.poll() is not None or time.monotonic() > deadline:
                reader.join(5)
                pytest.fail("the second process did not wait for the first:\n" + "".join(said))
        release.touch()
        trained = trainer.communicate(timeout=120)[0]
        waiter.wait(timeout=120)
        reader.join(10)
        loaded = waiter.stdout.read()
        assert trainer.returncode == 0 and waiter.returncode == 0, "".join(said)
    finally:
        for process in (trainer, waiter):
            if process is not None:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                for pipe in (process.stdout, process.stderr):
                    if pipe is not None:
                        pipe.close()
    trained, loaded = (json.loads(output.strip().splitlines()[-1]) for output in (trained, loaded))
    assert (trained["from_cache"], loaded["from_cache"]) == (False, True)
    assert trained["test_accuracy"] == loaded["test_accuracy"]
    assert len(list((tmp_path / "cache" / "runs").iterdir())) == 1
