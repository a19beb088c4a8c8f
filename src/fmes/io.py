"""Small output helpers shared by every rule script: atomic, deterministic writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def _atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename.

    A killed rule therefore never leaves a half-written output that a later run could take
    for a finished one (rename is atomic on POSIX within one filesystem).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    # mkstemp creates the file with mode 0600; give the output the mode a plain open() would
    # (0666 minus the umask), so results stay readable by the group on shared/cluster filesystems
    os.chmod(tmp_name, 0o666 & ~_umask())
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _umask() -> int:
    # os.umask can only be read by setting it; restore it at once (no threads write here)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, float_format: str = "%.10g") -> Path:
    """Write a tidy table atomically with a fixed float format (byte-identical across runs)."""
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format=float_format))


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON atomically with sorted keys."""

    def _write(tmp: Path) -> None:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")

    return _atomic(path, _write)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file atomically."""
    return _atomic(path, lambda tmp: tmp.write_text(text))


def write_npz(arrays: dict[str, Any], path: str | os.PathLike, compressed: bool = False) -> Path:
    """Write arrays as an ``.npz`` atomically and byte-reproducibly.

    ``numpy.savez`` stamps each zip member with the current time, so two identical runs would
    give different bytes; here every member carries a fixed date and arrays are written in
    sorted-key order. ``numpy.load`` reads the result as usual.
    """
    import zipfile

    import numpy as np

    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED

    def _write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=method) as archive:
            for name in sorted(arrays):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(arrays[name]), allow_pickle=False)

    return _atomic(path, _write)
