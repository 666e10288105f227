"""What decides a training run: the model's settings, and the three models the course names."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


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
# The best purely dense network of the course, for a short run on a CPU: two hidden layers
# with dropout, softmax outputs, larger batches, a learning rate that decays over 10 epochs.
BEST_MODEL = ModelConfig(
    hidden=(256, 256), dropout=0.2, output_activation="softmax", batch_size=128, epochs=10, lr_schedule="cosine"
)


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
