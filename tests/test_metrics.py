"""mnist_course.metrics: small hand-computed cases, and properties on random predictions."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_course.metrics import accuracy_interval, accuracy_margin, confusion_matrix, paired_comparison, misclassified, most_confused_pairs, per_class_accuracy, softmax

# Six images of three classes: rows are the true class, columns the prediction.
Y_TRUE = np.array([0, 0, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 2, 0, 2])
CM = np.array([
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
])


@pytest.fixture
def random_predictions():
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 10, size=2000)
    # Right about 70 % of the time, otherwise a random class.
    y_pred = np.where(rng.random(2000) < 0.7, y_true, rng.integers(0, 10, size=2000))
    return y_true, y_pred


def test_confusion_matrix_by_hand():
    assert confusion_matrix(Y_TRUE, Y_PRED, n_classes=3).tolist() == CM.tolist()


def test_confusion_matrix_rows_are_true_classes_columns_predictions():
    cm = confusion_matrix([3], [5])
    assert cm.shape == (10, 10) and cm.sum() == 1 and cm[3, 5] == 1


def test_confusion_matrix_counts_every_image_once(random_predictions):
    y_true, y_pred = random_predictions
    cm = confusion_matrix(y_true, y_pred)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    assert np.array_equal(cm, expected)
    assert np.array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=10))
    assert np.array_equal(cm.sum(axis=0), np.bincount(y_pred, minlength=10))
    assert np.trace(cm) == (y_true == y_pred).sum()


def test_per_class_accuracy_by_hand():
    np.testing.assert_allclose(per_class_accuracy(CM), [1 / 2, 1 / 1, 2 / 3])


def test_per_class_accuracy_is_the_recall_of_each_class(random_predictions):
    y_true, y_pred = random_predictions
    recall = [(y_pred[y_true == c] == c).mean() for c in range(10)]
    np.testing.assert_allclose(per_class_accuracy(confusion_matrix(y_true, y_pred)), recall)


def test_most_confused_pairs_by_hand():
    cm = np.array([
        [50, 2, 7],
        [4, 60, 0],
        [9, 1, 40],
    ])
    # The diagonal (correct answers) is never a confusion, however large.
    assert most_confused_pairs(cm, k=3) == [(2, 0, 9), (0, 2, 7), (1, 0, 4)]
    assert most_confused_pairs(cm, k=1) == [(2, 0, 9)]


def test_most_confused_pairs_are_the_largest_off_diagonal_counts(random_predictions):
    cm = confusion_matrix(*random_predictions)
    pairs = most_confused_pairs(cm)  # k=3 by default
    assert len(pairs) == 3
    assert all(t != p and cm[t, p] == count for t, p, count in pairs)
    counts = [count for _, _, count in pairs]
    assert counts == sorted(counts, reverse=True)
    off_diagonal = cm[~np.eye(10, dtype=bool)]
    assert counts == sorted(off_diagonal, reverse=True)[:3]


def test_most_confused_pairs_leaves_the_matrix_alone():
    cm = CM.copy()
    most_confused_pairs(cm)
    assert np.array_equal(cm, CM)


def test_misclassified_by_hand():
    y_true = np.array([0, 0, 1, 1, 1])
    proba = np.array([
        [0.90, 0.10],  # right
        [0.30, 0.70],  # wrong, 70 % sure
        [0.95, 0.05],  # wrong, 95 % sure
        [0.40, 0.60],  # right
        [0.60, 0.40],  # wrong, 60 % sure
    ])
    # The most confident mistakes first.
    assert misclassified(y_true, proba).tolist() == [2, 1, 4]


def test_misclassified_is_empty_when_all_are_right():
    proba = np.eye(3)
    wrong = misclassified(np.arange(3), proba)
    assert wrong.size == 0 and wrong.dtype.kind == "i"


def test_softmax_by_hand():
    np.testing.assert_allclose(softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75])
    np.testing.assert_allclose(softmax(np.zeros(4)), [0.25] * 4)


def test_softmax_rows_are_probabilities_in_the_order_of_the_logits():
    z = np.random.default_rng(0).normal(scale=5, size=(50, 10))
    p = softmax(z)
    assert p.shape == z.shape and (p > 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.array_equal(p.argmax(axis=1), z.argmax(axis=1))
    # The textbook formula, safe for these moderate logits.
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))


def test_softmax_ignores_a_constant_added_to_a_row():
    z = np.random.default_rng(1).normal(size=(5, 10))
    shift = np.array([[-300.0], [0.0], [1.0], [500.0], [2000.0]])
    np.testing.assert_allclose(softmax(z + shift), softmax(z), rtol=1e-6, atol=1e-12)


def test_softmax_is_stable_for_large_logits():
    # exp(1000) overflows a float64: the naive formula gives nan here.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = softmax(np.array([[1000.0, 1000.0], [1000.0, 0.0], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])


def test_softmax_works_over_the_last_axis():
    z = np.random.default_rng(2).normal(size=(2, 3, 4))
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), np.ones((2, 3)))
    np.testing.assert_allclose(p[1, 2], softmax(z[1, 2]))


def test_accuracy_interval_is_about_half_a_point_at_92_percent_of_10000():
    low, high = accuracy_interval(0.92, 10_000)
    assert low < 0.92 < high
    assert 0.0050 < 0.92 - low < 0.0056 and 0.0050 < high - 0.92 < 0.0056  # about 1.96 * sqrt(.92 * .08 / 10000)


def test_accuracy_margin_is_half_the_interval_in_points():
    low, high = accuracy_interval(0.92, 10_000)
    assert accuracy_margin(0.92, 10_000) == pytest.approx((high - low) / 2 * 100)
    assert 0.50 < accuracy_margin(0.92, 10_000) < 0.56
    assert accuracy_margin(0.92, 2_500) == pytest.approx(2 * accuracy_margin(0.92, 10_000), rel=0.01)  # 4x the images, half the margin


def test_accuracy_interval_covers_the_true_accuracy_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    true, n = 0.9, 500
    measured = rng.binomial(n, true, size=4000) / n
    covered = np.mean([low <= true <= high for low, high in (accuracy_interval(a, n) for a in measured)])
    assert 0.93 < covered < 0.97


def test_accuracy_interval_stays_inside_0_and_1():
    assert accuracy_interval(1.0, 50)[1] == pytest.approx(1.0) and accuracy_interval(1.0, 50)[0] < 1
    assert accuracy_interval(0.0, 50)[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        accuracy_interval(0.5, 0)
    with pytest.raises(ValueError):
        accuracy_interval(92.0, 100)  # a percentage, not a fraction


def test_paired_comparison_counts_the_disagreements_by_hand():
    a = np.array([1, 1, 1, 0, 0, 1], dtype=bool)
    b = np.array([1, 0, 0, 0, 1, 1], dtype=bool)
    result = paired_comparison(a, b)
    assert (result["only_a"], result["only_b"]) == (2, 1)
    assert result["p_value"] == pytest.approx(1.0)  # 2 against 1 is what chance gives


def test_paired_comparison_p_value_is_the_exact_sign_test():
    # 10 disagreements, all won by A: 2 * (1/2)**10
    a, b = np.ones(10, dtype=bool), np.zeros(10, dtype=bool)
    assert paired_comparison(a, b)["p_value"] == pytest.approx(2 / 1024)
    # 60 against 40: two-sided binomial tail, about 0.057
    a = np.r_[np.ones(60), np.zeros(40)].astype(bool)
    assert paired_comparison(a, ~a)["p_value"] == pytest.approx(0.0569, abs=5e-4)


def test_paired_comparison_of_equal_models_is_rarely_significant():
    rng = np.random.default_rng(5)
    truth = rng.random((300, 2000)) < 0.9
    other = rng.random((300, 2000)) < 0.9
    p_values = [paired_comparison(x, y)["p_value"] for x, y in zip(truth, other)]
    assert 0.02 < np.mean(np.array(p_values) < 0.05) < 0.08
    with pytest.raises(ValueError):
        paired_comparison(np.ones(3, bool), np.ones(4, bool))
