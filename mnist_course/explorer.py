"""The epochs-and-activation explorer: precomputed at build time, interactive without a kernel.

One training run per output activation keeps the weights and the full train
and test metrics after every epoch (cached like every run). The widget is
built from plain ipywidgets 8: a Dropdown ``jslink``ed to an outer Stack (one
child per activation) and an IntSlider ``jslink``ed to each inner Stack (one
child per epoch). The links run in the browser, so the static page stays
interactive with no kernel behind it.
"""

from __future__ import annotations

import base64
import html
import io
import os

import numpy as np

from .training import SEED_MODEL, ModelConfig, TrainedModel, train

ACTIVATIONS = ("sigmoid", "softmax", "relu", "tanh", "linear")
EPOCHS = 15
# Batches of 128 make the 5 x 15 epochs affordable at build time (about 4x
# fewer steps than the tutorial's 32); the model is otherwise the tutorial's.
BATCH_SIZE = 128
# Set (to "1") by the book's build for the kernels it runs: the pages they make have no kernel.
STATIC_PAGE_VARIABLE = "MNIST_COURSE_STATIC_PAGE"


def explorer_config(activation: str, epochs: int = EPOCHS) -> ModelConfig:
    """The tutorial's model with another output activation, tracked after every epoch."""
    return SEED_MODEL.replace(output_activation=activation, epochs=epochs, batch_size=BATCH_SIZE, track_epochs=True)


def precompute(activations=ACTIVATIONS, epochs: int = EPOCHS, *, quiet: bool = True) -> dict[str, TrainedModel]:
    """One run per activation with a snapshot after every epoch (from the cache when there)."""
    return {activation: train(explorer_config(activation, epochs), quiet=quiet) for activation in activations}


def state(run: TrainedModel, epoch: int) -> dict:
    """The numbers the explorer shows for ``run`` after ``epoch`` (counting from 1)."""
    m = run.epoch_metrics
    i = epoch - 1
    return {
        "activation": run.config.output_activation,
        "epoch": epoch,
        "train_accuracy": m["train_accuracy"][i],
        "test_accuracy": m["test_accuracy"][i],
        "train_loss": m["train_loss"][i],
        "test_loss": m["test_loss"][i],
    }


def templates_png(kernel: np.ndarray, levels: int = 31) -> bytes:
    """The 10 weight templates as one small PNG at 1 pixel per weight (2 rows of 5, 1-pixel gaps).

    Weights are mapped onto ``levels`` shades of the red-blue colour scale of
    :func:`mnist_course.plots.weight_templates` and stored as a palette image:
    about 4 KB, so the 75 states keep the page light. The page scales it up with
    ``image-rendering: pixelated``.
    """
    from matplotlib import colormaps
    from PIL import Image

    limit = float(np.percentile(np.abs(kernel), 99)) or 1.0
    shade = np.round((np.clip(kernel / limit, -1, 1) + 1) / 2 * (levels - 1)).astype(np.uint8)
    white = levels  # an extra palette entry for the gaps
    canvas = np.full((2 * 28 + 1, 5 * 28 + 4), white, dtype=np.uint8)
    for digit in range(10):
        r, c = divmod(digit, 5)
        canvas[r * 29 : r * 29 + 28, c * 29 : c * 29 + 28] = shade[:, digit].reshape(28, 28)
    palette = colormaps["RdBu_r"](np.linspace(0, 1, levels))[:, :3]
    palette = np.vstack([palette, [1.0, 1.0, 1.0]])
    image = Image.fromarray(canvas, mode="P")
    image.putpalette((palette * 255).round().astype(np.uint8).ravel().tolist())
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def curves_svg(run: TrainedModel, epoch: int, *, width: int = 300, height: int = 170) -> str:
    """Train and test accuracy per epoch up to ``epoch`` as a small inline SVG (axes fixed for all epochs)."""
    m = run.epoch_metrics
    total = len(m["test_accuracy"])
    values = np.array([m["train_accuracy"], m["test_accuracy"]]) * 100
    lo = max(0.0, np.floor(values.min() / 10) * 10)
    hi = 100.0
    left, right, top, bottom = 38, 8, 10, 30

    def xy(i, v):
        x = left + (width - left - right) * (i / max(total - 1, 1))
        y = top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg class="explorer-curves" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="Accuracy per epoch up to epoch {epoch}: training in blue, test in orange">'
    ]
    for tick in np.linspace(lo, hi, 3):
        y = xy(0, tick).split(",")[1]
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="#ccc" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 4}" y="{float(y) + 3:.1f}" text-anchor="end" font-size="9" fill="currentColor">{tick:.0f} %</text>')
    for i in (0, total // 2, total - 1):
        x = xy(i, lo).split(",")[0]
        parts.append(f'<text x="{x}" y="{height - bottom + 12}" text-anchor="middle" font-size="9" fill="currentColor">{i + 1}</text>')
    parts.append(f'<text x="{(left + width) / 2:.0f}" y="{height - 4}" text-anchor="middle" font-size="9" fill="currentColor">epoch</text>')
    for row, color in ((0, "#0072B2"), (1, "#D55E00")):
        points = " ".join(xy(i, v) for i, v in enumerate(values[row][:epoch]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for point in points.split():
            x, y = point.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"/>')
    for row, (label, color) in enumerate((("training", "#0072B2"), ("test", "#D55E00"))):
        parts.append(f'<text x="{width - right}" y="{height - bottom - 8 - 12 * (1 - row)}" text-anchor="end" font-size="10" fill="{color}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def state_html(run: TrainedModel, epoch: int) -> str:
    """One child of the explorer: numbers, learning curves and weight templates after ``epoch``."""
    s = state(run, epoch)
    png = base64.b64encode(templates_png(run.epoch_weights[epoch - 1][0])).decode()
    activation = html.escape(s["activation"])
    alt = f"The 10 weight templates of the {activation} model after epoch {epoch}, red positive and blue negative"
    return (
        f'<div class="explorer-state" data-activation="{activation}" data-epoch="{epoch}">'
        f'<table class="explorer-numbers"><caption>{activation} output, after epoch {epoch}</caption>'
        "<tr><th></th><th>accuracy</th><th>loss</th></tr>"
        f'<tr><th>training set</th><td class="train-accuracy">{s["train_accuracy"] * 100:.2f} %</td>'
        f'<td class="train-loss">{s["train_loss"]:.4f}</td></tr>'
        f'<tr><th>test set</th><td class="test-accuracy">{s["test_accuracy"] * 100:.2f} %</td>'
        f'<td class="test-loss">{s["test_loss"]:.4f}</td></tr></table>'
        f'<div class="explorer-figures">{curves_svg(run, epoch)}'
        f'<figure class="explorer-template-figure"><img class="explorer-templates" alt="{alt}" '
        f'src="data:image/png;base64,{png}" width="576" height="228"/>'
        "<figcaption>Weight templates of units 0 to 4 (top row) and 5 to 9 (bottom row): "
        "red raises the unit's output, blue lowers it.</figcaption></figure>"
        "</div></div>"
    )


def build_widget(runs: dict[str, TrainedModel], *, live: bool = True):
    """The explorer widget: dropdown and slider jslinked to nested Stacks of precomputed states.

    With ``live``, a "Train now" button trains the chosen activation for the
    chosen number of epochs for real (it needs a running kernel).
    """
    import ipywidgets as widgets

    activations = list(runs)
    epochs = min(len(run.epoch_metrics["test_accuracy"]) for run in runs.values())
    dropdown = widgets.Dropdown(options=activations, index=0, description="Output activation", style={"description_width": "initial"})
    slider = widgets.IntSlider(value=epochs // 3, min=1, max=epochs, description="Epochs", continuous_update=True)
    inner = []
    for activation in activations:
        # Child 0 is a placeholder so that selected_index equals the epoch (the slider starts at 1).
        children = [widgets.HTML("")] + [widgets.HTML(state_html(runs[activation], e)) for e in range(1, epochs + 1)]
        stack = widgets.Stack(children, selected_index=slider.value)
        widgets.jslink((slider, "value"), (stack, "selected_index"))
        inner.append(stack)
    outer = widgets.Stack(inner, selected_index=0)
    widgets.jslink((dropdown, "index"), (outer, "selected_index"))
    controls = [dropdown, slider]
    if live:
        controls.append(_train_now(dropdown, slider))
    return widgets.VBox([widgets.HBox(controls[:2]), outer] + controls[2:], layout=widgets.Layout(width="100%"))


def _train_now(dropdown, slider):
    """A button that trains the selected configuration in the kernel, with a progress bar."""
    import ipywidgets as widgets

    button = widgets.Button(description="Train now", tooltip="Train this configuration for real (needs a live kernel)")
    progress = widgets.IntProgress(value=0, min=0, max=1, description="", layout=widgets.Layout(visibility="hidden"))
    if os.environ.get(STATIC_PAGE_VARIABLE) == "1":  # the book's build: the page it makes has no kernel
        hint = "Train now needs a running kernel, which this page does not have: launch it in Binder or Colab."
    else:
        hint = "Train now trains the chosen activation for the chosen number of epochs in this notebook's kernel."
    result = widgets.HTML(f"<small>{hint}</small>")

    def on_epoch(epoch, total, logs):
        progress.value = epoch
        result.value = f"Epoch {epoch}/{total}: training accuracy {logs.get('accuracy', float('nan')) * 100:.2f} %"

    def on_click(_):
        config = explorer_config(dropdown.value, slider.value)
        button.disabled = True
        progress.max, progress.value = config.epochs, 0
        progress.layout.visibility = "visible"
        try:
            run = train(config, use_cache=False, quiet=True, on_epoch=on_epoch)
            result.value = state_html(run, config.epochs)
        finally:
            button.disabled = False

    button.on_click(on_click)
    return widgets.VBox([widgets.HBox([button, progress]), result])
