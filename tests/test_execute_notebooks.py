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
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "execute_notebooks.py"


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
    (tmp_path / "_config.yml").write_text("execute:\n  timeout: 60\n  exclude_patterns: ['chapters/skipped*']\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    _notebook(tmp_path / "chapters" / "one.ipynb", "print(1 + 1)")
    _notebook(tmp_path / "chapters" / "two.ipynb", "import os\nprint(os.getcwd())")
    _notebook(tmp_path / "chapters" / "skipped.ipynb", "raise SystemExit('must not run')")
    return tmp_path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args], capture_output=True, text=True)


def test_executes_the_toc_notebooks_into_the_cache_myst_nb_reads(small_book):
    from jupyter_cache import get_cache

    done = _run(small_book, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert "2 notebook(s), 0 alone, then 2 at a time" in done.stdout
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


def test_alone_runs_first_with_every_core_then_the_others_one_thread_each(small_book):
    from jupyter_cache import get_cache

    probe = "import os  # {}\nprint(os.environ.get('TF_NUM_INTRAOP_THREADS', 'every core'))"
    for name in ("one", "two", "three"):  # each its own code: jupyter-cache matches notebooks by their code
        _notebook(small_book / "chapters" / f"{name}.ipynb", probe.format(name))
    toc = small_book / "_toc.yml"
    toc.write_text(toc.read_text() + "  - file: chapters/three\n")
    done = _run(small_book, "--jobs", "2", "--alone", "chapters/three.ipynb")
    assert done.returncode == 0, done.stderr
    assert "3 notebook(s), 1 alone, then 2 at a time" in done.stdout
    order = [line.split()[1] for line in done.stdout.splitlines() if "Executed notebook" in line]
    assert order[0] == "chapters/three.ipynb:"
    cache = get_cache(str(small_book / "_build" / ".jupyter_cache"))
    for name, threads in (("three", "every core"), ("one", "1"), ("two", "1")):
        _, merged = cache.merge_match_into_notebook(nbformat.read(small_book / "chapters" / f"{name}.ipynb", as_version=4))
        assert merged.cells[0].outputs[0]["text"].strip() == threads, name


def test_first_must_name_a_notebook_the_build_executes(small_book):
    done = _run(small_book, "--first", "chapters/skipped.ipynb")
    assert done.returncode == 2
    assert "--first names notebooks the build does not execute: chapters/skipped.ipynb" in done.stderr
    assert not (small_book / "_build").exists()


@pytest.mark.slow
def test_sphinx_executed_no_notebook_itself(built_book):
    """Every notebook came from the parallel step; MyST-NB only read the cache."""
    log = (ROOT / "_build" / "make-book.log").read_text()
    assert "Executing notebook" not in log, "MyST-NB executed a notebook that the parallel step had cached"
    assert "Using cached notebook" in log or "every notebook is in the cache" in log


@pytest.mark.slow
def test_two_processes_needing_the_same_model_train_it_once(tmp_path):
    """mnist_course.train locks each run: the second process waits and loads what the first trained."""
    program = textwrap.dedent("""\
        import json, mnist_course
        run = mnist_course.train(mnist_course.SEED_MODEL.replace(epochs=1, batch_size=2048), quiet=True)
        print(json.dumps({"from_cache": run.from_cache, "test_accuracy": run.test_accuracy}))
    """)
    env = dict(os.environ, MNIST_COURSE_CACHE=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="2")
    processes = [subprocess.Popen([sys.executable, "-c", program], env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sorted(result["from_cache"] for result in results) == [False, True]
    assert results[0]["test_accuracy"] == results[1]["test_accuracy"]
    assert len(list((tmp_path / "cache" / "runs").iterdir())) == 1
