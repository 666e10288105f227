"""Loading MNIST: from a local folder of IDX files (``MNIST_DIR``) or Keras' download.

The IDX format (http://yann.lecun.com/exdb/mnist/) is a big-endian header
(magic number, then one 32-bit size per dimension) followed by raw uint8
values. Parsing it takes a few lines of numpy, so no extra dependency.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "MnistDataError",
    "load_mnist",
    "flatten",
    "scale",
    "data_fingerprint",
    "MNIST_FILES",
]


class MnistDataError(RuntimeError):
    """The MNIST data could not be loaded; the message says which file and how to fix it."""


@dataclass(frozen=True)
class IdxFile:
    name: str  # file name without .gz
    md5: str  # MD5 of the decompressed bytes, as checked by torchvision and others
    magic: int  # 2051 for images (3 dims), 2049 for labels (1 dim)
    shape: tuple[int, ...]


MNIST_FILES = {
    "train_images": IdxFile("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", 2051, (60000, 28, 28)),
    "train_labels": IdxFile("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", 2049, (60000,)),
    "test_images": IdxFile("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", 2051, (10000, 28, 28)),
    "test_labels": IdxFile("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", 2049, (10000,)),
}

_HOW_TO_FIX = (
    "Fix: point MNIST_DIR at a folder holding the four original MNIST IDX files "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, each either plain or .gz), or unset MNIST_DIR to let "
    "Keras download MNIST (needs internet on first use)."
)


def _find(folder: Path, spec: IdxFile) -> Path:
    for candidate in (folder / (spec.name + ".gz"), folder / spec.name):
        if candidate.is_file():
            return candidate
    raise MnistDataError(
        f"MNIST file missing: neither {spec.name}.gz nor {spec.name} is in {folder}.\n{_HOW_TO_FIX}"
    )


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MnistDataError(f"Cannot read MNIST file {path}: {exc.strerror or exc}.\n{_HOW_TO_FIX}") from None
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise MnistDataError(
            f"MNIST file {path} is truncated or corrupt: it is not a valid gzip file ({exc}). "
            f"Download it again or restore it from a good copy.\n{_HOW_TO_FIX}"
        ) from None


def _parse_idx(path: Path, data: bytes, spec: IdxFile) -> np.ndarray:
    """Check the IDX header and the checksum, then return the array."""
    ndim = len(spec.shape)
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise MnistDataError(
            f"MNIST file {path} is truncated: {len(data)} bytes, shorter than its {header_len}-byte header.\n"
            f"{_HOW_TO_FIX}"
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != spec.magic:
        raise MnistDataError(
            f"MNIST file {path} has the wrong IDX magic number {magic} (expected {spec.magic}): "
            f"it is not the file {spec.name}, or it is corrupt.\n{_HOW_TO_FIX}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims != spec.shape:
        raise MnistDataError(
            f"MNIST file {path} declares dimensions {dims}, expected {spec.shape} for {spec.name}.\n{_HOW_TO_FIX}"
        )
    expected_len = header_len + int(np.prod(spec.shape))
    if len(data) != expected_len:
        raise MnistDataError(
            f"MNIST file {path} is truncated or padded: {len(data)} bytes after decompression, "
            f"expected {expected_len}.\n{_HOW_TO_FIX}"
        )
    md5 = hashlib.md5(data).hexdigest()
    if md5 != spec.md5:
        raise MnistDataError(
            f"MNIST file {path} is corrupt: the MD5 of its decompressed bytes is {md5}, "
            f"expected {spec.md5}. Download it again or restore it from a good copy.\n{_HOW_TO_FIX}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(spec.shape).copy()


def _load_from_folder(folder: Path):
    if not folder.is_dir():
        raise MnistDataError(f"MNIST_DIR is set to {str(folder)!r}, which is not a folder.\n{_HOW_TO_FIX}")
    arrays = {}
    for key, spec in MNIST_FILES.items():
        path = _find(folder, spec)
        arrays[key] = _parse_idx(path, _read_bytes(path), spec)
    return (arrays["train_images"], arrays["train_labels"]), (arrays["test_images"], arrays["test_labels"])


def _load_from_keras():
    try:
        import keras

        return keras.datasets.mnist.load_data()
    except Exception as exc:  # urllib, zipfile, OSError...: one clear message instead
        raise MnistDataError(
            "MNIST_DIR is not set, and Keras could not download MNIST "
            f"({type(exc).__name__}: {exc}). Without network access, download the four MNIST IDX files "
            "once elsewhere and set MNIST_DIR to the folder that holds them.\n" + _HOW_TO_FIX
        ) from None


_CACHE: dict[str, tuple] = {}


def load_mnist(folder: str | os.PathLike | None = None):
    """Return ``(x_train, y_train), (x_test, y_test)`` exactly like ``keras.datasets.mnist.load_data()``.

    The data come from ``folder`` or else the folder named by the ``MNIST_DIR``
    environment variable (four IDX files, plain or gzip-compressed, each checked
    against its canonical MD5); with neither, Keras downloads and caches MNIST.
    Raises :class:`MnistDataError` with a message naming the bad file.
    The arrays are read-only views of one cached copy per process.
    """
    if folder is None:
        folder = os.environ.get("MNIST_DIR") or None
    path = Path(folder).expanduser().resolve() if folder is not None else None
    key = str(path) if path is not None else "<keras>"
    if key not in _CACHE:
        result = _load_from_keras() if path is None else _load_from_folder(path)
        for array in (*result[0], *result[1]):
            array.setflags(write=False)
        _CACHE[key] = result
    return _CACHE[key]


def flatten(images: np.ndarray) -> np.ndarray:
    """Unroll each 28x28 image into a row of 784 pixels (row after row), keeping the dtype."""
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def scale(images: np.ndarray) -> np.ndarray:
    """Scale uint8 grey values 0..255 into float32 values in [0, 1]."""
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)


def data_fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of the arrays' bytes, for cache keys."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]
