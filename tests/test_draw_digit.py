"""The "Draw a digit" page: its script classifies like Keras, reads drawn digits, stays offline.

The page's own JavaScript (mnist_course/draw/draw.js) runs in headless
Chromium over the built site; it exposes its functions as window.mnistDraw.
The first tests need no browser: they check the NumPy reference of the page's
preprocessing (mnist_course.export), which the browser tests compare against.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from mnist_course import export

ROOT = Path(__file__).resolve().parents[1]
PAGE = "book/draw_a_digit.html"
KNOWN_THEME_NOISE = "Got invalid theme mode"  # pydata-sphinx-theme logs this on every page of a fresh browser

# --- the NumPy reference (fast, no browser) ---------------------------------------------------

# For the tests of the mechanics: the geometric centre, and a point off the half-pixel grid.
CENTRES = [(13.5, 13.5), (13.96, 14.03)]


@pytest.fixture(scope="module")
def mnist_centre(mnist):
    """The centring target the book computes: where MNIST's training digits have their centre of mass."""
    (x_train, _), _ = mnist
    return export.centring_target(x_train)


def test_preprocess_blank_drawing_gives_nothing():
    assert export.preprocess(np.zeros((280, 280)), CENTRES[0]) is None
    assert not export.preprocess_images(np.zeros((2, 28, 28)), CENTRES[0]).any()


@pytest.mark.parametrize("centre", CENTRES)
@pytest.mark.parametrize("shape", [(200, 30), (40, 160), (120, 120)])
def test_preprocess_fits_20_box_keeps_aspect_and_centres_mass(shape, centre):
    height, width = shape
    ink = np.zeros((280, 280))
    ink[10 : 10 + height, 50 : 50 + width] = 1.0  # a solid block, far from the centre
    steps = export.preprocess_steps(ink, centre)
    small, image = steps["small"], steps["image"]
    assert max(small.shape) == 20
    assert small.shape[0] / small.shape[1] == pytest.approx(height / width, rel=0.15)
    assert image.min() >= 0 and image.max() <= 1
    assert image.sum() == pytest.approx(small.sum())  # nothing was cut off
    com = export.centres_of_mass(image[None])[0]
    assert abs(com[0] - centre[0]) <= 0.5 and abs(com[1] - centre[1]) <= 0.5
    assert steps["centre"] == centre


def test_preprocess_rejects_a_centre_that_is_not_two_numbers():
    ink = export.render_strokes([[(140, 40), (140, 240)]])
    for centre in [(14.0,), (14.0, float("nan")), (1, 2, 3)]:
        with pytest.raises(ValueError, match="centre"):
            export.preprocess(ink, centre)


def test_preprocess_ignores_where_and_how_large_the_digit_is_drawn(mnist_centre):
    # Up to whole-pixel centring: a centre of mass just off a rounding boundary can go either way.
    centre = mnist_centre
    centred = export.preprocess(export.render_strokes([[(140, 40), (140, 240)]], width=20), centre)
    moved = export.preprocess(export.render_strokes([[(60, 60), (60, 260)]], width=20), centre)
    np.testing.assert_allclose(moved, centred, atol=1e-12)
    half_size = export.preprocess(export.render_strokes([[(60, 20), (60, 120)]], width=10), centre)
    np.testing.assert_allclose(half_size, centred, atol=0.15)


def test_centres_of_mass():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 3, 5] = 255
    images[1, 10, 20] = images[1, 12, 20] = images[1, 11, 26] = 7
    np.testing.assert_allclose(export.centres_of_mass(images), [[3, 5], [11, 22]])
    np.testing.assert_allclose(export.centres_of_mass(images / 255.0), [[3, 5], [11, 22]])


def test_centring_target_is_where_mnist_puts_the_centre_of_mass(mnist, mnist_centre):
    """MNIST's digits have their centre of mass near 14.0, not at the geometric centre 13.5
    (issue 14): centred on 13.5, most test images would move; on the target, few do."""
    (x_train, _), (x_test, _) = mnist
    coms = export.centres_of_mass(x_train)
    np.testing.assert_allclose(mnist_centre, coms.mean(axis=0), rtol=0, atol=1e-12)
    assert all(abs(c - 14.0) < 0.05 for c in mnist_centre), mnist_centre
    assert np.abs(coms - np.array(mnist_centre)).max() < 0.55  # every training digit within about half a pixel
    images = x_test[:2000] / 255.0
    unchanged_on_target = np.isclose(export.preprocess_images(images, mnist_centre), images, atol=1e-9).all(axis=(1, 2))
    unchanged_at_middle = np.isclose(export.preprocess_images(images, (13.5, 13.5)), images, atol=1e-9).all(axis=(1, 2))
    assert unchanged_on_target.mean() > 0.97, unchanged_on_target.mean()
    assert unchanged_at_middle.mean() < 0.5, unchanged_at_middle.mean()


def test_preprocess_images_is_preprocess_for_each_image(mnist, mnist_centre):
    """The vectorised version the chapter runs on the test set gives what the page gives, image by image."""
    _, (x_test, _) = mnist
    images = x_test / 255.0
    through = export.preprocess_images(images, mnist_centre)
    changed = np.flatnonzero(~np.isclose(through, images, atol=1e-9).all(axis=(1, 2)))
    sample = np.unique(np.concatenate([changed, np.linspace(0, len(images) - 1, 200).astype(int)]))
    assert len(changed) > 10  # the sample holds images the preprocessing moves or rescales
    for i in sample:
        np.testing.assert_allclose(through[i], export.preprocess(images[i], mnist_centre), rtol=0, atol=1e-12, err_msg=f"test image {i}")
    # Drawings of any size too, several shapes in one batch.
    drawings = np.stack([export.render_strokes(s, width=20) for s in ([[(140, 40), (140, 240)]], [[(70, 50), (210, 50), (120, 240)]], [[(20, 20), (260, 30)]])])
    for drawing, result in zip(drawings, export.preprocess_images(drawings, mnist_centre)):
        np.testing.assert_allclose(result, export.preprocess(drawing, mnist_centre), rtol=0, atol=1e-12)


def test_a_28_pixel_image_is_preprocessed_as_its_enlargement_on_the_canvas(mnist, mnist_centre):
    """Pushing the 28 x 28 test images through preprocess is what the page does with them drawn 10 times larger."""
    _, (x_test, _) = mnist
    for image in x_test[:: len(x_test) // 25] / 255.0:
        enlarged = np.kron(image, np.ones((10, 10)))
        np.testing.assert_allclose(export.preprocess(enlarged, mnist_centre), export.preprocess(image, mnist_centre), rtol=0, atol=1e-9)


def test_drawing_pad_carries_the_centre_to_the_page():
    """The page's script reads the centre from a JSON element, at full precision."""
    import json
    import re

    from bs4 import BeautifulSoup

    centre = (13.995905265287936, 14.006820330949974)
    models = [{"name": "single", "label": "single layer", "layers": []}]
    with pytest.raises(TypeError):
        export.DrawingPad(models)  # no centre: the page would not know where to put a drawing
    markup = export.DrawingPad(models, centre)._repr_html_()
    element = BeautifulSoup(markup, "html.parser").find(id=export.PREPROCESSING_ELEMENT_ID)
    assert element is not None and element.name == "script" and element["type"] == "application/json"
    assert json.loads(element.string) == {"centre": list(centre)}
    assert re.search(r"\bcentre\s*=\s*centre\s*\|\|\s*pageCentre\(\)", markup), "draw.js no longer reads the page's centre"
    assert "13.5" not in re.sub(r"//.*", "", (Path(export.__file__).parent / "draw" / "draw.js").read_text()), "a typed centre in draw.js"


def test_the_sites_build_finds_and_rewrites_every_embedded_model():
    """_ext/course_site.py moves each model out of the page with EMBEDDED_MODEL_PATTERN and leaves
    model_element(name, src=...): both must match what embed_html writes."""
    models = [{"name": "tutorial", "weights": [[0.5, -1.0]]}, {"name": "dense-100", "weights": []}]
    page = export.embed_html(models, centre=(14.0, 14.0))
    found = export.EMBEDDED_MODEL_PATTERN.findall(page)
    assert [(name, json.loads(text)) for name, text in found] == [(model["name"], model) for model in models]
    moved = export.EMBEDDED_MODEL_PATTERN.sub(lambda match: export.model_element(match.group(1), src=f"{match.group(1)}.js"), page)
    assert 'id="mnist-draw-model-tutorial" class="mnist-draw-model" data-src="tutorial.js"></script>' in moved
    assert "weights" not in moved and export.PREPROCESSING_ELEMENT_ID in moved


def test_a_rebuild_replaces_a_models_weight_file(tmp_path):
    """A rebuild into the same _build/html leaves one weight file per model: the page's current one."""
    from types import SimpleNamespace

    from _ext import course_site

    app = SimpleNamespace(outdir=str(tmp_path))

    def build(weights):
        # Two models, one name the start of the other's: each keeps its own file.
        models = [{"name": "tutorial-deep", "weights": [[1.0]]}, {"name": "tutorial", "weights": weights}]
        context = {"body": export.embed_html(models, centre=(14.0, 14.0)), "pathto": lambda name, resource: name}
        course_site.draw_models_as_files(app, "book/draw_a_digit", "page.html", context, None)
        return context["body"]

    first, second = build([[0.5]]), build([[0.25]])
    files = sorted(path.name for path in (tmp_path / course_site.DRAW_MODELS_DIR).iterdir())
    assert len(files) == 2 and all(name in second for name in files), files
    tutorial = next(name for name in files if not name.startswith("tutorial-deep-"))
    assert tutorial not in first, "the first build's weights were left"


def test_shift_and_thicken():
    image = np.zeros((1, 28, 28))
    image[0, 10, 10] = 1.0
    assert export.shift_images(image, 2, -3)[0, 7, 12] == 1.0
    assert export.shift_images(image, 2, -3).sum() == 1.0
    assert export.thicken_images(image, 1).sum() == 5.0  # the pixel and its 4 neighbours


def test_read_accuracy_and_pixels_moved():
    # A one-layer "model" whose output j adds up the pixels with index j modulo 10.
    kernel = np.zeros((784, 10))
    kernel[np.arange(784), np.arange(784) % 10] = 1.0
    model = {"layers": [{"inputs": 784, "units": 10, "activation": "sigmoid", "kernel": kernel.ravel().tolist(), "bias": [0.0] * 10}]}
    images = np.zeros((2, 28, 28))
    images[0].flat[3] = images[1].flat[15] = 1.0
    digit, probability = export.read(model, images[0])
    assert digit == 3 and probability == pytest.approx(math.e / (math.e + 9))
    assert export.accuracy(model, images, np.array([3, 5])) == 100.0
    assert export.accuracy(model, images, np.array([3, 4])) == 50.0
    moved = export.shift_images(images, dx=2, dy=1)
    np.testing.assert_array_equal(export.pixels_moved(images, moved), [[1, 2], [1, 2]])
    np.testing.assert_array_equal(export.pixels_moved(images, images), [[0, 0], [0, 0]])


def test_preprocessing_figure_marks_the_target(mnist_centre):
    from mnist_course import plots

    ink = export.render_strokes([[(70, 50), (210, 50), (120, 240)]], width=20)
    fig = plots.preprocessing_steps(ink, export.preprocess_steps(ink, mnist_centre))
    last = fig.axes[3]
    horizontal = [line for line in last.lines if len(set(line.get_ydata())) == 1 and len(line.get_xdata()) == 2]
    vertical = [line for line in last.lines if len(set(line.get_xdata())) == 1 and len(line.get_ydata()) == 2]
    assert [line.get_ydata()[0] for line in horizontal] == [mnist_centre[0]]
    assert [line.get_xdata()[0] for line in vertical] == [mnist_centre[1]]


# --- the page in a browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_site(built_book):
    from tools.browser import launch, missing_browser_message, serve

    problem = missing_browser_message()
    if problem:
        pytest.fail(problem)
    assert (built_book / PAGE).exists(), f"{PAGE} was not built: is book/draw_a_digit in _toc.yml?"
    with serve(built_book) as url, launch() as browser:
        yield f"{url}/{PAGE}", browser


@pytest.fixture(scope="module")
def draw_tab(browser_site):
    """One tab for the tests below: each loads the page afresh in it (a new context costs Chromium
    three times the CPU of a visit)."""
    from tools.browser import Tab

    tab = Tab(browser_site[1])
    yield tab
    tab.close()


@pytest.fixture
def draw_page(browser_site, draw_tab):
    """The page as a first visit (nothing cached), at the tab's own size, with its pad ready."""
    page = draw_tab.page
    page.set_viewport_size(draw_tab.viewport)
    traffic = draw_tab.visit(browser_site[0])
    page.wait_for_function("() => window.mnistDraw && window.mnistDraw.widgets.length === 1")
    yield page, traffic
    page.unroute_all()  # a test's stand-in for the server ends with it


@pytest.fixture(scope="module")
def trained_models(built_book):
    """The training runs the page was built from: loaded from the cache the build used (see conftest)."""
    import mnist_course

    return {
        "single": mnist_course.train(mnist_course.TUTORIAL_MODEL, quiet=True),
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
def test_page_centres_on_the_target_measured_from_mnist(draw_page, mnist_centre):
    page, _ = draw_page
    assert page.evaluate("() => mnistDraw.centre()") == list(mnist_centre)


@pytest.mark.browser
@pytest.mark.slow
def test_page_preprocesses_the_test_images_as_the_chapter_does(draw_page, mnist, mnist_centre):
    """28 x 28 test images through the page's preprocess(): those the chapter's preprocess_images
    moves or rescales (where rounding the offset is closest to going the other way), and a sample."""
    page, _ = draw_page
    _, (x_test, _) = mnist
    images = x_test / 255.0
    through = export.preprocess_images(images, mnist_centre)
    changed = np.flatnonzero(~np.isclose(through, images, atol=1e-9).all(axis=(1, 2)))
    chosen = np.unique(np.concatenate([changed, np.linspace(0, len(images) - 1, 100).astype(int)]))
    got = page.evaluate(
        "images => images.map(image => Array.from(mnistDraw.preprocess(Float64Array.from(image), 28, 28)))",
        images[chosen].reshape(len(chosen), -1).tolist(),
    )
    np.testing.assert_allclose(np.array(got).reshape(-1, 28, 28), through[chosen], rtol=0, atol=1e-9)


@pytest.mark.browser
@pytest.mark.slow
def test_page_preprocessing_equals_numpy_reference(draw_page, mnist, mnist_centre):
    """MNIST digits enlarged to the canvas' 280 x 280, and a drawn 7, through the page's preprocess()."""
    page, _ = draw_page
    centre = mnist_centre
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
        expected = export.preprocess(np.kron(image / 255.0, np.ones((10, 10))), centre)
        np.testing.assert_allclose(np.array(result).reshape(28, 28), expected, atol=1e-9)
    seven = export.render_strokes([[(70, 50), (210, 50), (120, 240)]], width=20)
    got = page.evaluate("ink => Array.from(mnistDraw.preprocess(Float64Array.from(ink), 280, 280))", seven.ravel().tolist())
    np.testing.assert_allclose(np.array(got).reshape(28, 28), export.preprocess(seven, centre), atol=1e-9)
    assert page.evaluate("() => mnistDraw.preprocess(new Float64Array(280 * 280), 280, 280)") is None
    # Given another centre, the page centres there, as preprocess does.
    other = [13.5, 13.5]
    got = page.evaluate("([ink, c]) => Array.from(mnistDraw.preprocess(Float64Array.from(ink), 280, 280, c))", [seven.ravel().tolist(), other])
    np.testing.assert_allclose(np.array(got).reshape(28, 28), export.preprocess(seven, other), atol=1e-9)


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
    expect(widget).to_have_attribute("data-prediction", "1")  # once the weights are fetched
    assert "reads 1" in page.locator(".mnist-draw-verdict").inner_text()
    seen = np.array(page.evaluate("() => Array.from(mnistDraw.widgets[0].input)"))
    assert seen.shape == (784,) and 0 < seen.sum() and seen.max() <= 1

    page.get_by_role("button", name="Clear").click()
    assert widget.get_attribute("data-prediction") == ""

    _draw(page, ZERO)
    expect(widget).to_have_attribute("data-prediction", "0")
    assert "reads 0" in page.locator(".mnist-draw-verdict").inner_text()
    bars = page.locator(".mnist-draw-bar")
    assert bars.count() == 10
    assert "mnist-draw-best" in (bars.nth(0).get_attribute("class") or "")
    assert not traffic.foreign


@pytest.mark.browser
@pytest.mark.slow
def test_the_pad_works_on_the_site_opened_from_disk(browser_site, built_book):
    """The README's first way to view the site: open the HTML file, no server. The weights load there too."""
    _, browser = browser_site
    page = browser.new_page()
    try:
        page.goto((built_book / PAGE).resolve().as_uri())
        page.wait_for_function("() => window.mnistDraw && window.mnistDraw.widgets.length === 1")
        _draw(page, ONE)
        expect(page.locator(".mnist-draw")).to_have_attribute("data-prediction", "1")
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_weights_that_do_not_load_are_reported_and_tried_again(draw_page):
    """A failed fetch of the weights says so in the pad (not a silent pad, not a console trace),
    and the next drawing fetches them again."""
    page, _ = draw_page
    page.route("**/draw-models/**", lambda route: route.fulfill(status=503, body="unavailable"))
    widget, status = page.locator(".mnist-draw"), page.locator(".mnist-draw-status")
    _draw(page, ONE)
    expect(status).to_contain_text("could not load the model")
    assert widget.get_attribute("data-prediction") == ""
    page.unroute("**/draw-models/**")
    page.get_by_role("button", name="Clear").click()
    _draw(page, ONE)
    expect(widget).to_have_attribute("data-prediction", "1")
    expect(status).to_have_text("")


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
    expect(widget).to_have_attribute("data-prediction", "1")
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
    expect(page.locator(".mnist-draw")).to_have_attribute("data-prediction", "1")
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
    assert len(images) >= 4
    text = main_text(soup)
    single, hidden = trained_models["single"], trained_models["hidden"]
    for claim in (
        f"The first, with a single layer, reads {single.test_accuracy * 100:.1f} % of the test images right.",
        f"The other has one hidden layer of {hidden.config.hidden[0]} units and reads {hidden.test_accuracy * 100:.1f} % of them right.",
        f"on the {single.params:,} trained weights of the single-layer model",
        "the course's website keeps them in files of their own, which the page fetches when you first point at the pad",
    ):
        assert claim in text, f"missing or wrong: {claim!r}"
    # The weights are not in the page: each model's element holds the address of its file.
    for name in ("single", "hidden"):
        element = soup.select_one(f"script#mnist-draw-model-{name}")
        assert element is not None and not element.string, f"{name}: the weights are still in the page"
        script = ((built_book / "book") / element["data-src"]).read_text()
        prefix = f"window.mnistDraw.receive({json.dumps(name)}, "
        assert script.startswith(prefix) and script.rstrip().endswith(");"), script[:200]
        model = json.loads(script.strip()[len(prefix):-2])
        assert model["name"] == name and model["params"] == trained_models[name].params
    assert len((built_book / "book/draw_a_digit.html").read_bytes()) < 150_000, "the page carries more than its text"


@pytest.mark.browser
@pytest.mark.slow
def test_weights_are_fetched_when_a_reader_reaches_the_pad(draw_page):
    """Loading the page fetches no weights (a reader who only reads downloads none); pointing at
    the pad fetches the chosen model's, and choosing the other model fetches that one."""
    page, traffic = draw_page
    page.wait_for_load_state("networkidle")
    fetched = lambda: [url for url in traffic.requests if "/draw-models/" in url]
    assert fetched() == [], f"weights fetched before anyone drew: {fetched()}"
    _draw(page, ONE)
    expect(page.locator(".mnist-draw")).to_have_attribute("data-prediction", "1")
    assert len(fetched()) == 1 and "/draw-models/single-" in fetched()[0], fetched()
    page.locator('.mnist-draw input[value="hidden"]').check()
    expect(page.locator(".mnist-draw")).to_have_attribute("data-model", "hidden")
    expect(page.locator(".mnist-draw")).to_have_attribute("data-prediction", "1")
    assert len(fetched()) == 2 and "/draw-models/hidden-" in fetched()[1], fetched()
    assert traffic.failed == []


@pytest.mark.slow
def test_page_says_its_preprocessing_keeps_the_accuracy(built_book, trained_models, mnist, mnist_centre):
    """Issue 14: the 10,000 test images pushed through the page's preprocessing are read as well as
    the images as they are (within 0.3 points), for each model the page offers; the page says so
    with the right numbers, and says what centring on the geometric centre would cost."""
    from pages import main_text, page

    (x_train, _), (x_test, y_test) = mnist
    images = x_test / 255.0

    def accuracy(model, x):
        return float((export.forward(model, x.reshape(len(x), -1)).argmax(1) == y_test).mean() * 100)

    def moved(x):
        shift = np.round(export.centres_of_mass(x) - export.centres_of_mass(images))
        assert np.abs(shift).max() <= 1  # by a pixel, never more
        return int(np.any(shift != 0, axis=1).sum())

    through_page = export.preprocess_images(images, mnist_centre)
    at_middle = export.preprocess_images(images, (13.5, 13.5))
    result = {}
    for name, trained in trained_models.items():
        model = export.model_dict(trained, name=name, label=name)
        result[name] = (accuracy(model, images), accuracy(model, through_page))
        assert abs(result[name][1] - result[name][0]) <= 0.3, (name, result[name])
    middle_single = accuracy(export.model_dict(trained_models["single"], name="single", label="single"), at_middle)
    assert middle_single < result["single"][0] - 1

    text = main_text(page(built_book, "book/draw_a_digit"))
    coms = export.centres_of_mass(x_train)
    (single_as_is, single_through), (hidden_as_is, hidden_through) = result["single"], result["hidden"]
    for claim in (
        f"yet MNIST's training digits have their centre of mass at row {mnist_centre[0]:.2f}, column {mnist_centre[1]:.2f} on average, "
        f"every one of them between {coms.min():.2f} and {coms.max():.2f}: about half a pixel lower and further right.",
        f"The page moves {moved(through_page):,} of the {len(x_test):,} test images by a pixel, and the accuracies hardly change: "
        f"the single-layer model reads {single_through:.2f} % of them right after the page's preprocessing, against {single_as_is:.2f} % "
        f"as they are, and the hidden-layer model {hidden_through:.2f} % against {hidden_as_is:.2f} %.",
        f"Had the page put the centre of mass at the middle of the image, 13.5, it would move {moved(at_middle):,} of the test images "
        f"by a pixel, and the single-layer model would read only {middle_single:.1f} % of them right.",
    ):
        assert claim in text, f"missing or wrong: {claim!r}"


@pytest.mark.slow
def test_page_explains_or_links_what_a_later_chapter_introduces(built_book):
    """Draw a digit comes before Beyond one layer (issue 14): it links the hidden layer and the
    kernel to the glossary where it first uses them, names Beyond one layer as a later chapter,
    and calls no chapter "the next" or "the last"."""
    from pages import main_text, page, toc_files

    files = toc_files()
    assert files.index("book/draw_a_digit") < files.index("book/07_beyond")
    soup = page(built_book, "book/draw_a_digit")
    text = main_text(soup)
    links = [(a.get_text(" ", strip=True), a.get("href", "")) for a in soup.select("article a")]
    # The first paragraph that speaks of a hidden layer, or of a kernel, links it to the glossary.
    for words, anchor in (("hidden layer", "term-Hidden-layer"), ("kernel", "term-Kernel")):
        first = next(p for p in soup.select("article p") if words in p.get_text(" ").lower())
        assert any(a.get("href", "").endswith(f"glossary.html#{anchor}") for a in first.select("a")), f"{words!r} first used without a link: {first.get_text()[:200]}"
    assert "A hidden layer sits between the pixels and the ten output units" in text
    assert any(href.startswith("07_beyond.html") for _, href in links), "no link to Beyond one layer"
    assert "The chapter Beyond one layer, later in the course," in text
    for phrase in ("next chapter", "last chapter", "previous chapter"):
        assert phrase not in text.lower(), phrase
