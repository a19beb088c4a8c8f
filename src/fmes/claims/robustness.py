"""The paper's network claims under test: update-scheme variants, claim values, verdicts.

A *variant* is one update scheme (weight mapping x pulse rule, :mod:`fmes.device.synapse`). Its
networks are trained by :func:`fmes.networks.training.fit_every_seed` (the learning rate searched
inside each seed on that seed's validation split of the training set, never the test set). Each
network claim of ``config/paper_targets.yaml`` is evaluated per variant over seeds: the mean with
a Student-t 95% interval, one-sided t tests over seeds (TOST for "~ value" claims) Holm-corrected
over all claim x variant cells and a three-way cell verdict (:mod:`fmes.claims.statistics`,
docs/claim_statistics.md), and one verdict per claim: under how many variants it holds, fails, or
is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from fmes.claims.statistics import (
    PAPER_WORDS,
    adjust_p,
    claim_band,
    claim_test,
    crossed_bootstrap,
    t_replicates,
    verdict,
)
from fmes.core.intervals import t_interval
from fmes.core.rng import child_seed_int
from fmes.core.status import Status
from fmes.data import targets as selectors
from fmes.device.synapse import MAPPINGS, PULSE_RULES
from fmes.networks.adaptation import AdaptationResult, AdaptationSettings, leakage_resistance_ohm
from fmes.networks.mnist import MnistSplit
from fmes.networks.training import StateRuns, adapt_every_seed
from fmes.workflow.planning import plan_states

# Claims of paper_vs_reproduced evaluated per variant (target ids of config/paper_targets.yaml,
# whose select blocks name the states, net and adaptation rows each claim reads), in table order.
NETWORK_CLAIMS = (
    "accuracy_8000_above_open",
    "accuracy_mlp_8000ohm",
    "accuracy_mlp_open",
    "accuracy_headline",
)
# The per-seed adaptation summary (rule claims_variant) holds each adaptation claim's value
# in a column of its own.
ADAPTATION_COLUMNS = dict(
    zip(
        selectors.ADAPTATION_ROW_TARGETS,
        ("dataset1", "dataset2_before", "dataset2_after"),
        strict=True,
    )
)


def variant_label(mapping: str, pulse_rule: str) -> str:
    """``"<mapping>-<pulse_rule>"``, the variant's name in tables, figures and file names."""
    if mapping not in MAPPINGS or pulse_rule not in PULSE_RULES:
        raise ValueError(f"unknown variant {mapping!r} x {pulse_rule!r}")
    return f"{mapping}-{pulse_rule}"


def parse_variant(label: str) -> tuple[str, str]:
    """Inverse of :func:`variant_label`."""
    mapping, _, pulse_rule = str(label).partition("-")
    variant_label(mapping, pulse_rule)
    return mapping, pulse_rule


def mean_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t ``confidence`` interval over seeds of the finite ``values`` (NaN
    interval for one value)."""
    return t_interval([x for x in values if np.isfinite(x)], confidence)


def robustness_net(targets: Sequence[Mapping]) -> str:
    """The one net the network claims select (``select.net``): the net the robustness stage
    trains under every variant."""
    by_id = selectors.targets_by_id(targets)
    nets = {
        target_id: str(select["net"])
        for target_id in NETWORK_CLAIMS
        if "net" in (select := selectors.target_select(selectors.target_by_id(by_id, target_id)))
    }
    if len(set(nets.values())) != 1:
        raise ValueError(
            f"paper targets: the network claims must select one net (select.net) for the "
            f"robustness stage to train, got {nets or 'none'}"
        )
    return next(iter(nets.values()))


def _claim_arms(target: Mapping, states: Sequence[str]) -> list[tuple[str, list[str], str]]:
    """The cells one network claim is judged in, given the trained ``states``: per cell the
    ``state`` label (a ``pick: best`` claim is judged per state it selects, each state a cell
    of its own; "" for the others), the states whose accuracies form its value (arms, in
    order) and how (``level`` or the ordering's ``increasing``/``decreasing``)."""
    target_id = target["id"]
    select = selectors.target_select(target, required=("state",))
    frame = pd.DataFrame({"state": list(states)})
    if "net" in select:
        frame["net"] = str(select["net"])
    present = selectors.selected_rows(frame, select, target_id)["state"].astype(str).tolist()
    if target["comparison"] in ("increasing", "decreasing"):
        trend = selectors.trend_states(target_id, select)
        return [("", trend, str(target["comparison"]))] if set(trend) <= set(present) else []
    if selectors.picks_best(target):
        # not the best of the states (a choice made on the data): every state is a cell and
        # the multiplicity correction covers looking at all of them
        return [(state, [state], "level") for state in present]
    state = str(select["state"])
    return [("", [state], "level")] if state in present else []


def _network_claim_values(
    variant: str, frame: pd.DataFrame, target: Mapping
) -> list[tuple[str, str, str, int, float, str]]:
    """Per seed, the value of one network claim under one variant, per cell of
    :func:`_claim_arms`: an ordering claim's value is its smallest step along the listed states
    (largest for ``decreasing``: holds if > 0 / < 0), any other one state's accuracy."""
    by_state = frame.pivot_table(index="seed", columns="state", values="test_accuracy")
    by_state.columns = by_state.columns.astype(str)
    rows = []
    for state, arms, kind in _claim_arms(target, list(by_state.columns)):
        accuracy = by_state[arms].to_numpy()
        if kind == "level":
            value = accuracy[:, 0]
        else:
            steps = np.diff(accuracy, axis=1)
            value = steps.min(axis=1) if kind == "increasing" else steps.max(axis=1)
        rows += [
            (variant, target["id"], state, s, v, "")
            for s, v in zip(by_state.index, value, strict=True)
        ]
    return rows


def claim_values(
    accuracy: pd.DataFrame,
    adaptation: pd.DataFrame | None = None,
    *,
    targets: Sequence[Mapping],
) -> pd.DataFrame:
    """Per variant and seed, the value of each claim, read as the claims' targets select.

    ``accuracy``: columns ``variant, state, seed, test_accuracy`` of the one net the network
    claims select (:func:`robustness_net`).
    ``adaptation``: columns ``variant, seed`` and :data:`ADAPTATION_COLUMNS`
    (:func:`adaptation_summary` per seed).
    ``targets``: the paper targets (:func:`fmes.data.targets.load_targets`).
    Returns ``variant, target_id, state, seed, value, note``; ``state`` names the cell of a
    ``pick: best`` claim (judged per state), "" for the others.
    """
    by_id = selectors.targets_by_id(targets)
    rows = []
    for variant, frame in accuracy.groupby("variant", sort=False):
        for target_id in NETWORK_CLAIMS:
            rows += _network_claim_values(variant, frame, selectors.target_by_id(by_id, target_id))
    if adaptation is not None:
        for row in adaptation.itertuples(index=False):
            for target_id, column in ADAPTATION_COLUMNS.items():
                rows.append((row.variant, target_id, "", row.seed, getattr(row, column), ""))
    return pd.DataFrame(rows, columns=["variant", "target_id", "state", "seed", "value", "note"])


def read_correct(path: str) -> dict[str, np.ndarray]:
    """The per-image outcomes of one variant (``correct.npz`` of rule ``claims_variant``):
    state -> bool ``(seeds, test images)``."""
    with np.load(path, allow_pickle=False) as data:
        return {
            name.removeprefix("correct_"): np.asarray(data[name], dtype=bool)
            for name in data.files
            if name.startswith("correct_")
        }


def network_claim_replicates(
    correct: Mapping[str, Mapping[str, np.ndarray]],
    targets: Sequence[Mapping],
    *,
    n_boot: int,
    seed: int,
) -> dict[tuple[str, str, str], tuple[float, np.ndarray]]:
    """The crossed bootstrap (seeds x test images, :func:`fmes.claims.statistics.crossed_bootstrap`)
    of every network claim's value per variant and cell.

    ``correct``: variant -> state -> bool ``(seeds, test images)`` (the seeds in one order for
    every state: the arms of an ordering claim are paired by seed and by image).
    Returns ``(variant, target_id, state) -> (estimate, replicates)``, ``state`` as in
    :func:`claim_values`; each cell resampled with its own seed derived from ``seed``.
    """
    by_id = selectors.targets_by_id(targets)
    out: dict[tuple[str, str, str], tuple[float, np.ndarray]] = {}
    for variant, by_state in correct.items():
        for target_id in NETWORK_CLAIMS:
            target = selectors.target_by_id(by_id, target_id)
            for state, arms, kind in _claim_arms(target, list(by_state)):
                stack = np.stack([np.asarray(by_state[a], dtype=bool) for a in arms])
                cell_seed = child_seed_int(seed, "claims", variant, target_id, state)
                out[(variant, target_id, state)] = crossed_bootstrap(
                    stack, kind, int(n_boot), cell_seed
                )
    return out


def adaptation_summary(table: pd.DataFrame, targets: Sequence[Mapping]) -> dict[str, float]:
    """One seed's adaptation claims (:data:`ADAPTATION_COLUMNS`) from its adaptation table
    (``method, n_images, accuracy_dataset1, accuracy_dataset2``), each read from the row its
    target selects (:func:`fmes.data.targets.adaptation_rows`), and the ``n_images`` of the last
    claim's row (the mapped images after adaptation)."""
    picked = selectors.adaptation_rows(table, targets)
    missing = [target_id for target_id in ADAPTATION_COLUMNS if target_id not in picked]
    if missing:
        raise ValueError(f"adaptation table has no rows the targets {missing} select")
    summary: dict[str, float] = {
        column: float(picked[target_id][0][picked[target_id][1]])
        for target_id, column in ADAPTATION_COLUMNS.items()
    }
    summary["n_images"] = int(picked[selectors.ADAPTATION_ROW_TARGETS[-1]][0]["n_images"])
    return summary


#: Columns of a variant's per-seed adaptation table (rule ``claims_variant``).
ADAPTATION_SUMMARY_COLUMNS = ["variant", "seed", *ADAPTATION_COLUMNS.values(), "n_images"]


def variant_tables(variant: str, runs: StateRuns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One variant's learning-rate searches (``variant, state, seed, learning_rate,
    validation_accuracy, chosen`` first) and per-seed networks (``variant`` first), from its
    :func:`fmes.networks.training.fit_every_seed`."""
    curves = runs.curves.assign(variant=variant)
    first = ["variant", "state", "seed", "learning_rate", "validation_accuracy", "chosen"]
    curves = curves[first + [c for c in curves if c not in first]]
    return curves, pd.DataFrame([{"variant": variant, **run} for run in runs.runs])


def variant_adaptation(
    variant: str, results: Mapping[int, AdaptationResult], targets: Sequence[Mapping]
) -> pd.DataFrame:
    """Per adaptation seed (``results``: seed label -> run under the variant), its adaptation
    claims (:func:`adaptation_summary`): :data:`ADAPTATION_SUMMARY_COLUMNS`."""
    rows = [
        {"variant": variant, "seed": seed, **adaptation_summary(result.table, targets)}
        for seed, result in results.items()
    ]
    return pd.DataFrame(rows, columns=ADAPTATION_SUMMARY_COLUMNS)


def adapt_under_variant(
    split: MnistSplit,
    device_table: pd.DataFrame,
    provenance: pd.DataFrame,
    adaptation: Mapping,
    cell_params: Mapping,
    seed: int,
    update: Mapping,
    warn: Callable[[str], object],
) -> dict[int, AdaptationResult]:
    """The adaptation experiment (config section ``adaptation``) per adaptation seed with its
    dataset1 training under the variant's ``update`` scheme, as rule ``run_adaptation`` runs
    it (:func:`fmes.networks.training.adapt_every_seed`); none, with ``warn`` saying why, when
    the device_params plan does not use its training state."""
    train = plan_states(
        device_table,
        provenance,
        [str(adaptation["train"]["state"])],
        allow_non_ok=adaptation["train"]["allow_non_ok_state"],
        allow_key="adaptation.train.allow_non_ok_state",
    ).iloc[0]
    if not train["use"]:
        warn(f"adaptation skipped: {train['reason']}")
        return {}
    leakage_ohm = leakage_resistance_ohm(
        adaptation["mapping"]["leakage_resistance_ohm"], cell_params
    )
    settings = AdaptationSettings.from_config(adaptation)
    return adapt_every_seed(
        split, device_table, settings, leakage_ohm, seed, adaptation["seeds"], update
    )


#: How a cell's interval and p values were obtained (column ``interval_method``).
BOOTSTRAP_METHOD = "crossed bootstrap (seeds x test images)"
T_METHOD = "Student t over seeds"


def robustness_table(
    values: pd.DataFrame,
    targets: Sequence[Mapping],
    confidence: float = 0.95,
    multiplicity: str = "holm",
    replicates: Mapping[tuple[str, str, str], tuple[float, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """One row per claim, variant and cell state: the value's mean and interval, one-sided
    tests of "holds" and "fails" (:mod:`fmes.claims.statistics`; TOST for ``equal`` claims), their p
    values corrected over all cells (``multiplicity``), the cell's three-way ``cell_verdict``
    (``holds`` only when the corrected test says so, not on the mean alone), and the claim's
    verdict over variants.

    ``values``: :func:`claim_values`. ``replicates``: :func:`network_claim_replicates`; a cell
    found there is judged by the crossed bootstrap over seeds and test images (its interval the
    percentile interval), any other by Student's t over seeds (``interval_method``). A claim
    judged per state (``pick: best``) holds under a variant if it holds in any of its states
    (the correction covers all of them) and fails if it fails in all.
    """
    by_id = {t["id"]: t for t in targets}
    alpha = (1 - confidence) / 2  # one-sided level matching the two-sided interval
    replicates = replicates or {}
    if "state" not in values:
        values = values.assign(state="")
    values = values.assign(state=values["state"].fillna("").astype(str))
    rows = []
    for (target_id, variant, state), frame in values.groupby(
        ["target_id", "variant", "state"], sort=False
    ):
        target = by_id[target_id]
        n = int(frame["value"].notna().sum())
        band = claim_band(
            target["comparison"],
            float(target.get("value", math.nan)),
            float(target.get("tolerance_rel", math.nan)),
        )
        if (variant, target_id, state) in replicates:
            method = BOOTSTRAP_METHOD
            mean, draws = replicates[(variant, target_id, state)]
            test = claim_test(mean, draws, band, alpha)
            low, high = test["ci_low"], test["ci_high"]
        else:
            method = T_METHOD
            mean, low, high = mean_interval(frame["value"], confidence)
            test = claim_test(*t_replicates(frame["value"]), band, alpha)
        status, reasons = Status.OK, []
        if n < 2:
            status, reasons = Status.FLAGGED, [f"{n} seed(s): no interval over seeds"]
        notes = sorted({str(n_) for n_ in frame["note"] if str(n_) and str(n_) != "nan"})
        rows.append(
            {
                "claim": target_id,
                "variant": variant,
                "state": state,
                # what the per-variant value is, where it differs from the paper's quantity
                "quantity": target.get("variant_quantity", target.get("quantity", "")),
                "paper_value": float(target["value"]) if "value" in target else math.nan,
                "comparison": target["comparison"],
                "tolerance_rel": float(target.get("tolerance_rel", math.nan)),
                "n_seeds": n,
                "value_mean": mean,
                "value_ci95_low": low,
                "value_ci95_high": high,
                "interval_method": method,
                "p_holds": test["p_holds"],
                "p_fails": test["p_fails"],
                "note": "; ".join(notes),
                "status": str(status),
                "reason": "; ".join(reasons),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table.assign(verdict=pd.Series(dtype=str), n_variants_holding=pd.Series(dtype=int))
    table["p_holds_adjusted"] = adjust_p(table["p_holds"], multiplicity)
    table["p_fails_adjusted"] = adjust_p(table["p_fails"], multiplicity)
    table["multiplicity"] = multiplicity
    table["cell_verdict"] = [
        verdict(h, f, alpha)
        for h, f in zip(table["p_holds_adjusted"], table["p_fails_adjusted"], strict=True)
    ]
    table["holds"] = table["cell_verdict"] == "holds"
    verdicts, counts = {}, {}
    for claim_id, frame in table.groupby("claim", sort=False):
        per_variant = frame.groupby("variant", sort=False)["cell_verdict"].agg(_variant_verdict)
        holding = per_variant.index[per_variant == "holds"].tolist()
        failing = per_variant.index[per_variant == "fails"].tolist()
        counts[claim_id] = f"{len(holding)}/{len(per_variant)}"
        parts = [f"holds under {len(holding)} of {len(per_variant)} variants"]
        parts[0] += f" ({', '.join(holding)})" if holding else ""
        parts.append(
            f"fails under {len(failing)}" + (f" ({', '.join(failing)})" if failing else "")
        )
        parts.append(f"inconclusive under {len(per_variant) - len(holding) - len(failing)}")
        if (frame["state"] != "").any():
            parts.append("judged per state: " + ", ".join(dict.fromkeys(frame["state"])))
        verdicts[claim_id] = "; ".join(parts)
    table["verdict"] = table["claim"].map(verdicts)
    table["n_variants_holding"] = table["claim"].map(counts)
    return table


def _variant_verdict(cells: pd.Series) -> str:
    """A variant's verdict from its cells (several for a claim judged per state): holds if
    any cell holds, fails if every cell fails, else inconclusive."""
    if (cells == "holds").any():
        return "holds"
    if (cells == "fails").all():
        return "fails"
    return "inconclusive"


def add_robustness_column(
    paper_table: pd.DataFrame,
    robustness: pd.DataFrame | None,
    default_variant: str | None = None,
) -> pd.DataFrame:
    """The paper-vs-reproduced table with ``holds_under_variants`` ("k/n") and
    ``robustness_verdict`` (the claim's verdict of the robustness table: under how many variants
    it holds, fails, is inconclusive) for the claims evaluated per variant, empty for the others
    (all empty without a robustness table).

    With ``default_variant`` (the configured update scheme, ``networks.update``), each claim of
    the robustness table takes its ``status`` from its verdict under that scheme, in the paper
    table's words (:data:`fmes.claims.statistics.PAPER_WORDS`: one verdict source), and its ``note``
    says where the verdict comes from, with the value, interval and corrected p values per
    cell (per state for a claim judged per state): an ``inconclusive`` row carries its reason.
    """
    out = paper_table.copy()
    if robustness is None or robustness.empty:
        out["holds_under_variants"] = ""
        out["robustness_verdict"] = ""
        return out
    per_claim = robustness.drop_duplicates("claim").set_index("claim")
    out["holds_under_variants"] = out["target_id"].map(per_claim["n_variants_holding"]).fillna("")
    # the same verdict text as claims_robustness.csv (one source): holds / fails / inconclusive
    out["robustness_verdict"] = out["target_id"].map(per_claim["verdict"]).fillna("")
    if default_variant is None:
        return out
    cells = robustness[robustness["variant"] == default_variant]
    for claim_id, frame in cells.groupby("claim", sort=False):
        rows = out["target_id"] == claim_id
        if not rows.any():
            continue
        said = "; ".join(_cell_said(row) for row in frame.itertuples(index=False))
        word = PAPER_WORDS[_variant_verdict(frame["cell_verdict"])]
        row = frame.iloc[0]
        note = (
            f"status: verdict under the default update scheme {default_variant} "
            f"(claims_robustness.csv: {int(row['epochs'])} epochs, {int(row['n_seeds'])} seeds, "
            f"{row['interval_method']}, {row['multiplicity']}-corrected over all cells): {said}"
            if "epochs" in frame
            else f"status: verdict under the default update scheme {default_variant}: {said}"
        )
        out.loc[rows, "status"] = word
        old = out.loc[rows, "note"].fillna("").astype(str)
        out.loc[rows, "note"] = np.where(old != "", old + "; " + note, note)
    return out


def _cell_said(row) -> str:
    """'[state S: ]verdict mean [low, high], p_holds_adj, p_fails_adj' of one robustness cell."""
    state = str(getattr(row, "state", "") or "")
    state = "" if state == "nan" else state
    return (
        (f"state {state}: " if state else "")
        + f"{row.cell_verdict}, {row.value_mean:.4g} [{row.value_ci95_low:.4g}, "
        f"{row.value_ci95_high:.4g}], corrected p_holds {row.p_holds_adjusted:.2g}, "
        f"p_fails {row.p_fails_adjusted:.2g}"
    )
