"""Energy and time of the resistance-mapping adaptation against retraining the same devices.

The paper says the mapping adaptation "avoids the time and energy loss caused by
recalculation" but gives no number. Both routes adapt the same trained device network to the
same dataset2 training images (the mapping's class-interleaved sequence) and are costed with
the same per-pulse figures from the traces (``device_params.csv``, :mod:`fmes.analysis.energy`)
and the same stated digital costs (config ``adaptation.cost``):

- **Mapping** (:mod:`fmes.networks.adaptation`): per mapped image of class k, every one of the P synapses
  of output row k receives ``pulses_per_image`` identical LTP pulses and every synapse of the
  K - 1 other rows ``other_rows_ltd_pulses`` LTD pulses, each at its pixel's regulating
  resistance. A pulse costs the per-pulse energy of that resistance, interpolated linearly in
  log R_eff = log(R || R_leak) between the fitted states (as the mapping interpolates the
  device parameters; nearest state outside). All rows are pulsed at once, so one image takes
  max(LTP, LTD pulses) pulse periods. With ``passive_dark`` the dark pixels get no pulse (they
  relax through their low resistance) and only the pulses of the others are counted. No
  weight is read and nothing is computed: the pixel sets the resistance.
- **Retraining**: the trained device network is trained on the same images by gradient descent
  through its devices (:class:`fmes.networks.estimators.DevicePerceptron`, its batch size, the configured
  retraining learning rate). The first pass streams the images in the mapping's order, one
  update per mini-batch, cut at every image count of the grid (so after n images both routes
  have seen the same n images); further epochs reshuffle all of them. Costs are taken after
  every update (sub-epoch: the accuracy-vs-cost curve is continuous): the pulses
  (:class:`fmes.device.energy.PulseLog`) at the trained state's per-pulse energy, the digital
  arithmetic (forward pass and weight gradient: 2 P K multiply-accumulates per image) at
  ``mac_energy_J``, and one read (an ADC conversion of the PSV) per weight per update at
  ``read_energy_J``; time = the layer's parallel pulse slots x pulse period.

Energy scope (:data:`ENERGY_SCOPE`): source energy of the programming pulses, digital MACs and
weight reads. Not counted: the pulse drivers' and the regulating resistors' control overhead,
memory traffic of the digital gradient, the test-set evaluations (both routes alike), and
holding energy (the protocol is current driven: between pulses no source drives the cell, so
what the regulating resistor dissipates then comes from the stored charge the counted pulses
delivered or the trained weights held).

The verdict (:func:`ratio_summary`): per seed, the first point at which each route reaches a
common dataset2 accuracy (the paper's 0.73 by default, and the mapping's own best), the ratio
mapping / retraining of energy and time there; their geometric mean over seeds with a
Student-t interval on the log ratios. ``holds`` if the interval lies below 1, ``fails`` if
above 1 or if the mapping never reaches the target, else ``inconclusive`` (also when
retraining never reaches it within its epochs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fmes.core.intervals import t_interval
from fmes.core.rng import child_rng
from fmes.data.traces import parse_resistance
from fmes.device.energy import PulseCost, holding_energy_J
from fmes.networks.adaptation import (
    AdaptationResult,
    AdaptationSettings,
    MappingScheme,
    effective_resistance_ohm,
    pixel_to_effective_resistance_ohm,
    regulating_resistance_ohm,
)

__all__ = [
    "ENERGY_SCOPE",
    "CostSettings",
    "adaptation_vs_retraining",
    "first_reaching",
    "mapping_costs",
    "matched_cost_lines",
    "matched_costs",
    "ratio_summary",
    "retraining_costs",
    "route_summary",
    "seed_routes",
    "sensitivity_schemes",
]

#: What the energies of the adaptation tables count, and what they leave out.
ENERGY_SCOPE = (
    "counted: source energy of the programming pulses (per state, from the traces), digital "
    "MACs (retraining: forward + weight gradient) and weight reads (one ADC conversion per "
    "weight per update); not counted: driver and resistor-control overhead, memory traffic, "
    "test-set evaluation, holding (current-driven pulses: no source between pulses; the heat "
    "in R while states are held is bounded in holding_bound_J)"
)

#: Verdict words of a ratio against 1 (the claim: mapping / retraining < 1).
HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"

#: Cost columns of a route row, cumulative from the trained network.
COST_COLUMNS = (
    "pulses_ltp",
    "pulses_ltd",
    "programming_energy_J",
    "compute_energy_J",
    "read_energy_J",
    "energy_J",
    "time_s",
    "holding_bound_J",
)


@dataclass(frozen=True)
class CostSettings:
    """Stated costs and the comparison's target (config ``adaptation.cost``).

    ``mac_energy_J``: one digital multiply-accumulate; ``read_energy_J``: one weight read;
    ``pulse_period_s``: None = the protocol's period from ``device_params.csv``;
    ``target_accuracy``: the common dataset2 accuracy both routes are compared at;
    ``confidence``: of the intervals over seeds.
    """

    mac_energy_J: float
    read_energy_J: float
    target_accuracy: float
    pulse_period_s: float | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        key = "adaptation.cost"
        for name in ("mac_energy_J", "read_energy_J"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{key}.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.target_accuracy <= 1:
            raise ValueError(f"{key}.target_accuracy must be in (0, 1], got {self.target_accuracy}")
        if self.pulse_period_s is not None and not self.pulse_period_s > 0:
            raise ValueError(f"{key}.pulse_period_s must be > 0 or null, got {self.pulse_period_s}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"{key}.confidence must be in (0, 1), got {self.confidence}")

    @classmethod
    def from_config(cls, section: Mapping) -> CostSettings:
        """From the validated ``adaptation.cost`` section."""
        period = section["pulse_period_s"]
        return cls(
            mac_energy_J=float(section["mac_energy_J"]),
            read_energy_J=float(section["read_energy_J"]),
            target_accuracy=float(section["target_accuracy"]),
            pulse_period_s=None if period is None else float(period),
            confidence=float(section["confidence"]),
        )

    def pulse_cost(self, cost: PulseCost) -> PulseCost:
        """``cost`` at the configured pulse period (unchanged when it is null)."""
        if self.pulse_period_s is None:
            return cost
        return replace(cost, pulse_period_s=self.pulse_period_s)


def sensitivity_schemes(base: MappingScheme, section: Mapping) -> dict[str, MappingScheme]:
    """The mapping variants of config ``adaptation.sensitivity``, one knob at a time away from
    ``base``: ``default`` plus ``<knob>=<value>`` for every listed value that differs."""
    schemes = {"default": base}
    for knob in ("pulses_per_image", "other_rows_ltd_pulses", "passive_dark"):
        for value in section.get(knob, []):
            if value != getattr(base, knob):
                name = f"{knob}={str(value).lower()}"
                schemes[name] = replace(base, **{knob: value})
    return schemes


# --- the two routes --------------------------------------------------------------------------
def _energy_vs_r_eff(
    device_table: pd.DataFrame, leakage_resistance_ohm: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ohm = device_table["resistance_label"].map(parse_resistance)
    log_r = np.log(effective_resistance_ohm(ohm.to_numpy(float), leakage_resistance_ohm))
    order = np.argsort(log_r)
    return (
        log_r[order],
        device_table["energy_ltp_J"].to_numpy(float)[order],
        device_table["energy_ltd_J"].to_numpy(float)[order],
    )


def _largest_voltage_V(device_table: pd.DataFrame) -> float:
    """The largest |PSV| of any fitted window (NaN when the table has no window columns)."""
    if not {"g_min_V", "g_max_V"} <= set(device_table.columns):
        return math.nan
    return float(device_table[["g_min_V", "g_max_V"]].abs().to_numpy(float).max())


def mapping_costs(
    X_seq: np.ndarray,
    n_grid: Sequence[int],
    n_classes: int,
    scheme: MappingScheme,
    device_table: pd.DataFrame,
    leakage_resistance_ohm: float,
    pulse_period_s: float,
) -> pd.DataFrame:
    """Cumulative pulses, energy (J) and time (s) of mapping the first n images, per grid n.

    Only pixels that receive pulses are charged (all of them unless ``scheme.passive_dark``).
    """
    log_r, e_ltp, e_ltd = _energy_vs_r_eff(device_table, leakage_resistance_ohm)
    if not (np.isfinite(e_ltp).all() and np.isfinite(e_ltd).all()):
        raise ValueError("device_params.csv lacks energy_ltp_J/energy_ltd_J for some state")
    X_seq = np.asarray(X_seq, dtype=np.float64)
    log_pix = np.log(pixel_to_effective_resistance_ohm(X_seq, scheme, leakage_resistance_ohm))
    pulsed = scheme.pulsed(X_seq)
    n_ltp, n_ltd = int(scheme.pulses_per_image), int(scheme.other_rows_ltd_pulses)
    per_image = n_ltp * np.where(pulsed, np.interp(log_pix, log_r, e_ltp), 0.0).sum(axis=1)
    per_image += (
        (n_classes - 1)
        * n_ltd
        * np.where(pulsed, np.interp(log_pix, log_r, e_ltd), 0.0).sum(axis=1)
    )
    energy = np.concatenate([[0.0], np.cumsum(per_image)])
    pixels = np.concatenate([[0], np.cumsum(pulsed.sum(axis=1))])
    n = np.asarray([int(k) for k in n_grid])
    out = pd.DataFrame(
        {
            "route": "mapping",
            "n_images": n,
            "images_seen": n,
            "pulses_ltp": n_ltp * pixels[n],
            "pulses_ltd": n_ltd * (n_classes - 1) * pixels[n],
            "programming_energy_J": energy[n],
            "compute_energy_J": 0.0,  # the pixel sets the resistance: no arithmetic
            "read_energy_J": 0.0,  # and no weight is read
            "time_s": n * scheme.pulse_slots * pulse_period_s,
        }
    )
    out["energy_J"] = out["programming_energy_J"]
    # bound of the heat in the regulating resistors while each image is held (every synapse
    # of the K rows at the largest window voltage for the image's slots); not in energy_J:
    # between current pulses no source drives the cell, the heat comes from stored charge
    r_ohm = regulating_resistance_ohm(np.exp(log_pix), leakage_resistance_ohm)
    per_image_hold = n_classes * holding_energy_J(
        _largest_voltage_V(device_table), r_ohm, scheme.pulse_slots * pulse_period_s
    ).sum(axis=1)
    out["holding_bound_J"] = np.concatenate([[0.0], np.cumsum(per_image_hold)])[n]
    return out


def _retraining_chunks(
    n_seq: int, batch_size: int, n_grid: Sequence[int], epochs: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Index chunks of the retraining updates: the first pass in sequence order, cut at every
    batch boundary and every grid count; then ``epochs - 1`` reshuffled passes in batches."""
    cuts = sorted({*range(0, n_seq + 1, batch_size), n_seq, *(n for n in n_grid if n <= n_seq)})
    chunks = [np.arange(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    for _ in range(int(epochs) - 1):
        order = rng.permutation(n_seq)
        chunks += [order[a : a + batch_size] for a in range(0, n_seq, batch_size)]
    return chunks


def retraining_costs(
    result: AdaptationResult,
    epochs: int,
    cost: PulseCost,
    costs: CostSettings,
    n_grid: Sequence[int],
    seed: int,
    train_state: str = "open",
    holding_voltage_V: float = math.nan,
) -> pd.DataFrame:
    """Retrain ``result.network`` (in place) on the mapped images, one mini-batch at a time;
    after every update the cumulative costs and both test accuracies (first row: before).

    ``images_seen`` counts image presentations, ``n_images`` the distinct images used so far,
    ``epochs`` = images_seen / number of mapped images.
    """
    net = result.network
    X_seq, y_seq = result.mapped
    X2t, y2t = result.test_dataset2
    X1t, y1t = result.test_dataset1
    n_seq = len(y_seq)
    n_weights = int(net.coefs_[0].size)
    done = len(net.pulse_log_.table())
    chunks = _retraining_chunks(
        n_seq, int(net.batch_size), n_grid, epochs, child_rng(seed, "retrain-order")
    )
    rows = [
        {
            "images_seen": 0,
            "n_images": 0,
            "accuracy_dataset2": net.score(X2t, y2t),
            "accuracy_dataset1": net.score(X1t, y1t),
        }
    ]
    seen = 0
    for chunk in chunks:
        # one partial_fit per chunk = one update (a chunk never exceeds the batch size)
        net.partial_fit(X_seq[chunk], y_seq[chunk])
        seen += len(chunk)
        rows.append(
            {
                "images_seen": seen,
                "n_images": min(seen, n_seq),
                "accuracy_dataset2": net.score(X2t, y2t),
                "accuracy_dataset1": net.score(X1t, y1t),
            }
        )
    counts = net.pulse_log_.table().iloc[done:]
    counts = counts.groupby("epoch", sort=True)[
        ["pulses_ltp", "pulses_ltd", "parallel_steps"]
    ].sum()
    out = pd.DataFrame(rows)
    zero = pd.DataFrame({"pulses_ltp": [0], "pulses_ltd": [0], "parallel_steps": [0]})
    per_update = pd.concat([zero, counts.reset_index(drop=True)], ignore_index=True)
    cumulative = per_update.cumsum()
    updates = np.arange(len(out))
    out.insert(0, "route", "retraining")
    out["epochs"] = out["images_seen"] / n_seq
    out["pulses_ltp"] = cumulative["pulses_ltp"].to_numpy()
    out["pulses_ltd"] = cumulative["pulses_ltd"].to_numpy()
    out["programming_energy_J"] = (
        out["pulses_ltp"] * cost.energy_ltp_J + out["pulses_ltd"] * cost.energy_ltd_J
    )
    # forward pass and weight gradient: one MAC per weight and image each
    out["compute_energy_J"] = 2.0 * n_weights * out["images_seen"] * costs.mac_energy_J
    out["read_energy_J"] = updates * n_weights * costs.read_energy_J  # each weight, per update
    out["energy_J"] = out["programming_energy_J"] + out["compute_energy_J"] + out["read_energy_J"]
    out["time_s"] = cumulative["parallel_steps"].to_numpy() * cost.pulse_period_s
    # the same bound for the trained state held during retraining (0 J in the open state)
    out["holding_bound_J"] = n_weights * holding_energy_J(
        holding_voltage_V, parse_resistance(train_state), out["time_s"].to_numpy()
    )
    return out


def adaptation_vs_retraining(
    result: AdaptationResult,
    device_table: pd.DataFrame,
    train_state: str,
    schemes: Mapping[str, MappingScheme],
    leakage_resistance_ohm: float,
    retrain_epochs: int,
    retrain_learning_rate: float,
    costs: CostSettings,
    seed: int,
    sensitivity_grid: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Tidy route rows of one seed: the mapping under every scheme of ``schemes`` (``default``
    on the run's grid with its accuracies from ``result.table``, the others re-simulated on
    ``sensitivity_grid``) and the retraining (variant ``default``). ``result.network`` is
    retrained in place."""
    row = device_table[device_table["resistance_label"].astype(str) == str(train_state)].iloc[0]
    cost = costs.pulse_cost(PulseCost.from_row(row))
    table = result.table[result.table["method"] == "device"]
    grid = sorted(int(n) for n in table["n_images"])
    n_classes = len(result.network.classes_)
    frames = []
    for name, scheme in schemes.items():
        if name == "default":
            acc = table[["n_images", "accuracy_dataset2", "accuracy_dataset1"]]
            n_grid = grid
        else:
            n_grid = sorted(int(n) for n in (sensitivity_grid or grid) if n <= grid[-1])
            acc = result.context.device_accuracies(scheme, n_grid)
        mapping = mapping_costs(
            result.mapped[0],
            n_grid,
            n_classes,
            scheme,
            device_table,
            leakage_resistance_ohm,
            cost.pulse_period_s,
        )
        mapping = mapping.merge(acc, on="n_images", how="left").assign(variant=name)
        frames.append(mapping.assign(epochs=mapping["images_seen"] / len(result.mapped[1])))
    result.network.set_params(learning_rate=float(retrain_learning_rate))
    retraining = retraining_costs(
        result,
        retrain_epochs,
        cost,
        costs,
        grid,
        seed,
        train_state=str(train_state),
        holding_voltage_V=_largest_voltage_V(device_table),
    )
    frames.append(retraining.assign(variant="default"))
    columns = [
        "variant",
        "route",
        "n_images",
        "images_seen",
        "epochs",
        "accuracy_dataset2",
        "accuracy_dataset1",
        *COST_COLUMNS,
    ]
    return pd.concat(frames, ignore_index=True)[columns]


# --- comparison at matched accuracy ----------------------------------------------------------
def seed_routes(
    result: AdaptationResult,
    device_table: pd.DataFrame,
    settings: AdaptationSettings,
    leakage_resistance_ohm: float,
    retrain: Mapping,
    costs: CostSettings,
    sensitivity: Mapping,
    seed: int,
    seed_label: int,
) -> pd.DataFrame:
    """One adaptation seed's routes (:func:`adaptation_vs_retraining`, column ``seed`` =
    ``seed_label``): the mapping under the configured scheme, and under its sensitivity
    variants (:func:`sensitivity_schemes`) on the seeds config ``adaptation.sensitivity.seeds``
    lists, against retraining (config ``adaptation.retrain``) the same devices on the same
    images. ``seed``: the run's seed (the same noise draws for every scheme)."""
    schemes = sensitivity_schemes(settings.scheme, sensitivity)
    if seed_label not in sensitivity["seeds"]:
        schemes = {"default": settings.scheme}
    return adaptation_vs_retraining(
        result,
        device_table,
        settings.train_state,
        schemes,
        leakage_resistance_ohm,
        int(retrain["epochs"]),
        float(retrain["learning_rate"]),
        costs,
        seed=seed,
        sensitivity_grid=sensitivity["n_images"],
    ).assign(seed=seed_label)


def matched_cost_lines(routes: pd.DataFrame, target_accuracy: float) -> list[str]:
    """One line per row of :func:`matched_costs`: whether and when each route reaches the
    target, and the energy and time ratios."""

    def reached(hit: bool) -> str:
        return "reaches it" if hit else "never reaches it"

    return [
        f"{row.variant}, target {row.target} ({row.target_accuracy:.3f}): mapping "
        f"{reached(row.mapping_reached)} after {row.mapping_n_images} images, retraining "
        f"{reached(row.retraining_reached)} after {row.retraining_images_seen} presentations; "
        f"energy ratio {row.energy_ratio:.3g}, time ratio {row.time_ratio:.3g}"
        for row in matched_costs(routes, target_accuracy).itertuples(index=False)
    ]


def first_reaching(rows: pd.DataFrame, target: float) -> pd.Series | None:
    """The first row (in ``images_seen`` order, after at least one image) whose dataset2
    accuracy reaches ``target``; None if none does."""
    rows = rows[rows["images_seen"] > 0].sort_values("images_seen", kind="stable")
    hit = rows[rows["accuracy_dataset2"] >= target - 1e-12]
    return None if hit.empty else hit.iloc[0]


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else (math.inf if a > 0 else math.nan)


def matched_costs(routes: pd.DataFrame, target_accuracy: float) -> pd.DataFrame:
    """Per variant, target and seed: what each route spends to first reach the target.

    Targets: ``paper`` (``target_accuracy``) and ``mapping_best`` (the mapping's highest
    dataset2 accuracy of that seed and variant). ``routes``: rows of
    :func:`adaptation_vs_retraining` with a ``seed`` column. Ratios are mapping / retraining
    (NaN where a route never reaches the target).
    """
    rows = []
    for (variant, seed), mapping in routes[routes["route"] == "mapping"].groupby(
        ["variant", "seed"], sort=True
    ):
        retrain = routes[(routes["route"] == "retraining") & (routes["seed"] == seed)]
        best = float(mapping.loc[mapping["images_seen"] > 0, "accuracy_dataset2"].max())
        for target, value in (("paper", float(target_accuracy)), ("mapping_best", best)):
            m, r = first_reaching(mapping, value), first_reaching(retrain, value)
            row = {
                "variant": variant,
                "target": target,
                "seed": int(seed),
                "target_accuracy": value,
                "mapping_reached": m is not None,
                "retraining_reached": r is not None,
                "retraining_final_accuracy_dataset2": float(
                    retrain.sort_values("images_seen")["accuracy_dataset2"].iloc[-1]
                ),
            }
            for name, hit in (("mapping", m), ("retraining", r)):
                for col in ("n_images", "images_seen", "accuracy_dataset2", "accuracy_dataset1"):
                    row[f"{name}_{col}"] = math.nan if hit is None else float(hit[col])
                for col in COST_COLUMNS:
                    row[f"{name}_{col}"] = math.nan if hit is None else float(hit[col])
            for col, key in (
                ("energy_J", "energy_ratio"),
                ("programming_energy_J", "programming_energy_ratio"),
                ("time_s", "time_ratio"),
            ):
                row[key] = (
                    _ratio(row[f"mapping_{col}"], row[f"retraining_{col}"])
                    if m is not None and r is not None
                    else math.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)


def _log_interval(ratios: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Geometric mean and Student-t interval (on the logs) of positive ratios."""
    return tuple(math.exp(x) for x in t_interval(np.log(ratios), confidence))


def _verdict(
    low: float, high: float, group: pd.DataFrame, quantity: str, confidence: float
) -> tuple[str, str]:
    never_map = group.loc[~group["mapping_reached"], "seed"].tolist()
    never_re = group.loc[~group["retraining_reached"], "seed"].tolist()
    target = float(group["target_accuracy"].mean())
    if never_map:
        return FAILS, (
            f"the mapping never reaches dataset2 accuracy {target:.2f} (seeds {never_map}); "
            "there is no matched point to compare"
        )
    if never_re:
        final = group["retraining_final_accuracy_dataset2"].max()
        return INCONCLUSIVE, (
            f"retraining does not reach {target:.2f} within its epochs (seeds {never_re}; "
            f"best final {final:.2f}): no matched ratio"
        )
    if not np.isfinite([low, high]).all():
        return INCONCLUSIVE, f"{len(group)} seed(s): no interval over seeds"
    pct = f"{100 * confidence:.0f}%"
    if high < 1:
        return HOLDS, ""
    if low > 1:
        return FAILS, f"mapping / retraining {quantity} > 1 ({pct} interval {low:.3g}-{high:.3g})"
    return INCONCLUSIVE, f"{pct} interval of the {quantity} ratio {low:.3g}-{high:.3g} spans 1"


def ratio_summary(per_seed: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Per variant and target: the seeds' ratios, their geometric mean with its interval, and
    the verdict on "mapping / retraining < 1" for energy and for time (see module docstring)."""
    rows = []
    for (variant, target), group in per_seed.groupby(["variant", "target"], sort=False):
        both = group[group["mapping_reached"] & group["retraining_reached"]]
        row = {
            "variant": variant,
            "target": target,
            "target_accuracy": float(group["target_accuracy"].mean()),
            "n_seeds": int(group["seed"].nunique()),
            "n_matched": len(both),
            "mapping_images_mean": float(both["mapping_n_images"].mean()),
            "retraining_images_seen_mean": float(both["retraining_images_seen"].mean()),
            "mapping_energy_J_mean": float(both["mapping_energy_J"].mean()),
            "retraining_energy_J_mean": float(both["retraining_energy_J"].mean()),
            "mapping_time_s_mean": float(both["mapping_time_s"].mean()),
            "retraining_time_s_mean": float(both["retraining_time_s"].mean()),
        }
        for quantity in ("energy", "programming_energy", "time"):
            ratios = both[f"{quantity}_ratio"].to_numpy(float)
            ok = np.isfinite(ratios) & (ratios > 0)
            mean, low, high = _log_interval(ratios[ok], confidence) if ok.any() else (math.nan,) * 3
            row[f"{quantity}_ratio_seeds"] = "; ".join(
                f"{s}: {v:.3g}" for s, v in zip(both["seed"], ratios, strict=True)
            )
            row[f"{quantity}_ratio_gmean"] = mean
            row[f"{quantity}_ratio_ci_low"] = low
            row[f"{quantity}_ratio_ci_high"] = high
            if quantity != "programming_energy":
                row[f"{quantity}_verdict"], row[f"{quantity}_reason"] = _verdict(
                    low, high, group, quantity, confidence
                )
        row["energy_scope"] = ENERGY_SCOPE
        rows.append(row)
    return pd.DataFrame(rows)


def route_summary(routes: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Per variant, route and image count: mean over seeds and Student-t interval of both
    accuracies, pulses, energies and time. Retraining rows: its first pass at the grid's image
    counts and the end of every later epoch (the in-between updates stay in the routes table)."""
    grid = set(routes.loc[routes["route"] == "mapping", "n_images"].astype(int))
    retrain = routes["route"] == "retraining"
    n_seq = routes.loc[retrain, "n_images"].max() if retrain.any() else 0
    seen = routes["images_seen"].astype(int)
    keep = ~retrain | seen.isin(grid) | ((seen % max(int(n_seq), 1)) == 0)
    quantities = ["accuracy_dataset2", "accuracy_dataset1", *COST_COLUMNS]
    rows = []
    keys = ["variant", "route", "images_seen"]
    for (variant, route, images_seen), group in routes[keep].groupby(keys, sort=True):
        row = {
            "variant": variant,
            "route": route,
            "n_images": int(group["n_images"].iloc[0]),
            "images_seen": int(images_seen),
            "epochs": float(group["epochs"].iloc[0]),
            "n_seeds": int(group["seed"].nunique()),
        }
        for q in quantities:
            row[f"{q}_mean"], row[f"{q}_ci_low"], row[f"{q}_ci_high"] = t_interval(
                group[q], confidence
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["energy_scope"] = ENERGY_SCOPE
    return out
