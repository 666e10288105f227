"""Model builders and cached training.

Every chapter trains through :func:`train`. A run is stored on disk under a key
made of the model configuration, a fingerprint of the data, and the TensorFlow
and Keras versions, so a chapter that needs a model another chapter trained
(or a rebuild with nothing changed) loads it instead of training again.

The library on the launch branch comes with the runs of the build that made the
launch notebooks, in ``build_runs/`` beside this file (``tools/launch_notebooks.py``
puts them there): in Binder, which installs that copy, a chapter loads the model its
page shows instead of training it in a kernel that has 2 GB of memory at most. (A
JupyterHub whose image installs the course from elsewhere has no such runs and trains.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import math
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock, Timeout

from .data import data_fingerprint, flatten, load_mnist, scale

__all__ = [
    "ModelConfig", "TrainedModel", "build_model", "prepare_data", "train", "cache_dir",
    "available_cores", "tensorflow_threads", "current_runs", "fitted_rows", "TUTORIAL_MODEL", "HIDDEN_MODEL", "BEST_MODEL",
]

# The runs shipped with the launch notebooks (read only; absent in the course's repository).
BUILD_RUNS = Path(__file__).resolve().parent / "build_runs"

# Bump when the meaning of a stored run changes, so old caches are not reused.
CACHE_FORMAT = 4  # 4: runs record threads and cores
PERMUTATION_SEED = 1234


@dataclass(frozen=True)
class ModelConfig:
    """Everything that determines a training run (and so its cache key)."""

    hidden: tuple[int, ...] = ()  # units of each hidden Dense layer
    hidden_activation: str = "relu"
    output_activation: str = "sigmoid"  # "linear" with from_logits: no activation, the outputs are logits
    from_logits: bool = False  # the loss takes the output layer's values as logits (Keras' standard way)
    dropout: float = 0.0  # dropout rate after each hidden layer
    optimizer: str = "adam"
    learning_rate: float = 0.001  # Adam's default
    lr_schedule: str = "constant"  # or "cosine": decay the learning rate to 0 over the run
    loss: str = "sparse_categorical_crossentropy"
    epochs: int = 5
    batch_size: int = 32
    validation_split: float = 0.0  # fraction of the training set Keras holds out (the last rows)
    validation_seed: int | None = None  # shuffle the training rows with this seed first: a random hold-out
    scale_pixels: bool = True  # divide the grey values by 255
    permute_pixels: bool = False  # shuffle the 784 pixel positions with one fixed permutation
    seed: int = 0
    track_epochs: bool = False  # keep weights and full train/test metrics after every epoch

    def key(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)


# The model of the tutorial this course starts from: Dense(10, sigmoid), adam, 5 epochs, batch 32.
TUTORIAL_MODEL = ModelConfig()
# The same, with one hidden layer of 100 relu units (the tutorial's second model).
HIDDEN_MODEL = ModelConfig(hidden=(100,))
# The best purely dense network this course trains within a minute on 2 CPU cores:
# two hidden layers with dropout, softmax outputs, larger batches, a decaying learning rate.
BEST_MODEL = ModelConfig(
    hidden=(256, 256), dropout=0.2, output_activation="softmax", batch_size=128, epochs=15, lr_schedule="cosine"
)


@dataclass
class TrainedModel:
    """The outcome of a training run, as computed or as loaded from the cache."""

    config: ModelConfig
    history: dict[str, list[float]]  # what Keras' fit reported per epoch (running averages over the epoch)
    epoch_seconds: list[float]
    train_loss: float  # evaluated on the whole training set after the last epoch
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    weights: list[np.ndarray]
    params: int
    threads: int  # the threads TensorFlow's operations could use while it trained
    cores: int  # the CPU cores the training process could run on
    log: list[str]
    epoch_metrics: dict[str, list[float]] = field(default_factory=dict)  # with track_epochs
    epoch_weights: list[list[np.ndarray]] = field(default_factory=list)  # with track_epochs
    from_cache: bool = False

    @property
    def train_seconds(self) -> float:
        return float(sum(self.epoch_seconds))

    def keras_model(self):
        """A compiled Keras model holding the trained weights."""
        model = build_model(self.config)
        model.set_weights(self.weights)
        return model

    def predict_proba(self, x: np.ndarray, chunk: int = 10_000) -> np.ndarray:
        """The model's 10 outputs for each image of ``x`` (images as stored by MNIST).

        ``chunk`` images at a time: Keras' ``predict`` copies all it is given, and the
        60,000 training images as floats at once would take a live kernel over 1 GB.
        """
        model = self.keras_model()
        return np.concatenate([
            model.predict(_inputs(x[start : start + chunk], self.config), batch_size=1024, verbose=0)
            for start in range(0, len(x), chunk)
        ]) if len(x) else np.zeros((0, 10), np.float32)

    def print_log(self) -> None:
        print(f"Training {describe(self.config)}")
        if self.from_cache:
            # On stderr: a live kernel says why the epochs fly by; the book's pages drop stderr.
            print("(loaded from the training cache: the lines below were recorded when it trained)", file=sys.stderr)
        for line in self.log:
            print(line)


def fitted_rows(config: ModelConfig, n_train: int = 60_000) -> int:
    """How many of ``n_train`` training images ``config``'s model trains on.

    Keras' ``validation_split`` keeps the first ``floor(n (1 - split))`` rows for
    training and holds out the rest, unshuffled.
    """
    return math.floor(n_train * (1 - config.validation_split))


def changes_from(config: ModelConfig, base: ModelConfig = TUTORIAL_MODEL) -> dict:
    """The settings in which ``config`` differs from ``base`` (the tutorial's model by default)."""
    mine, theirs = config.key(), base.key()
    return {name: value for name, value in mine.items() if value != theirs[name]}


def architecture(config: ModelConfig) -> str:
    """The layer sizes of ``config``'s network, as in "784-100-10"."""
    return "-".join(str(units) for units in (784, *config.hidden, 10))


def describe(config: ModelConfig) -> str:
    return f"{architecture(config)} network, {config.epochs} epochs at batch {config.batch_size}"


def cache_dir() -> Path:
    """Where training runs are stored: ``$MNIST_COURSE_CACHE``, else ``~/.cache/mnist_course``."""
    configured = os.environ.get("MNIST_COURSE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mnist_course"


def pixel_permutation() -> np.ndarray:
    """The one fixed shuffle of the 784 pixel positions used by ``permute_pixels``."""
    return np.random.default_rng(PERMUTATION_SEED).permutation(28 * 28)


def _inputs(images: np.ndarray, config: ModelConfig) -> np.ndarray:
    x = flatten(images)
    x = scale(x) if config.scale_pixels else x.astype(np.float32)
    if config.permute_pixels:
        x = x[:, pixel_permutation()]
    return x


def prepare_data(config: ModelConfig = TUTORIAL_MODEL):
    """MNIST as the model of ``config`` sees it: flattened to 784 values, scaled and permuted as configured.

    With ``validation_seed`` the training rows come in one fixed random order, so the
    last rows that ``validation_split`` holds out are a random part of the training set.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    if config.validation_seed is not None:
        order = np.random.default_rng(config.validation_seed).permutation(len(y_train))
        x_train, y_train = x_train[order], y_train[order]
    return (_inputs(x_train, config), y_train), (_inputs(x_test, config), y_test)


def build_model(config: ModelConfig = TUTORIAL_MODEL):
    """The Keras model of ``config``, compiled, with weights initialised from ``config.seed``."""
    import keras

    keras.utils.set_random_seed(config.seed)
    layers = [keras.Input(shape=(784,))]
    for units in config.hidden:
        layers.append(keras.layers.Dense(units, activation=config.hidden_activation))
        if config.dropout:
            layers.append(keras.layers.Dropout(config.dropout))
    output_layer, loss = output_layer_and_loss(config)
    model = keras.Sequential([*layers, output_layer])
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        steps = config.epochs * math.ceil(fitted_rows(config) / config.batch_size)
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    elif config.lr_schedule != "constant":
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', not {config.lr_schedule!r}")
    optimizer = keras.optimizers.get({"class_name": config.optimizer, "config": {"learning_rate": learning_rate}})
    # steps_per_execution runs 32 batches per call into TensorFlow: the same
    # updates in the same order, about twice as fast on a small CPU model.
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=32)
    return model


def output_layer_and_loss(config: ModelConfig):
    """The output layer of ``config``'s network and the loss it is compiled with."""
    import keras

    if config.from_logits:
        if config.output_activation != "linear" or config.loss != "sparse_categorical_crossentropy":
            raise ValueError("from_logits=True needs output_activation='linear' and the sparse categorical cross-entropy")
        # The standard way: a layer with no activation (its outputs are logits), and a loss told so
        return keras.layers.Dense(10), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    # The tutorial's way: the activation sits on the layer, the loss is named
    return keras.layers.Dense(10, activation=config.output_activation), config.loss


def print_summary(model) -> None:
    """Keras' ``model.summary()`` as plain text (its colours are too faint on the book's code background)."""
    model.summary(print_fn=lambda line, *args, **kwargs: print(line))


def available_cores() -> int:
    """The CPU cores this process may run on (a container's CPU quota is not seen, only its cpuset)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; macOS and Windows lack it
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tensorflow_threads() -> int:
    """How many threads TensorFlow's operations use here: as configured, else one per available core.

    ``make book`` gives each notebook its share of the cores (``TF_NUM_INTRAOP_THREADS``) while it
    runs several at a time; a training time means little without it.
    """
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads() or int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0)
    return configured or available_cores()


@functools.lru_cache(maxsize=None)
def _data_fingerprint() -> str:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return data_fingerprint(x_train, y_train, x_test, y_test)


@functools.lru_cache(maxsize=None)
def _code_fingerprint() -> str:
    here = Path(__file__).parent
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in ("training.py", "data.py"))).hexdigest()[:16]


def _cache_key(config: ModelConfig) -> str:
    import keras
    import tensorflow as tf

    material = {
        "config": config.key(),
        "data": _data_fingerprint(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
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
        if _cache_key(config) == folder.name:
            current.append(folder)
    return current


def _evaluate(model, x, y, chunk: int = 20000) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on all of ``x``, as ``model.evaluate`` computes them.

    One compiled call per large chunk is several times faster than ``evaluate``
    after every epoch, which matters for the explorer's 75 epochs. It must run
    as a graph, like ``evaluate``: only there does Keras hand a sigmoid or
    softmax layer's logits to the loss.
    """
    import keras
    import tensorflow as tf

    if not hasattr(model, "_course_eval"):
        loss_fn = keras.losses.get(model.loss)

        @tf.function(reduce_retracing=True)
        def evaluate_chunk(inputs, labels):
            outputs = model(inputs, training=False)
            return tf.reduce_sum(loss_fn(labels, outputs)), tf.reduce_sum(
                tf.cast(tf.equal(tf.argmax(outputs, axis=1), tf.cast(labels, tf.int64)), tf.int32)
            )

        model._course_eval = evaluate_chunk
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), chunk):
        loss, right = model._course_eval(x[start : start + chunk], y[start : start + chunk])
        total_loss += float(loss)
        correct += int(right)
    return total_loss / len(x), correct / len(x)


class _EpochRecorder:
    """A Keras callback (built lazily so importing this module does not import TensorFlow)."""

    @staticmethod
    def make(config, data, log, epoch_seconds, epoch_metrics, epoch_weights, on_epoch):
        import keras
        import tensorflow as tf

        # Converted once: handing numpy arrays to TensorFlow after every epoch
        # copies all 70000 images each time, a quarter of the explorer's build.
        (x_train, y_train), (x_test, y_test) = (
            (tf.convert_to_tensor(x), tf.convert_to_tensor(y)) for x, y in data
        ) if config.track_epochs else data
        measured = {"train": (x_train, y_train), "test": (x_test, y_test)}
        if config.validation_split:  # "train" is then the rows the model trains on, as Keras splits them
            fitted = fitted_rows(config, len(y_train))
            measured["train"] = (x_train[:fitted], y_train[:fitted])
            measured["validation"] = (x_train[fitted:], y_train[fitted:])

        class Recorder(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                seconds = time.perf_counter() - self.started
                epoch_seconds.append(seconds)
                shown = " - ".join(f"{name} {value:.4f}" for name, value in (logs or {}).items())
                line = f"Epoch {epoch + 1}/{config.epochs} - {seconds:.1f} s - {shown}"
                if config.track_epochs:
                    for part, (x, y) in measured.items():
                        loss, accuracy = _evaluate(self.model, x, y)
                        epoch_metrics.setdefault(f"{part}_loss", []).append(float(loss))
                        epoch_metrics.setdefault(f"{part}_accuracy", []).append(float(accuracy))
                    epoch_weights.append([w.copy() for w in self.model.get_weights()])
                log.append(line)
                print(line, flush=True)
                if on_epoch is not None:
                    on_epoch(epoch + 1, config.epochs, logs or {})

        return Recorder()


def _fit(config: ModelConfig, on_epoch: Callable | None) -> TrainedModel:
    data = prepare_data(config)
    (x_train, y_train), (x_test, y_test) = data
    model = build_model(config)
    log: list[str] = []
    epoch_seconds: list[float] = []
    epoch_metrics: dict[str, list[float]] = {}
    epoch_weights: list[list[np.ndarray]] = []
    recorder = _EpochRecorder.make(config, data, log, epoch_seconds, epoch_metrics, epoch_weights, on_epoch)
    fitted = model.fit(
        x_train,
        y_train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_split=config.validation_split,
        verbose=0,
        callbacks=[recorder],
    )
    if config.track_epochs:  # the last epoch's evaluation is already of the finished model
        train_loss, train_accuracy, test_loss, test_accuracy = (
            epoch_metrics[name][-1] for name in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
        )
    else:
        train_loss, train_accuracy = model.evaluate(x_train, y_train, batch_size=2048, verbose=0)
        test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=2048, verbose=0)
    return TrainedModel(
        config=config,
        history={name: [float(v) for v in values] for name, values in fitted.history.items()},
        epoch_seconds=epoch_seconds,
        train_loss=float(train_loss),
        train_accuracy=float(train_accuracy),
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        weights=model.get_weights(),
        params=int(model.count_params()),
        threads=tensorflow_threads(),
        cores=available_cores(),
        log=log,
        epoch_metrics=epoch_metrics,
        epoch_weights=epoch_weights,
    )


_SCALARS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "params", "threads", "cores")


def _save(run: TrainedModel, folder: Path) -> None:
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


def _load(config: ModelConfig, folder: Path) -> TrainedModel | None:
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


def train(
    config: ModelConfig = TUTORIAL_MODEL,
    *,
    use_cache: bool = True,
    quiet: bool = False,
    on_epoch: Callable[[int, int, dict], None] | None = None,
) -> TrainedModel:
    """Train the model of ``config`` on MNIST, or load the identical run from the cache.

    Prints one line per epoch (or, for a cached run, the lines recorded when it
    trained). ``use_cache=False`` always trains and stores nothing.
    ``on_epoch(epoch, epochs, logs)`` is called after each epoch that really trains.
    """
    if not use_cache:
        return _fit_and_report(config, quiet, on_epoch)
    key = _cache_key(config)
    folder = cache_dir() / "runs" / key
    # The build executes notebooks in parallel and several need the same run:
    # whoever takes the lock first trains it, the others wait and load it.
    with _run_lock(key):
        run = _load(config, folder)
        if run is None:
            run = _load(config, BUILD_RUNS / key)
        if run is None:
            run = _fit_and_report(config, quiet, on_epoch)
            _save(run, folder)
            return run
    if not quiet:
        run.print_log()
    return run


def _fit_and_report(config: ModelConfig, quiet: bool, on_epoch: Callable | None) -> TrainedModel:
    if quiet:
        import io

        # Quiet keeps the epoch lines out of the output, but a live notebook must not sit
        # silent for minutes: one progress line on stderr, rewritten each epoch (the
        # book build drops stderr from its pages).
        started = time.perf_counter()
        name = f"{architecture(config)}, {config.output_activation} output"

        def report(epoch, epochs, logs):
            end = "\n" if epoch == epochs else ""
            print(f"\rTraining the {name}: epoch {epoch}/{epochs}, {time.perf_counter() - started:.0f} s", end=end, file=sys.stderr, flush=True)
            if on_epoch is not None:
                on_epoch(epoch, epochs, logs)

        with contextlib.redirect_stdout(io.StringIO()):
            return _fit(config, report)
    print(f"Training {describe(config)}", flush=True)
    return _fit(config, on_epoch)


@contextlib.contextmanager
def _run_lock(key: str):
    """An exclusive lock on one run of the cache, held across processes (released if one dies).

    Where the lock cannot be taken (a read-only cache, say), it goes on
    unlocked: the rename in ``_save`` still keeps the cache whole, at worst a
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
