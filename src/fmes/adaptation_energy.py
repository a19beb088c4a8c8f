"""Energy and time of the resistance-mapping adaptation against retraining the same devices.

The paper says the mapping adaptation "avoids the time and energy loss caused by
recalculation" but gives no number. Both routes are costed here with the same per-pulse
figures from the traces (``device_params.csv``, :mod:`fmes.analysis.energy`):

- **Mapping** (:mod:`fmes.adaptation`): per mapped image of class k, every one of the P synapses
  of output row k receives ``pulses_per_image`` identical LTP pulses and every synapse of the
  K - 1 other rows ``other_rows_ltd_pulses`` LTD pulses, each at its pixel's regulating
  resistance. A pulse costs the per-pulse energy of that resistance, interpolated linearly in
  log R_eff = log(R || R_leak) between the fitted states (as the mapping interpolates the
  device parameters; nearest state outside). All rows are pulsed at once, so one image takes
  max(LTP, LTD pulses) pulse periods.
- **Retraining**: the same trained device network is trained on the same mapped dataset2 images
  by gradient descent through its devices (:class:`fmes.networks.DevicePerceptron`, its
  batch size, the configured retraining learning rate), epoch by epoch, its pulses counted
  (:class:`fmes.energy.PulseLog`) at the trained state's per-pulse energy; time = the layer's
  parallel pulse slots x pulse period (every device of the layer pulsed at once per update).

The comparison: the mapping's energy and time against those retraining needs to reach the
mapping's final dataset2 accuracy (if it never does within the epochs run: its total, and the
table says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmes.adaptation import (
    AdaptationResult,
    MappingScheme,
    effective_resistance_ohm,
    pixel_to_effective_resistance_ohm,
)
from fmes.energy import PulseCost, pulse_log_energy
from fmes.traces import parse_resistance

__all__ = ["adaptation_vs_retraining", "compare_routes", "mapping_costs", "retraining_costs"]


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


def mapping_costs(
    X_seq: np.ndarray,
    n_grid: list[int],
    n_classes: int,
    scheme: MappingScheme,
    device_table: pd.DataFrame,
    leakage_resistance_ohm: float,
    pulse_period_s: float,
) -> pd.DataFrame:
    """Cumulative pulses, energy (J) and time (s) of mapping the first n images, per grid n."""
    log_r, e_ltp, e_ltd = _energy_vs_r_eff(device_table, leakage_resistance_ohm)
    if not (np.isfinite(e_ltp).all() and np.isfinite(e_ltd).all()):
        raise ValueError("device_params.csv lacks energy_ltp_J/energy_ltd_J for some state")
    log_pix = np.log(pixel_to_effective_resistance_ohm(X_seq, scheme, leakage_resistance_ohm))
    n_ltp, n_ltd = int(scheme.pulses_per_image), int(scheme.other_rows_ltd_pulses)
    per_image = n_ltp * np.interp(log_pix, log_r, e_ltp).sum(axis=1)
    per_image += (n_classes - 1) * n_ltd * np.interp(log_pix, log_r, e_ltd).sum(axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(per_image)])
    pixels = X_seq.shape[1]
    rows = [
        {
            "route": "mapping",
            "step": int(n),
            "pulses_ltp": int(n) * n_ltp * pixels,
            "pulses_ltd": int(n) * n_ltd * pixels * (n_classes - 1),
            "energy_J": float(cumulative[int(n)]),
            "time_s": int(n) * max(n_ltp, n_ltd) * pulse_period_s,
        }
        for n in n_grid
    ]
    return pd.DataFrame(rows)


def retraining_costs(result: AdaptationResult, epochs: int, cost: PulseCost) -> pd.DataFrame:
    """Retrain ``result.network`` on the mapped images epoch by epoch; cumulative costs and the
    dataset2 test accuracy after each epoch (step 0 = before)."""
    net = result.network
    X_seq, y_seq = result.mapped
    X2t, y2t = result.test_dataset2
    done = net.n_iter_
    rows = [{"route": "retraining", "step": 0, "accuracy_dataset2": net.score(X2t, y2t)}]
    for epoch in range(1, int(epochs) + 1):
        net.partial_fit(X_seq, y_seq)
        rows.append(
            {"route": "retraining", "step": epoch, "accuracy_dataset2": net.score(X2t, y2t)}
        )
    counts = net.pulse_log_.table()
    counts = counts[counts["epoch"] > done].assign(step=lambda c: c["epoch"] - done)
    costed = (
        pulse_log_energy(counts, cost)
        .groupby("step")[["pulses_ltp", "pulses_ltd", "energy_J", "time_parallel_s"]]
        .sum()
    )
    out = pd.DataFrame(rows).set_index("step").join(costed).fillna(0.0)
    out = out.rename(columns={"time_parallel_s": "time_s"})
    for col in ("pulses_ltp", "pulses_ltd", "energy_J", "time_s"):
        out[col] = out[col].cumsum()
    return out.reset_index()


def adaptation_vs_retraining(
    result: AdaptationResult,
    device_table: pd.DataFrame,
    train_state: str,
    scheme: MappingScheme,
    leakage_resistance_ohm: float,
    retrain_epochs: int,
    retrain_learning_rate: float,
) -> pd.DataFrame:
    """Tidy rows (route, step, pulses, energy_J, time_s, accuracy_dataset2) of both routes.

    Mapping steps are the image-count grid (accuracies from ``result.table``), retraining steps
    epochs over the same images. ``result.network`` is retrained in place.
    """
    row = device_table[device_table["resistance_label"].astype(str) == str(train_state)].iloc[0]
    cost = PulseCost.from_row(row)
    table = result.table[result.table["method"] == "device"]
    grid = sorted(int(n) for n in table["n_images"])
    mapping = mapping_costs(
        result.mapped[0],
        grid,
        len(result.network.classes_),
        scheme,
        device_table,
        leakage_resistance_ohm,
        cost.pulse_period_s,
    )
    mapping["accuracy_dataset2"] = mapping["step"].map(
        table.set_index("n_images")["accuracy_dataset2"]
    )
    result.network.set_params(learning_rate=float(retrain_learning_rate))
    retraining = retraining_costs(result, retrain_epochs, cost)
    return pd.concat([mapping, retraining], ignore_index=True)


def compare_routes(routes: pd.DataFrame) -> dict:
    """Mapping (final grid point) against retraining to the same dataset2 accuracy, one seed."""
    mapping = routes[routes["route"] == "mapping"].sort_values("step").iloc[-1]
    retrain = routes[routes["route"] == "retraining"].sort_values("step")
    reached = retrain[
        (retrain["accuracy_dataset2"] >= mapping["accuracy_dataset2"]) & (retrain["step"] > 0)
    ]
    target = reached.iloc[0] if len(reached) else retrain.iloc[-1]
    return {
        "mapping_accuracy_dataset2": float(mapping["accuracy_dataset2"]),
        "mapping_energy_J": float(mapping["energy_J"]),
        "mapping_time_s": float(mapping["time_s"]),
        "retraining_reached": bool(len(reached)),
        "retraining_epochs": int(target["step"]),
        "retraining_accuracy_dataset2": float(target["accuracy_dataset2"]),
        "retraining_final_accuracy_dataset2": float(retrain["accuracy_dataset2"].iloc[-1]),
        "retraining_energy_J": float(target["energy_J"]),
        "retraining_time_s": float(target["time_s"]),
        "energy_ratio": float(mapping["energy_J"] / target["energy_J"])
        if target["energy_J"] > 0
        else np.inf,
        "time_ratio": float(mapping["time_s"] / target["time_s"])
        if target["time_s"] > 0
        else np.inf,
    }


def compare_routes_per_seed(routes: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_routes` for every ``seed`` of a routes table, one row per seed."""
    return pd.DataFrame(
        [compare_routes(group) | {"seed": seed} for seed, group in routes.groupby("seed")]
    )


def route_means(routes: pd.DataFrame) -> pd.DataFrame:
    """Per ``route`` and ``step``: the mean over seeds of ``energy_J`` and
    ``accuracy_dataset2``, of the rows that spent programming energy (``energy_J > 0``: the
    starting point costs nothing, and on a log energy axis it has no place)."""
    spent = routes[routes["energy_J"] > 0]
    return spent.groupby(["route", "step"], sort=True, as_index=False)[
        ["energy_J", "accuracy_dataset2"]
    ].mean()
