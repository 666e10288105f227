"""The chapter *Opening the box: the network in NumPy*: its claims against the numbers behind them.

The NumPy runs are cheap and seeded, so they are repeated here; the Keras run
is the tutorial model the build cached. Timings cannot be repeated: for them
the page's own numbers are checked against each other and against its words.
"""

from __future__ import annotations

import inspect
import json
import re

import numpy as np
import pytest

import mnist_course
from mnist_course import numpy_net
from pages import ROOT, figures, main_text, page, toc_files

pytestmark = pytest.mark.slow

DOC = "book/numpy_by_hand"


@pytest.fixture(scope="module")
def text(built_book):
    return main_text(page(built_book, DOC))


@pytest.fixture(scope="module")
def data():
    return mnist_course.prepare_data(mnist_course.TUTORIAL_MODEL)


@pytest.fixture(scope="module")
def numpy_runs(data):
    """The chapter's two NumPy trainings, repeated with its settings (seconds, not minutes)."""
    (x_train, y_train), (x_test, y_test) = data
    config = mnist_course.TUTORIAL_MODEL
    settings = dict(epochs=config.epochs, batch_size=config.batch_size, verbose=False)
    sgd = numpy_net.train(x_train, y_train, optimizer="sgd", **settings)
    adam = numpy_net.train(x_train, y_train, optimizer="adam", learning_rate=config.learning_rate, **settings)
    return {"sgd": sgd, "adam": adam}


@pytest.fixture(scope="module")
def keras_run(built_book):
    return mnist_course.train(mnist_course.TUTORIAL_MODEL, quiet=True)


def number(pattern: str, text: str) -> float:
    """The number captured by ``pattern`` (commas allowed) in the page's text."""
    found = re.search(pattern, text)
    assert found, f"the page does not say {pattern!r}"
    return float(found.group(1).replace(",", ""))


NUMBER = r"(-?[\d,]+(?:\.\d+)?(?:e[-+]\d+)?)"


def test_chapter_follows_training_in_the_toc():
    files = toc_files()
    assert files.index(DOC) == files.index("book/04_training") + 1


def test_figures_have_captions(built_book):
    soup = page(built_book, DOC)
    images = figures(soup)
    assert len(images) >= 2
    for name in ("fig-numpy-gradient", "fig-numpy-templates"):
        target = soup.find(id=name)
        assert target is not None and target.find("figcaption"), f"no captioned figure {name}"


def test_page_shows_the_library_source(text):
    """What the page prints is the code the tests check, not a copy of it."""
    for function in (numpy_net.logits, numpy_net.loss, numpy_net.gradient, numpy_net.sgd_step, numpy_net.run_epoch, numpy_net.adam_step):
        assert " ".join(inspect.getsource(function).split()) in text, function.__name__


def test_gradient_check_claims(text, data):
    (x_train, y_train), _ = data
    params64 = numpy_net.init_params(np.random.default_rng(1), dtype=np.float64)
    x_few, y_few = x_train[:8].astype(np.float64), y_train[:8]
    rows = numpy_net.gradient_check(params64, x_few, y_few, eps=1e-5)
    worst = max(row["relative_error"] for row in rows)
    assert worst < 1e-6
    assert f"On {len(y_few)} images, the {len(rows)} derivatives agree to a relative error of at most {worst:.0e}" in text
    assert f"agrees with the hand-written gradient to a relative error of {worst:.0e}" in text

    def summed(params, x, y):
        return {name: g * len(y) for name, g in numpy_net.gradient(params, x, y).items()}

    slip = max(row["relative_error"] for row in numpy_net.gradient_check(params64, x_few, y_few, gradient_fn=summed, eps=1e-5))
    assert slip > 0.5, "a bug should show as an error of the order of 1"
    assert f"its relative error is {slip:.2f}: a bug shows as an error of the order of" in text
    params32 = {name: value.astype(np.float32) for name, value in params64.items()}
    worst32 = max(row["relative_error"] for row in numpy_net.gradient_check(params32, x_few.astype(np.float32), y_few, eps=1e-5))
    assert worst32 > 0.1, "the page says float32 cannot tell a right gradient from a wrong one"
    assert f"a relative error as large as {worst32:.2f}, the size of a bug's" in text
    assert f"relative error under {1e-6:g}" in text


def test_settings_and_constants_stated(text):
    """The glued settings and the floating-point facts the prose states."""
    config = mnist_course.TUTORIAL_MODEL
    n_params = sum(value.size for value in numpy_net.init_params(np.random.default_rng(0)).values())
    assert n_params == 7850
    assert "train the same 784-10 layer on the same images" in text
    assert f"far too slow to train the {n_params:,} parameters with" in text
    assert f"{config.batch_size} at a time, as Keras' fit does" in text
    sgd_rate = numpy_net.OPTIMIZERS["sgd"][1]
    assert f"With a learning rate of {sgd_rate:g}, plain SGD reaches" in text
    assert re.search(rf"plain SGD reaches [\d.]+ % test accuracy in {config.epochs} epochs", text)
    float64, float32 = np.finfo(np.float64), np.finfo(np.float32)
    assert f"carries about {float64.precision} significant digits (its relative rounding step is {float64.eps:.1e})" in text
    assert f"= {1e-5:g} the central difference is off twice over" in text
    assert f"which carries only about {float32.precision} digits" in text
    assert "The summed gradient is 8 times too large" in text


def test_untrained_image_claims(text, data):
    (x_train, y_train), _ = data
    start = numpy_net.init_params(np.random.default_rng(0))
    p = numpy_net.predict_proba(start, x_train[:1])[0]
    label = int(y_train[0])
    assert p[label] < 0.5 and p[label] - 1 < -0.5, "the true digit's unit gets the image added almost in full"
    assert f"The untrained layer gives the true digit, {label}, a probability of only {p[label]:.2f}" in text
    assert f"no other digit gets more than {np.delete(p, label).max():.2f}" in text
    assert f"so that unit's error is {p[label] - 1:.2f}" in text


def test_accuracy_claims_numpy_beside_keras(text, data, numpy_runs, keras_run):
    _, (x_test, y_test) = data
    sgd = numpy_net.accuracy(numpy_runs["sgd"].params, x_test, y_test)
    adam = numpy_net.accuracy(numpy_runs["adam"].params, x_test, y_test)
    keras = keras_run.test_accuracy
    gap = abs(adam - keras) * 100
    assert gap < 0.3, "the issue's bound: NumPy and Keras within 0.3 percentage points"
    assert f"plain SGD reaches {sgd * 100:.2f} % test accuracy" in text
    assert f"Trained by hand with Adam, the layer reaches {adam * 100:.2f} % test accuracy; Keras' reaches {keras * 100:.2f} %" in text
    assert f"The two are {gap:.2f} percentage points apart, {round(gap * len(y_test) / 100)} of the {len(y_test):,} test images" in text
    assert f"plain SGD reaches {sgd * 100:.2f} % and Adam {adam * 100:.2f} %, beside Keras' {keras * 100:.2f} %" in text


def test_weight_templates_look_alike(text, numpy_runs, keras_run):
    mine, theirs = numpy_runs["adam"].params["W"], keras_run.weights[0]
    lowest = min(np.corrcoef(mine[:, digit], theirs[:, digit])[0, 1] for digit in range(10))
    assert lowest > 0.8
    assert f"Each unit's two templates have a correlation of at least {lowest:.2f}" in text


def test_from_logits_model_trains_like_the_sigmoid_model(text, keras_run):
    difference = number(r"the largest difference between them is " + NUMBER, text)
    assert difference < 1e-6, "the page says the two models end with the same weights"
    same = number(r"The two predict the same digit for " + NUMBER, text)
    assert f"for {int(same):,} of the 10,000 test images" in text and same == 10_000
    assert f"both score {keras_run.test_accuracy * 100:.2f} %" in text
    softmax_sum = number(r"the softmax outputs sum to " + NUMBER, text)
    sigmoid_sum = number(r"the sigmoid's to " + NUMBER, text)
    assert softmax_sum == 1.0 and abs(sigmoid_sum - 1) > 0.05, "sigmoid outputs are no probabilities"


def test_timing_claims_agree_with_each_other(text):
    numpy_s = number(r"An epoch of our NumPy loop took " + NUMBER + " s", text)
    keras_s = number(r"an epoch of Keras' fit on the model with the standard output layer " + NUMBER + " s", text)
    speedup = number(r"plain NumPy is " + NUMBER + " times as fast", text)
    assert numpy_s < keras_s and speedup > 1, "the page says NumPy is faster"
    # The ratio was computed before rounding: it lies within the rounding of the two times shown.
    low, high = (keras_s - 0.005) / (numpy_s + 0.005), (keras_s + 0.005) / max(numpy_s - 0.005, 1e-9)
    assert low - 0.05 <= speedup <= high + 0.05
    assert f"NumPy's loop is {speedup:.1f} times as fast as Keras' fit" in text


def _prose_without_markup(markdown: str) -> str:
    """Markdown prose with what may hold a typed number removed: maths, code, roles, directives' options."""
    markdown = re.sub(r"^```.*$|^:\w+:.*$|^\([\w-]+\)=$", " ", markdown, flags=re.M)  # fences, options, labels
    markdown = re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.S)
    markdown = re.sub(r"\$[^$]*\$", " ", markdown)
    markdown = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", markdown)  # {glue:text}`...`, {doc}`...`, {term}`...`
    markdown = re.sub(r"`[^`]*`", " ", markdown)
    return markdown


def test_no_number_is_typed_into_the_prose():
    """Every number the chapter states in its text and captions is glued from the execution."""
    notebook = json.loads((ROOT / f"{DOC}.ipynb").read_text())
    texts = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"]
    texts += [cell["metadata"]["mystnb"]["figure"]["caption"] for cell in notebook["cells"] if "mystnb" in cell["metadata"]]
    for markdown in texts:
        typed = re.findall(r".{0,30}\d.{0,30}", _prose_without_markup(markdown))
        assert not typed, f"a number typed into the prose: {typed}"


def test_numpy_and_keras_gap_is_inside_the_interval(text, keras_run):
    from mnist_course.metrics import accuracy_margin

    margin = accuracy_margin(keras_run.test_accuracy, 10_000)
    gap = number(r"The two are " + NUMBER + " percentage points apart", text)
    assert f"well inside the uncertainty of either figure (about ±{margin:.1f} points for a test set of this size" in text
    assert gap < margin
