"""Energy/time of the mapping adaptation against retraining: the accounting and the comparison
at matched accuracy (constructed route tables, no simulation)."""

import math

import numpy as np
import pandas as pd
import pytest

from fmes.networks.adaptation import MappingScheme
from fmes.networks.adaptation_energy import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    CostSettings,
    _retraining_chunks,
    first_reaching,
    mapping_costs,
    matched_cost_lines,
    matched_costs,
    ratio_summary,
    route_summary,
    sensitivity_schemes,
)

DEVICES = pd.DataFrame(
    {
        "resistance_label": ["500", "open"],
        "energy_ltp_J": [1e-8, 3e-8],
        "energy_ltd_J": [2e-8, 4e-8],
    }
)
LEAK = 1e6
SCHEME = MappingScheme(
    r_dark_ohm=500, r_bright_ohm=np.inf, pulses_per_image=2, other_rows_ltd_pulses=1
)


def test_mapping_costs_count_every_synapse_and_price_pixels_by_resistance():
    X_seq = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])  # dark pixel -> 500 ohm, bright -> open
    out = mapping_costs(X_seq, [0, 1, 2], 4, SCHEME, DEVICES, LEAK, 0.5).set_index("n_images")
    first = 2 * (1e-8 + 3e-8 + 3e-8) + 3 * 1 * (2e-8 + 4e-8 + 4e-8)
    assert out.loc[1, "energy_J"] == pytest.approx(first)
    assert out.loc[2, "energy_J"] == pytest.approx(first + 2 * 3e-8 + 3 * 3 * 2e-8)
    assert out.loc[2, "pulses_ltp"] == 2 * 2 * 3 and out.loc[2, "pulses_ltd"] == 2 * 1 * 3 * 3
    assert out.loc[2, "time_s"] == pytest.approx(2 * 2 * 0.5)
    assert out.loc[0, "energy_J"] == 0.0
    assert (out["compute_energy_J"] == 0).all() and (out["read_energy_J"] == 0).all()
    # holding bound: the dark pixel (500 ohm) held at the largest window voltage, K rows, 1 s
    held = mapping_costs(
        X_seq, [1], 4, SCHEME, DEVICES.assign(g_min_V=-0.01, g_max_V=0.02), LEAK, 0.5
    ).iloc[0]
    assert held["holding_bound_J"] == pytest.approx(4 * 0.02**2 / 500 * 1.0)
    assert held["energy_J"] == out.loc[1, "energy_J"]  # a bound beside, not in, the energy
    with pytest.raises(ValueError, match="energy_ltp_J"):
        mapping_costs(X_seq, [1], 4, SCHEME, DEVICES.assign(energy_ltp_J=np.nan), LEAK, 0.5)


def test_passive_discharge_charges_only_the_bright_pixels_in_the_same_time():
    X_seq = np.array([[0.0, 1.0, 0.5], [0.0, 0.0, 0.0], [0.2, 0.0, 1.0]])
    passive = MappingScheme(**{**SCHEME.__dict__, "passive_dark": True})
    full = mapping_costs(X_seq, [3], 4, SCHEME, DEVICES, LEAK, 0.5).iloc[0]
    dark_off = mapping_costs(X_seq, [3], 4, passive, DEVICES, LEAK, 0.5).iloc[0]
    bright = 4  # of 9 pixels
    assert dark_off["pulses_ltp"] == 2 * bright < full["pulses_ltp"] == 2 * 9
    assert dark_off["pulses_ltd"] == 3 * bright
    assert dark_off["energy_J"] < full["energy_J"]
    assert dark_off["time_s"] == full["time_s"]  # the bright pixels still take their slots


def test_sensitivity_schemes_vary_one_knob_at_a_time():
    got = sensitivity_schemes(
        SCHEME,
        {"pulses_per_image": [1, 2, 4], "other_rows_ltd_pulses": [0, 1], "passive_dark": [True]},
    )
    assert list(got) == [
        "default",
        "pulses_per_image=1",
        "pulses_per_image=4",
        "other_rows_ltd_pulses=0",
        "passive_dark=true",
    ]
    assert got["pulses_per_image=4"].other_rows_ltd_pulses == 1
    assert got["passive_dark=true"].passive_dark and got["passive_dark=true"].pulses_per_image == 2


def test_retraining_chunks_stream_the_sequence_then_whole_epochs_in_batches():
    chunks = _retraining_chunks(10, 4, [0, 2, 5, 10], 2, np.random.default_rng(0))
    first = [c.tolist() for c in chunks[:5]]
    assert first == [[0, 1], [2, 3], [4], [5, 6, 7], [8, 9]]  # cut at batches and grid counts
    later = chunks[5:]
    assert [len(c) for c in later] == [4, 4, 2]
    assert sorted(np.concatenate(later).tolist()) == list(range(10))


def _routes(mapping_acc, retrain_acc, seed=0, variant="default"):
    """Mapping at 4/8/16 images (1 mJ, 1 s per image); retraining every 2 images (0.5 mJ,
    0.2 s per image presented)."""
    m_n = np.array([0, 4, 8, 16])
    r_n = np.arange(0, 2 * len(retrain_acc), 2)
    rows = [
        pd.DataFrame(
            {
                "route": "mapping",
                "variant": variant,
                "n_images": m_n,
                "images_seen": m_n,
                "epochs": m_n / 16,
                "accuracy_dataset2": mapping_acc,
                "accuracy_dataset1": 0.5,
                "energy_J": m_n * 1e-3,
                "programming_energy_J": m_n * 1e-3,
                "time_s": m_n * 1.0,
            }
        ),
        pd.DataFrame(
            {
                "route": "retraining",
                "variant": "default",
                "n_images": np.minimum(r_n, 16),
                "images_seen": r_n,
                "epochs": r_n / 16,
                "accuracy_dataset2": retrain_acc,
                "accuracy_dataset1": 0.4,
                "energy_J": r_n * 0.5e-3,
                "programming_energy_J": r_n * 0.5e-3,
                "time_s": r_n * 0.2,
            }
        ),
    ]
    out = pd.concat(rows, ignore_index=True).assign(seed=seed)
    for col in ("pulses_ltp", "pulses_ltd", "compute_energy_J", "read_energy_J", "holding_bound_J"):
        out[col] = 0.0
    return out


def test_matched_costs_compare_where_each_route_first_reaches_the_target():
    # the mapping reaches 0.73 at 8 images and then falls: compared there, not at 16
    routes = _routes([0.1, 0.6, 0.75, 0.65], [0.1, 0.3, 0.5, 0.74, 0.8])
    got = matched_costs(routes, 0.73).set_index("target")
    paper = got.loc["paper"]
    assert paper["mapping_n_images"] == 8 and paper["retraining_images_seen"] == 6
    assert paper["energy_ratio"] == pytest.approx(8e-3 / 3e-3)
    assert paper["time_ratio"] == pytest.approx(8 / 1.2)
    best = got.loc["mapping_best"]  # the mapping's best, 0.75: retraining at 8 images
    assert best["target_accuracy"] == 0.75 and best["retraining_images_seen"] == 8
    assert first_reaching(routes[routes["route"] == "mapping"], 0.9) is None


def test_ratio_summary_interval_and_verdicts_over_seeds():
    # the mapping reaches 0.73 at 4 images (4 mJ), retraining at 8/10/16 (4/5/8 mJ)
    seeds = [
        _routes([0.1, 0.8, 0.8, 0.8], np.where(np.arange(0, 18, 2) < stop, 0.5, 0.8), seed=s)
        for s, stop in enumerate((8, 10, 16))
    ]
    per_seed = matched_costs(pd.concat(seeds), 0.73)
    summary = ratio_summary(per_seed, 0.95).set_index("target").loc["paper"]
    ratios = np.array([4e-3 / 4e-3, 4e-3 / 5e-3, 4e-3 / 8e-3])
    assert summary["energy_ratio_gmean"] == pytest.approx(math.exp(np.log(ratios).mean()))
    low, high = summary["energy_ratio_ci_low"], summary["energy_ratio_ci_high"]
    assert low < summary["energy_ratio_gmean"] < high
    assert summary["energy_verdict"] == (HOLDS if high < 1 else INCONCLUSIVE)
    assert summary["energy_verdict"] == INCONCLUSIVE  # 1.0 is one of the ratios: spans 1
    assert "0: 1" in summary["energy_ratio_seeds"]
    # every seed clearly cheaper -> holds; clearly dearer -> fails
    cheap = per_seed.assign(energy_ratio=per_seed["seed"].map({0: 0.3, 1: 0.31, 2: 0.32}))
    assert ratio_summary(cheap, 0.95).set_index("target").loc["paper", "energy_verdict"] == HOLDS
    dear = per_seed.assign(energy_ratio=per_seed["seed"].map({0: 3.0, 1: 3.1, 2: 3.2}))
    row = ratio_summary(dear, 0.95).set_index("target").loc["paper"]
    assert row["energy_verdict"] == FAILS and "> 1" in row["energy_reason"]


def test_ratio_summary_says_when_a_route_never_reaches_the_target():
    never_retrain = _routes([0.1, 0.8, 0.8, 0.8], [0.1, 0.3, 0.5, 0.6])
    row = ratio_summary(matched_costs(never_retrain, 0.73), 0.95).set_index("target").loc["paper"]
    assert row["n_matched"] == 0 and math.isnan(row["energy_ratio_gmean"])
    assert (
        row["energy_verdict"] == INCONCLUSIVE
        and "retraining does not reach" in row["energy_reason"]
    )
    never_map = _routes([0.1, 0.6, 0.7, 0.65], [0.1, 0.3, 0.5, 0.74, 0.8])
    row = ratio_summary(matched_costs(never_map, 0.73), 0.95).set_index("target").loc["paper"]
    assert row["time_verdict"] == FAILS and "mapping never reaches" in row["time_reason"]


def test_route_summary_keeps_grid_counts_and_epoch_ends():
    routes = pd.concat(
        [_routes([0.1, 0.6, 0.75, 0.65], np.linspace(0.1, 0.9, 17), seed=s) for s in (0, 1)]
    )
    routes.loc[routes["seed"] == 1, "accuracy_dataset2"] += 0.02
    out = route_summary(routes, 0.95)
    retrain = out[out["route"] == "retraining"]
    assert retrain["images_seen"].tolist() == [0, 4, 8, 16, 32]  # grid and epoch ends
    row = out[(out["route"] == "mapping") & (out["n_images"] == 8)].iloc[0]
    assert row["accuracy_dataset2_mean"] == pytest.approx(0.76)
    assert row["accuracy_dataset2_ci_low"] < 0.75 and row["accuracy_dataset2_ci_high"] > 0.77
    assert row["n_seeds"] == 2 and "not counted" in row["energy_scope"]


def test_cost_settings_refuse_bad_values_naming_the_key():
    with pytest.raises(ValueError, match="adaptation.cost.target_accuracy"):
        CostSettings(mac_energy_J=1e-12, read_energy_J=1e-12, target_accuracy=1.5)
    with pytest.raises(ValueError, match="adaptation.cost.mac_energy_J"):
        CostSettings(mac_energy_J=-1.0, read_energy_J=1e-12, target_accuracy=0.7)


def test_paper_table_takes_the_verdict_from_the_interval_not_the_mean():
    from fmes.claims.comparison import claims_from_adaptation_energy, compare

    targets = [
        {
            "id": f"adaptation_{q}_vs_retraining",
            "quantity": q,
            "value": 1.0,
            "comparison": "less",
            "stage": "adaptation",
            "source": "text",
        }
        for q in ("energy", "time")
    ]
    # mean ratio below 1 but the interval spans 1: inconclusive, not pass
    seeds = [
        _routes([0.1, 0.8, 0.8, 0.8], np.where(np.arange(0, 18, 2) < stop, 0.5, 0.8), seed=s)
        for s, stop in enumerate((8, 10, 16))
    ]
    summary = ratio_summary(matched_costs(pd.concat(seeds), 0.73), 0.95)
    claims = claims_from_adaptation_energy(summary)
    table = compare(targets, claims).set_index("target_id")
    energy = table.loc["adaptation_energy_vs_retraining"]
    assert energy["reproduced_value"] < 1 and energy["status"] == "inconclusive"
    assert "0.73" in energy["note"] and "mapping_best" in energy["note"]
    # retraining never reaching the target: inconclusive with the reason, no value
    never = ratio_summary(matched_costs(_routes([0.1, 0.8, 0.8, 0.8], [0.1, 0.3]), 0.73), 0.95)
    row = compare(targets, claims_from_adaptation_energy(never)).set_index("target_id")
    assert row.loc["adaptation_time_vs_retraining", "status"] == "inconclusive"
    assert "retraining does not reach" in row.loc["adaptation_time_vs_retraining", "note"]


def test_matched_cost_lines_say_whether_and_when_each_route_reaches_the_target():
    routes = _routes([0.1, 0.6, 0.75, 0.65], [0.1, 0.3, 0.5, 0.74, 0.8])
    lines = matched_cost_lines(routes, 0.73)
    assert len(lines) == len(matched_costs(routes, 0.73)) == 2
    assert lines[0].startswith("default, target paper (0.730): mapping reaches it after 8.0 images")
    assert "retraining reaches it after 6.0 presentations" in lines[0]
    assert "energy ratio 2.67" in lines[0]
    never = matched_cost_lines(_routes([0.1, 0.2, 0.2, 0.2], [0.1, 0.8]), 0.73)
    assert "mapping never reaches it" in never[0]


def test_seed_routes_add_the_sensitivity_schemes_only_on_the_seeds_listed(monkeypatch):
    import fmes.networks.adaptation_energy as module

    calls = []

    def fake(result, table, state, schemes, leak, epochs, rate, costs, seed, sensitivity_grid):
        calls.append((state, sorted(schemes), leak, epochs, rate, seed, sensitivity_grid))
        return pd.DataFrame({"route": ["mapping"]})

    monkeypatch.setattr(module, "adaptation_vs_retraining", fake)
    settings = type("S", (), {"scheme": SCHEME, "train_state": "open"})()
    sensitivity = {"seeds": [0], "n_images": [0, 4], "pulses_per_image": [1]}
    retrain = {"epochs": 2, "learning_rate": 0.1}
    costs = CostSettings(1e-12, 1e-12, 0.73)
    listed = module.seed_routes(None, DEVICES, settings, LEAK, retrain, costs, sensitivity, 9, 0)
    other = module.seed_routes(None, DEVICES, settings, LEAK, retrain, costs, sensitivity, 9, 1)
    assert calls[0] == ("open", ["default", "pulses_per_image=1"], LEAK, 2, 0.1, 9, [0, 4])
    assert calls[1][1] == ["default"]
    assert listed["seed"].tolist() == [0] and other["seed"].tolist() == [1]
