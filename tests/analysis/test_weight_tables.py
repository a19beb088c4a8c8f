"""Weight-per-pulse LTP/LTD tables, signed non-linearity and n_states as levels a device holds.

The RRAM-like set is generated here from closed forms with known parameters: an accelerating
(convex) SET branch and a saturating RESET branch, 39 SET runs of 185-192 pulses and 40 RESET
runs of 149-153 pulses, independent read noise on every weight.
"""

import numpy as np
import pandas as pd
import pytest

from fmes.analysis.ltp_ltd import fit_ltp_ltd, relaxation_curve, step_resolution
from fmes.analysis.weight_tables import (
    WeightTableError,
    analyse_weight_tables,
    device_states_from_runs,
    read_weight_table,
    weight_table_results,
    with_weight_unit,
)
from fmes.core.status import Status

NOISE_US = 0.05
SET_SHAPE = -1 / 3.0  # A_P / N: accelerating
RESET_SHAPE = 1 / 4.0  # A_D / N: saturating
SPEC = {
    "name": "rram",
    "quantity": "conductance",
    "unit": "uS",
    "resistance_ohm": "open",
    "device_id": "d1",
    "runs": "cycles",
    "signed_nl": True,
}
FIT_KW = {"n_sigma_states": 1.0, "step_window_pulses": 9}


def rram_tables(seed=0, n_set_runs=39, n_reset_runs=40):
    rng = np.random.default_rng(seed)
    sets, resets, n_set = {}, {}, []
    for k in range(n_set_runs):
        n = int(rng.integers(185, 193))
        n_set.append(n)
        m = np.arange(1, n + 1)
        sets[f"cycle{k + 1}"] = pd.Series(
            relaxation_curve(m, 20.0, 100.0, SET_SHAPE * n, n) + rng.normal(0, NOISE_US, n)
        )
    for k in range(n_reset_runs):
        n = int(rng.integers(149, 154))
        m = np.arange(1, n + 1)
        resets[f"cycle{k + 1}"] = pd.Series(
            relaxation_curve(m, 100.0, 20.0, RESET_SHAPE * n, n) + rng.normal(0, NOISE_US, n)
        )
    return pd.DataFrame(sets), pd.DataFrame(resets), np.array(n_set)


@pytest.fixture(scope="module")
def rram_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rram")
    set_table, reset_table, n_set = rram_tables()
    set_table.to_csv(folder / "set.csv", index=False)  # NaN padding -> empty cells
    reset_table.to_csv(folder / "reset.csv", index=False)
    return folder, n_set


@pytest.fixture(scope="module")
def rram_signed(rram_files):
    folder, _ = rram_files
    tables = read_weight_table(folder / "set.csv"), read_weight_table(folder / "reset.csv")
    return analyse_weight_tables(
        *tables, SPEC, FIT_KW | {"signed_nl": False}
    )  # the table's own wins


def test_tables_of_unequal_runs_read_with_their_padding(rram_files):
    folder, n_set = rram_files
    set_table = read_weight_table(folder / "set.csv")
    assert set_table.shape == (192, 39)
    np.testing.assert_array_equal(set_table.count().to_numpy(), n_set)
    assert read_weight_table(folder / "reset.csv").shape[1] == 40


def test_convex_branch_gets_a_negative_label_and_a_describing_fit(rram_files, rram_signed):
    _, n_set = rram_files
    fits, weights = rram_signed
    paired = fits[fits["status"] != Status.SKIPPED]
    assert (
        len(paired) == 39
        and (paired["ltp_shape"] == "accelerating").all()
        and (paired["ltd_shape"] == "saturating").all()
    )
    np.testing.assert_allclose(paired["a_p_pulses"], SET_SHAPE * n_set, rtol=0.05)
    np.testing.assert_allclose(
        paired["a_d_pulses"] / paired["n_pulses_ltd"], RESET_SHAPE, rtol=0.05
    )
    assert (paired["nl_ltp"] < -1).all() and (paired["nl_ltd"] > 1).all()
    # the model describes the data: residuals at the read noise, no parameter on a bound, ok
    assert paired["residual_sd_V"].max() < 1.3 * NOISE_US
    assert (paired["status"] == Status.OK).all(), paired["reason"].unique()
    assert paired["noise_sd"].median() == pytest.approx(NOISE_US, rel=0.1)  # from the steps alone
    assert (paired["a_p_pulses"].abs() < 10 * paired["n_pulses"]).all()
    # the 40th RESET run has no SET partner: said, not invented
    skipped = fits[fits["status"] == Status.SKIPPED]
    assert skipped["run"].tolist() == ["cycle40"] and "no SET run 40" in skipped["reason"].iloc[0]


def test_n_states_counts_levels_not_model_error(rram_files):
    """Forced to the saturating model, the convex branch fits badly (residual ~100x the noise),
    yet the levels the device holds do not collapse: they come from the measured steps."""
    folder, _ = rram_files
    tables = read_weight_table(folder / "set.csv"), read_weight_table(folder / "reset.csv")
    forced, weights = analyse_weight_tables(*tables, SPEC | {"signed_nl": False}, FIT_KW)
    paired = forced[forced["status"] != Status.SKIPPED]
    assert (paired["residual_sd_V"] > 20 * NOISE_US).all()
    assert (paired["a_p_pulses"] > 900 * paired["n_pulses"]).all()  # on its upper bound
    # ... and no row says ok: poor_fit, with the convex branch and the residual named
    assert (paired["status"] == Status.POOR_FIT).all()
    assert paired["reason"].str.contains("ltp: the branch accelerates (convex)", regex=False).all()
    assert paired["reason"].str.contains("x the trace noise", regex=False).all()
    assert (paired["n_states_ltp"] > 150).all() and (paired["n_states"] > 100).all()
    states = device_states_from_runs(weights, window=9, n_sigma=1.0).set_index("phase")
    assert states.loc["ltp", "n_runs"] == 39 and states.loc["ltp", "n_states"] > 150
    # pulse-to-pulse noise of a step around its local mean: sqrt(2) x the read noise
    assert states.loc["ltp", "step_noise"] == pytest.approx(np.sqrt(2) * NOISE_US, rel=0.15)


def test_signed_fit_leaves_saturating_curves_exactly_as_before():
    rng = np.random.default_rng(3)
    n = 60
    m = np.arange(1, n + 1)
    weights = pd.DataFrame(
        {
            "phase": ["ltp"] * n + ["ltd"] * n,
            "pulse_number": np.concatenate([m, m]),
            "weight_V": np.concatenate(
                [relaxation_curve(m, 0.1, 0.8, 25.0, n), relaxation_curve(m, 0.8, 0.1, 15.0, n)]
            )
            + rng.normal(0, 2e-3, 2 * n),
        }
    )
    signed = fit_ltp_ltd(weights, n, signed_nl=True)
    unsigned = fit_ltp_ltd(weights, n, signed_nl=False)
    for key in (
        "a_p_pulses",
        "a_d_pulses",
        "a_p_stderr_pulses",
        "nl_ltp",
        "nl_ltd",
        "g_max_V",
        "n_states",
    ):
        assert signed[key] == unsigned[key], key
    assert signed["ltp_shape"] == "saturating" and signed["nl_ltp"] > 0


def test_step_resolution_finds_the_noise_and_the_resolvable_levels():
    rng = np.random.default_rng(1)
    n = 200
    clean = np.linspace(0, 1, n) ** 2  # steps grow from ~0 to 0.01
    res = step_resolution(clean[None, :] + rng.normal(0, 1e-3, (5, n)), window=9, n_sigma=1.0)
    assert res["step_noise"] == pytest.approx(np.sqrt(2) * 1e-3, rel=0.15)
    # the true mean step 2x/n^2 exceeds sqrt(2) 1e-3 for x > ~0.14 n: about 170 levels
    assert 160 <= res["n_states"] <= 185


def test_bad_tables_are_named(tmp_path):
    (tmp_path / "gap.csv").write_text("run1,run2\n1,2\n2,\n3,4\n4,5\n5,6\n")
    with pytest.raises(
        WeightTableError,
        match=r"gap\.csv: row 2 \(line 3\), column 'run2': empty cell inside the run",
    ):
        read_weight_table(tmp_path / "gap.csv")
    (tmp_path / "eu.csv").write_text("# exported\nG1;G2\n1,5;2,5\n2,5;3,5\n3,5;4,5\n4,5;x\n")
    with pytest.raises(WeightTableError, match=r"row 4 \(line 6\), column 'G2': expected a number"):
        read_weight_table(tmp_path / "eu.csv", separator=";", decimal=",", header_line=2)
    (tmp_path / "eu.csv").write_text(
        "# exported\nG1;G2\n1,5;2,5\n2,5;3,5\n3,5;4,5\n4,5;5,5\n5,5;\n"
    )
    table = read_weight_table(tmp_path / "eu.csv", separator=";", decimal=",", header_line=2)
    assert table["G1"].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5] and table["G2"].count() == 4


def test_fit_columns_carry_the_declared_unit(rram_signed):
    fits, _ = rram_signed
    renamed = with_weight_unit(fits, "uS")
    assert (
        "g_max_uS" in renamed
        and "ltp_start_uS" in renamed
        and not any(c.endswith("_V") for c in renamed)
    )
    assert set(renamed["weight_unit"]) == {"uS"} and set(renamed["weight_quantity"]) == {
        "conductance"
    }


def test_weight_table_results_are_all_in_the_tables_unit(rram_signed):
    result = weight_table_results(*rram_signed, SPEC, FIT_KW, nominal_device="d1")
    assert len(result.fits) == 40 and "g_max_uS" in result.fits and "g_max_V" not in result.fits
    assert list(result.weights.columns[:3]) == ["phase", "pulse_number", "weight"]
    assert set(result.weights["weight_unit"]) == {"uS"} and "weight_V" not in result.weights
    assert set(result.states["phase"]) == {"ltp", "ltd"} and (result.states["n_states"] > 100).all()
    assert set(result.states["weight_unit"]) == {"uS"}
    cv = result.variability
    assert {"g_max_uS", "a_p_pulses"} <= set(cv["metric"]) and not cv["metric"].str.endswith(
        "_V"
    ).any()
    assert set(cv["table"]) == {"rram"}
    # one device's runs are its cycles: a c2c spread measured on the 39 paired runs
    c2c = cv[(cv["metric"] == "g_max_uS") & (cv["kind"] == "c2c")].iloc[0]
    assert c2c["n_values"] == 39 and 0 < c2c["cv"] < 0.05


@pytest.mark.slow
def test_rule_analyses_configured_tables(tmp_path, rram_files):
    import yaml
    from conftest import ROOT, run_snakemake

    folder, _ = rram_files
    entry = {k: v for k, v in SPEC.items() if k != "signed_nl"} | {
        "set": str(folder / "set.csv"),
        "reset": str(folder / "reset.csv"),
    }
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump({"traces": {"weight_tables": [entry]}}))
    run_snakemake(
        tmp_path,
        "results/tables/weight_table_fits.csv",
        "--configfile",
        str(ROOT / ".test/config/tiny.yaml"),
        str(tmp_path / "tables.yaml"),
    )
    fits = pd.read_csv(tmp_path / "results/tables/weight_table_fits.csv")
    assert len(fits) == 40 and "g_max_uS" in fits and (fits["nl_ltp"].dropna() < 0).all()
    states = pd.read_csv(tmp_path / "results/tables/weight_table_states.csv")
    assert (states["n_states"] > 100).all()
    cv = pd.read_csv(tmp_path / "results/tables/weight_table_variability.csv")
    assert {"g_max_uS", "a_p_pulses"} <= set(cv["metric"]) and (
        tmp_path / "results/figures/weight_tables.png"
    ).is_file()
