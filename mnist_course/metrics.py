"""Evaluation with numpy alone: confusion matrix, per-class accuracy, the worst mistakes, uncertainty."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["confusion_matrix", "per_class_accuracy", "most_confused_pairs", "misclassified", "softmax", "accuracy_interval", "accuracy_margin", "Z_95", "paired_comparison"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of true class ``i`` predicted as ``j``."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """The fraction of each true class that was predicted correctly (the recall of each class)."""
    return np.diag(cm) / cm.sum(axis=1)


def most_confused_pairs(cm: np.ndarray, k: int = 3) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal counts as ``(true, predicted, count)``, largest first."""
    off = cm.copy()
    np.fill_diagonal(off, -1)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:k]
    return [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.unravel_index(order, cm.shape))]


def misclassified(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Indices of the wrongly classified images, the most confident mistakes first."""
    y_pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)
    return wrong[np.argsort(-proba[wrong, y_pred[wrong]], kind="stable")]


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed stably (the largest sum is subtracted first)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95 %


def accuracy_interval(accuracy: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """A 95 % confidence interval for an accuracy measured on ``n`` images (Wilson's score interval).

    The test set is a sample of the digits the model will meet: had other images been
    drawn, the accuracy would differ by about ``z * sqrt(p (1 - p) / n)``, which is
    about 0.5 percentage points for 92 % on 10,000 images. Wilson's interval stays
    inside [0, 1] near 100 %, where the plain normal one does not.
    """
    if n <= 0:
        raise ValueError("an accuracy needs at least one image")
    if not 0 <= accuracy <= 1:
        raise ValueError(f"an accuracy is a fraction between 0 and 1, not {accuracy}")
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def accuracy_margin(accuracy: float, n: int) -> float:
    """Half the width of :func:`accuracy_interval`, in percentage points: the "±" of an accuracy."""
    low, high = accuracy_interval(accuracy, n)
    return (high - low) / 2 * 100


def paired_comparison(right_a: np.ndarray, right_b: np.ndarray) -> dict:
    """Two models judged on the same images: is the better one better by more than chance?

    ``right_a`` and ``right_b`` say, image by image, whether each model was right.
    Only the images on which they disagree tell them apart: ``only_a`` right by A
    alone, ``only_b`` by B alone. Were the two equally good, each disagreement would
    go either way with probability 1/2; ``p_value`` is the chance of a split at least
    this lopsided (an exact two-sided sign test, McNemar's test for small counts).
    """
    right_a, right_b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    if right_a.shape != right_b.shape:
        raise ValueError("both models must be judged on the same images")
    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))
    n, k = only_a + only_b, min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n if n else 1.0
    return {"only_a": only_a, "only_b": only_b, "p_value": min(1.0, 2 * tail)}
