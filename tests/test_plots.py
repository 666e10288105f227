"""mnist_course.plots: each figure on small inputs of the real shapes, drawn as the chapters call it."""

from __future__ import annotations

import re

import IPython.core.formatters
import numpy as np

from mnist_course import metrics, plots


def test_confusion_heatmap_writes_every_count_and_colours_only_the_mistakes():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 10, size=500)
    y_pred = np.where(rng.random(500) < 0.8, y_true, rng.integers(0, 10, size=500))
    cm = metrics.confusion_matrix(y_true, y_pred)
    fig = plots.confusion_heatmap(cm)
    (ax,) = fig.axes
    assert [text.get_text() for text in ax.texts] == [str(count) for count in cm.ravel()]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted digit", "true digit")
    uncoloured = np.ma.getmaskarray(ax.images[0].get_array())  # matplotlib masks the NaN it is given
    assert np.array_equal(uncoloured, np.eye(10, dtype=bool))


def test_weight_scale_limit_clips_the_largest_percent_and_survives_all_zero_weights():
    kernel = np.linspace(-1, 1, 784 * 10).reshape(784, 10)
    kernel[0, 0] = 50.0  # one extreme weight does not set the scale
    assert plots.weight_scale_limit(kernel) == np.percentile(np.abs(kernel), 99) < 1
    assert plots.weight_scale_limit(np.zeros((784, 10))) == 1.0


def test_read_inputs_titles_each_input_with_what_is_read():
    rng = np.random.default_rng(5)
    panels = [("moved 0 px right", rng.random((28, 28)), 1, 0.874), ("6, thin pen", rng.random((28, 28)), 5, 0.5)]
    fig = plots.read_inputs(panels)
    assert [ax.get_title() for ax in fig.axes] == ["moved 0 px right\nreads 1 (87 %)", "6, thin pen\nreads 5 (50 %)"]
    assert [ax.images[0].get_array().shape for ax in fig.axes] == [(28, 28)] * 2


def test_accuracy_under_changes_draws_a_panel_per_change_and_a_line_per_model():
    changes = {
        "test images moved right by (pixels)": {"single": [92.0, 80.5, 50.1, 30.0, 20.2], "hidden": [97.0, 90.0, 70.0, 45.0, 30.0]},
        "strokes grown by (pixels)": {"single": [92.0, 85.0, 60.0], "hidden": [97.0, 93.0, 75.0]},
    }
    fig = plots.accuracy_under_changes(changes, {"single": "single layer", "hidden": "hidden layer"})
    assert [ax.get_xlabel() for ax in fig.axes] == list(changes)
    for ax, results in zip(fig.axes, changes.values()):
        assert [line.get_label() for line in ax.lines] == ["single layer", "hidden layer"]
        assert [list(line.get_ydata()) for line in ax.lines] == [results["single"], results["hidden"]]
        assert [line.get_color() for line in ax.lines] == [plots.TRAIN_COLOR, plots.TEST_COLOR]
        assert ax.get_ylim() == (0, 100)


def test_network_diagram_is_the_same_small_svg_every_time():
    """Lines and text as SVG: a few kB where a PNG of the same drawing is over 100 kB, byte for
    byte the same on every build (no date, fixed ids), and labelled with the layer it shows."""
    first, second = plots.network_diagram(), plots.network_diagram(activation="relu")
    assert first.data.startswith("<svg") and "<path" in first.data
    assert len(first.data.encode()) < 80_000
    assert plots.network_diagram().data == first.data
    # Beside it a PNG, which JupyterLab shows when it will not show the SVG of an untrusted notebook.
    bundle, _ = IPython.core.formatters.DisplayFormatter().format(first)
    assert bundle["image/png"].startswith(b"\x89PNG") and bundle["image/svg+xml"] == first.data
    assert first.data != second.data
    # Cropped as the course's PNG figures are: the labels under the axes are in the picture.
    height_pt = float(re.search(r'<svg[^>]* height="([\d.]+)pt"', first.data).group(1))
    assert height_pt > 4.2 * 72, "the SVG is cut at the axes: the layer labels below them are lost"
