"""mnist_course.plots: each figure on small inputs of the real shapes, drawn as the chapters call it."""

from __future__ import annotations

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
