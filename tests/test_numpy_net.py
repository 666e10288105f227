"""The NumPy network of mnist_course.numpy_net: its gradient against finite differences, its training, its forward pass against Keras."""

from __future__ import annotations

import numpy as np
import pytest

import mnist_course
from mnist_course import numpy_net


@pytest.fixture(scope="module")
def data():
    return mnist_course.prepare_data(mnist_course.TUTORIAL_MODEL)


@pytest.fixture(scope="module")
def float64_batch(data):
    (x_train, y_train), _ = data
    params = numpy_net.init_params(np.random.default_rng(1), dtype=np.float64)
    return params, x_train[:8].astype(np.float64), y_train[:8]


def test_gradient_agrees_with_finite_differences_in_float64(float64_batch):
    params, x, y = float64_batch
    rows = numpy_net.gradient_check(params, x, y, n_weights=20)
    assert len(rows) == 30
    assert all(row["relative_error"] < 1e-6 for row in rows), max(rows, key=lambda row: row["relative_error"])
    # The check compares real derivatives, not zeros that agree trivially.
    assert all(abs(row["analytic"]) > 1e-6 for row in rows)


def test_whole_gradient_agrees_with_finite_differences_on_a_trained_model(data):
    """Every one of the 7,850 derivatives, at weights where the probabilities are far from uniform."""
    (x_train, y_train), _ = data
    run = numpy_net.train(x_train[:2000], y_train[:2000], epochs=1, verbose=False)
    params = {name: value.astype(np.float64) for name, value in run.params.items()}
    x, y = x_train[2000:2004].astype(np.float64), y_train[2000:2004]
    analytic = numpy_net.gradient(params, x, y)
    for name, values in params.items():
        numeric = np.array([numpy_net.numerical_gradient(numpy_net.loss, params, x, y, name, index) for index in np.ndindex(values.shape)])
        difference = np.linalg.norm(analytic[name].ravel() - numeric)
        assert difference / (np.linalg.norm(analytic[name]) + np.linalg.norm(numeric)) < 1e-6, name


def test_gradient_check_catches_a_wrong_gradient(float64_batch):
    params, x, y = float64_batch

    def summed_not_averaged(params, x, y):
        return {name: g * len(y) for name, g in numpy_net.gradient(params, x, y).items()}

    rows = numpy_net.gradient_check(params, x, y, gradient_fn=summed_not_averaged)
    # |n g - g| / (n g + g) = (n - 1) / (n + 1) for a batch of n = 8
    assert min(row["relative_error"] for row in rows) == pytest.approx(7 / 9, rel=1e-6)


def test_numerical_gradient_restores_the_parameter(float64_batch):
    params, x, y = float64_batch
    before = params["W"].copy()
    numpy_net.numerical_gradient(numpy_net.loss, params, x, y, "W", (300, 3))
    np.testing.assert_array_equal(params["W"], before)


def test_loss_is_stable_and_matches_the_definition():
    params = numpy_net.init_params(np.random.default_rng(0), dtype=np.float64)
    params["b"][:] = [1000, 0, 0, 0, 0, 0, 0, 0, 0, -1000]  # logits whose exp overflows
    x = np.zeros((2, 784))
    y = np.array([0, 9])
    # Image 0: p(0) = 1, loss 0. Image 9: -log p(9) = 2000 (up to the other units' tiny share).
    assert numpy_net.loss(params, x, y) == pytest.approx(1000.0)
    params["b"][:] = np.log(np.arange(1, 11))
    expected = -np.log(np.array([1, 10]) / 55).mean()
    assert numpy_net.loss(params, x, y) == pytest.approx(expected)


def test_adam_first_step_moves_every_parameter_by_the_learning_rate():
    """Bias correction makes the first step lr * g / |g|, whatever the gradient's size."""
    params = {"w": np.zeros(3)}
    numpy_net.adam_step(params, {"w": np.array([1e-3, -5.0, 2.0])}, {}, learning_rate=0.01, epsilon=0)
    np.testing.assert_allclose(params["w"], [-0.01, 0.01, -0.01])


def test_training_is_reproducible_and_timed(data):
    (x_train, y_train), _ = data
    first = numpy_net.train(x_train[:3000], y_train[:3000], epochs=2, verbose=False)
    second = numpy_net.train(x_train[:3000], y_train[:3000], epochs=2, verbose=False)
    np.testing.assert_array_equal(first.params["W"], second.params["W"])
    assert len(first.epoch_seconds) == 2 and all(s > 0 for s in first.epoch_seconds)
    assert first.train_loss[1] < first.train_loss[0]
    assert first.params["W"].dtype == np.float32


@pytest.fixture(scope="module")
def keras_seed_run(built_book):
    """The tutorial's Keras model as the build trained it (the NumPy chapter compares its training
    with NumPy's; tests/test_numpy_chapter.py checks that comparison against the page)."""
    return mnist_course.train(mnist_course.TUTORIAL_MODEL, quiet=True)


def test_numpy_forward_pass_reproduces_keras_predictions(data, keras_seed_run):
    """The same weights through numpy_net.logits give the Keras model's choices (sigmoid keeps the order)."""
    _, (x_test, y_test) = data
    kernel, bias = keras_seed_run.weights
    params = {"W": kernel, "b": bias}
    assert numpy_net.accuracy(params, x_test, y_test) == pytest.approx(keras_seed_run.test_accuracy, abs=1e-6)
