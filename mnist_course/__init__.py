"""Helpers for the course book *How a dense network reads handwritten digits*.

The chapters import what they compute from here: data loading, plots, model
builders and cached training. TensorFlow is imported only when a model is built.
"""

from .data import MnistDataError, flatten, load_mnist, scale
from .training import BEST_MODEL, HIDDEN_MODEL, TUTORIAL_MODEL, ModelConfig, TrainedModel, build_model, prepare_data, train

__all__ = [
    "MnistDataError",
    "load_mnist",
    "flatten",
    "scale",
    "ModelConfig",
    "TUTORIAL_MODEL",
    "HIDDEN_MODEL",
    "BEST_MODEL",
    "TrainedModel",
    "build_model",
    "prepare_data",
    "train",
]
