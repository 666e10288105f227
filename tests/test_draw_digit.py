"""The "Draw a digit" page: its script classifies like Keras, reads drawn digits, stays offline.

The page's own JavaScript (mnist_course/draw/draw.js) runs in headless
Chromium over the built site; it exposes its functions as window.mnistDraw.
The first tests need no browser: they check the NumPy reference of the page's
preprocessing (mnist_course.export), which the browser tests compare against.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mnist_course import export

ROOT = Path(__file__).resolve().parents[1]
PAGE = "book/draw_a_digit.html"
KNOWN_THEME_NOISE = "Got invalid theme mode"  # pydata-sphinx-theme logs this on every page of a fresh browser

# --- the NumPy reference (fast, no browser) ---------------------------------------------------


def test_preprocess_blank_drawing_gives_nothing():
    assert export.preprocess(np.zeros((280, 280))) is None


@pytest.mark.parametrize("shape", [(200, 30), (40, 160), (120, 120)])
def test_preprocess_fits_20_box_keeps_aspect_and_centres_mass(shape):
    height, width = shape
    ink = np.zeros((280, 280))
    ink[10 : 10 + height, 50 : 50 + width] = 1.0  # a solid block, far from the centre
    steps = export.preprocess_steps(ink)
    small, image = steps["small"], steps["image"]
    assert max(small.shape) == 20
    assert small.shape[0] / small.shape[1] == pytest.approx(height / width, rel=0.15)
    assert image.min() >= 0 and image.max() <= 1
    assert image.sum() == pytest.approx(small.sum())  # nothing was cut off
    rows, cols = np.indices(image.shape)
    com = (float((rows * image).sum() / image.sum()), float((cols * image).sum() / image.sum()))
    assert abs(com[0] - 13.5) <= 0.5 and abs(com[1] - 13.5) <= 0.5


def test_preprocess_ignores_where_and_how_large_the_digit_is_drawn():
    centred = export.preprocess(export.render_strokes([[(140, 40), (140, 240)]], width=20))
    moved = export.preprocess(export.render_strokes([[(60, 60), (60, 260)]], width=20))
    np.testing.assert_allclose(moved, centred, atol=1e-12)
    half_size = export.preprocess(export.render_strokes([[(60, 20), (60, 120)]], width=10))
    np.testing.assert_allclose(half_size, centred, atol=0.15)


def test_shift_and_thicken():
    image = np.zeros((1, 28, 28))
    image[0, 10, 10] = 1.0
    assert export.shift_images(image, 2, -3)[0, 7, 12] == 1.0
    assert export.shift_images(image, 2, -3).sum() == 1.0
    assert export.thicken_images(image, 1).sum() == 5.0  # the pixel and its 4 neighbours


# --- the page in a browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_site(built_book):
    from browser import launch, missing_browser_message, serve

    problem = missing_browser_message()
    if problem:
        pytest.fail(problem)
    assert (built_book / PAGE).exists(), f"{PAGE} was not built: is book/draw_a_digit in _toc.yml?"
    with serve(built_book) as url, launch() as browser:
        yield f"{url}/{PAGE}", browser


@pytest.fixture
def draw_page(browser_site):
    from browser import open_page

    url, browser = browser_site
    page, traffic = open_page(browser, url)
    page.wait_for_function("() => window.mnistDraw && window.mnistDraw.widgets.length === 1")
    yield page, traffic
    page.context.close()


@pytest.fixture(scope="module")
def trained_models(built_book):
    """The training runs the page was built from: loaded from the cache the build used (see conftest)."""
    import mnist_course

    return {
        "single": mnist_course.train(mnist_course.SEED_MODEL, quiet=True),
        "hidden": mnist_course.train(mnist_course.HIDDEN_MODEL, quiet=True),
    }


def _test_sample(mnist, n=100):
    (_, _), (x_test, y_test) = mnist
    index = np.linspace(0, len(x_test) - 1, n).astype(int)  # spread over the whole test set
    return x_test[index], y_test[index]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", ["single", "hidden"])
def test_page_forward_pass_equals_keras(draw_page, trained_models, mnist, name):
    page, _ = draw_page
    images, _ = _test_sample(mnist)
    keras_out = trained_models[name].predict_proba(images)
    inputs = (images.reshape(len(images), -1) / 255.0).tolist()
    results = page.evaluate("([name, inputs]) => mnistDraw.predictMany(name, inputs)", [name, inputs])
    outputs = np.array([r["outputs"] for r in results])
    probabilities = np.array([r["probabilities"] for r in results])
    predictions = np.array([r["prediction"] for r in results])
    assert outputs.shape == (100, 10)
    assert np.abs(outputs - keras_out).max() < 1e-4
    np.testing.assert_array_equal(predictions, keras_out.argmax(axis=1))
    np.testing.assert_array_equal(outputs.argmax(axis=1), keras_out.argmax(axis=1))
    # Shown probabilities: the softmax of the last layer's sums z, which is what Keras
    # trained a sigmoid output layer on under sparse categorical cross-entropy.
    from mnist_course.metrics import softmax

    a = np.asarray(inputs)
    weights = trained_models[name].weights
    for kernel, bias in zip(weights[0:-2:2], weights[1:-2:2]):
        a = np.maximum(a @ kernel + bias, 0)  # the hidden layers (relu)
    expected = softmax(a @ weights[-2] + weights[-1])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert np.abs(probabilities - expected).max() < 1e-4


@pytest.mark.browser
@pytest.mark.slow
def test_page_preprocessing_equals_numpy_reference(draw_page, mnist):
    """MNIST digits enlarged to the canvas' 280 x 280, and a drawn 7, through the page's preprocess()."""
    page, _ = draw_page
    images, _ = _test_sample(mnist, n=20)
    # Enlarged 10 times in the browser (each pixel a 10 x 10 block), as np.kron does here.
    got = page.evaluate(
        """images => images.map(image => {
            const ink = new Float64Array(280 * 280);
            for (let y = 0; y < 280; y++)
                for (let x = 0; x < 280; x++) ink[y * 280 + x] = image[Math.floor(y / 10) * 28 + Math.floor(x / 10)] / 255;
            return Array.from(mnistDraw.preprocess(ink, 280, 280));
        })""",
        images.reshape(len(images), -1).tolist(),
    )
    for image, result in zip(images, got):
        expected = export.preprocess(np.kron(image / 255.0, np.ones((10, 10))))
        np.testing.assert_allclose(np.array(result).reshape(28, 28), expected, atol=1e-9)
    seven = export.render_strokes([[(70, 50), (210, 50), (120, 240)]], width=20)
    got = page.evaluate("ink => Array.from(mnistDraw.preprocess(Float64Array.from(ink), 280, 280))", seven.ravel().tolist())
    np.testing.assert_allclose(np.array(got).reshape(28, 28), export.preprocess(seven), atol=1e-9)
    assert page.evaluate("() => mnistDraw.preprocess(new Float64Array(280 * 280), 280, 280)") is None


def _draw(page, strokes):
    """Draw polylines (points as fractions of the canvas' width and height) with the mouse."""
    canvas = page.locator(".mnist-draw-canvas")
    canvas.evaluate("e => e.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=5)
        page.mouse.up()


ONE = [[(0.5, 0.15), (0.5, 0.85)]]  # a vertical line
ZERO = [[(0.5 + 0.25 * math.sin(a), 0.5 - 0.36 * math.cos(a)) for a in np.linspace(0, 2 * math.pi, 48)]]  # a closed loop


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("model", ["single", "hidden"])
def test_drawn_one_and_zero_are_read_correctly(draw_page, model):
    page, traffic = draw_page
    widget = page.locator(".mnist-draw")
    assert widget.get_attribute("data-prediction") == ""  # nothing drawn yet
    if model != "single":
        page.locator(f'.mnist-draw input[type=radio][value="{model}"]').check()
    assert widget.get_attribute("data-model") == model

    _draw(page, ONE)
    assert widget.get_attribute("data-prediction") == "1"
    assert "reads 1" in page.locator(".mnist-draw-verdict").inner_text()
    seen = np.array(page.evaluate("() => Array.from(mnistDraw.widgets[0].input)"))
    assert seen.shape == (784,) and 0 < seen.sum() and seen.max() <= 1

    page.get_by_role("button", name="Clear").click()
    assert widget.get_attribute("data-prediction") == ""

    _draw(page, ZERO)
    assert widget.get_attribute("data-prediction") == "0"
    assert "reads 0" in page.locator(".mnist-draw-verdict").inner_text()
    bars = page.locator(".mnist-draw-bar")
    assert bars.count() == 10
    assert "mnist-draw-best" in (bars.nth(0).get_attribute("class") or "")
    assert not traffic.foreign


@pytest.mark.browser
@pytest.mark.slow
def test_touch_and_keyboard(draw_page):
    """Pointer events from a pen or finger draw too; every control works from the keyboard."""
    page, _ = draw_page
    widget = page.locator(".mnist-draw")
    page.locator(".mnist-draw-canvas").evaluate(
        """canvas => {
            const box = canvas.getBoundingClientRect();
            const at = (type, fx, fy) => canvas.dispatchEvent(new PointerEvent(type, {
                pointerId: 7, pointerType: "touch", isPrimary: true, bubbles: true, cancelable: true, button: 0,
                clientX: box.left + fx * box.width, clientY: box.top + fy * box.height}));
            at("pointerdown", 0.5, 0.15);
            for (let i = 1; i <= 20; i++) at("pointermove", 0.5, 0.15 + 0.7 * i / 20);
            at("pointerup", 0.5, 0.85);
        }"""
    )
    assert widget.get_attribute("data-prediction") == "1"
    # Keyboard: focus the arrow button, press Enter twice; then the Clear button.
    right = page.get_by_role("button", name="Move the input one pixel right")
    right.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert page.evaluate("() => mnistDraw.widgets[0].offset") == [2, 0]
    page.get_by_role("button", name="Clear").focus()
    page.keyboard.press("Enter")
    assert widget.get_attribute("data-prediction") == ""
    # Radio buttons choose the model with the arrow keys.
    page.locator('.mnist-draw input[value="single"]').focus()
    page.keyboard.press("ArrowDown")
    assert widget.get_attribute("data-model") == "hidden"


@pytest.mark.browser
@pytest.mark.slow
def test_page_makes_no_request_beyond_127_0_0_1(draw_page):
    page, traffic = draw_page
    page.locator('.mnist-draw input[value="hidden"]').check()
    _draw(page, ONE)
    assert page.locator(".mnist-draw").get_attribute("data-prediction") == "1"
    page.wait_for_load_state("networkidle")
    assert traffic.requests, "the recorder saw no request at all"
    assert traffic.foreign == [], f"requests to other hosts: {traffic.foreign}"
    assert traffic.failed == [], f"local requests that failed: {traffic.failed}"
    errors = [e for e in traffic.console_errors if KNOWN_THEME_NOISE not in e]
    assert errors == [], errors


@pytest.mark.browser
@pytest.mark.slow
def test_widget_accessibility_basics(draw_page):
    page, _ = draw_page
    canvas = page.locator(".mnist-draw-canvas")
    assert canvas.get_attribute("role") == "img"
    assert len(canvas.get_attribute("aria-label") or "") > 40
    assert page.locator(".mnist-draw-input").get_attribute("aria-label")
    assert page.locator(".mnist-draw-verdict").get_attribute("aria-live") == "polite"
    for name in ("Clear", "Undo stroke", "Re-centre"):
        assert page.get_by_role("button", name=name).count() == 1
    assert page.get_by_role("radio").count() == 2
    # On a phone's width nothing sticks out sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    overflow = page.evaluate("() => document.querySelector('.mnist-draw').scrollWidth - document.querySelector('.mnist-draw').clientWidth")
    assert overflow <= 0


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_widget_passes_axe_checks(draw_page, theme):
    """axe-core (contrast, names, roles) on the widget with a drawing, in the theme's light and dark mode."""
    from axe_playwright_python.sync_playwright import Axe

    page, _ = draw_page
    page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
    _draw(page, ONE)
    results = Axe().run(page, context=".mnist-draw")
    problems = [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]
    assert problems == []


@pytest.mark.slow
def test_page_figures_and_glued_claims(built_book, trained_models):
    from pages import figures, main_text, page

    soup = page(built_book, "book/draw_a_digit")
    images = figures(soup)
    assert len(images) >= 4 and all(img.get("alt") for img in images)
    text = main_text(soup)
    single, hidden = trained_models["single"], trained_models["hidden"]
    for claim in (
        f"The first, with a single layer, reads {single.test_accuracy * 100:.1f} % of the test images right.",
        f"The other has one hidden layer of {hidden.config.hidden[0]} units and reads {hidden.test_accuracy * 100:.1f} % of them right.",
        f"on the {single.params:,} trained weights of the single-layer model",
    ):
        assert claim in text, f"missing or wrong: {claim!r}"
    # The weights are in the page, as the script expects them.
    for name in ("single", "hidden"):
        element = soup.select_one(f"script#mnist-draw-model-{name}")
        assert element is not None
