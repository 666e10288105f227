"""MNIST as a model sees it: flattened, scaled and (for one experiment) with its pixels shuffled."""

from __future__ import annotations

import numpy as np

from ..data import flatten, load_mnist, scale
from .config import TUTORIAL_MODEL, ModelConfig

PERMUTATION_SEED = 1234


def pixel_permutation() -> np.ndarray:
    """The one fixed shuffle of the 784 pixel positions used by ``permute_pixels``."""
    return np.random.default_rng(PERMUTATION_SEED).permutation(28 * 28)


def model_inputs(images: np.ndarray, config: ModelConfig) -> np.ndarray:
    """``images`` (as MNIST stores them) as the inputs of ``config``'s model."""
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
    return (model_inputs(x_train, config), y_train), (model_inputs(x_test, config), y_test)
