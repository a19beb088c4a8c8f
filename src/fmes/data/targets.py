"""Paper targets as selectors: which rows of a result table each target's value is read from.

Every target of ``config/paper_targets.yaml`` that a stage reads from a table names its rows in
a ``select`` block (column -> wanted value(s); the forms in :data:`SELECT_FORMS`), checked by
:func:`target_select` and applied by :func:`selected_rows`. The paper table
(:mod:`fmes.claims.comparison`) and the per-variant claims (:mod:`fmes.claims.robustness`) read the same blocks,
so a paper fact (a state, a net, a protocol parameter) lives in the targets file only; the
paper column of the networks' accuracy table is read from it too
(:func:`network_paper_accuracy`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fmes.core.io import LABEL_COLUMNS

#: The forms a ``select`` value may take (config/paper_targets.yaml, header).
SELECT_FORMS = "a value, a list of values, {not: value(s)} or {at: min|max}"
TARGET_KEYS = ("id", "quantity", "comparison", "stage", "source")
NUMERIC_COMPARISONS = ("equal", "greater", "less")
COMPARISONS = (*NUMERIC_COMPARISONS, "increasing", "decreasing")


def load_targets(path: str | os.PathLike) -> list[dict]:
    """Read ``paper_targets.yaml``; every target names its quantity, comparison and source."""
    path = Path(path)
    try:
        targets = yaml.safe_load(path.read_text())["targets"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: expected a YAML mapping with a 'targets' list ({err})") from None
    for i, target in enumerate(targets):
        missing = [k for k in TARGET_KEYS if k not in target]
        if missing:
            raise ValueError(
                f"{path}: target {i + 1} ({target.get('id', '?')}): missing keys {missing}"
            )
        if target["comparison"] not in COMPARISONS:
            raise ValueError(
                f"{path}: target {target['id']}: comparison must be one of {COMPARISONS}"
            )
        if target["comparison"] in NUMERIC_COMPARISONS and "value" not in target:
            raise ValueError(f"{path}: target {target['id']}: a numeric comparison needs 'value'")
    return targets


def is_monotone(values: np.ndarray, increasing: bool) -> bool:
    """True if every row of ``values`` (1-D or 2-D) is strictly increasing (or decreasing)."""
    d = np.diff(np.atleast_2d(values), axis=-1)
    return bool(np.all(d > 0) if increasing else np.all(d < 0))


def evaluate_target(target: dict, model_value) -> tuple[float, float, bool]:
    """(scalar model value, relative error, passed) for one target."""
    comparison = target["comparison"]
    if comparison in ("increasing", "decreasing"):
        ok = is_monotone(np.asarray(model_value), comparison == "increasing")
        return float(ok), math.nan, ok
    value = float(model_value)
    paper = float(target["value"])
    rel = (value - paper) / paper
    if comparison == "equal":
        return value, rel, abs(rel) <= float(target.get("tolerance_rel", 0.1))
    if comparison == "greater":
        return value, rel, value > paper
    return value, rel, value < paper


def _check_select_value(target_id: str, column: str, wanted: object) -> None:
    def scalar(value: object) -> bool:
        return isinstance(value, str | int | float) and not isinstance(value, bool)

    def values(value: object) -> bool:
        return scalar(value) or (
            isinstance(value, list) and len(value) > 0 and all(scalar(v) for v in value)
        )

    if isinstance(wanted, Mapping):
        ok = len(wanted) == 1 and (
            ("not" in wanted and values(wanted["not"]))
            or ("at" in wanted and wanted["at"] in ("min", "max"))
        )
    else:
        ok = values(wanted)
    if not ok:
        raise ValueError(
            f"paper target {target_id!r}: select key {column!r} must be {SELECT_FORMS}, "
            f"got {wanted!r}"
        )


def target_select(target: Mapping, required: Sequence[str] = ()) -> dict:
    """A target's ``select`` block, checked: a non-empty mapping of table column -> wanted
    value(s) in one of :data:`SELECT_FORMS`, holding every ``required`` key. A missing or
    malformed block raises ``ValueError`` naming the target id and the key."""
    target_id = str(target["id"])
    if "select" not in target:
        raise ValueError(
            f"paper target {target_id!r}: no 'select' block (the comparison reads the rows it "
            f"names; expected keys {list(required)})"
        )
    select = target["select"]
    if not isinstance(select, Mapping) or not select:
        raise ValueError(
            f"paper target {target_id!r}: 'select' must be a mapping of column -> {SELECT_FORMS}, "
            f"got {select!r}"
        )
    missing = [key for key in required if key not in select]
    if missing:
        raise ValueError(f"paper target {target_id!r}: select lacks key(s) {missing}")
    for column, wanted in select.items():
        _check_select_value(target_id, str(column), wanted)
    return dict(select)


def check_selects(targets: Sequence[Mapping]) -> None:
    """Check every ``select`` block of the paper targets at once (:func:`target_select`), so a
    malformed one fails before any table is read, naming the target and the key."""
    for target in targets:
        if "select" in target:
            target_select(target)


def targets_by_id(targets: Sequence[Mapping], stage: str | None = None) -> dict[str, Mapping]:
    """The paper targets by id (those of ``stage`` only, when given)."""
    return {str(t["id"]): t for t in targets if stage is None or t["stage"] == stage}


def target_by_id(by_id: Mapping[str, Mapping], target_id: str) -> Mapping:
    """The target ``target_id`` of :func:`targets_by_id`; a clear error when there is none."""
    if target_id not in by_id:
        raise ValueError(
            f"paper targets: no target {target_id!r} (the comparison evaluates it; have "
            f"{sorted(by_id)})"
        )
    return by_id[target_id]


def _matches(values: pd.Series, wanted: object) -> np.ndarray:
    """Rows whose value is one of ``wanted``: labels as strings, numbers to rounding."""
    wanted = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
    if values.name in LABEL_COLUMNS or not pd.api.types.is_numeric_dtype(values):
        return values.astype(str).isin([str(w) for w in wanted]).to_numpy()
    numbers = values.to_numpy(dtype=float)
    return np.logical_or.reduce([np.isclose(numbers, float(w)) for w in wanted])


def selected_rows(
    frame: pd.DataFrame, select: Mapping[str, object], target_id: str | None = None
) -> pd.DataFrame:
    """The rows of a result table a target's ``select`` names (``config/paper_targets.yaml``).

    Each key is a column of ``frame``; its value is one value or a list of them (label columns,
    :data:`fmes.core.io.LABEL_COLUMNS` or text, matched as strings; numbers matched to rounding,
    ``numpy.isclose``), ``{not: value(s)}`` (every row but those) or ``{at: min|max}`` (the rows
    at the column's smallest or largest value among those the other keys keep). A key that is
    not a column raises ``ValueError`` naming ``target_id`` and the key.
    """
    missing = [column for column in select if column not in frame.columns]
    if missing:
        raise ValueError(
            f"paper target {target_id or '?'!r}: select key(s) {missing} are not columns of the "
            f"table it reads (columns: {list(frame.columns)})"
        )
    mask = np.ones(len(frame), dtype=bool)
    extremes = []
    for column, wanted in select.items():
        if isinstance(wanted, Mapping) and "at" in wanted:
            extremes.append((column, wanted["at"]))
        elif isinstance(wanted, Mapping):
            mask &= ~_matches(frame[column], wanted["not"])
        else:
            mask &= _matches(frame[column], wanted)
    for column, at in extremes:
        values = frame[column].where(mask)
        mask &= (values == (values.min() if at == "min" else values.max())).to_numpy()
    return frame[mask]


def trend_states(target_id: str, select: Mapping) -> list[str]:
    """The states an ordering target compares, in the order of its trend."""
    states = select["state"]
    if not isinstance(states, list) or len(states) < 2:
        raise ValueError(
            f"paper target {target_id!r}: select key 'state' must list the states to compare "
            f"in the order of the trend (two or more), got {states!r}"
        )
    return [str(s) for s in states]


def paper_epochs(target: Mapping) -> int:
    """The paper's training length for a network target (``conditions: {epochs: N}``)."""
    conditions = target.get("conditions")
    epochs = conditions.get("epochs") if isinstance(conditions, Mapping) else None
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(
            f"paper target {target['id']!r}: needs conditions: {{epochs: N}} (the paper's "
            f"training length, a whole number >= 1, reported beside this run's), got {conditions!r}"
        )
    return epochs


def is_single_row_target(target: Mapping) -> bool:
    """Whether a target's value is read from the one row its ``select`` names (no trend over
    listed states, no ``pick``)."""
    return target["comparison"] not in ("increasing", "decreasing") and not picks_best(target)


#: Columns of :func:`network_paper_accuracy`.
PAPER_ACCURACY_COLUMNS = ["net", "state", "paper_test_accuracy", "paper_epochs"]


def network_paper_accuracy(targets: Sequence[Mapping]) -> pd.DataFrame:
    """The paper's test accuracy per network and state (Fig 4d), one row per networks-stage
    target read from one row: ``net`` and ``state`` from its ``select`` (one value each), the
    target's ``value`` and the paper's training length (``conditions.epochs``, float like the
    table column it fills, where other rows have none). A select that does not name one net and
    one state, or two targets naming the same pair, raise ``ValueError`` naming the target."""
    rows = []
    for target_id, target in targets_by_id(targets, "networks").items():
        if not is_single_row_target(target):
            continue
        select = target_select(target, required=("net", "state"))
        for key in ("net", "state"):
            if isinstance(select[key], Mapping | list):
                raise ValueError(
                    f"paper target {target_id!r}: select key {key!r} must name one value for "
                    f"the paper's accuracy column of network_accuracy.csv, got {select[key]!r}"
                )
        rows.append(
            (str(select["net"]), str(select["state"]), float(target["value"]), paper_epochs(target))
        )
    paper = pd.DataFrame(rows, columns=PAPER_ACCURACY_COLUMNS).astype({"paper_epochs": float})
    repeated = paper[paper.duplicated(["net", "state"], keep=False)]
    if len(repeated):
        raise ValueError(
            "paper targets: two networks targets give the paper's accuracy for the same net and "
            f"state: {sorted(set(zip(repeated['net'], repeated['state'], strict=True)))}"
        )
    return paper


def picks_best(target: Mapping) -> bool:
    """Whether the target's value is the best of its selected rows (``pick: best``)."""
    if "pick" in target and target["pick"] != "best":
        raise ValueError(
            f"paper target {target['id']!r}: pick must be 'best', got {target['pick']!r}"
        )
    return "pick" in target


def one_row(rows: pd.DataFrame, target_id: str, key: str) -> pd.Series:
    """The one row a target's selection leaves; more than one is an ambiguous ``select``."""
    if len(rows) != 1:
        raise ValueError(
            f"paper target {target_id!r}: its select names {len(rows)} rows of the table it reads "
            f"where one is needed (narrow {key!r} or add a key, e.g. 'net')"
        )
    return rows.iloc[0]


#: The adaptation targets whose value is read from one row of the adaptation table (their
#: ``select`` and ``read``), in table order: the paper table (``fmes.claims.comparison``) and the
#: per-variant claims (``fmes.claims.robustness``) both read these.
ADAPTATION_ROW_TARGETS = (
    "adaptation_dataset1_accuracy",
    "adaptation_dataset2_before",
    "adaptation_dataset2_after",
)


def adaptation_rows(
    table: pd.DataFrame, targets: Sequence[Mapping]
) -> dict[str, tuple[pd.Series, str]]:
    """Adaptation target id (of :data:`ADAPTATION_ROW_TARGETS`) -> (the one row of ``table``
    its ``select`` names, the column its ``read`` names), for those that have a row. ``table``
    is one seed's adaptation table or the aggregate over seeds (``read`` + ``_mean``)."""
    by_id = targets_by_id(targets, "adaptation")
    picked = {}
    for target_id in ADAPTATION_ROW_TARGETS:
        target = target_by_id(by_id, target_id)
        if "read" not in target:
            raise ValueError(
                f"paper target {target_id!r}: no 'read' key (the adaptation column its value "
                "is read from, e.g. accuracy_dataset2)"
            )
        rows = selected_rows(table, target_select(target), target_id)
        if len(rows):
            picked[target_id] = (one_row(rows, target_id, "n_images"), str(target["read"]))
    return picked
