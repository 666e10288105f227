"""Execute the book's notebooks in parallel into jupyter-cache, before ``jupyter-book build``.

Jupyter Book 1 executes notebooks one after another, and one training run of
these small Keras models keeps only about one core busy. ``make book``
therefore runs this script first: it executes every notebook of ``_toc.yml``
whose outputs are not yet in the cache, one per core, and stores them where
MyST-NB looks (``_build/.jupyter_cache``, matched by the hash of the
notebook's code). The Sphinx build that follows finds every notebook cached
and executes nothing.

``--first`` starts the longest notebooks first, so that none of them starts
last. Each kernel's TensorFlow gets its share of the cores (the cores divided
by the notebooks that can run at once: ``--jobs``, or the book's notebooks if
fewer), whatever else is still pending: every model of the book trains under
the same conditions, so the training times a page compares were measured alike. Two notebooks that need the same model do
not train it twice: ``mnist_course.train`` holds a lock per run.

A notebook that fails (an error in a cell, a kernel that dies) is reported by
name with its error, and the exit code is 1; the others are still executed and
cached. A kernel that dies as it starts, before it has run anything, is started
again (``execute``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib.resources import files
from pathlib import Path, PurePosixPath

if not __package__:
    sys.exit("Run this from the repository's folder as a module: .venv/bin/python -m tools.execute_notebooks")

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

from mnist_course import MnistDataError, load_mnist
from mnist_course.explorer import STATIC_PAGE_VARIABLE
from mnist_course.training import available_cores
from tools.toc import book_files

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def execute_settings(root: Path) -> dict:
    """The ``execute`` section of the book's ``_config.yml`` over Jupyter Book's defaults.

    Jupyter Book merges them so too: a setting _config.yml leaves out (the timeout, say)
    has the same default here as in the Sphinx build, and the book's value has one home.
    """
    defaults = yaml.safe_load((files("jupyter_book") / "default_config.yml").read_text())["execute"]
    return defaults | (yaml.safe_load((root / "_config.yml").read_text()).get("execute") or {})


def notebooks_to_execute(root: Path, execute_config: dict) -> list[Path]:
    """The notebooks of the table of contents that MyST-NB would execute, in reading order."""
    excluded = execute_config["exclude_patterns"]
    notebooks = []
    for name in book_files(root):
        path = root / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        # The same test as MyST-NB's: the absolute path, matched from the right.
        if path.exists() and not any(PurePosixPath(path.as_posix()).match(pattern) for pattern in excluded):
            notebooks.append(path.resolve())
    return notebooks


# A kernel that dies before it answers, having run nothing: most often it lost the race for
# the ports jupyter_client picked for it (picked free, then bound by the kernel, meanwhile taken
# by another process: "ZMQError: Address already in use"; jupyter/jupyter_client, nteract/papermill#511).
# Another start picks other ports.
KERNEL_DIED_AT_START = "Kernel died before replying to kernel_info"
KERNEL_STARTS = 3


def execute(path: Path, timeout: int, allow_errors: bool, environment: dict):
    """Run one notebook in its own folder, as MyST-NB would; return it executed, its seconds and any error.

    ``environment`` is set here, in the worker, so that the kernel it starts inherits it. A
    kernel that dies before it has run anything is started again: KERNEL_STARTS starts in all.
    """
    os.environ.update(environment)
    started = time.perf_counter()
    for start in range(1, KERNEL_STARTS + 1):
        notebook = nbformat.read(path, as_version=4)
        try:
            result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=allow_errors, meta_override=True)
        except RuntimeError as error:
            if KERNEL_DIED_AT_START in str(error) and start < KERNEL_STARTS:
                print(f"execute: {path.name}: the kernel died as it started ({KERNEL_DIED_AT_START}); starting another", file=sys.stderr, flush=True)
                continue
            return notebook, time.perf_counter() - started, traceback.format_exc()
        except Exception:  # a kernel that died while running: nbclient raises instead of reporting
            return notebook, time.perf_counter() - started, traceback.format_exc()
        return notebook, result.time, result.exc_string if result.err is not None else None


def _execute_and_cache(paths, jobs, environment, root, cache, settings) -> list[str]:
    """Execute ``paths``, ``jobs`` at a time, storing each success in ``cache``; return the failures."""
    failed = []
    if not paths:
        return failed
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(execute, path, *settings, environment): path for path in paths}
        for future in as_completed(futures):
            name = str(futures[future].relative_to(root))
            try:
                notebook, seconds, error = future.result()
            except Exception:  # the worker process itself died (killed, out of memory)
                notebook, seconds, error = None, 0.0, traceback.format_exc()
            if error is not None:
                failed.append(name)
                print(f"execute: {name} FAILED after {seconds:.1f} s\n{error}", file=sys.stderr, flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, str(futures[future]), data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            print(f"execute: {name}: Executed notebook in {seconds:.2f} seconds", flush=True)
    return failed


def _resolve(root: Path, names: list[str], notebooks: list[Path], option: str) -> list[Path]:
    paths = [(root / name).resolve() for name in names]
    unknown = [name for name, path in zip(names, paths) if path not in notebooks]
    if unknown:
        raise ValueError(f"execute: {option} names notebooks the build does not execute: {', '.join(unknown)}")
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (with _toc.yml)")
    parser.add_argument(
        "--jobs", type=int, default=int(os.environ.get("BOOK_JOBS") or available_cores()),
        help="notebooks at a time (default: $BOOK_JOBS, else the available cores)",
    )
    parser.add_argument(
        "--first", nargs="*", default=[], metavar="NOTEBOOK",
        help="notebooks to start before the others (the longest ones, so that none of them starts last)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    execute_config = execute_settings(root)
    mode = execute_config["execute_notebooks"]
    if mode != "cache" or execute_config["cache"] or execute_config["run_in_temp"]:
        # Only jupyter-cache at its default place, in the notebook's folder, is what this script fills.
        print(f"execute: _config.yml executes notebooks with {mode!r} (or another cache or folder): left to jupyter-book")
        return 0
    settings = (int(execute_config["timeout"]), bool(execute_config["allow_errors"]))
    notebooks = notebooks_to_execute(root, execute_config)
    try:
        first = _resolve(root, args.first, notebooks, "--first")
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    notebooks = first + [path for path in notebooks if path not in first]
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))

    pending = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            pending.append(path)
    if not pending:
        print("execute: every notebook is in the cache")
        return 0
    jobs = max(1, args.jobs)
    # Each kernel's TensorFlow gets its share of the cores: two notebooks with thread pools
    # as wide as the machine slowed each other down (clean build 179 s with them, 156 s
    # without). The share depends on the whole book, not on how many notebooks are pending,
    # so that a model retrained alone is timed as the others were.
    share = str(max(1, available_cores() // min(jobs, len(notebooks))))
    threads = {name: os.environ.get(name, share) for name in THREAD_VARIABLES}  # a value already set wins
    print(
        f"execute: {len(pending)} notebook(s), {min(jobs, len(pending))} at a time, "
        f"{threads['TF_NUM_INTRAOP_THREADS']} thread(s) each",
        flush=True,
    )
    started = time.perf_counter()
    if "MNIST_DIR" not in os.environ:
        # A first download of MNIST happens here, once, not in two kernels at the same time.
        try:
            load_mnist()
        except MnistDataError as error:
            print(f"execute: {error}", file=sys.stderr)
            return 1

    # The pages these kernels make are static: widgets that need a kernel say so (mnist_course.explorer).
    static = {STATIC_PAGE_VARIABLE: "1"}
    environment = threads | static
    failed = _execute_and_cache(pending, jobs, environment, root, cache, settings)
    print(f"execute: done in {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"execute: {len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
