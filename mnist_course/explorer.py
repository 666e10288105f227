"""The epochs-and-activation explorer: precomputed at build time, interactive without a kernel.

One training run per output activation keeps the weights and the full
training, validation and test metrics after every epoch (cached like every
run). The runs train on 50,000 of the 60,000 training images; the other
10,000, drawn at random with a fixed seed, are the validation set the reader
chooses by. The explorer shows training and validation; the test set is kept
for one final measurement of the chosen setting (see :func:`choose`). The widget is
built from plain ipywidgets 8: a Dropdown ``jslink``ed to an outer Stack (one
child per activation) and an IntSlider ``jslink``ed to each inner Stack (one
child per epoch). The links run in the browser, so the static page stays
interactive with no kernel behind it.
"""

from __future__ import annotations

import base64
import html
import functools
import io
import os

import numpy as np

from .data import load_mnist
from .metrics import accuracy_interval
from .plots import LIGHT_GREY, TEST_COLOR, TRAIN_COLOR, WEIGHTS_CMAP, weight_scale_limit
from .training import TUTORIAL_MODEL, ModelConfig, TrainedModel, fitted_rows, prepare_data, train

ACTIVATIONS = ("sigmoid", "softmax", "relu", "tanh", "linear")
EPOCHS = 15
# Batches of 128 make the 5 x 15 epochs affordable at build time (about 4x
# fewer steps than the tutorial's 32); the model is otherwise the tutorial's.
BATCH_SIZE = 128
# A sixth of the 60,000 training images (10,000) held out as the validation set, drawn at random
# with a fixed seed: Keras' validation_split alone takes the last 10,000, which are not like the rest.
VALIDATION_SPLIT = 1 / 6
VALIDATION_SEED = 0
# Every curve is drawn on this one accuracy scale (in %), so the activations compare at a glance.
CURVE_RANGE = (0.0, 100.0)
# Set (to "1") by the book's build for the kernels it runs: the pages they make have no kernel.
STATIC_PAGE_VARIABLE = "MNIST_COURSE_STATIC_PAGE"


def explorer_config(activation: str, epochs: int = EPOCHS) -> ModelConfig:
    """The tutorial's model with another output activation, tracked after every epoch, with a random validation set."""
    return TUTORIAL_MODEL.replace(
        output_activation=activation,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        track_epochs=True,
        validation_split=VALIDATION_SPLIT,
        validation_seed=VALIDATION_SEED,
    )


def precompute(activations=ACTIVATIONS, epochs: int = EPOCHS, *, quiet: bool = True) -> dict[str, TrainedModel]:
    """One run per activation with a snapshot after every epoch (from the cache when there)."""
    return {activation: train(explorer_config(activation, epochs), quiet=quiet) for activation in activations}


@functools.lru_cache(maxsize=None)
def _set_sizes() -> tuple[int, int]:
    (_, y_train), (_, y_test) = load_mnist()
    return len(y_train), len(y_test)


def validation_images(run: TrainedModel) -> int:
    """How many images ``run`` held out as its validation set (as Keras splits: the rows after the first n (1 - split))."""
    n_train = _set_sizes()[0]
    return n_train - fitted_rows(run.config, n_train)


def validation_data(run: TrainedModel) -> tuple[np.ndarray, np.ndarray]:
    """The validation images of ``run`` (as its model sees them) and their labels."""
    (x_train, y_train), _ = prepare_data(run.config)
    fitted = len(y_train) - validation_images(run)
    return x_train[fitted:], y_train[fitted:]


def test_images() -> int:
    """How many images the test set holds."""
    return _set_sizes()[1]


def state(run: TrainedModel, epoch: int) -> dict:
    """The numbers the explorer shows for ``run`` after ``epoch`` (counting from 1): training and validation only."""
    m = run.epoch_metrics
    i = epoch - 1
    accuracy = m["validation_accuracy"][i]
    return {
        "activation": run.config.output_activation,
        "epoch": epoch,
        "train_accuracy": m["train_accuracy"][i],
        "validation_accuracy": accuracy,
        "validation_interval": accuracy_interval(accuracy, validation_images(run)),
        "train_loss": m["train_loss"][i],
        "validation_loss": m["validation_loss"][i],
    }


def choose(runs: dict[str, TrainedModel]) -> dict:
    """The setting the validation set chooses, then its one measurement on the test set.

    The choice is the best validation accuracy over every activation and epoch
    (on a tie, the first activation in ``runs`` and the fewest epochs). Only the
    model so chosen, its snapshot after that epoch, is measured on the test set.
    """
    best = None
    for activation, run in runs.items():
        for epoch, accuracy in enumerate(run.epoch_metrics["validation_accuracy"], start=1):
            if best is None or accuracy > best[0]:  # strictly better: ties keep the earlier choice
                best = (accuracy, activation, epoch)
    accuracy, activation, epoch = best
    run = runs[activation]
    test = run.epoch_metrics["test_accuracy"][epoch - 1]
    return {
        "activation": activation,
        "epoch": epoch,
        "validation_accuracy": accuracy,
        "validation_interval": accuracy_interval(accuracy, validation_images(run)),
        "test_accuracy": test,
        "test_interval": accuracy_interval(test, test_images()),
        "test_images": test_images(),
    }


def templates_png(kernel: np.ndarray, levels: int = 15) -> bytes:
    """The 10 weight templates as one small PNG at 1 pixel per weight (2 rows of 5, 1-pixel gaps).

    Weights are mapped onto ``levels`` shades of the red-blue colour scale of
    :func:`mnist_course.plots.weight_templates` (its colour map, clipped where it clips)
    and stored as a palette image: about 3.7 KB with 15 shades (5.1 KB with 31, which
    look the same at this size), so the 75 states keep the page light. The page scales it up with
    ``image-rendering: pixelated``.
    """
    from matplotlib import colormaps
    from PIL import Image

    limit = weight_scale_limit(kernel)
    shade = np.round((np.clip(kernel / limit, -1, 1) + 1) / 2 * (levels - 1)).astype(np.uint8)
    white = levels  # an extra palette entry for the gaps
    canvas = np.full((2 * 28 + 1, 5 * 28 + 4), white, dtype=np.uint8)
    for digit in range(10):
        r, c = divmod(digit, 5)
        canvas[r * 29 : r * 29 + 28, c * 29 : c * 29 + 28] = shade[:, digit].reshape(28, 28)
    palette = colormaps[WEIGHTS_CMAP](np.linspace(0, 1, levels))[:, :3]
    palette = np.vstack([palette, [1.0, 1.0, 1.0]])
    image = Image.fromarray(canvas, mode="P")
    image.putpalette((palette * 255).round().astype(np.uint8).ravel().tolist())
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def curves_svg(run: TrainedModel, epoch: int, *, width: int = 300, height: int = 170) -> str:
    """Training and validation accuracy per epoch up to ``epoch`` as a small inline SVG.

    The axes are the same for every epoch and every activation (0 to 100 %), so
    switching activation shows how far apart they are, not a rescaled plot.
    """
    m = run.epoch_metrics
    total = len(m["validation_accuracy"])
    values = np.array([m["train_accuracy"], m["validation_accuracy"]]) * 100
    lo, hi = CURVE_RANGE
    left, right, top, bottom = 46, 8, 22, 30  # the legend sits above the plot, clear of every curve

    def x_of(i):
        return left + (width - left - right) * (i / max(total - 1, 1))

    def y_of(v):
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg class="explorer-curves" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="Accuracy (0 to 100 %) per epoch up to epoch {epoch}: training as a wide blue line, validation as a thin orange line">'
    ]
    for tick in np.linspace(lo, hi, 5):
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.0f}" y2="{y:.0f}" stroke="{LIGHT_GREY}" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3:.0f}" text-anchor="end" font-size="9" fill="currentColor">{tick:.0f} %</text>')
    middle = (top + height - bottom) / 2
    parts.append(
        f'<text x="9" y="{middle:.0f}" transform="rotate(-90 9 {middle:.0f})" text-anchor="middle" font-size="9" '
        'fill="currentColor">accuracy</text>'
    )
    for i in (0, total // 2, total - 1):
        parts.append(f'<text x="{x_of(i):.0f}" y="{height - bottom + 12}" text-anchor="middle" font-size="9" fill="currentColor">{i + 1}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" text-anchor="middle" font-size="9" fill="currentColor">epoch</text>')
    # The two curves often lie within a pixel of each other: training wide underneath, validation thin on top.
    lines = ((0, TRAIN_COLOR, 5, 3.5, "training"), (1, TEST_COLOR, 1.5, 2, "validation"))
    for row, color, stroke, radius, _ in lines:
        points = [(x_of(i), y_of(v)) for i, v in enumerate(values[row][:epoch])]
        parts.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" fill="none" stroke="{color}" stroke-width="{stroke}"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{color}"/>' for x, y in points)
    for (_, color, stroke, _, label), x in zip(lines, (width - right - 152, width - right - 72)):
        parts.append(f'<line x1="{x}" x2="{x + 14}" y1="8" y2="8" stroke="{color}" stroke-width="{stroke}"/>')
        parts.append(f'<text x="{x + 18}" y="12" font-size="10" fill="{color}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def state_html(run: TrainedModel, epoch: int) -> str:
    """One child of the explorer: numbers, learning curves and weight templates after ``epoch``."""
    s = state(run, epoch)
    low, high = s["validation_interval"]
    png = base64.b64encode(templates_png(run.epoch_weights[epoch - 1][0])).decode()
    activation = html.escape(s["activation"])
    alt = f"The 10 weight templates of the {activation} model after epoch {epoch}, red positive and blue negative"
    return (
        f'<div class="explorer-state" data-activation="{activation}" data-epoch="{epoch}">'
        f'<table class="explorer-numbers"><caption>{activation} output, after epoch {epoch}</caption>'
        "<tr><th></th><th>accuracy (95 % interval)</th><th>loss</th></tr>"
        f'<tr><th>training</th><td class="train-accuracy">{s["train_accuracy"] * 100:.2f} %</td>'
        f'<td class="train-loss">{s["train_loss"]:.4f}</td></tr>'
        f'<tr><th>validation</th><td class="validation-accuracy">{s["validation_accuracy"] * 100:.2f} %<br/>'
        f'<small class="validation-interval">{low * 100:.1f} to {high * 100:.1f}</small></td>'
        f'<td class="validation-loss">{s["validation_loss"]:.4f}</td></tr></table>'
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
    chosen number of epochs for real (it needs a live Python session, a Jupyter kernel).
    """
    import ipywidgets as widgets

    activations = list(runs)
    epochs = min(len(run.epoch_metrics["validation_accuracy"]) for run in runs.values())
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
        hint = "Train now needs a live Python session (a Jupyter kernel), which this page does not have: launch it in Binder or Colab."
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
