"""The course's figures, in one consistent style.

Each function returns a closed matplotlib Figure (or, for a diagram of lines and
text, an SVG image: :func:`as_svg`): a chapter's cell ends with the call, so the
figure is that cell's output (in Jupyter, and on the site with the caption, name
and alt text of the cell's metadata), and no figure leaks from one cell into the next.
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib

import numpy as np

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
TRAIN_COLOR = "#0072B2"
TEST_COLOR = "#D55E00"
ACCENT_COLOR = "#009E73"
GREY = "#555555"
# Faint lines that only help read the data: zero lines, grid lines, frames.
LIGHT_GREY = "#bbbbbb"
# Weights as colours: red positive, blue negative, white zero (see weight_scale_limit).
WEIGHTS_CMAP = "RdBu_r"

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.cmap": "gray_r",
    "legend.frameon": False,
}


@contextmanager
def _figure(**kwargs):
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(STYLE):
        fig = plt.figure(**kwargs)
        yield fig
        plt.close(fig)


def _digit_axes(ax, image, title=None, cmap="gray_r", **kwargs):
    # Each of the 28x28 pixels as a square: what the network sees, and a smoothed
    # (resampled) image of noisy weights is a PNG several times larger.
    kwargs.setdefault("interpolation", "nearest")
    ax.imshow(image, cmap=cmap, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=9)


def class_counts(y_train: np.ndarray, y_test: np.ndarray):
    """Grouped bar chart: images of each digit in the training and the test set."""
    digits = np.arange(10)
    with _figure(figsize=(7.5, 3.2)) as fig:
        ax = fig.add_subplot()
        width = 0.4
        for offset, labels, name, color in ((-width / 2, y_train, "training set", TRAIN_COLOR), (width / 2, y_test, "test set", TEST_COLOR)):
            counts = np.bincount(labels, minlength=10)
            bars = ax.bar(digits + offset, counts, width, label=name, color=color)
            ax.bar_label(bars, fontsize=7, padding=1)
        ax.set_xticks(digits)
        ax.set_xlabel("digit")
        ax.set_ylabel("number of images")
        ax.legend(loc="upper center", ncols=2, bbox_to_anchor=(0.5, 1.12))
    return fig


def digit_grid(images, labels, *, rows=3, cols=10, titles=None):
    """A grid of digits, each with its label (or the given titles) above it."""
    n = min(rows * cols, len(images))
    with _figure(figsize=(cols * 0.85, rows * 1.0)) as fig:
        for i in range(n):
            ax = fig.add_subplot(rows, cols, i + 1)
            _digit_axes(ax, images[i], titles[i] if titles is not None else f"label {labels[i]}")
        fig.tight_layout(pad=0.3)
    return fig


def mean_images(images, labels):
    """The average image of each digit class."""
    with _figure(figsize=(8.5, 1.3)) as fig:
        for digit in range(10):
            ax = fig.add_subplot(1, 10, digit + 1)
            _digit_axes(ax, images[labels == digit].mean(axis=0), f"mean {digit}")
        fig.tight_layout(pad=0.3)
    return fig


def pixel_histogram(images):
    """How often each grey value 0..255 occurs, on a log scale (most pixels are 0)."""
    counts = np.bincount(np.asarray(images).ravel(), minlength=256)
    with _figure(figsize=(7, 2.6)) as fig:
        ax = fig.add_subplot()
        ax.bar(np.arange(256), counts, width=1.0, color=TRAIN_COLOR)
        ax.set_yscale("log")
        ax.set_xlim(-2, 257)
        ax.set_xlabel("grey value (0 = white background, 255 = full ink)")
        ax.set_ylabel("number of pixels (log)")
    return fig


def image_as_row(image):
    """One digit, and the same 784 values unrolled row after row into one long line."""
    with _figure(figsize=(9, 2.8)) as fig:
        grid = fig.add_gridspec(2, 2, width_ratios=[1, 5], height_ratios=[3, 1])
        ax = fig.add_subplot(grid[:, 0])
        _digit_axes(ax, image, "28 x 28 image")
        strip = fig.add_subplot(grid[0, 1])
        flat = np.asarray(image).reshape(-1)
        strip.imshow(flat.reshape(1, -1), aspect="auto", cmap="gray_r", interpolation="nearest")
        strip.set_yticks([])
        strip.set_xticks(np.arange(0, 785, 112))
        strip.set_title("the same image as a row of 784 pixels (row 0, then row 1, ...)")
        for r in range(1, 28):
            strip.axvline(r * 28 - 0.5, color=ACCENT_COLOR, lw=0.3, alpha=0.6)
        values = fig.add_subplot(grid[1, 1], sharex=strip)
        values.plot(np.arange(784), flat, color=GREY, lw=0.7)
        values.set_xlabel("position in the row of 784")
        values.set_ylabel("value")
    return fig


def learning_curves(history: dict):
    """Loss and accuracy per epoch, training against validation data (Keras' ``fit`` history)."""
    epochs = len(history["loss"])
    x = np.arange(1, epochs + 1)
    with _figure(figsize=(8, 2.9)) as fig:
        for i, name in enumerate(("loss", "accuracy")):
            ax = fig.add_subplot(1, 2, i + 1)
            for key, label, color, marker in ((name, "training", TRAIN_COLOR, "o"), (f"val_{name}", "validation", TEST_COLOR, "s")):
                ax.plot(x, history[key], marker=marker, ms=4, color=color, label=label)
            ax.set_xlim(0.5, epochs + 0.5)
            ax.set_xticks(x if epochs <= 15 else x[::2])
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        fig.tight_layout()
    return fig


def confusion_heatmap(cm: np.ndarray):
    """A 10x10 confusion matrix as a heat map: rows are true digits, columns predicted ones, counts written in.

    ``cm`` is what :func:`mnist_course.metrics.confusion_matrix` counts; this function only draws it.
    """
    with _figure(figsize=(5.6, 4.8)) as fig:
        ax = fig.add_subplot()
        off_diagonal = cm.astype(float).copy()
        np.fill_diagonal(off_diagonal, np.nan)
        # Colour the mistakes only: the diagonal would swamp the scale.
        ax.imshow(off_diagonal, cmap="Oranges")
        for (i, j), count in np.ndenumerate(cm):
            strong = i != j and count > np.nanmax(off_diagonal) * 0.6
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color="white" if strong else "black", fontweight="bold" if i == j else None)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel("predicted digit")
        ax.set_ylabel("true digit")
        ax.spines[:].set_visible(False)
    return fig


def per_class_accuracy(accuracy: np.ndarray, overall: float):
    """Accuracy of each digit class, with the overall accuracy as a line."""
    with _figure(figsize=(7, 2.8)) as fig:
        ax = fig.add_subplot()
        bars = ax.bar(np.arange(10), accuracy * 100, color=TRAIN_COLOR)
        ax.bar_label(bars, labels=[f"{a * 100:.1f}" for a in accuracy], fontsize=7, padding=1)
        ax.axhline(overall * 100, color=TEST_COLOR, lw=1, ls="--", label=f"all digits: {overall * 100:.1f} %")
        ax.set_ylim(max(0, accuracy.min() * 100 - 10), 100)
        ax.set_xticks(range(10))
        ax.set_xlabel("true digit")
        ax.set_ylabel("test accuracy (%)")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig


def percent(fraction: float) -> str:
    """A fraction as a whole percentage, never rounded up to "100 %" unless it is 1."""
    shown = f"{fraction * 100:.0f} %"
    if shown == "100 %" and fraction < 1:
        shown = f"{fraction * 100:.1f} %" if fraction < 0.9995 else "> 99.9 %"
    return shown


def misclassified_gallery(images, y_true, y_pred, confidence, *, rows=3, cols=8):
    """Test digits the model got wrong: true label, prediction and the model's confidence."""
    titles = [f"true {t}, said {p}\n{percent(c)} sure" for t, p, c in zip(y_true, y_pred, confidence)]
    with _figure(figsize=(cols * 1.05, rows * 1.35)) as fig:
        for i in range(min(rows * cols, len(images))):
            ax = fig.add_subplot(rows, cols, i + 1)
            _digit_axes(ax, images[i], titles[i])
        fig.tight_layout(pad=0.3)
    return fig


def weight_scale_limit(kernel: np.ndarray) -> float:
    """Where the weights' colour scale ends, on both sides of zero: the 99th percentile of their size,
    so that a few extreme weights do not wash out the rest (1 if every weight is zero)."""
    return float(np.percentile(np.abs(kernel), 99)) or 1.0


def weight_templates(kernel: np.ndarray, *, titles=None, rows=2, figsize=(8.5, 4.0)):
    """The 784 weights into each unit of a layer (each column of ``kernel``), shown as 28x28 images.

    Red pixels push the unit's output up when inked, blue ones push it down;
    one colour scale for all units so they can be compared (:func:`weight_scale_limit`).
    """
    limit = weight_scale_limit(kernel)
    units = kernel.shape[1]
    cols = -(-units // rows)
    with _figure(figsize=figsize, layout="constrained") as fig:
        axes = []
        for unit in range(units):
            ax = fig.add_subplot(rows, cols, unit + 1)
            title = titles[unit] if titles is not None else f"unit {unit}"
            _digit_axes(ax, kernel[:, unit].reshape(28, 28), title, cmap=WEIGHTS_CMAP, vmin=-limit, vmax=limit)
            axes.append(ax)
        # The shared scale, so that a colour reads as a weight (the 1 % largest are clipped to its ends).
        fig.colorbar(axes[0].images[0], ax=axes, shrink=0.85, label="weight", extend="both")
    return fig


def output_bars(outputs: dict, image=None, *, ylabel="output"):
    """The 10 outputs of one or more models for one image, side by side as bar charts."""
    n = len(outputs) + (image is not None)
    with _figure(figsize=(3.0 * n, 2.6)) as fig:
        position = 1
        if image is not None:
            ax = fig.add_subplot(1, n, 1)
            _digit_axes(ax, image, "input image")
            position = 2
        for title, values in outputs.items():
            ax = fig.add_subplot(1, n, position)
            position += 1
            ax.bar(np.arange(10), values, color=TRAIN_COLOR)
            ax.set_xticks(range(10))
            ax.set_xlabel("output unit (digit)")
            ax.set_ylabel(ylabel)
            ax.set_ylim(0, 1.05)
            ax.set_title(f"{title}\nsum = {float(np.sum(values)):.2f}")
        fig.tight_layout()
    return fig


def activation_functions(names=("sigmoid", "relu", "tanh", "linear")):
    """The activation functions on z in [-5, 5]."""
    z = np.linspace(-5, 5, 201)
    functions = {
        "sigmoid": 1 / (1 + np.exp(-z)),
        "relu": np.maximum(z, 0),
        "tanh": np.tanh(z),
        "linear": z,
    }
    with _figure(figsize=(2.4 * len(names), 2.3)) as fig:
        for i, name in enumerate(names):
            ax = fig.add_subplot(1, len(names), i + 1)
            ax.axhline(0, color=LIGHT_GREY, lw=0.6)
            ax.axvline(0, color=LIGHT_GREY, lw=0.6)
            ax.plot(z, functions[name], color=TRAIN_COLOR, lw=2)
            ax.set_title(name)
            ax.set_xlabel("z")
        fig.tight_layout()
    return fig


def bar_comparison(labels, values, *, ylabel, fmt="{:.1f}", color=TRAIN_COLOR, ylim=None, intervals=None):
    """A simple labelled bar chart comparing a few quantities, with error bars from ``intervals``.

    ``intervals`` holds a ``(low, high)`` pair per bar, in the values' units (for example
    the 95 % interval of each accuracy, from ``metrics.accuracy_interval``).
    """
    with _figure(figsize=(1.6 * len(labels) + 1.5, 2.8)) as fig:
        ax = fig.add_subplot()
        errors = None
        if intervals is not None:
            errors = np.array([[value - low, high - value] for value, (low, high) in zip(values, intervals)]).T
        bars = ax.bar(range(len(labels)), values, color=color, yerr=errors, capsize=4, ecolor=GREY)
        ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8, padding=3)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel(ylabel)
        if ylim is not None:
            ax.set_ylim(*ylim)
    return fig


def _framed_image(ax, image, title, fontsize=9):
    """A digit-sized image with a light frame, so its edges show where the image ends."""
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(LIGHT_GREY)
    ax.set_title(title, fontsize=fontsize)


def preprocessing_steps(ink, steps: dict):
    """A drawing through MNIST's preprocessing: the drawing with the box round its strokes, the
    crop, the crop fitted into 20 x 20 with its centre of mass, and the result centred in 28 x 28.

    ``steps`` is what :func:`mnist_course.export.preprocess_steps` returns for ``ink``; the
    green lines of the last panel cross at ``steps["centre"]``, the (row, column) the centre
    of mass was moved to.
    """
    from matplotlib.patches import Rectangle

    y0, y1, x0, x1 = steps["box"]
    cy, cx = steps["com"]
    oy, ox = steps["offset"]
    panels = [
        (f"1. the drawing ({ink.shape[0]} x {ink.shape[1]})", ink),
        ("2. cropped to the strokes", steps["crop"]),
        ("3. fitted into 20 x 20", steps["small"]),
        ("4. centred in 28 x 28", steps["image"]),
    ]
    with _figure(figsize=(9, 2.6)) as fig:
        for i, (title, image) in enumerate(panels):
            ax = fig.add_subplot(1, 4, i + 1)
            _framed_image(ax, image, title)
            if i == 0:
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color=TEST_COLOR, lw=1.2))
            if i == 2:
                ax.plot(cx, cy, "+", color=TEST_COLOR, ms=12, mew=2)
            if i == 3:
                ax.plot(cx + ox, cy + oy, "+", color=TEST_COLOR, ms=12, mew=2)
                row, column = steps["centre"]
                ax.axhline(row, color=ACCENT_COLOR, lw=0.6)
                ax.axvline(column, color=ACCENT_COLOR, lw=0.6)
        fig.tight_layout()
    return fig


def read_inputs(panels):
    """A row of 28 x 28 inputs, each titled with what a model reads in it.

    ``panels``: (title, image, digit read, its probability) for each input.
    """
    with _figure(figsize=(1.3 * len(panels), 2.0)) as fig:
        for i, (title, image, digit, probability) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            _framed_image(ax, image, f"{title}\nreads {digit} ({probability * 100:.0f} %)", fontsize=8)
        fig.tight_layout(pad=0.3)
    return fig


def accuracy_under_changes(changes: dict, models: dict):
    """Test accuracy of several models as the test images are changed more and more.

    ``changes``: {x-axis label: {model name: [accuracy in % at 0, 1, 2, ... steps]}};
    ``models``: {model name: legend label}, in the order to draw them. One panel per change.
    """
    styles = [(TRAIN_COLOR, "o"), (TEST_COLOR, "s"), (ACCENT_COLOR, "^")]
    with _figure(figsize=(4 * len(changes), 2.8)) as fig:
        for i, (xlabel, results) in enumerate(changes.items()):
            ax = fig.add_subplot(1, len(changes), i + 1)
            for (name, label), (color, marker) in zip(models.items(), styles):
                values = results[name]
                ax.plot(range(len(values)), values, marker=marker, color=color, label=label)
            ax.set_xticks(range(len(next(iter(results.values())))))
            ax.set_xlabel(xlabel)
            ax.set_ylabel("test accuracy (%)")
            ax.set_ylim(0, 100)
            ax.legend(loc="lower left")
        fig.tight_layout()
    return fig


def as_svg(fig):
    """``fig`` as an SVG image to display: for drawings of lines and text, a tenth of a PNG's
    bytes, and sharp at any size. Text as paths (no font needed), the same bytes every time.

    A PNG goes with it in the output: JupyterLab shows no SVG from a notebook it does not
    trust (one saved elsewhere and opened here), and then shows the PNG. The site shows the SVG.
    """
    import io

    from IPython.display import SVG

    class SVGWithPNG(SVG):
        def _repr_png_(self):
            return png

    # The course's style, which crops a figure to what is drawn (labels outside the axes included).
    with matplotlib.rc_context(STYLE | {"svg.fonttype": "path", "svg.hashsalt": "mnist-course"}):
        svg, png = io.BytesIO(), io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None})
        fig.savefig(png, format="png")
    png = png.getvalue()
    return SVGWithPNG(svg.getvalue())


def network_diagram(n_inputs_shown=8, n_outputs=10, activation="sigmoid"):
    """The single dense layer: 784 inputs, every one connected to each of 10 output units,
    as an SVG image (its 80 thin crossing lines would make a PNG of 120 kB)."""
    with _figure(figsize=(7.5, 4.2)) as fig:
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set_xlim(-0.6, 3.6)
        ax.set_ylim(-0.8, n_outputs + 0.3)
        ax.axis("off")
        inputs_y = np.linspace(0.3, n_outputs - 0.7, n_inputs_shown)
        outputs_y = np.arange(n_outputs)[::-1] + 0.0
        for y_in in inputs_y:
            for y_out in outputs_y:
                ax.plot([0.3, 2.2], [y_in, y_out], color="#c9c9c9", lw=0.5, zorder=1)
        labels = [f"x{i}" for i in range(n_inputs_shown // 2)] + [f"x{783 - i}" for i in range(n_inputs_shown // 2)][::-1]
        # scatter markers stay round whatever the axes' aspect ratio
        ax.scatter(np.full(n_inputs_shown, 0.3), inputs_y, s=170, color=TRAIN_COLOR, zorder=2)
        for y_in, label in zip(inputs_y[::-1], labels):
            ax.text(0.1, y_in, label, ha="right", va="center", fontsize=8)
        gap = inputs_y[n_inputs_shown // 2 - 1 : n_inputs_shown // 2 + 1].mean()
        ax.text(0.3, gap, "⋮", ha="center", va="center", fontsize=16, zorder=3, backgroundcolor="white")
        ax.scatter(np.full(n_outputs, 2.2), outputs_y, s=230, color=TEST_COLOR, zorder=2)
        for digit, y_out in enumerate(outputs_y):
            ax.text(2.2, y_out, str(digit), ha="center", va="center", fontsize=8, color="white", zorder=3)
            # An output, not a probability: a sigmoid's ten outputs need not sum to 1.
            ax.text(2.6, y_out, f"output for {digit}", ha="left", va="center", fontsize=8)
        ax.text(0.3, -0.6, "784 inputs\n(pixels, scaled)", ha="center", va="top", fontsize=9)
        ax.text(2.2, -0.6, f"10 units\nDense, {activation}", ha="center", va="top", fontsize=9)
    return as_svg(fig)


def gradient_of_one_image(image, probabilities, label, weight_gradient):
    """How one image pulls on the weights: its error p - onehot(label), and the step it asks of each unit.

    Top: the image, the model's 10 probabilities beside the one-hot target, and
    their difference. Bottom: minus the loss' gradient with respect to each
    unit's 784 weights (the direction a gradient step moves them), as 28x28
    images on one colour scale: red pixels would grow, blue ones shrink.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    target = np.eye(10)[int(label)]
    step = -np.asarray(weight_gradient, dtype=float)
    limit = float(np.abs(step).max()) or 1.0
    digits = np.arange(10)
    with _figure(figsize=(9, 4.6)) as fig:
        top = fig.add_gridspec(1, 3, width_ratios=[1, 2.2, 2.2], left=0.03, right=0.99, top=0.93, bottom=0.54, wspace=0.35)
        _digit_axes(fig.add_subplot(top[0]), np.asarray(image).reshape(28, 28), f"image, label {int(label)}")
        bars = fig.add_subplot(top[1])
        bars.bar(digits - 0.2, probabilities, 0.4, color=TRAIN_COLOR, label="p (model)")
        bars.bar(digits + 0.2, target, 0.4, color=TEST_COLOR, label="onehot(label)")
        bars.set_ylim(0, 1.05)
        bars.set_xticks(digits)
        bars.set_xlabel("output unit")
        bars.legend(loc="upper left", fontsize=8)
        error = fig.add_subplot(top[2])
        difference = probabilities - target
        error.bar(digits, difference, color=[TEST_COLOR if d < 0 else TRAIN_COLOR for d in difference])
        error.axhline(0, color=GREY, lw=0.6)
        error.set_ylim(-1.05, 1.05)
        error.set_xticks(digits)
        error.set_xlabel("output unit")
        error.set_title("error p - onehot(label)")
        bottom = fig.add_gridspec(1, 10, left=0.01, right=0.99, top=0.3, bottom=0.0, wspace=0.08)
        for digit in digits:
            ax = fig.add_subplot(bottom[digit])
            _digit_axes(ax, step[:, digit].reshape(28, 28), f"unit {digit}", cmap=WEIGHTS_CMAP, vmin=-limit, vmax=limit)
        fig.text(0.5, 0.38, "the step each unit's weights take: minus the gradient, x times (onehot - p)", ha="center", fontsize=10)
    return fig


def weight_templates_compared(kernels: dict):
    """Several models' weight templates, one row of ten 28x28 images per model.

    Each row has its own colour scale (:func:`weight_scale_limit` of its weights), as models
    trained differently need not use the same range.
    """
    rows = len(kernels)
    with _figure(figsize=(9, 1.25 * rows + 0.2)) as fig:
        for row, (name, kernel) in enumerate(kernels.items()):
            kernel = np.asarray(kernel)
            limit = weight_scale_limit(kernel)
            for digit in range(10):
                ax = fig.add_subplot(rows, 10, row * 10 + digit + 1)
                _digit_axes(ax, kernel[:, digit].reshape(28, 28), f"unit {digit}", cmap=WEIGHTS_CMAP, vmin=-limit, vmax=limit)
                if digit == 0:
                    ax.set_ylabel(name, fontsize=9)
        fig.tight_layout(pad=0.3)
    return fig
