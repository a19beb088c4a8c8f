"""Which resistance states the networks and the adaptation may use, from what the analyses made.

The networks and the adaptation are planned from ``results/tables/device_params.csv`` (a
Snakemake checkpoint), not from the manifest: a state whose LTP/LTD traces gave no usable fit
has no row there, and a state whose row is not ``ok`` (a flagged or poor fit) is refused unless
the config explicitly allows it. Every refused state keeps its reason, so the accuracy table
and the paper table say why a value is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from fmes.status import Status

PLAN_COLUMNS = ("state", "use", "status", "reason")


def plan_states(
    device_params: pd.DataFrame,
    provenance: pd.DataFrame,
    states: Sequence[str],
    *,
    allow_non_ok: bool,
    allow_key: str,
) -> pd.DataFrame:
    """One row per requested state: ``state, use, status, reason``.

    ``use`` is True for a state whose device parameters are ``ok``, or have a value with another
    status while ``allow_non_ok`` (then ``status``/``reason`` carry that status on, and the reason
    names ``allow_key``). Otherwise ``use`` is False, ``status`` is ``skipped`` and ``reason`` says
    why: the provenance note of a state the analyses dropped, or that the data have no LTP/LTD
    fit at that state.
    """
    rows = []
    params = device_params.set_index(device_params["resistance_label"].astype(str))
    notes = provenance[provenance["source"] == "skipped"] if len(provenance) else provenance
    for state in map(str, states):
        if state in params.index:
            row = params.loc[state]
            status = Status(row["status"]) if "status" in params.columns else Status.OK
            reason = (
                str(row["reason"])
                if "reason" in params.columns and isinstance(row["reason"], str)
                else ""
            )
            if status is Status.OK:
                rows.append((state, True, Status.OK.value, ""))
            elif allow_non_ok and status.has_value:
                rows.append(
                    (
                        state,
                        True,
                        status.value,
                        f"device parameters are {status.value} ({reason}); used because {allow_key} is true",
                    )
                )
            else:
                rows.append(
                    (
                        state,
                        False,
                        Status.SKIPPED.value,
                        f"device parameters at {state} are {status.value} ({reason}); "
                        f"set {allow_key}: true to use them anyway",
                    )
                )
            continue
        note = notes.loc[notes["resistance_label"].astype(str).isin([state, "*"]), "note"]
        why = (
            str(note.iloc[0]) if len(note) else "the analyses produced no LTP/LTD fit at this state"
        )
        rows.append((state, False, Status.SKIPPED.value, f"no device parameters at {state}: {why}"))
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
