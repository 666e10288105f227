"""Execute the book's notebooks in parallel into jupyter-cache, before ``jupyter-book build``.

Jupyter Book 1 executes notebooks one after another, and one training run of
these small Keras models keeps only one core busy. ``make book`` therefore runs
this script first: it executes, one per core, every notebook of ``_toc.yml``
whose outputs are not yet in the cache, and stores them where MyST-NB looks
(``_build/.jupyter_cache``, matched by the hash of the notebook's code). The
Sphinx build that follows finds every notebook cached and executes nothing.

Two notebooks that need the same model do not train it twice:
``mnist_course.train`` holds a lock per run.

A notebook that fails is reported with its traceback and the exit code is 1;
the others are still executed and cached. ``--first`` starts the longest
notebooks first: in reading order the longest one would start last, alone.
``--alone`` runs a notebook before all others, by itself with every core: for
a page that reports how long its models take to train on this machine, a
neighbour on the other core would make the machine look slower than it is.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc: dict) -> list[str]:
    """Every ``file:`` of a jb-book table of contents, in reading order."""
    found = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return found


def notebooks_to_execute(root: Path) -> list[Path]:
    """The notebooks of the table of contents that the build executes (not excluded in _config.yml)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    excluded = (yaml.safe_load((root / "_config.yml").read_text()).get("execute") or {}).get("exclude_patterns", [])
    notebooks = []
    for name in toc_files(toc):
        path = root / f"{name}.ipynb"
        if path.exists() and not any(fnmatch.fnmatch(f"{name}.ipynb", pattern) for pattern in excluded):
            notebooks.append(path)
    return notebooks


def execute(path: Path, timeout: int):
    """Run one notebook in its own folder, as MyST-NB would; return it executed, its seconds and any error."""
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False, meta_override=True)
    return notebook, result.time, result.exc_string if result.err is not None else None


def _resolve(root: Path, names: list[str], notebooks: list[Path], option: str) -> list[Path]:
    paths = [(root / name).resolve() for name in names]
    unknown = [name for name, path in zip(names, paths) if path not in notebooks]
    if unknown:
        raise SystemExit(f"execute: {option} names notebooks the build does not execute: {', '.join(unknown)}")
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (with _toc.yml)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BOOK_JOBS", os.cpu_count() or 1)))
    parser.add_argument(
        "--alone", nargs="*", default=[], metavar="NOTEBOOK",
        help="notebooks to run before all others, one at a time with every core (pages that report training times)",
    )
    parser.add_argument(
        "--first", nargs="*", default=[], metavar="NOTEBOOK",
        help="notebooks to start before the others (the longest ones, so that none of them starts last)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    config = yaml.safe_load((root / "_config.yml").read_text())
    timeout = int((config.get("execute") or {}).get("timeout", 30))
    notebooks = notebooks_to_execute(root)
    try:
        alone = _resolve(root, args.alone, notebooks, "--alone")
        first = _resolve(root, args.first, notebooks, "--first")
    except SystemExit as error:
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
    by_itself = [path for path in alone if path in pending]
    together = [path for path in pending if path not in by_itself]
    jobs = max(1, min(args.jobs, len(together)))
    print(f"execute: {len(pending)} notebook(s), {len(by_itself)} alone, then {jobs} at a time", flush=True)
    started = time.perf_counter()
    failed = []
    for path in by_itself:
        failed += _execute_and_cache([path], 1, root, cache, timeout)
    if jobs > 1:
        # The kernels inherit this: with one TensorFlow thread pool per notebook
        # as wide as the machine, two notebooks slow each other down more than
        # they gain (clean build measured at 179 s with them, 156 s without).
        for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ.setdefault(variable, "1")
    failed += _execute_and_cache(together, jobs, root, cache, timeout)
    print(f"execute: done in {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"execute: {len(failed)} notebook(s) failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


def _execute_and_cache(paths: list[Path], jobs: int, root: Path, cache, timeout: int) -> list[Path]:
    """Execute ``paths``, ``jobs`` at a time, storing each success in ``cache``; return the failures."""
    failed = []
    if not paths:
        return failed
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(execute, path, timeout): path for path in paths}
        for future in as_completed(futures):
            path = futures[future]
            name = path.relative_to(root)
            notebook, seconds, error = future.result()
            if error is not None:
                failed.append(name)
                print(f"execute: {name} FAILED after {seconds:.1f} s\n{error}", file=sys.stderr, flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            print(f"execute: {name}: Executed notebook in {seconds:.2f} seconds", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
