"""The tutorial's one-layer network written out in NumPy: forward pass, loss, gradient, SGD and Adam.

The chapter *Opening the box* shows these functions and trains with them; the
tests check :func:`gradient` against finite differences and the trained model
against Keras. Everything is plain array code: the parameters are a dict
``{"W": (784, 10) weights, "b": (10,) biases}``, as Keras' ``Dense(10)``
stores them, and work in float32 (like Keras) or float64 (for the gradient check).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .metrics import softmax

__all__ = [
    "init_params",
    "logits",
    "loss",
    "gradient",
    "sgd_step",
    "adam_step",
    "run_epoch",
    "OPTIMIZERS",
    "train",
    "NumpyRun",
    "accuracy",
    "predict_proba",
    "numerical_gradient",
    "relative_error",
    "gradient_check",
]

N_INPUTS, N_CLASSES = 28 * 28, 10


def init_params(rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """Starting weights drawn as Keras draws a Dense layer's (Glorot uniform), biases zero."""
    limit = np.sqrt(6 / (N_INPUTS + N_CLASSES))
    return {
        "W": rng.uniform(-limit, limit, size=(N_INPUTS, N_CLASSES)).astype(dtype),
        "b": np.zeros(N_CLASSES, dtype=dtype),
    }


def logits(params, x):
    """The 10 weighted sums z = xW + b of each image (a row of x)."""
    return x @ params["W"] + params["b"]


def loss(params, x, y):
    """Mean over the images of -log(softmax probability of the label)."""
    z = logits(params, x)
    z = z - z.max(axis=1, keepdims=True)  # same softmax, exp cannot overflow
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def gradient(params, x, y):
    """The derivatives of the loss with respect to W and b."""
    error = softmax(logits(params, x))  # p: 10 probabilities per image
    error[np.arange(len(y)), y] -= 1  # p - onehot(y)
    error /= len(y)  # the loss is a mean over the images
    return {"W": x.T @ error, "b": error.sum(axis=0)}


def sgd_step(params, grads, state, learning_rate=0.1):
    """Plain gradient descent: a small step against the gradient."""
    for name in params:
        params[name] -= learning_rate * grads[name]


def adam_step(params, grads, state, learning_rate=0.001,
              beta1=0.9, beta2=0.999, epsilon=1e-7):
    """Adam (Kingma and Ba), with Keras' default settings."""
    state["t"] = t = state.get("t", 0) + 1
    for name in params:
        g = grads[name]
        m = state.setdefault(f"m_{name}", np.zeros_like(g))
        v = state.setdefault(f"v_{name}", np.zeros_like(g))
        m += (1 - beta1) * (g - m)  # moving average of the gradient
        v += (1 - beta2) * (g * g - v)  # moving average of its square
        m_hat = m / (1 - beta1**t)  # both averages start at 0:
        v_hat = v / (1 - beta2**t)  # undo that bias
        params[name] -= learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)


def run_epoch(params, x, y, step, state, learning_rate, batch_size, rng):
    """All images once, in a new random order: one step per batch."""
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        batch = order[start : start + batch_size]
        grads = gradient(params, x[batch], y[batch])
        step(params, grads, state, learning_rate)


# Each optimizer's step and its default learning rate.
OPTIMIZERS = {"sgd": (sgd_step, 0.1), "adam": (adam_step, 0.001)}


@dataclass
class NumpyRun:
    """The outcome of :func:`train`: the trained parameters and what each epoch took."""

    params: dict[str, np.ndarray]
    optimizer: str
    learning_rate: float
    epoch_seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # on all training images, after each epoch
    train_accuracy: list[float] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return sum(self.epoch_seconds) / len(self.epoch_seconds)


def train(
    x,
    y,
    *,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    dtype=np.float32,
    verbose: bool = True,
) -> NumpyRun:
    """Mini-batch training of the 784-10 layer on images ``x`` (flattened, scaled) with labels ``y``.

    As Keras' ``fit``: every epoch (:func:`run_epoch`) visits the images in a
    new random order, in batches of ``batch_size``, one optimizer step per
    batch. Only the epochs are timed; the loss and accuracy on all training
    images printed after each epoch are measured outside them.
    """
    step, default_rate = OPTIMIZERS[optimizer]
    rate = default_rate if learning_rate is None else learning_rate
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=dtype)
    run = NumpyRun(init_params(rng, dtype), optimizer, rate)
    state: dict = {}
    for epoch in range(epochs):
        started = time.perf_counter()
        run_epoch(run.params, x, y, step, state, rate, batch_size, rng)
        run.epoch_seconds.append(time.perf_counter() - started)
        run.train_loss.append(float(loss(run.params, x, y)))
        run.train_accuracy.append(accuracy(run.params, x, y))
        if verbose:
            print(
                f"Epoch {epoch + 1}/{epochs} - {run.epoch_seconds[-1]:.2f} s - "
                f"loss {run.train_loss[-1]:.4f} - accuracy {run.train_accuracy[-1]:.4f}",
                flush=True,
            )
    return run


def predict_proba(params, x) -> np.ndarray:
    """The softmax probabilities of the 10 digits for each image."""
    return softmax(logits(params, x))


def accuracy(params, x, y) -> float:
    """The fraction of images whose largest logit is at the true label."""
    return float(np.mean(logits(params, x).argmax(axis=1) == y))


# --------------------------------------------------------------------------- checking the gradient


def numerical_gradient(loss_fn, params, x, y, name, index, eps=1e-5):
    """d loss_fn / d params[name][index], estimated by central differences."""
    original = params[name][index]
    try:
        params[name][index] = original + eps
        above = loss_fn(params, x, y)
        params[name][index] = original - eps
        below = loss_fn(params, x, y)
    finally:
        params[name][index] = original
    return float((above - below) / (2 * eps))


def relative_error(analytic, numeric):
    """|a - n| / (|a| + |n|): 0 if equal, 1 if one is 0 or the signs differ."""
    scale = abs(analytic) + abs(numeric)
    return abs(analytic - numeric) / scale if scale else 0.0


def gradient_check(params, x, y, *, n_weights: int = 6, seed: int = 0, gradient_fn=gradient, eps: float = 1e-5) -> list[dict]:
    """Compare ``gradient_fn`` with finite differences on a few weights and every bias.

    The weights are drawn among the pixels inked in at least one image of ``x``:
    the others have a zero derivative, which says nothing about the formula.
    Each row holds the parameter, the analytic and numeric derivatives and their relative error.
    """
    rng = np.random.default_rng(seed)
    inked = np.flatnonzero((x != 0).any(axis=0))
    entries = [("W", (int(i), int(j))) for i, j in zip(rng.choice(inked, n_weights, replace=False), rng.integers(0, N_CLASSES, n_weights))]
    entries += [("b", (j,)) for j in range(N_CLASSES)]
    analytic = gradient_fn(params, x, y)
    rows = []
    for name, index in entries:
        a = float(analytic[name][index])
        n = numerical_gradient(loss, params, x, y, name, index, eps)
        rows.append({"parameter": f"{name}[{', '.join(map(str, index))}]", "analytic": a, "numeric": n, "relative_error": relative_error(a, n)})
    return rows
