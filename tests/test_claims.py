"""The claims the chapters make around their glued numbers, checked against the runs behind them.

The runs come from the training cache the book build filled, so these are the
very numbers the pages show; the pages are checked to show them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import mnist_course
from mnist_course import TUTORIAL_MODEL, HIDDEN_MODEL, BEST_MODEL
from mnist_course.metrics import accuracy_interval, accuracy_margin
from pages import figures, main_text, page, toc_files

pytestmark = pytest.mark.slow

MIN_FIGURES = {
    "book/01_dataset": 4,
    "book/02_flattening": 3,
    "book/03_dense_model": 3,
    "book/04_training": 1,
    "book/06_results": 4,
    "book/07_beyond": 1,
}


@pytest.fixture(scope="module")
def runs(built_book):
    return {
        "seed": mnist_course.train(TUTORIAL_MODEL, quiet=True),
        "hidden": mnist_course.train(HIDDEN_MODEL, quiet=True),
        "best": mnist_course.train(BEST_MODEL, quiet=True),
        "unscaled": mnist_course.train(TUTORIAL_MODEL.replace(scale_pixels=False), quiet=True),
        "permuted": mnist_course.train(TUTORIAL_MODEL.replace(permute_pixels=True), quiet=True),
        "validation": mnist_course.train(TUTORIAL_MODEL.replace(validation_split=1 / 6), quiet=True),
    }


def test_runs_came_from_the_build(runs):
    assert all(run.from_cache for run in runs.values()), "the build should have trained and cached every run"


def test_seed_model_accuracy_is_about_92_not_97(runs):
    assert 0.90 <= runs["seed"].test_accuracy <= 0.95
    assert runs["seed"].train_accuracy < 0.95


def test_hidden_layer_model_reaches_97(runs):
    assert runs["hidden"].test_accuracy >= 0.97


def test_best_dense_model_reaches_98(runs):
    assert runs["best"].test_accuracy >= 0.98


def test_every_chapter_has_its_figures(built_book):
    """Their alt text: tests/test_site.py, for every image of every page."""
    for doc, minimum in MIN_FIGURES.items():
        images = figures(page(built_book, doc))
        assert len(images) >= minimum, f"{doc}: {len(images)} figures, expected at least {minimum}"


SINGLE_LAYER = r"one-layer|single|one dense layer|784-10\b|tutorial's model|tutorial's first|this model"


def test_no_page_attributes_97_percent_to_the_single_layer_model(built_book):
    """A sentence naming both the single-layer model and 97 % must deny it or quote the tutorial's claim."""
    checked = 0
    for doc in toc_files():
        soup = page(built_book, doc)
        for table in soup.select("table, div.cell_input, div.cell_output"):  # rows and code are no sentences
            table.decompose()
        text = main_text(soup)
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if re.search(r"\b97(\.\d+)?\s?%", sentence) and re.search(SINGLE_LAYER, sentence):
                checked += 1
                # Or it gives the 97 % to the hidden-layer model beside the single layer's own figure.
                assert re.search(r"not 97|not the one-layer|[“\"](it reaches an accuracy of )?around 97|far from|hidden-layer model 97", sentence), f"{doc}: {sentence!r}"
    assert checked, "the book should discuss the 97 % claim"


def test_scaling_and_permutation_claims(built_book, runs):
    seed, unscaled, permuted = runs["seed"], runs["unscaled"], runs["permuted"]
    assert unscaled.test_accuracy < seed.test_accuracy - 0.2, "scaling should matter a lot"
    assert abs(permuted.test_accuracy - seed.test_accuracy) < 0.005, "a fixed permutation should not matter"
    text = main_text(page(built_book, "book/02_flattening"))
    assert f"on raw pixels only {unscaled.test_accuracy * 100:.1f} %" in text
    assert f"reaches {permuted.test_accuracy * 100:.1f} % test accuracy" in text
    # Item 6 of issue 14: each comparison with its 95 % interval on the 10,000 test images.
    seed_half, unscaled_half = accuracy_margin(seed.test_accuracy, 10_000), accuracy_margin(unscaled.test_accuracy, 10_000)
    gap = (seed.test_accuracy - unscaled.test_accuracy) * 100
    assert gap > 10 * (seed_half + unscaled_half), "the scaling gap should be far beyond the noise"
    assert f"±{seed_half:.1f} and ±{unscaled_half:.1f} points (95 % intervals). A gap of {gap:.0f} points is far beyond that" in text
    difference = abs(permuted.test_accuracy - seed.test_accuracy) * 100
    assert difference < seed_half, "the page calls the permutation's difference noise"
    assert f"a difference of {difference:.2f} percentage points, well inside the ±{seed_half:.1f} points" in text
    # On raw pixels the accuracy Keras reports falls from the first epoch to the last, beyond the
    # noise of 60,000 images (about 0.4 points).
    first, last = unscaled.history["accuracy"][0], unscaled.history["accuracy"][-1]
    assert first - last > 0.01, "training on raw pixels should get worse with time"
    assert f"falls from {first * 100:.1f} % in the first of the 5 passes over the images to {last * 100:.1f} % in the last" in text


def one_step_on_one_batch():
    """The chapter's measurement, repeated: the sums' spread at the start and one Adam step's effect,
    on the first 32 training images, scaled and raw, from the same starting weights."""
    (x_train, y_train), _ = mnist_course.load_mnist()
    images, labels = mnist_course.flatten(x_train[:32]), y_train[:32]
    measured = {}
    for name, x in (("scaled", mnist_course.scale(images)), ("raw", images.astype(np.float32))):
        model = mnist_course.build_model()
        kernel, bias = model.get_weights()
        sums = x @ kernel + bias
        model.train_on_batch(x, labels)
        new_kernel, new_bias = model.get_weights()
        measured[name] = {
            "spread": float(sums.std()),
            "weight_move": float(np.abs(new_kernel - kernel).max()),
            "sum_move": float(np.abs(x @ new_kernel + new_bias - sums).mean()),
        }
    return measured


def test_scaling_fails_by_scale_not_by_saturation(built_book):
    """Issue 14, item 2: raw pixels spread the starting sums 255 times wider and each Adam step, which
    moves a weight by about the learning rate whatever its gradient, moves the sums far further."""
    m = one_step_on_one_batch()
    scaled, raw = m["scaled"], m["raw"]
    learning_rate = TUTORIAL_MODEL.learning_rate
    assert raw["spread"] / scaled["spread"] == pytest.approx(255, rel=1e-3), "the same weights on inputs 255 times larger"
    for run in (scaled, raw):
        assert 0.99 * learning_rate <= run["weight_move"] <= 1.001 * learning_rate, "Adam's first step is the learning rate"
    move_ratio = raw["sum_move"] / scaled["sum_move"]
    assert 150 < move_ratio < 400, move_ratio
    text = main_text(page(built_book, "book/02_flattening"))
    assert f"a spread (standard deviation) of {scaled['spread']:.2f}" in text
    assert f"{raw['spread'] / scaled['spread']:.0f} times more spread out (a spread of {raw['spread']:.0f})" in text
    assert f"its learning rate of {learning_rate}" in text
    assert f"no weight moved by more than {max(scaled['weight_move'], raw['weight_move']):.4f}" in text
    assert f"{raw['sum_move']:.1f} on average, against {scaled['sum_move']:.3f} on scaled pixels, {move_ratio:.0f} times as far" in text
    assert "saturat" not in text.lower(), "the sigmoid does not saturate in training: Keras trains on the sums"


def test_flattening_explains_or_links_its_words(built_book):
    """Issue 14: 'sigmoid' and 'optimizer' come before the chapters that explain them: each is linked
    to the glossary where it first appears, and the chapters that explain them are linked."""
    soup = page(built_book, "book/02_flattening")
    article = soup.select_one("article")
    for word in ("optimizer", "sigmoid"):
        first = next(
            node for node in article.find_all(string=True)
            if word in node.lower() and not node.find_parent(["pre", "code", "script", "style"])
        )
        link = first.find_parent("a")
        assert link is not None and "glossary.html#term-" in link.get("href", ""), f"the first {word!r} is not a glossary link"
    hrefs = [a.get("href", "") for a in article.select("a")]
    for chapter in ("03_dense_model.html", "04_training.html"):
        assert any(h.startswith(chapter) for h in hrefs), f"no link to {chapter}"


def test_learning_curve_claims(built_book, runs):
    history = runs["validation"].history
    val = history["val_accuracy"]
    assert val[-1] > val[0], "validation accuracy rises"
    assert history["accuracy"][0] < val[0], "epoch-1 training average below validation"
    assert val[-1] - val[-2] < val[1] - val[0], "gains shrink"
    assert max(abs(a - v) for a, v in zip(history["accuracy"], val)) < 0.05, "curves stay close: no overfitting"
    text = main_text(page(built_book, "book/04_training"))
    assert "1,875 steps" in text and "1,563" in text
    assert f"from {val[0] * 100:.1f} % after the first epoch to {val[-1] * 100:.1f} %" in text
    run = runs["validation"]
    mean = sum(run.epoch_seconds) / len(run.epoch_seconds)
    assert f"An epoch took {mean:.1f} s on average on the machine that built this page, {run.train_seconds:.0f} s" in text
    # Item 6 of issue 14: the last epoch's gain is within the noise of 10,000 validation images, and the page says so.
    val_half = accuracy_margin(val[-1], 10_000)
    assert val[-1] - val[-2] < val_half
    assert f"the last only {(val[-1] - val[-2]) * 100:.2f}, less than the ±{val_half:.1f} points" in text


def test_validation_split_holds_out_the_easiest_images(built_book, mnist, runs):
    """Issue 14, item 4: Keras' validation_split holds out the last 10,000 training images, unshuffled,
    and they are easier than the rest: the tutorial's model, trained on all six blocks alike, reads
    the last block best, beyond the noise; the validation model scores no lower on its validation
    images than on the images it trained on."""
    (x_train, y_train), _ = mnist
    right = runs["seed"].predict_proba(x_train).argmax(axis=1) == y_train
    blocks = right.reshape(6, 10_000).mean(axis=1)
    assert blocks.argmax() == 5, f"the last block should be the easiest: {blocks}"
    last, rest = float(right[50_000:].mean()), float(right[:50_000].mean())
    last_low, last_high = accuracy_interval(last, 10_000)
    rest_low, rest_high = accuracy_interval(rest, 50_000)
    assert last_low > rest_high, "the intervals should not overlap"
    text = main_text(page(built_book, "book/04_training"))
    assert f"is the easiest of the six: {last * 100:.2f} % against {rest * 100:.2f} % on the first 50,000" in text
    assert f"{last_low * 100:.2f} to {last_high * 100:.2f} % and {rest_low * 100:.2f} to {rest_high * 100:.2f} %, do not overlap" in text
    assert "takes the last images as they are stored, without shuffling them first" in text

    validation = runs["validation"]
    fit = float((validation.predict_proba(x_train[:50_000]).argmax(axis=1) == y_train[:50_000]).mean())
    val = validation.history["val_accuracy"][-1]
    assert val >= fit, "the page says the validation score is no lower than the training images'"
    assert f"no lower on the validation images ({val * 100:.1f} %), which it never saw, than on the 50,000 images it trained on ({fit * 100:.1f} %)" in text

    # The writers' share comes from QMNIST's labels, not from this build: the page must say whose it is.
    sentence = next(s for s in re.split(r"(?<=[.!?])\s+", text) if "40.5 %" in s)
    assert "QMNIST" in sentence and "[YB19]" in sentence, sentence


def test_results_page(built_book, runs):
    soup = page(built_book, "book/06_results")
    alts = " ".join(img.get("alt", "") for img in figures(soup))
    for shown in ("10 by 10 grid of counts", "misclassified test digits", "28 by 28 images of weights"):
        assert shown in alts, f"results page lacks {shown!r}"
    text = main_text(soup)
    seed, hidden = runs["seed"], runs["hidden"]
    assert f"{seed.test_accuracy * 100:.1f} % test accuracy" in text
    assert f"{hidden.test_accuracy * 100:.1f} %" in text


def test_comparison_table_is_glued(built_book, runs):
    soup = page(built_book, "book/07_beyond")
    rows = [" ".join(tr.get_text(" ").split()) for tr in soup.select("article table tr")]
    for name in ("seed", "hidden", "best"):
        run = runs[name]
        row = next(r for r in rows if f"{run.params:,}" in r)
        for value in (f"{run.train_seconds:.1f}", f"{run.train_accuracy * 100:.2f} %", f"{run.test_accuracy * 100:.2f} %"):
            assert value in row, f"{name}: {value} not in {row!r}"


def test_training_times_say_what_machine_measured_them(built_book, runs):
    """The table's times mean something only with the machine: the page says what each model had,
    and every model had the same (`make book` gives each notebook the same share of the cores)."""
    text = main_text(page(built_book, "book/07_beyond"))
    best = runs["best"]
    threads = "one TensorFlow thread" if best.threads == 1 else f"{best.threads} TensorFlow threads"
    assert f"Training times were measured on the machine that built this page (no GPU), each model with {threads}." in text
    assert f"of training with {threads}." in text
    assert f"then a strong purely dense network that trains in {best.train_seconds:.0f} s on the machine that built this page" in text
    rows = [" ".join(tr.get_text(" ").split()) for tr in page(built_book, "book/07_beyond").select("article table tr")]
    for name in ("seed", "hidden", "best"):
        run = runs[name]
        row = next(r for r in rows if f"{run.params:,}" in r)
        assert f" {run.config.epochs} {run.train_seconds:.1f} " in row, row
        assert run.threads == best.threads, f"{name} trained with {run.threads} threads, the best model with {best.threads}"


def test_same_seed_same_result():
    """Two trainings of the tutorial's model with the same seed agree (the issue allows 0.5
    percentage points; on one machine they should agree to within a few images).

    One epoch in batches of 512 (118 steps, a few seconds) instead of the full 5 x 1875 steps:
    the seed fixes the initial weights and the shuffling, which every step depends on.
    """
    quick = TUTORIAL_MODEL.replace(epochs=1, batch_size=512)
    first = mnist_course.train(quick, use_cache=False, quiet=True)
    second = mnist_course.train(quick, use_cache=False, quiet=True)
    assert abs(first.test_accuracy - second.test_accuracy) < 0.001
    # Tolerance only for the order of floating-point sums across threads.
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # ...and the seed is what fixes them: another seed trains other weights.
    other = mnist_course.train(quick.replace(seed=1), use_cache=False, quiet=True)
    assert max(np.abs(a - b).max() for a, b in zip(first.weights, other.weights)) > 0.01
