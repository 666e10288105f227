"""The MNIST loader: the real data, and clear errors for every kind of broken copy."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import mnist_course
from mnist_course.data import MNIST_FILES, MnistDataError, _CACHE, load_mnist

SHARED = Path(os.environ.get("MNIST_DIR", ""))


def test_shapes_and_dtypes_match_keras(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8


def test_labels_and_class_counts(mnist):
    (_, y_train), (_, y_test) = mnist
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    # The published per-class counts of MNIST.
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # Same order as keras.datasets.mnist: the first labels are 5 0 4 1 9 and 7 2 1 0 4.
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_pixels_are_grey_values(mnist):
    (x_train, _), _ = mnist
    assert x_train.min() == 0 and x_train.max() == 255


def test_arrays_are_read_only(mnist):
    (x_train, _), _ = mnist
    with pytest.raises(ValueError):
        x_train[0, 0, 0] = 1


def test_uncompressed_files_load_too(tmp_path):
    for spec in MNIST_FILES.values():
        (tmp_path / spec.name).write_bytes(gzip.decompress((SHARED / f"{spec.name}.gz").read_bytes()))
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path)
    ((x_ref, y_ref), (xt_ref, yt_ref)) = load_mnist(SHARED)
    assert np.array_equal(x_train, x_ref) and np.array_equal(y_test, yt_ref)


def test_flatten_and_scale(mnist):
    (x_train, _), _ = mnist
    flat = mnist_course.flatten(x_train[:3])
    assert flat.shape == (3, 784)
    assert np.array_equal(flat[1].reshape(28, 28), x_train[1])
    scaled = mnist_course.scale(flat)
    assert scaled.dtype == np.float32 and scaled.min() == 0.0 and scaled.max() == 1.0


# --- broken copies ---------------------------------------------------------

@pytest.fixture
def copy_of_mnist(tmp_path):
    for spec in MNIST_FILES.values():
        shutil.copy(SHARED / f"{spec.name}.gz", tmp_path)
    yield tmp_path
    _CACHE.pop(str(tmp_path.resolve()), None)


def _gz(folder: Path, key: str) -> Path:
    return folder / f"{MNIST_FILES[key].name}.gz"


def _rewrite(path: Path, edit) -> None:
    """Decompress, edit, compress again. Level 1: the loader checks the decompressed bytes only,
    and level 9 (gzip's default) takes 20 s for the training images instead of under 1 s."""
    data = bytearray(gzip.decompress(path.read_bytes()))
    path.write_bytes(gzip.compress(bytes(edit(data)), compresslevel=1))


def _error(folder) -> str:
    with pytest.raises(MnistDataError) as info:
        load_mnist(folder)
    return str(info.value)


def test_flipped_byte_in_compressed_file_names_the_file(copy_of_mnist):
    path = _gz(copy_of_mnist, "train_images")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    message = _error(copy_of_mnist)
    assert str(path) in message
    assert "corrupt" in message and "MNIST_DIR" in message


def test_changed_pixel_fails_the_checksum(copy_of_mnist):
    path = _gz(copy_of_mnist, "test_images")

    def change_pixel(data):
        data[5000] ^= 0x01
        return data

    _rewrite(path, change_pixel)
    message = _error(copy_of_mnist)
    assert str(path) in message and "MD5" in message and "expected 2646ac647ad5339dbf082846283269ea" in message


def test_truncated_file(copy_of_mnist):
    path = _gz(copy_of_mnist, "train_labels")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = _error(copy_of_mnist)
    assert str(path) in message and "truncated or corrupt" in message


def test_truncated_content_inside_valid_gzip(copy_of_mnist):
    path = _gz(copy_of_mnist, "test_labels")
    _rewrite(path, lambda data: data[:-100])
    message = _error(copy_of_mnist)
    assert str(path) in message and "truncated" in message and "expected 10008" in message


def test_missing_file(copy_of_mnist):
    _gz(copy_of_mnist, "test_labels").unlink()
    message = _error(copy_of_mnist)
    assert "t10k-labels-idx1-ubyte" in message and "missing" in message


def test_wrong_magic_number(copy_of_mnist):
    path = _gz(copy_of_mnist, "train_images")

    def break_magic(data):
        data[0:4] = (2049).to_bytes(4, "big")
        return data

    _rewrite(path, break_magic)
    message = _error(copy_of_mnist)
    assert str(path) in message and "magic number 2049" in message and "expected 2051" in message


def test_labels_and_images_swapped(copy_of_mnist):
    images, labels = _gz(copy_of_mnist, "test_images"), _gz(copy_of_mnist, "test_labels")
    tmp = images.with_suffix(".tmp")
    images.rename(tmp)
    labels.rename(images)
    tmp.rename(labels)
    message = _error(copy_of_mnist)
    assert "magic number" in message


def test_mnist_dir_pointing_at_nothing(tmp_path):
    message = _error(tmp_path / "no-such-folder")
    assert "not a folder" in message and "no-such-folder" in message


def test_no_network_and_no_local_copy(monkeypatch):
    """Without MNIST_DIR, Keras' download is tried; its failure becomes one clear message."""
    import keras

    def offline():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("MNIST_DIR")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr("mnist_course.data._CACHE", {})
    message = _error(None)
    assert "MNIST_DIR is not set" in message and "could not download" in message and "name resolution" in message
