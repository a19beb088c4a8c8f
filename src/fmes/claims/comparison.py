"""The paper-versus-reproduction table: every quoted value and claim beside the pipeline's.

Each stage contributes *claims*: rows ``target_id, reproduced_value, reproduced_std, n_values,
note`` extracted from its own result tables by the ``claims_from_*`` functions below. They are
joined to ``config/paper_targets.yaml`` and judged with the same rule as the calibration
(:func:`fmes.data.targets.evaluate_target`): ``equal`` within the target's ``tolerance_rel``,
``greater``/``less`` than the quoted bound, ``increasing``/``decreasing`` for trends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fmes.analysis.pulses import detect_pulses
from fmes.claims.statistics import PAPER_WORDS
from fmes.core.status import STATUS_VALUES, Status, join_reasons, worst
from fmes.data.targets import (
    ADAPTATION_ROW_TARGETS,
    adaptation_rows,
    evaluate_target,
    is_monotone,
    one_row,
    paper_epochs,
    picks_best,
    selected_rows,
    target_by_id,
    target_select,
    targets_by_id,
    trend_states,
)
from fmes.data.traces import legend_label, ordered_labels

CLAIM_COLUMNS = [
    "target_id",
    "reproduced_value",
    "reproduced_std",
    "n_values",
    "note",
    "source_status",
    "source_reason",
    "verdict",
]

#: Verdicts a stage may decide itself from its own interval (``claim(verdict=...)``), in the
#: paper table's words; compare() then uses it instead of judging the value alone.
CLAIM_VERDICTS = ("pass", "fail", "inconclusive")


def claim(
    target_id: str,
    value: float,
    std: float = math.nan,
    n: int = 1,
    note: str = "",
    source: tuple[str, str] = (Status.OK, ""),
    verdict: str = "",
) -> dict:
    """One claim; ``source`` is the (status, reason) of the result rows it was computed from;
    ``verdict`` (one of :data:`CLAIM_VERDICTS`, or empty to judge the value against the
    target) when the stage judged the claim from an interval over seeds."""
    if verdict and verdict not in CLAIM_VERDICTS:
        raise ValueError(f"claim {target_id}: verdict {verdict!r} not in {CLAIM_VERDICTS}")
    return {
        "target_id": target_id,
        "reproduced_value": float(value),
        "reproduced_std": float(std),
        "n_values": int(n),
        "note": note,
        "source_status": str(source[0]),
        "source_reason": source[1],
        "verdict": verdict,
    }


def _source(rows: pd.DataFrame) -> tuple[str, str]:
    """Worst status and the reasons of the rows a claim uses (a value from a poor fit is marked)."""
    if "status" not in rows.columns or rows.empty:
        return str(Status.OK), ""
    bad = rows[rows["status"] != Status.OK]
    reasons = bad["reason"] if "reason" in bad.columns else []
    return str(worst(rows["status"])), join_reasons(reasons)


def trend_claim(
    target_id: str,
    labels: list[str],
    values: np.ndarray,
    increasing: bool,
    source: tuple[str, str] = (Status.OK, ""),
) -> dict:
    """A monotone-trend claim: value 1 if ``values`` (ordered like ``labels``) is strictly monotone."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    holds = bool(finite.sum() > 1 and is_monotone(values[finite], increasing))
    note = ", ".join(f"{lab}: {v:.4g}" for lab, v in zip(labels, values, strict=True))
    return claim(target_id, float(holds), n=int(finite.sum()), note=note, source=source)


def claims_from_calibration(calibration_table: pd.DataFrame) -> pd.DataFrame:
    """Calibration targets are evaluated on the fitted model (noise-free, one value each)."""
    rows = []
    for row in calibration_table.itertuples():
        note = "fitted target" if row.used_in_fit else "evaluated on the calibrated model"
        rows.append(claim(row.target_id, row.model_value, note=note))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def compare(
    targets: list[dict],
    claims: pd.DataFrame,
    skipped_stages: dict[str, str] | None = None,
    skipped_targets: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per paper target: paper value, reproduced value +- std, relative difference,
    pass/fail against the stated tolerance, and the source sentence. A target no stage could
    evaluate keeps an explicit ``not evaluated`` status with the reason (a stage the data do not
    allow is named in ``skipped_stages``, stage -> reason; a single target's own reason in
    ``skipped_targets``, target_id -> reason, which wins)."""
    skipped_stages = skipped_stages or {}
    skipped_targets = skipped_targets or {}
    by_id = claims.drop_duplicates("target_id", keep="last").set_index("target_id")
    rows = []
    for t in targets:
        base = {
            "target_id": t["id"],
            "stage": t["stage"],
            "quantity": t["quantity"],
            "unit": t.get("unit", ""),
            "comparison": t["comparison"],
            "paper_value": float(t["value"]) if "value" in t else math.nan,
            "tolerance_rel": float(t["tolerance_rel"]) if "tolerance_rel" in t else math.nan,
            "source": t["source"],
        }
        if t["id"] not in by_id.index:
            rows.append(
                {
                    **base,
                    "reproduced_value": math.nan,
                    "reproduced_std": math.nan,
                    "n_values": 0,
                    "relative_difference": math.nan,
                    "status": "not evaluated",
                    "note": skipped_targets.get(
                        t["id"], skipped_stages.get(t["stage"], "the data do not give this value")
                    ),
                    "source_status": "",
                    "source_reason": "",
                }
            )
            continue
        c = by_id.loc[t["id"]]
        value = float(c["reproduced_value"])
        if t["comparison"] in ("increasing", "decreasing"):
            passed = bool(value == 1.0)
            rel = math.nan
        else:
            _, rel, passed = (
                evaluate_target(t, value) if math.isfinite(value) else (0, math.nan, False)
            )
        verdict = c.get("verdict", "")
        verdict = (
            verdict if isinstance(verdict, str) and verdict else ("pass" if passed else "fail")
        )
        rows.append(
            {
                **base,
                "reproduced_value": value,
                "reproduced_std": float(c["reproduced_std"]),
                "n_values": int(c["n_values"]),
                "relative_difference": rel,
                "status": verdict,
                "note": c["note"],
                # The status of the result rows behind the value (fmes.core.status): not 'ok' means
                # the pass/fail is judged on a value computed from a flagged read-out or fit.
                "source_status": c.get("source_status", Status.OK),
                "source_reason": c.get("source_reason", ""),
            }
        )
    return pd.DataFrame(rows)


def _usable(frame: pd.DataFrame, *columns: str, nominal_device: str | None = None) -> pd.DataFrame:
    """The rows an analysis produced with a value (status ok, flagged or poor_fit: the claim then
    carries the worst of them in ``source_status``), nominal device if given; empty when the
    table is a 'skipped' placeholder without the needed columns (the data lacked the protocol)."""
    if any(c not in frame.columns for c in columns):
        return frame.iloc[0:0].reindex(
            columns=list(dict.fromkeys([*frame.columns, *columns, "resistance_label"]))
        )
    # astype(bool): on an empty table map() gives an object Series, which frame[...] would take
    # for a list of column names
    ok = (
        frame["status"].map(lambda s: s in STATUS_VALUES and Status(s).has_value).astype(bool)
        if "status" in frame.columns
        else pd.Series(True, index=frame.index)
    )
    if "converged" in frame.columns:
        ok &= frame["converged"].astype(str).eq("True")
    if nominal_device is not None and "device_id" in frame.columns:
        ok &= frame["device_id"].eq(nominal_device)
    return frame[ok]


def retention_after_settling(
    time_s: np.ndarray,
    psv_V: np.ndarray,
    end_s: float,
    t_ref_s: float,
    t_ret_s: float,
) -> float:
    """PSV ``t_ret_s`` after the end of a train over the PSV ``t_ref_s`` after it (linear
    interpolation). The paper's "almost unchanged" (Fig 3g) is about the long-term state after
    the short initial decrease it also describes, hence a reference read after settling (the
    retention target's ``conditions.t_ref_s``, config/paper_targets.yaml)."""
    if time_s[-1] < end_s + t_ret_s:
        return math.nan
    u_ref, u_ret = np.interp([end_s + t_ref_s, end_s + t_ret_s], time_s, psv_V)
    return float(u_ret / u_ref) if u_ref > 0 else math.nan


def train_retention(
    trace: pd.DataFrame, pulse_settings: dict, t_ret_s: float, *, t_ref_s: float
) -> float:
    """Retention after a pulse train, straight from its trace (Fig 3g): the PSV ``t_ret_s``
    after the last pulse's offset over the PSV ``t_ref_s`` after it
    (:func:`retention_after_settling`; ``t_ref_s`` is the retention target's reference read).

    ``trace`` has ``time_s``, ``current_A`` and ``voltage_V``; the pulses are found with the
    run's own ``pulse_settings`` (``analysis.pulses``). NaN when the trace ends too early.
    """
    time_s = trace["time_s"].to_numpy()
    pulses = detect_pulses(time_s, trace["current_A"].to_numpy(), **pulse_settings)
    end_s = float(pulses["offset_s"].iloc[-1])
    return retention_after_settling(
        time_s, trace["voltage_V"].to_numpy(), end_s, t_ref_s=t_ref_s, t_ret_s=t_ret_s
    )


def retention_claims(
    retention: float, state: str, t_ref_s: float, t_ret_s: float, train_frequency_Hz: float
) -> pd.DataFrame:
    """The retention of the train at ``state`` (:func:`train_retention`: PSV ``t_ret_s`` over
    PSV ``t_ref_s`` after its end) as the ``retention_open_100s`` claim, its note naming the
    state, the reads and the train's pulse rate; none when the trace could not give it (NaN:
    missing or too short a trace)."""
    rows = []
    if np.isfinite(retention):
        where = f"{state}-state" if legend_label(state) == state else f"{state} ohm"
        note = (
            f"PSV(end+{t_ret_s:g} s)/PSV(end+{t_ref_s:g} s) of the {where} "
            f"{train_frequency_Hz:g} Hz train trace"
        )
        rows.append(claim("retention_open_100s", retention, note=note))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _mean_claim(
    target_id: str, rows: pd.DataFrame, column: str, note: str, with_std: bool = False
) -> list[dict]:
    """The mean of ``column`` over the selected rows as one claim (none without rows); the
    sample std beside it when ``with_std`` and there are several rows."""
    if rows.empty:
        return []
    values = rows[column]
    std = values.std() if with_std and len(values) > 1 else math.nan
    return [claim(target_id, values.mean(), std, len(values), note, source=_source(rows))]


def _trend_over_states(target: Mapping, rows: pd.DataFrame, column: str) -> list[dict]:
    """A trend claim along resistance (ordered labels) of ``column``'s mean per state; none
    with fewer than two states. The direction is the target's comparison."""
    if rows["resistance_label"].nunique() < 2:
        return []
    order = ordered_labels(rows["resistance_label"])
    values = rows.groupby("resistance_label")[column].mean().reindex(order).to_numpy()
    increasing = target["comparison"] == "increasing"
    return [trend_claim(target["id"], order, values, increasing, source=_source(rows))]


def _monotone_in_every_state(
    target: Mapping, rows: pd.DataFrame, along: str, column: str
) -> list[dict]:
    """Holds (1) if ``column`` is monotone along ``along`` (the target's direction) in every
    resistance state; none with fewer than two values of ``along``."""
    if rows.empty:
        return []
    table = rows.pivot_table(index="resistance_label", columns=along, values=column)
    if table.shape[1] < 2:
        return []
    increasing = target["comparison"] == "increasing"
    holds = all(is_monotone(r.dropna().to_numpy(), increasing) for _, r in table.iterrows())
    note = f"{table.shape[0]} resistance states"
    return [claim(target["id"], float(holds), n=table.size, note=note, source=_source(rows))]


def _states_text(labels: object) -> str:
    """'500, 1000 ohm, open': resistances with their unit, other labels as they are."""
    labels = [str(label) for label in (labels if isinstance(labels, list) else [labels])]
    ohm = [label for label in labels if legend_label(label) != label]
    others = [label for label in labels if legend_label(label) == label]
    return ", ".join([*([", ".join(ohm) + " ohm"] if ohm else []), *others])


def claims_from_analyses(
    tables: dict[str, pd.DataFrame],
    nominal_device: str,
    *,
    targets: Sequence[Mapping],
) -> pd.DataFrame:
    """Claims measured on the (synthetic or raw) traces by the analysis stage.

    ``tables`` holds the analysis tables by file stem (``iv_current_at_target``, ``ppf_values``,
    ``pulse_response``, ``ltp_ltd_fits``, ``device_params``); ``targets`` are the paper targets
    (:func:`fmes.data.targets.load_targets`), whose ``select`` says which rows a quoted value is
    read from (:func:`selected_rows`). A quantity the data cannot give (e.g. no 7000 ohm PPF
    trace) is simply absent; the calibration's model value then stands.
    """
    by_id = targets_by_id(targets)

    def rows(frame: pd.DataFrame, target_id: str) -> pd.DataFrame:
        return selected_rows(frame, target_select(target_by_id(by_id, target_id)), target_id)

    iv = _usable(
        tables["iv_current_at_target"],
        "sweep_rate_V_per_s",
        "v_target_V",
        "current_at_target_A",
        nominal_device=nominal_device,
    )
    ppf = _usable(tables["ppf_values"], "interval_s", "a1_V", "a2_V", "ppf")
    pulses = _usable(
        tables["pulse_response"],
        "amplitude_A",
        "width_s",
        "psv_change_V",
        nominal_device=nominal_device,
    )
    nominal = _usable(
        tables["ltp_ltd_fits"], "w_max_over_w_min", "mean_dw_ltp_V", nominal_device=nominal_device
    )
    params = _usable(tables["device_params"], "nl_ltp")

    claims: list[dict] = []
    measured = "measured on the traces"
    width_assumed = "read as a pulse response, 1 ms pulse assumed (width not stated)"
    for frame, target_id, column, note, with_std in (
        (iv, "iv_current_0p6V_500ohm", "current_at_target_A", measured, True),
        (iv, "iv_current_0p6V_8000ohm", "current_at_target_A", measured, True),
        (ppf, "ppf_A1_7000ohm", "a1_V", measured, False),
        (ppf, "ppf_A2_7000ohm", "a2_V", measured, False),
        (pulses, "psv_0p5mA_500ohm", "psv_change_V", width_assumed, False),
        (pulses, "psv_0p5mA_8000ohm", "psv_change_V", width_assumed, False),
    ):
        claims += _mean_claim(target_id, rows(frame, target_id), column, note, with_std)
    for frame, target_id, column in (
        (ppf, "ppf_decays_faster_at_lower_R", "ppf"),
        (pulses, "psv_increases_with_resistance", "psv_change_V"),
        (nominal, "dw_increases_with_R", "mean_dw_ltp_V"),
        (params, "nl_decreases_with_R", "nl_ltp"),
    ):
        claims += _trend_over_states(by_id[target_id], rows(frame, target_id), column)
    for target_id, along in (
        ("psv_increases_with_amplitude", "amplitude_A"),
        ("psv_increases_with_width", "width_s"),
    ):
        claims += _monotone_in_every_state(
            by_id[target_id], rows(pulses, target_id), along, "psv_change_V"
        )

    target_id = "dynamic_range_min"
    checked = rows(nominal, target_id)
    if len(checked):
        states = _states_text(by_id[target_id]["select"]["resistance_label"])
        dr = checked["w_max_over_w_min"]
        note = f"min over {states} (nominal device)"
        claims.append(claim(target_id, dr.min(), n=len(dr), note=note, source=_source(checked)))
    return pd.DataFrame(claims, columns=CLAIM_COLUMNS)


def _paper_epochs_note(target: Mapping, epochs: int) -> str:
    """'N epochs (paper: M)': this run's training length beside the paper's (``conditions``)."""
    return f"{epochs} epochs (paper: {paper_epochs(target)})"


def claims_from_networks(accuracy: pd.DataFrame, *, targets: Sequence[Mapping]) -> pd.DataFrame:
    """Fig 4d accuracies (after training, mean and std over seeds) and the headline, from the
    networks-stage targets of ``targets``: each names its rows of ``network_accuracy.csv`` by
    ``select`` (``net``, ``state``). An ``increasing``/``decreasing`` target compares the states
    its ``select.state`` lists, in that order; a ``pick: best`` target takes the best of its
    rows; any other names one row. A state without a value (skipped, not trained) gives none."""
    if "n_seeds" in accuracy:  # states the networks skipped (no device parameters) have no value
        accuracy = accuracy[accuracy["n_seeds"] > 0]
    epochs = int(accuracy["epochs"].iloc[0]) if len(accuracy) else 0
    claims = []
    for target_id, target in targets_by_id(targets, "networks").items():
        select = target_select(target, required=("state",))
        rows = selected_rows(accuracy, select, target_id)
        best_of_rows = picks_best(target)
        if target["comparison"] in ("increasing", "decreasing"):
            states = trend_states(target_id, select)
            if set(states) <= set(rows["state"]):
                by_state = rows.set_index("state")["final_test_accuracy_mean"]
                values = [one_row(by_state.loc[[s]], target_id, "state") for s in states]
                increasing = target["comparison"] == "increasing"
                claims.append(trend_claim(target_id, states, values, increasing=increasing))
        elif best_of_rows:
            if len(rows):
                best = rows.loc[rows["final_test_accuracy_mean"].idxmax()]
                note = f"best device network: {best['net']} at {best['state']} ohm"
                claims.append(_accuracy_claim(target_id, best, note))
        else:
            note = _paper_epochs_note(target, epochs)
            if len(rows):
                claims.append(_accuracy_claim(target_id, one_row(rows, target_id, "state"), note))
    return pd.DataFrame(claims, columns=CLAIM_COLUMNS)


def _accuracy_claim(target_id: str, row: pd.Series, note: str) -> dict:
    return claim(
        target_id,
        row["final_test_accuracy_mean"],
        row["final_test_accuracy_std"],
        int(row["n_seeds"]),
        note,
    )


def network_target_states(targets: Sequence[Mapping]) -> dict[str, list[str]]:
    """Networks-stage target id -> the states its value depends on (its ``select.state`` when
    that names states; a ``{not: ...}`` selection depends on no single state)."""
    states = {}
    for target_id, target in targets_by_id(targets, "networks").items():
        wanted = target_select(target, required=("state",))["state"]
        if not isinstance(wanted, Mapping):
            states[target_id] = ordered_labels(wanted if isinstance(wanted, list) else [wanted])
    return states


def network_skip_notes(accuracy: pd.DataFrame, targets: Sequence[Mapping]) -> dict[str, str]:
    """target_id -> why it has no value, for targets whose network state was skipped (the
    state's own reason from network_accuracy.csv, never another state's). ``targets``: the paper
    targets, whose ``select.state`` names the states."""
    if "status" not in accuracy:
        return {}
    skipped = (
        accuracy[accuracy["status"] == "skipped"]
        .drop_duplicates("state")
        .set_index("state")["reason"]
    )
    notes = {}
    depends = network_target_states(targets)
    for target_id, states in depends.items():
        reasons = [f"network at {s} skipped: {skipped[s]}" for s in states if s in skipped.index]
        if reasons:
            notes[target_id] = "; ".join(reasons)
    return notes


#: The note each adaptation claim read from a row of the adaptation table carries
#: (:data:`fmes.data.targets.ADAPTATION_ROW_TARGETS`; ``{state}`` the training state, ``{n_images}``
#: and ``{dataset1}`` from the selected row).
ADAPTATION_NOTES = dict(
    zip(
        ADAPTATION_ROW_TARGETS,
        (
            "784->4 {method} network, {state} state, before adaptation",
            "dataset2 read through outputs trained on dataset1",
            "after {n_images} mapped images; dataset1 then {dataset1:.2f}",
        ),
        strict=True,
    )
)


def claims_from_adaptation(
    adaptation: pd.DataFrame, *, targets: Sequence[Mapping], train_state: str
) -> pd.DataFrame:
    """Fig 5: dataset1 accuracy of the trained network, dataset2 accuracy before mapping and
    after the mapped images, each from the row of the aggregated adaptation table its target's
    ``select`` names (mean and std over seeds of its ``read`` column). ``train_state``: the
    state the 784->4 network was trained at (``adaptation.train.state``), for the note."""
    claims = []
    for target_id, (row, column) in adaptation_rows(adaptation, targets).items():
        note = ADAPTATION_NOTES[target_id].format(
            method=row["method"],
            state=train_state,
            n_images=int(row["n_images"]),
            dataset1=row["accuracy_dataset1_mean"],
        )
        claims.append(
            claim(
                target_id,
                row[f"{column}_mean"],
                row[f"{column}_std"],
                int(row["n_seeds"]),
                note,
            )
        )
    return pd.DataFrame(claims, columns=CLAIM_COLUMNS)


def _ratio_said(row: pd.Series, quantity: str) -> str:
    """'gmean [low, high] verdict' of one ratio_summary row (or that no seed matched)."""
    if not row["n_matched"]:
        return "no matched seed"
    return (
        f"{row[f'{quantity}_ratio_gmean']:.3g} [{row[f'{quantity}_ratio_ci_low']:.3g}, "
        f"{row[f'{quantity}_ratio_ci_high']:.3g}] {row[f'{quantity}_verdict']}"
    )


def claims_from_adaptation_energy(table: pd.DataFrame) -> pd.DataFrame:
    """Mapping / retraining energy and time at matched dataset2 accuracy, from
    ``results/tables/adaptation_energy.csv`` (:func:`fmes.networks.adaptation_energy.ratio_summary`):
    the default mapping at the paper's target accuracy, the geometric mean over seeds with its
    interval, the verdict decided from that interval (or from a route that never reaches the
    target), the mapping's own best and the sensitivity variants in the note."""
    if table.empty:
        return pd.DataFrame(columns=CLAIM_COLUMNS)
    rows = table.set_index(["variant", "target"])
    main = rows.loc[("default", "paper")]
    claims = []
    for quantity, target_id in (
        ("energy", "adaptation_energy_vs_retraining"),
        ("time", "adaptation_time_vs_retraining"),
    ):
        others = "; ".join(
            f"{variant} at {target}: {_ratio_said(row, quantity)}"
            for (variant, target), row in rows.iterrows()
            if (variant, target) != ("default", "paper")
        )
        reason = main[f"{quantity}_reason"]
        note = (
            f"at dataset2 accuracy {main['target_accuracy']:.2f}, {main['n_matched']}/"
            f"{main['n_seeds']} seeds matched; per seed {main[f'{quantity}_ratio_seeds'] or '-'}; "
            f"geometric mean [interval] {_ratio_said(main, quantity)}"
            + (f" ({reason})" if isinstance(reason, str) and reason else "")
            + f". Also: {others}. Scope: {main['energy_scope']}"
        )
        claims.append(
            claim(
                target_id,
                main[f"{quantity}_ratio_gmean"],
                n=int(main["n_matched"]),
                note=note,
                verdict=PAPER_WORDS[main[f"{quantity}_verdict"]],
            )
        )
    return pd.DataFrame(claims, columns=CLAIM_COLUMNS)
