"""Trained weights for the browser, and a NumPy reference of what the page computes.

The "Draw a digit" page classifies a drawing in the reader's browser, with no
kernel and no server. This module prepares what the page needs and mirrors, in
NumPy, exactly what its script (``mnist_course/draw/draw.js``) does, so the
book can show (and the tests can check) the same numbers:

- :func:`model_dict` turns a trained model into plain numbers: for each Dense
  layer its activation, its kernel (row-major, inputs x units) and its bias,
  rounded to a few significant digits to keep the page light.
- :func:`embed_html` wraps those as ``<script type="application/json">``
  elements for the page: the browser does not run or even parse them until the
  page's script asks for a model.
- :class:`DrawingPad` is the drawing pad itself: one HTML output (markup,
  style, weights and script), the same in a live notebook and on the static
  site, whose build moves the weights out of the page into scripts the pad
  loads on first use.
- :func:`forward` is the forward pass the page runs; :func:`preprocess` turns a
  drawing into the 28x28 input the way MNIST's makers prepared their digits,
  centring it on :func:`centring_target`, the point where MNIST's training
  digits have their centre of mass (measured, and passed to the page with the
  weights); :func:`preprocess_images` does the same to many images at once.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Mapping, Sequence

import numpy as np

from .metrics import softmax

__all__ = [
    "MODEL_ELEMENT_ID",
    "EMBEDDED_MODEL_PATTERN",
    "model_element",
    "PREPROCESSING_ELEMENT_ID",
    "model_dict",
    "model_json",
    "embed_html",
    "DrawingPad",
    "forward",
    "display_probabilities",
    "read",
    "accuracy",
    "centres_of_mass",
    "centring_target",
    "preprocess",
    "preprocess_steps",
    "preprocess_images",
    "pixels_moved",
    "render_strokes",
    "shift_images",
    "thicken_images",
]

# The page's script finds model NAME in the element with id MODEL_ELEMENT_ID.format(name=NAME):
# its JSON inside, or, on the site, the address of a script holding it in data-src (the site's
# build, _ext/course_site.py, moves the JSON out of the page: model_element and EMBEDDED_MODEL_PATTERN).
MODEL_ELEMENT_ID = "mnist-draw-model-{name}"
# ...and the preprocessing's settings (where to put a drawing's centre of mass) in this one.
PREPROCESSING_ELEMENT_ID = "mnist-draw-preprocessing"
# A model_element with its JSON inside; groups: the name, the JSON (which never holds "</").
EMBEDDED_MODEL_PATTERN = re.compile(r'<script type="application/json" id="mnist-draw-model-([\w-]+)" class="mnist-draw-model">(.*?)</script>', re.S)


def model_element(name: str, json_text: str = "", src: str | None = None) -> str:
    """The element the page's script reads model ``name`` from: its JSON, or the address of
    a script that hands the model to the pad (``src``)."""
    data_src = "" if src is None else f' data-src="{html.escape(src)}"'
    element_id = MODEL_ELEMENT_ID.format(name=name)
    return f'<script type="application/json" id="{element_id}" class="mnist-draw-model"{data_src}>{json_text}</script>'


BOX = 20  # MNIST: each digit was scaled to fit a 20x20 box...
SIZE = 28  # ...and centred by its centre of mass in a 28x28 image


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    """The values as Python floats rounded to ``digits`` significant digits (short in JSON)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def model_dict(trained, *, name: str, label: str, digits: int = 6) -> dict:
    """The weights of a trained Dense model (a :class:`~mnist_course.TrainedModel`) as plain numbers.

    Each layer is ``{"inputs", "units", "activation", "kernel", "bias"}`` with
    the kernel flattened row after row (``kernel[i * units + j]`` connects input
    ``i`` to unit ``j``), as Keras stores it. Dropout layers hold no weights and
    do nothing at prediction time, so they are left out.
    """
    config = trained.config
    kernels, biases = trained.weights[0::2], trained.weights[1::2]
    activations = [config.hidden_activation] * len(config.hidden) + [config.output_activation]
    if len(kernels) != len(activations) or len(biases) != len(kernels):
        raise ValueError("expected a kernel and a bias for every Dense layer")
    layers = []
    for kernel, bias, activation in zip(kernels, biases, activations):
        layers.append(
            {
                "inputs": int(kernel.shape[0]),
                "units": int(kernel.shape[1]),
                "activation": activation,
                "kernel": _rounded(kernel, digits),
                "bias": _rounded(bias, digits),
            }
        )
    return {
        "name": name,
        "label": label,
        "test_accuracy": float(trained.test_accuracy),
        "params": int(trained.params),
        "significant_digits": digits,
        "layers": layers,
    }


def model_json(model: Mapping) -> str:
    """Compact JSON (no spaces) of a :func:`model_dict`."""
    return json.dumps(model, separators=(",", ":"), allow_nan=False)


def embed_html(models: Sequence[Mapping], centre: Sequence[float] | None = None) -> str:
    """``<script type="application/json">`` elements holding the models, for the page's script,
    and, given a ``centre`` (row, column), the preprocessing's settings: ``{"centre": [row, column]}``.

    JSON of numbers and plain names cannot contain ``</script>``; the check
    makes sure a future label cannot either.
    """
    parts = []
    for model in models:
        text = model_json(model)
        if "</" in text:
            raise ValueError("model JSON must not contain '</'")
        parts.append(model_element(model["name"], text))
    if centre is not None:
        # Full precision (Python's repr of a float reads back as the same double in JavaScript),
        # so the page and preprocess() round the same offsets.
        settings = json.dumps({"centre": _centre(centre)}, separators=(",", ":"), allow_nan=False)
        parts.append(f'<script type="application/json" id="{PREPROCESSING_ELEMENT_ID}">{settings}</script>')
    return "\n".join(parts)


def _script_text(text: str) -> str:
    """Text safe inside a <script> element (it must not close it)."""
    return text.replace("</", "<\\/")


class DrawingPad:
    """The drawing pad with ``models`` (:func:`model_dict`\\ s, the first one chosen at the start),
    centring drawings on ``centre`` (row, column): :func:`centring_target` of the training images.

    Displayed (the last expression of a cell), it is one HTML output: the
    widget's markup, the models' weights and the centre as JSON, and the
    scripts that add its style to the page's ``<head>`` and run it. The static
    site shows that output with the weights moved to files of their own, which
    the script fetches on first use (the site's build does it: _ext/course_site.py);
    JupyterLab and Colab run its scripts when the cell runs.
    """

    def __init__(self, models: Sequence[Mapping], centre: Sequence[float]):
        if not models:
            raise ValueError("the drawing pad needs at least one model")
        self.models = list(models)
        self.centre = _centre(centre)

    def _repr_html_(self) -> str:
        files = resources.files(__package__) / "draw"
        choices = "\n".join(
            f'      <label><input type="radio" name="mnist-draw-model" value="{html.escape(model["name"])}"'
            f'{" checked" if i == 0 else ""}> {html.escape(model["label"])}</label>'
            for i, model in enumerate(self.models)
        )
        markup = (files / "widget.html").read_text(encoding="utf-8")
        marker = "      <!-- one radio button per model: mnist_course.export.DrawingPad -->"
        if marker not in markup:
            raise RuntimeError("draw/widget.html has lost the place of its model choices")
        markup = markup.replace(marker, choices).replace('data-model="single"', f'data-model="{html.escape(self.models[0]["name"])}"')
        css = json.dumps((files / "draw.css").read_text(encoding="utf-8"))
        add_style = (
            "(function () {\n"
            '  if (document.getElementById("mnist-draw-style")) return;\n'
            '  var style = document.createElement("style");\n'
            '  style.id = "mnist-draw-style";\n'
            f"  style.textContent = {css};\n"
            "  document.head.appendChild(style);\n"
            "})();"
        )
        script = (files / "draw.js").read_text(encoding="utf-8")
        return "\n".join(
            [
                f"<script>{_script_text(add_style)}</script>",
                markup,
                embed_html(self.models, self.centre),
                f"<script>{_script_text(script)}</script>",
            ]
        )


# --- the forward pass -------------------------------------------------------------------------

_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "linear": lambda z: z,
}


def _sums(layer: Mapping, a: np.ndarray) -> np.ndarray:
    kernel = np.asarray(layer["kernel"], dtype=np.float64).reshape(layer["inputs"], layer["units"])
    return a @ kernel + np.asarray(layer["bias"], dtype=np.float64)


def _activate(layer: Mapping, z: np.ndarray) -> np.ndarray:
    return softmax(z) if layer["activation"] == "softmax" else _ACTIVATIONS[layer["activation"]](z)


def _hidden(model: Mapping, x: np.ndarray) -> np.ndarray:
    """What the hidden layers pass on to the output layer (``x`` itself for a one-layer model)."""
    a = np.asarray(x, dtype=np.float64)
    for layer in model["layers"][:-1]:
        a = _activate(layer, _sums(layer, a))
    return a


def forward(model: Mapping, x: np.ndarray) -> np.ndarray:
    """The model's outputs (what Keras' ``predict`` gives) for inputs ``x`` (n x 784, values in [0, 1])."""
    last = model["layers"][-1]
    return _activate(last, _sums(last, _hidden(model, x)))


def display_probabilities(model: Mapping, x: np.ndarray) -> np.ndarray:
    """The ten probabilities the page shows: the softmax of the last layer's sums z.

    Ten sigmoid outputs do not sum to 1. Under sparse categorical cross-entropy
    Keras 3 with the TensorFlow backend trains a sigmoid (or softmax) output
    layer from its sums z with a softmax, so that softmax is what the model
    learnt to make probabilities.
    """
    return softmax(_sums(model["layers"][-1], _hidden(model, x)))


def read(model: Mapping, image: np.ndarray) -> tuple[int, float]:
    """What the page shows for one input (28 x 28 or 784 values): the digit read and its probability."""
    probabilities = display_probabilities(model, np.asarray(image).reshape(1, -1))[0]
    return int(probabilities.argmax()), float(probabilities.max())


def accuracy(model: Mapping, images: np.ndarray, labels: np.ndarray) -> float:
    """The percentage of ``images`` (n x 28 x 28, values in [0, 1]) the page's model reads as ``labels``."""
    images = np.asarray(images)
    return float((forward(model, images.reshape(len(images), -1)).argmax(axis=1) == labels).mean() * 100)


# --- preprocessing, as MNIST's makers did it --------------------------------------------------


def centres_of_mass(images: np.ndarray) -> np.ndarray:
    """The centre of mass (row, column) of each image of ``images`` (n x height x width), as an n x 2 array.

    Pixel centres are at 0, 1, ..., so the geometric centre of a 28 x 28 image
    is (13.5, 13.5). Integer images (MNIST's bytes) are summed exactly, without
    a floating-point copy of them.
    """
    images = np.asarray(images)
    exact = np.int64 if images.dtype.kind in "biu" else np.float64
    rows = images.sum(axis=2, dtype=exact)  # n x height: the ink in each row
    cols = images.sum(axis=1, dtype=exact)  # n x width
    total = rows.sum(axis=1)
    return np.stack([rows @ np.arange(rows.shape[1]) / total, cols @ np.arange(cols.shape[1]) / total], axis=1)


def centring_target(images: np.ndarray) -> tuple[float, float]:
    """Where MNIST puts a digit's centre of mass: the mean (row, column) centre of mass of ``images``.

    Given MNIST's training images, this is the point the page moves a drawing's
    centre of mass to. It is not the geometric centre 13.5: MNIST's digits have
    theirs about half a pixel lower and further right, near 14.0.
    """
    row, col = centres_of_mass(images).mean(axis=0)
    return float(row), float(col)


def _centre(centre: Sequence[float]) -> list[float]:
    """A (row, column) target as two finite floats."""
    values = [float(v) for v in centre]
    if len(values) != 2 or not all(np.isfinite(values)):
        raise ValueError(f"centre must be two finite numbers (row, column), not {centre!r}")
    return values


def _area_weights(n_source: int, n_target: int) -> np.ndarray:
    """W (n_target x n_source): target pixel t averages the source span [t, t+1) * n_source / n_target."""
    step = n_source / n_target
    weights = np.zeros((n_target, n_source))
    for t in range(n_target):
        lo, hi = t * step, (t + 1) * step
        for s in range(int(np.floor(lo)), min(n_source, int(np.ceil(hi)))):
            overlap = min(hi, s + 1) - max(lo, s)
            if overlap > 0:
                weights[t, s] = overlap / step
    return weights


def _round_half_up(v: float) -> int:
    return int(np.floor(v + 0.5))


def _fit_and_centre(crops: np.ndarray, centre: Sequence[float]):
    """Crops of one shape (k x h x w, ink in [0, 1]) scaled into the 20 x 20 box and their offsets.

    Returns ``small`` (k x th x tw), the centres of mass ``cy``, ``cx`` (k each)
    and the whole-pixel offsets ``oy``, ``ox`` (k each) that bring them nearest
    to ``centre`` (halves rounded up, as the page's script rounds).
    """
    _, height, width = crops.shape
    scale = BOX / max(height, width)
    target_h = max(1, _round_half_up(height * scale))
    target_w = max(1, _round_half_up(width * scale))
    small = _area_weights(height, target_h) @ crops @ _area_weights(width, target_w).T
    total = small.sum(axis=(1, 2))
    cy = (small.sum(axis=2) @ np.arange(target_h)) / total
    cx = (small.sum(axis=1) @ np.arange(target_w)) / total
    row, col = _centre(centre)
    oy = np.floor(row - cy + 0.5).astype(int)
    ox = np.floor(col - cx + 0.5).astype(int)
    return small, cy, cx, oy, ox


def _place(small: np.ndarray, oy: np.ndarray, ox: np.ndarray) -> np.ndarray:
    """Each of ``small`` (k x th x tw) put into an empty 28 x 28 image at offset (oy, ox); what falls outside is lost."""
    k, target_h, target_w = small.shape
    rows = np.broadcast_to(np.arange(target_h)[None, :, None] + oy[:, None, None], small.shape)
    cols = np.broadcast_to(np.arange(target_w)[None, None, :] + ox[:, None, None], small.shape)
    which = np.broadcast_to(np.arange(k)[:, None, None], small.shape)
    inside = (rows >= 0) & (rows < SIZE) & (cols >= 0) & (cols < SIZE)
    images = np.zeros((k, SIZE, SIZE))
    images[which[inside], rows[inside], cols[inside]] = small[inside]
    return np.clip(images, 0.0, 1.0, out=images)


def preprocess_steps(ink: np.ndarray, centre: Sequence[float]) -> dict | None:
    """The stages of :func:`preprocess`, for figures: ``box`` (y0, y1, x0, x1) of the strokes,
    ``crop``, ``small`` (the crop fitted into the 20x20 box), its centre of mass ``com``
    (row, column), the ``offset`` (rows, columns) that moves it nearest to ``centre``, the
    ``centre`` itself, and the 28x28 ``image``. None for a blank drawing."""
    ink = np.clip(np.asarray(ink, dtype=np.float64), 0.0, 1.0)
    rows, cols = np.nonzero(ink > 0)
    if len(rows) == 0:
        return None
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    crop = ink[y0:y1, x0:x1]
    small, cy, cx, oy, ox = _fit_and_centre(crop[None], centre)
    return {
        "box": (int(y0), int(y1), int(x0), int(x1)),
        "crop": crop,
        "small": small[0],
        "com": (float(cy[0]), float(cx[0])),
        "offset": (int(oy[0]), int(ox[0])),
        "centre": tuple(_centre(centre)),
        "image": _place(small, oy, ox)[0],
    }


def preprocess(ink: np.ndarray, centre: Sequence[float]) -> np.ndarray | None:
    """A drawing (2-D array of ink amounts in [0, 1]) as the model's 28x28 input, or None if blank.

    The steps MNIST's makers applied to every digit (LeCun et al. 1998):
    crop to the strokes; scale so the longer side fits a 20x20 box, keeping the
    aspect ratio, averaging the covered area so edges become grey; place the
    result in a 28x28 image so that its centre of mass lands on ``centre``
    (row, column), as near as a shift by whole pixels allows. ``centre`` is
    :func:`centring_target` of MNIST's training images: where MNIST's digits
    have their centre of mass. The page's script does exactly the same.
    """
    steps = preprocess_steps(ink, centre)
    return None if steps is None else steps["image"]


def preprocess_images(images: np.ndarray, centre: Sequence[float]) -> np.ndarray:
    """:func:`preprocess` applied to each of ``images`` (n x height x width, ink in [0, 1]), vectorised.

    Returns n x 28 x 28 float64 images; a blank image stays blank (all zeros).
    Images whose strokes have the same bounding-box size go through together,
    so the whole MNIST test set takes a fraction of a second, and besides the
    result only a few small arrays are made.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"expected n x height x width images, not shape {images.shape}")
    n, height, width = images.shape
    out = np.zeros((n, SIZE, SIZE))
    inked_rows = (images > 0).any(axis=2)  # n x height
    inked_cols = (images > 0).any(axis=1)  # n x width
    y0 = inked_rows.argmax(axis=1)
    y1 = height - inked_rows[:, ::-1].argmax(axis=1)
    x0 = inked_cols.argmax(axis=1)
    x1 = width - inked_cols[:, ::-1].argmax(axis=1)
    shapes = np.stack([y1 - y0, x1 - x0], axis=1)
    drawn = inked_rows.any(axis=1)
    for h, w in np.unique(shapes[drawn], axis=0):
        which = np.flatnonzero(drawn & (shapes[:, 0] == h) & (shapes[:, 1] == w))
        rows = y0[which, None, None] + np.arange(h)[None, :, None]
        cols = x0[which, None, None] + np.arange(w)[None, None, :]
        crops = np.clip(images[which[:, None, None], rows, cols].astype(np.float64), 0.0, 1.0)
        small, _, _, oy, ox = _fit_and_centre(crops, centre)
        out[which] = _place(small, oy, ox)
    return out


def pixels_moved(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How far each image's centre of mass moved from ``before`` to ``after`` (n x H x W each),
    in whole pixels (rows, columns): an n x 2 integer array, 0 where an image stayed put."""
    return np.round(centres_of_mass(after) - centres_of_mass(before)).astype(int)


def render_strokes(strokes: Sequence[Sequence[tuple[float, float]]], *, size: int = 280, width: float = 22.0, supersample: int = 4) -> np.ndarray:
    """Draw polylines (points in a ``size`` x ``size`` canvas) with round pens; ink in [0, 1].

    Like the page's canvas: strokes are anti-aliased, here by drawing at
    ``supersample`` times the resolution and averaging back down.
    """
    from PIL import Image, ImageDraw

    big = size * supersample
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    radius = width * supersample / 2
    for stroke in strokes:
        points = [(x * supersample, y * supersample) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=int(round(width * supersample)))
        for x, y in points:  # round caps and joins
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    array = np.asarray(image, dtype=np.float64) / 255.0
    return array.reshape(size, supersample, size, supersample).mean(axis=(1, 3))


# --- what goes wrong: moved and thickened digits -----------------------------------------------


def shift_images(images: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """The images moved ``dx`` pixels right and ``dy`` down, the uncovered border left empty."""
    images = np.asarray(images)
    shifted = np.zeros_like(images)
    h, w = images.shape[-2:]
    src_y = slice(max(0, -dy), h - max(0, dy))
    dst_y = slice(max(0, dy), h - max(0, -dy))
    src_x = slice(max(0, -dx), w - max(0, dx))
    dst_x = slice(max(0, dx), w - max(0, -dx))
    shifted[..., dst_y, dst_x] = images[..., src_y, src_x]
    return shifted


def thicken_images(images: np.ndarray, steps: int = 1) -> np.ndarray:
    """Grow the strokes: each pixel takes the largest value of itself and its 4 neighbours, ``steps`` times."""
    out = np.asarray(images).copy()
    for _ in range(steps):
        # In place, neighbour by neighbour: two arrays at a time, not six (the whole test set
        # is thickened in a notebook kernel that must stay small). Same result as taking the
        # maximum with the image shifted one pixel each way, its uncovered border left empty.
        grown = out.copy()
        np.maximum(grown[..., 1:, :], out[..., :-1, :], out=grown[..., 1:, :])
        np.maximum(grown[..., :-1, :], out[..., 1:, :], out=grown[..., :-1, :])
        np.maximum(grown[..., :, 1:], out[..., :, :-1], out=grown[..., :, 1:])
        np.maximum(grown[..., :, :-1], out[..., :, 1:], out=grown[..., :, :-1])
        out = grown
    return out
