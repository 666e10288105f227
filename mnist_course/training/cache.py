"""The training cache: a run is stored under a key of everything that decides its result.

The key is made of the model configuration, a fingerprint of the data, the code of this
package and of the data loader, and the TensorFlow and Keras versions: edit any of them
and the run trains again. The launch notebooks' library also carries the build's runs
(``BUILD_RUNS``), read only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from ..data import data_fingerprint, load_mnist
from .config import ModelConfig
from .result import TrainedModel

# The runs shipped with the launch notebooks (read only; absent in the course's repository).
BUILD_RUNS = Path(__file__).resolve().parent.parent / "build_runs"

# Bump when the meaning of a stored run changes, so old caches are not reused.
CACHE_FORMAT = 4  # 4: runs record threads and cores


def cache_dir() -> Path:
    """Where training runs are stored: ``$MNIST_COURSE_CACHE``, else ``~/.cache/mnist_course``."""
    configured = os.environ.get("MNIST_COURSE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mnist_course"


@functools.lru_cache(maxsize=None)
def _data_fingerprint() -> str:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return data_fingerprint(x_train, y_train, x_test, y_test)


@functools.lru_cache(maxsize=None)
def _code_fingerprint() -> str:
    """A hash of every module of this package and of the data loader, so that a module added
    later counts as soon as it exists."""
    package = Path(__file__).parent
    # Not an editor's hidden lock or backup file (".#fit.py"); line endings as git stores them,
    # so that a checkout with CRLF endings keys its runs as the build that shipped them did.
    sources = sorted(path for path in package.glob("*.py") if not path.name.startswith(".")) + [package.parent / "data.py"]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def _installed_version(module: str) -> str:
    """The version of the distribution that installs ``module`` (tensorflow comes as tensorflow or
    tensorflow-cpu), read from its metadata: importing TensorFlow takes seconds, and every
    rebuild asks which runs are current. Imported only when the metadata cannot tell."""
    from importlib import metadata

    distributions = metadata.packages_distributions().get(module, [])
    if len(distributions) == 1:
        return metadata.version(distributions[0])
    return importlib.import_module(module).__version__


def cache_key(config: ModelConfig) -> str:
    material = {
        "config": config.key(),
        "data": _data_fingerprint(),
        "tensorflow": _installed_version("tensorflow"),
        "keras": _installed_version("keras"),
        "format": CACHE_FORMAT,
        # The code that decides a run's results: edit it and every run trains again.
        "code": _code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:20]


def current_runs(cache: Path | None = None) -> list[Path]:
    """The runs stored in ``cache`` (default: this machine's) that :func:`train` would load now.

    A run's folder is named by its key; a run whose key changed since (other code, data,
    TensorFlow or Keras) is left out.
    """
    runs = (cache or cache_dir()) / "runs"
    current = []
    for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
        try:
            stored = json.loads((folder / "run.json").read_text())["config"]
            config = ModelConfig(**{name: tuple(value) if isinstance(value, list) else value for name, value in stored.items()})
        except (OSError, KeyError, TypeError, ValueError):
            continue  # damaged or from another format: train would not load it either
        if cache_key(config) == folder.name:
            current.append(folder)
    return current


_SCALARS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "params", "threads", "cores")


def save_run(run: TrainedModel, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
    arrays = {f"w{i}": w for i, w in enumerate(run.weights)}
    for epoch, weights in enumerate(run.epoch_weights):
        arrays.update({f"e{epoch}_w{i}": w for i, w in enumerate(weights)})
    np.savez(staging / "weights.npz", **arrays)
    meta = {
        "config": run.config.key(),
        "history": run.history,
        "epoch_seconds": run.epoch_seconds,
        "log": run.log,
        "epoch_metrics": run.epoch_metrics,
        "n_weights": len(run.weights),
        **{name: getattr(run, name) for name in _SCALARS},
    }
    (staging / "run.json").write_text(json.dumps(meta, indent=1))
    # Rename last, so a half-written run is never taken for a finished one.
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    try:
        staging.rename(folder)
    except OSError:  # another process stored the same run meanwhile: keep theirs
        shutil.rmtree(staging, ignore_errors=True)


def load_run(config: ModelConfig, folder: Path) -> TrainedModel | None:
    try:
        meta = json.loads((folder / "run.json").read_text())
        with np.load(folder / "weights.npz") as stored:
            n = meta["n_weights"]
            weights = [stored[f"w{i}"] for i in range(n)]
            epochs = len(meta["epoch_metrics"].get("test_accuracy", []))
            epoch_weights = [[stored[f"e{e}_w{i}"] for i in range(n)] for e in range(epochs)]
        scalars = {name: meta[name] for name in _SCALARS}
    except (OSError, KeyError, ValueError):
        return None  # missing, damaged or from an older format: train again
    return TrainedModel(
        config=config,
        history=meta["history"],
        epoch_seconds=meta["epoch_seconds"],
        weights=weights,
        log=meta["log"],
        epoch_metrics=meta["epoch_metrics"],
        epoch_weights=epoch_weights,
        from_cache=True,
        **scalars,
    )


@contextlib.contextmanager
def run_lock(key: str):
    """An exclusive lock on one run of the cache, held across processes (released if one dies).

    Where the lock cannot be taken (a read-only cache, say), it goes on
    unlocked: the rename in ``save_run`` still keeps the cache whole, at worst a
    run trains twice.
    """
    lock = None
    try:
        locks = cache_dir() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        lock = FileLock(locks / f"{key}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            # On stderr: the build drops it from the pages; a live notebook shows why it pauses.
            print("Waiting for another process that is training this model...", file=sys.stderr, flush=True)
            lock.acquire()
    except OSError:  # cannot lock here (filelock's Timeout, an OSError too, is handled above)
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
