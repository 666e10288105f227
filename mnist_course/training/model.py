"""The Keras model of a configuration: layers, loss, optimizer."""

from __future__ import annotations

import math

from .config import TUTORIAL_MODEL, ModelConfig, fitted_rows


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
