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
