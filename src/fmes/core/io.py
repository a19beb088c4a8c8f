"""Small output helpers shared by every rule script: atomic, deterministic writes."""

from __future__ import annotations

import glob
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmes.core.status import check_statuses

#: Columns of the pipeline's own tables that are labels, never numbers ("500", "open", "007").
LABEL_COLUMNS: tuple[str, ...] = (
    "resistance_label",
    "state",
    "device_id",
    "trace_id",
    "protocol",
    "net",
    "status",
    "reason",
    "verdict",
    "path",
    "trace_path",
)
#: Boolean columns of the pipeline's own tables (written by pandas as True/False).
BOOL_COLUMNS: tuple[str, ...] = (
    "converged",
    "complete",
    "passed",
    "used",
    "chosen",
    "holds",
    "read_noise",
    "kept_whole_grid",
)


def read_table(
    path: str | os.PathLike,
    extra_labels: tuple[str, ...] = (),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read one of the pipeline's own CSV tables with explicit dtypes.

    This is the one reader for tables the pipeline wrote (raw measured data go through
    :mod:`fmes.data.traces`, which checks the contract). Label columns stay strings (a resistance
    label ``"500"`` never becomes the integer 500, an empty reason stays ``""``), boolean
    columns become ``bool`` (a missing value is an error, not a silent ``False``, except on a
    ``skipped`` placeholder row, which has no result: there it stays missing), and a
    ``status`` column is checked against :mod:`fmes.core.status`.

    ``columns``: read only these (those of them the table has), in the file's order; a large
    table's reader then parses and holds only what it uses.
    """
    path = Path(path)
    labels = (*LABEL_COLUMNS, *extra_labels)
    header = pd.read_csv(path, nrows=0).columns
    if columns is not None:
        header = [c for c in header if c in set(columns)]
    dtypes: dict[str, Any] = {c: str for c in header if c in labels or c in BOOL_COLUMNS}
    frame = pd.read_csv(
        path,
        usecols=None if columns is None else header,
        dtype=dtypes,
        keep_default_na=False,
        na_values={c: ["", "nan", "NaN"] for c in header if c not in dtypes},
    )
    # a `skipped` placeholder row has no result, so its boolean cells may be empty (missing)
    skipped = (
        frame["status"].eq("skipped")
        if "status" in frame.columns
        else pd.Series(False, index=frame.index)
    )
    for column in (c for c in BOOL_COLUMNS if c in frame.columns):
        text = frame[column].str.strip().str.lower()
        missing = text.eq("") & skipped
        bad = ~text.isin(["true", "false"]) & ~missing
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ValueError(
                f"{path}: column {column!r}, row {row + 1}: expected True or False, "
                f"found {frame[column].iloc[row]!r}"
            )
        values = text.eq("true")
        frame[column] = values.astype(object).where(~missing, None) if missing.any() else values
    if "status" in frame.columns:
        check_statuses(frame["status"], f"{path}: column 'status'")
    return frame


def _atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename.

    A killed rule therefore never leaves a half-written output that a later run could take
    for a finished one (rename is atomic on POSIX within one filesystem).
    """
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Delete ``.<name>.<random>.tmp`` files left beside ``target`` by a killed earlier write.

    Only the writer of ``target`` calls this, just before writing it again; Snakemake never runs
    two jobs with the same output, so such a file can only be litter. Returns what was removed.
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
    stale = [
        p
        for p in target.parent.glob(f".{glob.escape(target.name)}.*.tmp")
        if pattern.fullmatch(p.name)
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _umask() -> int:
    # os.umask can only be read by setting it; restore it at once (no threads write here)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, float_format: str = "%.10g") -> Path:
    """Write a tidy table atomically with a fixed float format (byte-identical across runs)."""
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format=float_format))


def _strict_json_value(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays as Python values and every non-finite float as None.

    Strict JSON (RFC 8259) has no NaN or Infinity; Python's ``json`` writes them as bare words that
    other readers (JavaScript, ``jq``, simulators' config loaders) refuse. A missing value is null.
    """
    if isinstance(obj, dict):
        return {key: _strict_json_value(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict_json_value(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return _strict_json_value(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write strict JSON atomically with sorted keys (NaN and infinities as null)."""
    text = json.dumps(_strict_json_value(obj), indent=2, sort_keys=True, allow_nan=False)
    return _atomic(path, lambda tmp: tmp.write_text(text + "\n"))


def read_json(path: str | os.PathLike, key: str | None = None) -> Any:
    """A JSON file the pipeline wrote (or its top-level ``key``), with errors naming the file."""
    try:
        obj = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if key is None:
        return obj
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f"{path}: expected a JSON object with the key {key!r}")
    return obj[key]


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

    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED

    def _write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=method) as archive:
            for name in sorted(arrays):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(
                        member, np.asanyarray(arrays[name]), allow_pickle=False
                    )

    return _atomic(path, _write)


def write_parquet(table: Any, path: str | os.PathLike, **options: Any) -> Path:
    """Write a ``pyarrow.Table`` as Parquet atomically; ``options`` go to
    ``pyarrow.parquet.write_table`` (fix them for byte-reproducible files)."""
    import pyarrow.parquet as pq

    return _atomic(path, lambda tmp: pq.write_table(table, tmp, **options))


def write_parquet_row_groups(
    tables: Iterable[Any], schema: Any, path: str | os.PathLike, **options: Any
) -> Path:
    """Write ``pyarrow.Table`` s one row group each, as they come (a generator keeps memory at one
    table), into one Parquet file atomically; ``options`` go to ``pyarrow.parquet.ParquetWriter``."""
    import pyarrow.parquet as pq

    def _write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, **options) as writer:
            for table in tables:
                writer.write_table(table, row_group_size=max(1, table.num_rows))

    return _atomic(path, _write)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path`` for a writer that writes incrementally (e.g. a Parquet
    writer fed as data arrive); renamed to ``path`` when the block ends without an error, as
    the other ``write_*`` helpers do in one call."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    # mkstemp creates the file with mode 0600; give the output the mode a plain open() would
    # (0666 minus the umask), so results stay readable by the group on shared/cluster filesystems
    os.chmod(tmp_name, 0o666 & ~_umask())
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
