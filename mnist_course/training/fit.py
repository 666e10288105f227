"""Training one model with Keras: the fit call, a line per epoch, and the scores at the end."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .config import ModelConfig, fitted_rows
from .inputs import prepare_data
from .model import build_model
from .result import TrainedModel
from .threads import available_cores, tensorflow_threads


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


def keras_fit(model, config: ModelConfig, x_train, y_train, callbacks=()):
    """The one call to Keras that trains: ``model.fit`` with the epochs, batch size and
    validation split of ``config``, its progress reported by ``callbacks`` instead of a bar."""
    return model.fit(
        x_train,
        y_train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_split=config.validation_split,
        verbose=0,
        callbacks=list(callbacks),
    )


def fit_model(config: ModelConfig, on_epoch: Callable | None) -> TrainedModel:
    """Train ``config``'s model on MNIST now and measure it (no cache: see ``train``)."""
    data = prepare_data(config)
    (x_train, y_train), (x_test, y_test) = data
    model = build_model(config)
    log: list[str] = []
    epoch_seconds: list[float] = []
    epoch_metrics: dict[str, list[float]] = {}
    epoch_weights: list[list[np.ndarray]] = []
    recorder = _EpochRecorder.make(config, data, log, epoch_seconds, epoch_metrics, epoch_weights, on_epoch)
    fitted = keras_fit(model, config, x_train, y_train, callbacks=[recorder])
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
