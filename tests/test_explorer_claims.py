"""The explorer's validation set, curves and choice (fast, on made-up runs), and the claims its
page makes around its glued numbers (slow: against the runs the build cached and the built page).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

import mnist_course
from mnist_course import explorer, plots
from mnist_course.metrics import accuracy_interval, accuracy_margin, paired_comparison
from pages import main_text, page

DOC = "book/05_explorer"


# --------------------------------------------------------------------------- fast: the library


def fake_run(activation: str, train: list[float], validation: list[float], test: list[float]):
    """What the explorer reads from a run, with made-up numbers and weights."""
    rng = np.random.default_rng(len(train))
    weights = [[rng.normal(size=(784, 10)).astype(np.float32), np.zeros(10, np.float32)] for _ in train]
    return SimpleNamespace(
        config=explorer.explorer_config(activation, len(train)),
        epoch_metrics={
            "train_accuracy": train, "validation_accuracy": validation, "test_accuracy": test,
            "train_loss": [0.3] * len(train), "validation_loss": [0.3] * len(train), "test_loss": [0.3] * len(train),
        },
        epoch_weights=weights,
    )


def test_explorer_holds_out_a_random_fixed_sixth_not_the_last_rows(mnist):
    """Keras' validation_split takes the last rows; the explorer's runs shuffle them first, with a fixed seed."""
    (images, labels), _ = mnist
    config = explorer.explorer_config("sigmoid")
    assert config.validation_split == explorer.VALIDATION_SPLIT and config.validation_seed == explorer.VALIDATION_SEED
    (x, y), _ = mnist_course.prepare_data(config)
    n_val = explorer.validation_images(SimpleNamespace(config=config))
    assert n_val == 10000 and len(y) == len(labels)
    # Each prepared row is one original image: find where each came from.
    where = {image.tobytes(): i for i, image in enumerate(images.reshape(len(images), -1))}
    origin = np.array([where[row.tobytes()] for row in np.rint(x * 255).astype(np.uint8)])
    assert sorted(origin) == list(range(len(labels))), "the rows are shuffled, none lost or repeated"
    assert np.array_equal(labels[origin], y)
    held_out = origin[-n_val:]
    # A random sixth: about a sixth of it from each sixth of the stored order, the last included.
    per_sixth = np.bincount(held_out * 6 // len(labels), minlength=6) / n_val
    assert np.all(np.abs(per_sixth - 1 / 6) < 0.02), per_sixth
    # Fixed: the same rows every time.
    (_, y_again), _ = mnist_course.prepare_data(config)
    assert np.array_equal(y_again, y)
    assert np.array_equal(explorer.validation_data(SimpleNamespace(config=config))[1], y[-n_val:])


def test_curves_use_one_scale_for_every_activation_and_label_both_axes():
    good = fake_run("sigmoid", [0.89, 0.91, 0.93], [0.88, 0.90, 0.92], [0.9] * 3)
    bad = fake_run("relu", [0.20, 0.25, 0.21], [0.21, 0.24, 0.22], [0.2] * 3)
    svgs = [explorer.curves_svg(run, 3) for run in (good, bad)]
    texts = [re.findall(r"<text[^>]*>([^<]*)</text>", svg) for svg in svgs]
    assert texts[0] == texts[1] == ["0 %", "25 %", "50 %", "75 %", "100 %", "accuracy", "1", "2", "3", "epoch", "training", "validation"]
    # The same accuracy sits at the same height in both.
    ticks = [re.findall(r'<line x1="46" x2="292" y1="(\d+)"', svg) for svg in svgs]
    assert ticks[0] == ticks[1] and len(ticks[0]) == 5
    assert "test" not in " ".join(svgs).lower()


def test_curves_take_their_colours_from_plots():
    """The explorer draws training and validation in the colours every figure of the course uses."""
    svg = explorer.curves_svg(fake_run("sigmoid", [0.89, 0.91], [0.88, 0.90], [0.9] * 2), 2)
    assert re.findall(r'<polyline [^>]*stroke="([^"]+)"', svg) == [plots.TRAIN_COLOR, plots.TEST_COLOR]
    assert set(re.findall(r"#[0-9A-Fa-f]{3,6}\b", svg)) == {plots.TRAIN_COLOR, plots.TEST_COLOR, plots.LIGHT_GREY}


def test_a_state_shows_training_and_validation_with_its_interval_and_no_test_figure():
    run = fake_run("sigmoid", [0.93], [0.9223], [0.99])
    html = explorer.state_html(run, 1)
    low, high = accuracy_interval(0.9223, 10000)
    assert '<td class="validation-accuracy">92.23 %<br/><small class="validation-interval">91.7 to 92.7</small>' in html
    assert (round(low * 100, 1), round(high * 100, 1)) == (91.7, 92.7)
    assert '<td class="train-accuracy">93.00 %</td>' in html
    assert "test" not in html.lower() and "99" not in html.split("<svg")[0]


def test_the_validation_set_chooses_and_the_test_set_only_measures():
    # "a" is best on the test set at epoch 1; the validation set prefers "b" at epoch 2 (tied with epoch 3 and with "c").
    runs = {
        "a": fake_run("sigmoid", [0.9] * 3, [0.80, 0.85, 0.85], [0.99, 0.5, 0.5]),
        "b": fake_run("softmax", [0.9] * 3, [0.80, 0.90, 0.90], [0.1, 0.7, 0.8]),
        "c": fake_run("tanh", [0.9] * 3, [0.70, 0.90, 0.60], [0.1, 0.9, 0.9]),
    }
    chosen = explorer.choose(runs)
    assert (chosen["activation"], chosen["epoch"]) == ("b", 2)
    assert chosen["validation_accuracy"] == 0.90 and chosen["test_accuracy"] == 0.7
    assert chosen["test_interval"] == accuracy_interval(0.7, chosen["test_images"]) and chosen["test_images"] == 10000


# --------------------------------------------------------------------------- slow: the built page


@pytest.fixture(scope="module")
def runs(built_book):
    return explorer.precompute()


@pytest.fixture(scope="module")
def text(built_book):
    return main_text(page(built_book, DOC))


def pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}"


def interval(accuracy: float, n: int = 10000) -> str:
    low, high = accuracy_interval(accuracy, n)
    return f"{pct(low)} to {pct(high)} %"


@pytest.mark.slow
def test_runs_came_from_the_build(runs):
    assert all(run.from_cache for run in runs.values())


@pytest.mark.slow
def test_validation_numbers_are_those_of_the_held_out_images(runs):
    """The recorded validation accuracy is the epoch's model on the held-out rows (and what Keras' fit reported)."""
    run = runs["sigmoid"]
    x_val, y_val = explorer.validation_data(run)
    for epoch in (1, 7, explorer.EPOCHS):
        kernel, bias = run.epoch_weights[epoch - 1]
        accuracy = ((x_val @ kernel + bias).argmax(axis=1) == y_val).mean()
        assert accuracy == pytest.approx(run.epoch_metrics["validation_accuracy"][epoch - 1], abs=1e-9)
        assert run.history["val_accuracy"][epoch - 1] == pytest.approx(accuracy, abs=1e-6)


@pytest.mark.slow
def test_page_states_the_split_and_the_interval(text, runs):
    assert ("They train on 50,000 of the 60,000 training images; the other 10,000, drawn at random with a fixed seed, "
            "are the validation set.") in text
    margin = accuracy_margin(0.92, 10000)
    assert 0.45 < margin < 0.6
    assert f"Near 92 % it reaches about {margin:.1f} percentage points either side." in text
    sigmoid = runs["sigmoid"].epoch_metrics
    gaps = [(t - v) * 100 for t, v in zip(sigmoid["train_accuracy"], sigmoid["validation_accuracy"])]
    assert min(gaps) > 0, "validation accuracy below training accuracy in every epoch"
    assert f"validation accuracy stays below training accuracy by {min(gaps):.2f} to {max(gaps):.2f} percentage points" in text
    assert "The test set is not in the explorer at all" in text


@pytest.mark.slow
def test_more_epochs_claims_with_their_uncertainty(text, runs):
    curve = runs["sigmoid"].epoch_metrics["validation_accuracy"]
    first, fifth, last = curve[0], curve[4], curve[-1]
    assert (f"validation accuracy is {pct(first)} % (95 % interval {interval(first)}) after one epoch, "
            f"{pct(fifth)} % ({interval(fifth)}) after five, and {pct(last)} % ({interval(last)}) after {explorer.EPOCHS}.") in text
    # "far more than the uncertainty": the intervals of epochs 1 and 5 lie far apart
    assert accuracy_interval(first, 10000)[1] + 0.01 < accuracy_interval(fifth, 10000)[0]
    assert f"Epochs 2 to 5 add {(fifth - first) * 100:.1f} percentage points, far more than the uncertainty." in text
    # "about the size of the uncertainty of each figure (their intervals overlap)"
    late = (last - fifth) * 100
    half = (accuracy_interval(last, 10000)[1] - accuracy_interval(last, 10000)[0]) / 2 * 100
    assert accuracy_interval(fifth, 10000)[1] > accuracy_interval(last, 10000)[0], "the intervals overlap"
    assert 0 < late < 2 * half and late == pytest.approx(half, abs=0.3)
    assert f"The last {explorer.EPOCHS - 5} add only {late:.2f}, about the size of the uncertainty of each figure (their intervals overlap)." in text
    # "... a small gain, but a real one": the same images, compared image by image
    x_val, y_val = explorer.validation_data(runs["sigmoid"])

    def right(epoch):
        kernel, bias = runs["sigmoid"].epoch_weights[epoch - 1]
        return (x_val @ kernel + bias).argmax(axis=1) == y_val

    assert right(5).mean() == pytest.approx(fifth, abs=1e-9) and right(explorer.EPOCHS).mean() == pytest.approx(last, abs=1e-9)
    paired = paired_comparison(right(explorer.EPOCHS), right(5))
    assert paired["only_a"] - paired["only_b"] == round(late * len(y_val) / 100)
    assert paired["p_value"] < 0.001, "real: far beyond chance"
    assert (f"of the {paired['only_a'] + paired['only_b']} validation images on which the model after epoch 5 and after epoch "
            f"{explorer.EPOCHS} disagree, the later one gets {paired['only_a']} right, the earlier one {paired['only_b']}.") in text
    odds = float(f"{1 / paired['p_value']:.2g}")
    assert f"about once in {odds:,.0f} times (a sign test): a small gain, but a real one." in text


@pytest.mark.slow
def test_wrong_activations_claims(text, runs):
    assert "the largest difference in validation accuracy over all epochs is 0.00 percentage points" in text
    sigmoid_last = runs["sigmoid"].epoch_metrics["validation_accuracy"][-1]
    for activation in ("relu", "tanh", "linear"):
        curve = runs[activation].epoch_metrics["validation_accuracy"]
        best = max(curve)
        assert accuracy_interval(best, 10000)[1] < accuracy_interval(sigmoid_last, 10000)[0] - 0.1, "far below sigmoid's"
        assert f"at best {pct(best)} % ({pct(accuracy_interval(best, 10000)[0])} to {pct(accuracy_interval(best, 10000)[1])} %, epoch {curve.index(best) + 1})" in text
    for activation in ("tanh", "linear"):
        curve = runs[activation].epoch_metrics["validation_accuracy"]
        assert f"falling to {pct(curve[-1])} % ({interval(curve[-1])})" in text
        assert curve[-1] < max(curve) and accuracy_interval(curve[-1], 10000)[1] < accuracy_interval(max(curve), 10000)[0]
    relu = runs["relu"].epoch_metrics["validation_accuracy"]
    assert f"relu: {pct(relu[0])} % after one epoch" in text and f"and {pct(relu[-1])} % at the end" in text


@pytest.mark.slow
def test_relu_and_linear_learn_the_same_weights_and_differ_only_in_the_prediction(text, runs):
    relu, linear = runs["relu"], runs["linear"]
    for epoch_relu, epoch_linear in zip(relu.epoch_weights, linear.epoch_weights):
        assert all(np.array_equal(a, b) for a, b in zip(epoch_relu, epoch_linear))
    for name in ("train_loss", "validation_loss", "test_loss"):
        assert relu.epoch_metrics[name] == linear.epoch_metrics[name]
    assert f"the loss is the same in every epoch ({relu.epoch_metrics['validation_loss'][-1]:.4f} on the validation images after the last)" in text
    # The clip: relu's outputs and linear's are the same numbers once clipped into [1e-7, 1 - 1e-7].
    x_val, y_val = explorer.validation_data(linear)
    kernel, bias = linear.epoch_weights[-1]
    sums = x_val @ kernel + bias
    clip = lambda v: np.clip(v, 1e-7, 1 - 1e-7)  # noqa: E731
    assert np.array_equal(clip(np.maximum(sums, 0)), clip(sums))
    negative = (sums < 0).all(axis=1)
    relu_prediction = np.maximum(sums, 0).argmax(axis=1)
    assert np.all(relu_prediction[negative] == 0), "ten zeros: the tie goes to the first unit"
    assert (relu_prediction == y_val).mean() == pytest.approx(relu.epoch_metrics["validation_accuracy"][-1], abs=1e-9)
    assert (sums.argmax(axis=1) == y_val).mean() == pytest.approx(linear.epoch_metrics["validation_accuracy"][-1], abs=1e-9)
    assert f"all ten sums are negative for {negative.mean() * 100:.1f} % of the validation images" in text
    right = (sums[negative].argmax(axis=1) == y_val[negative]).mean() * 100
    assert f"right for {right:.1f} % of those images" in text
    assert f"right only for the images of a 0, which are {(y_val[negative] == 0).mean() * 100:.1f} % of them" in text


@pytest.mark.slow
def test_the_choice_and_the_one_test_measurement(text, runs, built_book):
    chosen = explorer.choose(runs)
    assert chosen["activation"] == "sigmoid", "the page says the choice is sigmoid's"
    best = max(max(run.epoch_metrics["validation_accuracy"]) for run in runs.values())
    assert chosen["validation_accuracy"] == best
    assert (f"The best validation accuracy of all {len(runs) * explorer.EPOCHS} settings is sigmoid's (and softmax's, the same model) "
            f"after epoch {chosen['epoch']}: {pct(best, 2)} % ({interval(best)}).") in text
    test = runs["sigmoid"].epoch_metrics["test_accuracy"][chosen["epoch"] - 1]
    assert f"its 10,000 images give {pct(test, 2)} % ({interval(test)}). That is the number to report." in text
    assert f"measure the chosen model once on the test set: {pct(test)} % here." in text
    # The only test figure on the page is that one: every number followed by % is a validation or training
    # figure, an interval end, or the chosen model's test accuracy.
    tests = {f"{v * 100:.{d}f}" for v in runs["sigmoid"].epoch_metrics["test_accuracy"] for d in (1, 2)}
    chosen_forms = {pct(test), pct(test, 2)}
    others = {f"{v * 100:.{d}f}" for run in runs.values() for name in ("train_accuracy", "validation_accuracy")
              for v in run.epoch_metrics[name] for d in (1, 2)}
    for number in re.findall(r"(\d+\.\d+) %", text):
        assert number not in tests - chosen_forms - others, f"a test accuracy ({number} %) outside the final measurement"
