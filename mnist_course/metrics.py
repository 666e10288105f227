"""Evaluation with numpy alone: confusion matrix, per-class accuracy, the worst mistakes."""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "per_class_accuracy", "most_confused_pairs", "misclassified", "softmax"]


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
