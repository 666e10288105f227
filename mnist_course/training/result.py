"""A finished training run: its history, scores and weights, and the model they make."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .config import ModelConfig, describe
from .inputs import model_inputs
from .model import build_model


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
            model.predict(model_inputs(x[start : start + chunk], self.config), batch_size=1024, verbose=0)
            for start in range(0, len(x), chunk)
        ]) if len(x) else np.zeros((0, 10), np.float32)

    def print_log(self) -> None:
        print(f"Training {describe(self.config)}")
        if self.from_cache:
            # On stderr: a live kernel says why the epochs fly by; the book's pages drop stderr.
            print("(loaded from the training cache: the lines below were recorded when it trained)", file=sys.stderr)
        for line in self.log:
            print(line)
