"""Build ``manifest.csv`` (the raw-trace contract) from a folder of files and a filename pattern.

A pattern such as ``{protocol}_{resistance_ohm}ohm_{device_id}_c{cycle}.csv`` names, in braces,
the manifest columns that each file name carries; everything outside braces is literal text.
Each field matches only what its column can hold (a protocol name, a resistance such as ``8000``,
``8k`` or ``open``, an integer cycle, a number for a protocol parameter, any text without ``/``
otherwise), so underscores inside ``ltp_ltd`` or a device id do not confuse the match. Fields
that are not manifest columns (``{date}``) become extra columns, which the contract keeps.

Protocol parameters a file name does not carry come from ``parameters[protocol]`` (the config
key ``traces.manifest_builder.parameters``); a value in the file name wins. Every file that does
not match the pattern is listed in one :class:`ManifestBuildError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from fmes.core.io import write_csv
from fmes.data.traces import (
    MANIFEST_COLUMNS,
    MANIFEST_REQUIRED,
    PARAMETER_COLUMNS,
    PROTOCOLS,
    TraceContractError,
    read_manifest,
)

__all__ = ["ManifestBuildError", "build_manifest", "pattern_regex", "write_manifest"]

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_FIELD_REGEX: dict[str, str] = {
    "protocol": "|".join(sorted(PROTOCOLS, key=len, reverse=True)),
    "resistance_ohm": r"open|\d+(?:\.\d+)?[kM]?",
    "cycle": r"\d+",
    **dict.fromkeys(PARAMETER_COLUMNS, _NUMBER),
}
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SI_PREFIX = {"k": 1e3, "M": 1e6}


class ManifestBuildError(ValueError):
    """Files that do not match the pattern, or a manifest the contract refuses."""


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Compile a filename pattern with ``{field}`` placeholders into an anchored regex."""
    parts: list[str] = []
    seen: set[str] = set()
    last = 0
    for match in _FIELD.finditer(pattern):
        name = match.group(1)
        if name in seen:
            raise ManifestBuildError(f"pattern {pattern!r}: field {{{name}}} appears twice")
        seen.add(name)
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"(?P<{name}>{_FIELD_REGEX.get(name, r'[^/]+?')})")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    if not seen:
        raise ManifestBuildError(
            f"pattern {pattern!r}: no {{field}}; expected e.g. {{protocol}}_{{resistance_ohm}}ohm.csv"
        )
    return re.compile("".join(parts))


def _resistance(text: str) -> str:
    """``8k`` -> ``8000``; ``open`` and plain numbers stay as written."""
    if text[-1:] in _SI_PREFIX:
        ohm = float(text[:-1]) * _SI_PREFIX[text[-1]]
        return f"{ohm:.0f}" if ohm.is_integer() else f"{ohm:g}"
    return text


def build_manifest(
    folder: str | os.PathLike,
    pattern: str,
    parameters: Mapping[str, Mapping[str, object]],
    *,
    glob: str = "*.csv",
    export_format: str | None = None,
    exclude: tuple[str, ...] = ("manifest.csv",),
) -> pd.DataFrame:
    """One contract row per file of ``folder`` (recursively) matching ``glob``.

    ``path`` is relative to ``folder``; ``trace_id`` is the relative path without suffix (``/``
    replaced by ``__``) unless the pattern has ``{trace_id}``. ``export_format`` (a name of
    ``traces.export_formats``) is written to every row when given. Raises
    :class:`ManifestBuildError` listing every file that does not match, and when a required
    column is neither in the pattern nor in ``parameters``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ManifestBuildError(f"{folder}: not a folder")
    regex = pattern_regex(pattern)
    files = sorted(p for p in folder.rglob(glob) if p.is_file() and p.name not in exclude)
    if not files:
        raise ManifestBuildError(f"{folder}: no file matches {glob!r}")
    rows, unmatched = [], []
    for file in files:
        relative = file.relative_to(folder).as_posix()
        match = regex.fullmatch(relative)
        if match is None:
            unmatched.append(relative)
            continue
        fields = {k: v for k, v in match.groupdict().items()}
        protocol = fields.get("protocol")
        row: dict[str, object] = {"trace_id": relative.rsplit(".", 1)[0].replace("/", "__")}
        row.update(parameters.get(protocol, {}) if protocol else {})
        row.update(fields)
        if "resistance_ohm" in fields:
            row["resistance_ohm"] = _resistance(fields["resistance_ohm"])
        row["path"] = relative
        if export_format:
            row["export_format"] = export_format
        rows.append(row)
    if unmatched:
        listed = "\n  ".join(unmatched)
        raise ManifestBuildError(
            f"{folder}: {len(unmatched)} of {len(files)} file(s) do not match the pattern {pattern!r} "
            f"(regex {regex.pattern}):\n  {listed}"
        )
    frame = pd.DataFrame(rows)
    missing = [c for c in MANIFEST_REQUIRED if c not in frame or frame[c].isna().any()]
    if missing:
        raise ManifestBuildError(
            f"{folder}: column(s) {missing} missing for some files; put them in the pattern "
            f"({' '.join('{' + c + '}' for c in missing)}) or in traces.manifest_builder.parameters.<protocol>"
        )
    columns = [c for c in MANIFEST_COLUMNS if c in frame] + [
        c for c in frame if c not in MANIFEST_COLUMNS
    ]
    return frame[columns].sort_values("trace_id", kind="stable").reset_index(drop=True)


def write_manifest(frame: pd.DataFrame, output: str | os.PathLike) -> pd.DataFrame:
    """Write ``frame`` as a manifest and read it back through the contract reader.

    ``path`` must already be relative to the output's folder. A manifest the contract refuses
    is removed again and its error re-raised as :class:`ManifestBuildError`.
    """
    output = Path(output)
    write_csv(frame, output)
    try:
        return read_manifest(output)
    except TraceContractError as err:
        output.unlink()
        raise ManifestBuildError(
            f"the built manifest breaks the contract (not written): {err}"
        ) from None
