"""What the workflow plans before a job runs: resistance states, chunks and store parts.

Snakemake calls these functions while it builds the job graph, so this module uses the Python
standard library only (``snakemake --sdm conda`` builds the graph in an environment holding
Snakemake alone); the library modules that do the work import the same definitions from here.

States: the networks and the adaptation are planned from ``results/tables/device_params.csv``
(a Snakemake checkpoint), not from the manifest: a state whose LTP/LTD traces gave no usable fit
has no row there, and a state whose row is not ``ok`` (a flagged or poor fit) is refused unless
the config explicitly allows it. Every refused state keeps its reason, so the accuracy table
and the paper table say why a value is missing.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from fmes.core.status import Status
from fmes.workflow.manifest import parse_resistance, resistance_label

if TYPE_CHECKING:
    import pandas as pd

PLAN_COLUMNS = ("state", "use", "status", "reason")

#: File suffix of a trace-store part (a Parquet file holding many traces).
STORE_SUFFIX = ".parquet"


def is_stored(path: str | os.PathLike) -> bool:
    """True if a manifest ``path`` points into a trace store (a Parquet part), not a CSV."""
    return str(path).endswith(STORE_SUFFIX)


class PlannedState(NamedTuple):
    """One row of a state plan (:data:`PLAN_COLUMNS`)."""

    state: str
    use: bool
    status: str
    reason: str


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of one of the pipeline's own CSV tables as text (``csv``; no pandas)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _text(value: object) -> str:
    # a CSV cell: str, or NaN/None when the table was read by pandas
    return value if isinstance(value, str) else ""


def plan_state_rows(
    device_params: Iterable[Mapping[str, object]],
    provenance: Iterable[Mapping[str, object]],
    states: Sequence[str],
    *,
    allow_non_ok: bool,
    allow_key: str,
) -> list[PlannedState]:
    """One :class:`PlannedState` per requested state, from the rows of device_params.csv and
    its provenance table.

    ``use`` is True for a state whose device parameters are ``ok``, or have a value with another
    status while ``allow_non_ok`` (then ``status``/``reason`` carry that status on, and the reason
    names ``allow_key``). Otherwise ``use`` is False, ``status`` is ``skipped`` and ``reason`` says
    why: the provenance note of a state the analyses dropped, or that the data have no LTP/LTD
    fit at that state.
    """
    params: dict[str, Mapping[str, object]] = {}
    for row in device_params:
        params.setdefault(str(row["resistance_label"]), row)
    notes = [row for row in provenance if row.get("source") == "skipped"]
    plan = []
    for state in map(str, states):
        row = params.get(state)
        if row is not None:
            status = Status(row["status"]) if "status" in row else Status.OK
            reason = _text(row.get("reason"))
            if status is Status.OK:
                plan.append(PlannedState(state, True, Status.OK.value, ""))
            elif allow_non_ok and status.has_value:
                plan.append(
                    PlannedState(
                        state,
                        True,
                        status.value,
                        f"device parameters are {status.value} ({reason}); used because {allow_key} is true",
                    )
                )
            else:
                plan.append(
                    PlannedState(
                        state,
                        False,
                        Status.SKIPPED.value,
                        f"device parameters at {state} are {status.value} ({reason}); "
                        f"set {allow_key}: true to use them anyway",
                    )
                )
            continue
        note = [n["note"] for n in notes if str(n["resistance_label"]) in (state, "*")]
        why = str(note[0]) if note else "the analyses produced no LTP/LTD fit at this state"
        plan.append(
            PlannedState(
                state, False, Status.SKIPPED.value, f"no device parameters at {state}: {why}"
            )
        )
    return plan


def plan_states(
    device_params: pd.DataFrame,
    provenance: pd.DataFrame,
    states: Sequence[str],
    *,
    allow_non_ok: bool,
    allow_key: str,
) -> pd.DataFrame:
    """:func:`plan_state_rows` on the tables as read by :func:`fmes.core.io.read_table`, as a frame
    with columns ``state, use, status, reason``."""
    import pandas as pd

    plan = plan_state_rows(
        device_params.to_dict("records"),
        provenance.to_dict("records"),
        states,
        allow_non_ok=allow_non_ok,
        allow_key=allow_key,
    )
    return pd.DataFrame(plan, columns=list(PLAN_COLUMNS))


def trained_states(states: Sequence[str], plan: pd.DataFrame) -> list[str]:
    """Of ``states`` (resistance labels, possibly the float baseline "ideal"), in their order,
    those a network is trained at: "ideal" and every state the :func:`plan_states` ``plan``
    uses."""
    used = set(plan.loc[plan["use"], "state"])
    return [s for s in states if s == "ideal" or s in used]


# --- chunks and store parts (scattered jobs, listed at DAG build) ---


def chunk_bounds(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of consecutive chunks of at most ``chunk_size`` items (>= 1 chunk)."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be >= 1, got {chunk_size}")
    n_chunks = max(1, math.ceil(n_items / chunk_size))
    return [(k * chunk_size, min(n_items, (k + 1) * chunk_size)) for k in range(n_chunks)]


def part_name(index: int) -> str:
    """File name of part ``index`` of a trace store."""
    return f"part-{index:05d}{STORE_SUFFIX}"


def array_trace_count(variability: dict) -> int:
    """Number of LTP/LTD traces of the synthetic array campaign (states x devices x cycles)."""
    return (
        len(variability["resistances"])
        * variability["rows"]
        * variability["cols"]
        * variability["cycles"]
    )


def array_chunks(variability: dict, chunk_traces: int) -> list[tuple[str, int, int]]:
    """The array campaign's chunks: (state label, first device, stop device), each chunk holding
    whole devices of one state and at most ``chunk_traces`` traces (at least one device)."""
    per_chunk = max(1, chunk_traces // variability["cycles"])
    n_dev = variability["rows"] * variability["cols"]
    labels = [resistance_label(parse_resistance(label)) for label in variability["resistances"]]
    return [(label, lo, hi) for label in labels for lo, hi in chunk_bounds(n_dev, per_chunk)]


def require_usable_state(
    device_params: pd.DataFrame,
    state: str,
    *,
    allow_non_ok: bool,
    allow_key: str,
    source: str,
    warn: Callable[[str], object],
) -> tuple[str, str]:
    """The ``(status, reason)`` of the device parameters at ``state``, for a job about to use them.

    A state that is not ``ok`` is refused (ValueError naming ``source``, the state and
    ``allow_key``) unless ``allow_non_ok``; then ``warn`` is called with why it is used anyway.
    A state with no row at all is an error too: the plan (:func:`plan_states`) never schedules one.
    """
    labels = device_params["resistance_label"].astype(str)
    if str(state) not in set(labels):
        raise ValueError(
            f"{source}: no row for resistance_label {state!r} (has {sorted(set(labels))})"
        )
    row = device_params[labels == str(state)].iloc[0]
    status, reason = str(row["status"]), str(row["reason"])
    if status != Status.OK:
        if not allow_non_ok:
            raise ValueError(
                f"{source}: the device parameters at {state} are {status} ({reason}); "
                f"set {allow_key}: true to use them anyway"
            )
        warn(
            f"using {state} although its device parameters are {status} ({reason}): "
            f"{allow_key} is true"
        )
    return status, reason
