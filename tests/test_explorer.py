"""The epochs-and-activation explorer, on the built static site, in headless Chromium with no kernel."""

from __future__ import annotations

import base64
import re

import numpy as np

import pytest

from tools.browser import launch, open_page, serve, show_first_widget
from mnist_course import explorer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGE = "book/05_explorer.html"


@pytest.fixture(scope="module")
def runs(built_book):
    return explorer.precompute()


@pytest.fixture(scope="module")
def served(built_book):
    with serve(built_book) as base_url, launch() as browser:
        yield base_url, browser


def open_explorer(served, **options):
    """The explorer page, scrolled to its widgets, with them drawn (assets/js/widgets-loader.js)."""
    base_url, browser = served
    page, traffic = open_page(browser, f"{base_url}/{PAGE}", **options)
    show_first_widget(page, ".explorer-state")
    return page, traffic


@pytest.fixture(scope="module")
def site(served):
    page, traffic = open_explorer(served)
    yield page, traffic
    page.context.close()


SLIDER = ".lite-slider input[type=range]"


def choose(page, activation: str, epoch: int) -> None:
    page.select_option(".lite-dropdown select", label=activation)
    slider = page.locator(SLIDER)
    slider.focus()
    # With the keyboard, as a reader without a pointer moves it: Home, then one step per epoch.
    page.keyboard.press("Home")
    for _ in range(epoch - 1):
        page.keyboard.press("ArrowRight")
    assert page.locator(".lite-readout").inner_text() == str(epoch)


def shown(page) -> dict:
    state = page.locator(".explorer-state:visible")
    assert state.count() == 1, "exactly one state is visible"
    return {
        "activation": state.get_attribute("data-activation"),
        "epoch": int(state.get_attribute("data-epoch")),
        "validation_accuracy": state.locator(".validation-accuracy").inner_text(),
        "validation_interval": state.locator(".validation-interval").inner_text(),
        "train_accuracy": state.locator(".train-accuracy").inner_text(),
        "text": state.inner_text(),
        "image": state.locator("img.explorer-templates").get_attribute("src"),
    }


@pytest.mark.parametrize("activation, epoch", [("relu", 7), ("tanh", 12), ("softmax", 1), ("linear", 15), ("sigmoid", 3)])
def test_dropdown_and_slider_show_the_precomputed_state(site, runs, activation, epoch):
    page, _ = site
    choose(page, activation, epoch)
    page.wait_for_selector(f'.explorer-state[data-activation="{activation}"][data-epoch="{epoch}"]', state="visible", timeout=5000)
    now = shown(page)
    expected = explorer.state(runs[activation], epoch)
    assert now["activation"] == activation and now["epoch"] == epoch
    low, high = expected["validation_interval"]
    assert now["validation_accuracy"].split("\n")[0].strip() == f"{expected['validation_accuracy'] * 100:.2f} %"
    assert now["validation_interval"] == f"{low * 100:.1f} to {high * 100:.1f}"
    assert now["train_accuracy"] == f"{expected['train_accuracy'] * 100:.2f} %"
    # The test set is for the one final measurement (in the prose), never shown to choose by.
    assert "test" not in now["text"].lower()
    png = base64.b64encode(explorer.templates_png(runs[activation].epoch_weights[epoch - 1][0])).decode()
    assert now["image"] == f"data:image/png;base64,{png}"


def test_every_activation_and_epoch_is_there(built_book, runs):
    html = (built_book / PAGE).read_text(encoding="utf-8")
    for activation in explorer.ACTIVATIONS:
        for epoch in range(1, explorer.EPOCHS + 1):
            assert f'data-activation=\\"{activation}\\" data-epoch=\\"{epoch}\\"' in html, (activation, epoch)
    assert "test-accuracy" not in html and "test-loss" not in html, "no state may show a test figure"


def test_every_curve_has_the_same_axes_and_labels(built_book):
    """One accuracy scale for every activation and epoch, with both axes labelled."""
    html = (built_book / PAGE).read_text(encoding="utf-8").replace('\\"', '"')
    svgs = re.findall(r'<svg class="explorer-curves".*?</svg>', html)
    assert len(svgs) == len(explorer.ACTIVATIONS) * explorer.EPOCHS
    axes = {tuple(re.findall(r"<text[^>]*>([^<]*)</text>", svg)) for svg in svgs}
    assert axes == {("0 %", "25 %", "50 %", "75 %", "100 %", "accuracy", "1", "8", "15", "epoch", "training", "validation")}


def test_sigmoid_and_softmax_train_identically(runs):
    """The page says so: Keras hands a sigmoid layer's logits to the loss, as for softmax."""
    sigmoid, softmax = runs["sigmoid"], runs["softmax"]
    assert sigmoid.epoch_metrics == softmax.epoch_metrics
    for epoch_sigmoid, epoch_softmax in zip(sigmoid.epoch_weights, softmax.epoch_weights):
        assert all(np.array_equal(a, b) for a, b in zip(epoch_sigmoid, epoch_softmax))


def test_wrong_output_activations_fail(runs):
    good = runs["sigmoid"].epoch_metrics["validation_accuracy"][-1]
    for activation in ("relu", "tanh", "linear"):
        curve = runs[activation].epoch_metrics["validation_accuracy"]
        assert max(curve) < good - 0.10, f"{activation}: at best 10 points below sigmoid (the page: far below)"
        assert curve[-1] < max(curve), f"{activation}: accuracy should fall from its best"


def test_train_now_trains_the_chosen_configuration_in_a_live_kernel(runs):
    """The "Train now" button (live kernels only) trains the chosen activation for the chosen epochs."""
    widget = explorer.build_widget({"softmax": runs["softmax"]})
    controls, _stack, train_now = widget.children
    dropdown, slider = controls.children
    (button, progress), result = train_now.children[0].children, train_now.children[1]
    slider.value = 1
    button.click()
    assert progress.value == progress.max == 1
    assert 'data-activation="softmax" data-epoch="1"' in result.value
    assert "validation-accuracy" in result.value and "test" not in result.value and not button.disabled


def test_every_epoch_is_reachable_by_touch_on_a_phone(served):
    """At 375 px, tapping the slider's track where an epoch lies shows that epoch (the track once had no width)."""
    page, traffic = open_explorer(served, viewport=(375, 740), touch=True)
    track = page.locator(SLIDER)
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    assert box["width"] >= 14 * 10, f"the slider's track is {box['width']:.0f} px wide at 375 px"
    assert box["height"] >= 24, f"the slider is {box['height']:.0f} px tall: too small a target for a finger"
    # Where Chromium puts each value: the thumb's centre runs from half a thumb in from either end.
    thumb = 16

    def tap(epoch):
        x = box["x"] + thumb / 2 + (epoch - 1) / (explorer.EPOCHS - 1) * (box["width"] - thumb)
        page.touchscreen.tap(x, box["y"] + box["height"] / 2)
        page.wait_for_selector(f'.explorer-state[data-epoch="{epoch}"]', state="visible", timeout=5000)

    # Down in big steps, then up through every epoch: each tap shows the epoch tapped.
    taps = [*range(explorer.EPOCHS, 0, -2), *range(1, explorer.EPOCHS + 1)]
    reached = []
    for epoch in taps:
        tap(epoch)
        reached.append(shown(page)["epoch"])
    assert reached == taps
    assert not traffic.problems()
    page.context.close()


def test_the_explorer_draws_without_the_widget_manager(served):
    """The page's widgets use only models widgets-loader.js draws itself: the 3.5 MB manager is never fetched."""
    page, traffic = open_explorer(served)
    assert not [url for url in traffic.requests if "html-manager" in url or "require.js" in url], traffic.requests
    assert page.locator(".lite-widgets .lite-button").is_disabled(), "Train now needs a kernel: shown, not pressable"
    page.context.close()
