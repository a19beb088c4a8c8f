"""Public measured device data run end to end through the weight-table route (raw/examples/).

- gong_et_al: HfO2 ReRAM, the normalised weight after each of 1000 up and 1000 down pulses
  (IBM aihwkit, MIT). Its block means of 100 pulses rise almost evenly on the up branch
  (-0.90, -0.56, -0.44, -0.37, -0.01, 0.12, 0.42, 0.70, 0.99) and fall fast then slowly on the
  down branch (0.84, 0.26, 0.01, -0.29, -0.56, ..., -0.92); the step-to-step scatter (~0.17) is
  about 80 x the mean step (~0.002).
- enode: an electrochemical RAM's step-size quantiles per conductance bin (Sandia
  cross-sim-data, BSD-3-Clause). Increasing: the mean step falls from 7.7 to 0.8 uS across the
  range (ratio ~10); decreasing: |mean step| ~1.9 uS at the top, 3.3 in the middle, 0.7 at the
  bottom (first-to-last ratio ~2.7), step sd 0.5-1.3 uS.

The expected ranges below follow from those numbers (see each test).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fmes.analysis.weight_tables import (
    WeightTableError,
    analyse_weight_tables,
    branch_summary,
    load_weight_tables,
    mean_lookup_run,
    mean_step_pulses,
    read_step_lookup_table,
    read_weight_table,
    weight_table_results,
)
from fmes.core.status import Status

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "raw" / "examples"
FIT_KW = {
    "bounds": "separate",
    "read_noise_V": None,
    "n_sigma_states": 1.0,
    "step_window_pulses": 9,
}
SEED = 20221
DEFAULTS = {"resistance_ohm": "open", "runs": "cycles", "signed_nl": True}


def example_spec(name: str) -> dict:
    """The example's config entry, paths made absolute (the configs are relative to ROOT)."""
    config = yaml.safe_load((EXAMPLES / name / "config.yaml").read_text())
    spec = DEFAULTS | config["traces"]["weight_tables"][0]
    return spec | {k: str(ROOT / spec[k]) for k in ("set", "reset")}


def run_example(name: str, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rule's chain: load, fit every run pair, tables in the unit, summary per branch."""
    spec = example_spec(name)
    set_table, reset_table = load_weight_tables(spec, seed=seed)
    fits, weights = analyse_weight_tables(set_table, reset_table, spec, FIT_KW)
    result = weight_table_results(fits, weights, spec, FIT_KW)
    return branch_summary(result, spec).set_index("branch"), result.fits


@pytest.fixture(scope="module")
def gong():
    return run_example("gong_et_al")


@pytest.fixture(scope="module")
def enode():
    return run_example("enode")


def test_gong_two_column_file_is_one_up_and_one_down_run():
    spec = example_spec("gong_et_al")
    set_table, reset_table = load_weight_tables(spec, seed=SEED)
    assert set_table.shape == (1000, 1) and reset_table.shape == (1000, 1)
    raw = np.loadtxt(spec["set"], delimiter=",")
    np.testing.assert_array_equal(set_table.iloc[:, 0], raw[:, 0])
    np.testing.assert_array_equal(reset_table.iloc[:, 0], raw[:, 1])


def test_gong_branches(gong):
    summary, fits = gong
    ltp, ltd = summary.loc["ltp"], summary.loc["ltd"]
    # down branch: 0.58 of its 1.76 fall in the first 100 of 1000 pulses -> strongly
    # saturating; NL label ~3 (A/N ~0.38), ok within its interval
    assert 2.0 < ltd["nl"] < 4.5 and ltd["status"] == Status.OK
    # up branch: nearly even rise; NL consistent with 0 and flagged (A at the linear limit)
    assert abs(ltp["nl"]) < 0.3 and abs(ltp["nl"]) < 3 * ltp["nl_stderr"]
    assert ltp["status"] == Status.FLAGGED and "limiting form" in ltp["reason"]
    # no single pulse resolves a level (step noise ~0.17 vs mean step ~0.002) ...
    assert (summary["n_states"] == 1).all()
    assert summary["step_noise"].between(0.12, 0.22).all()
    # ... but the mean step crosses the range in ~1000 pulses, the pulses measured
    assert summary["levels_mean_step"].between(700, 1500).all()
    # c2c: step sigma over the fitted range (~2.1)
    assert summary["c2c_step_sigma_frac"].between(0.05, 0.12).all()
    assert len(fits) == 1 and fits["weight_unit"].iloc[0] == "1"


def test_enode_lookup_reads_as_crosssim_does():
    path = EXAMPLES / "enode" / "dG_increasing.txt"
    table = read_step_lookup_table(path, scale=1e6)
    # numpy.genfromtxt(delimiter=",") with CrossSim's skip_header values
    g = np.genfromtxt(path, delimiter=",", skip_header=1, max_rows=1)
    dg = np.genfromtxt(path, delimiter=",", skip_header=3)
    np.testing.assert_allclose(table.g, g * 1e6)
    np.testing.assert_allclose(table.dg, dg * 1e6)
    assert table.dg.shape == (122, 48) and table.cdf[0] == 0 and table.cdf[-1] == 1
    mean = table.mean_step()
    assert mean[0] == pytest.approx(7.67, abs=0.01) and mean[-1] == pytest.approx(0.76, abs=0.01)
    # 680 uS at 7.7 -> 0.8 uS per pulse: a few hundred pulses
    assert 150 < mean_step_pulses(table, increasing=True) < 300


def test_enode_branches(enode):
    summary, fits = enode
    ltp, ltd = summary.loc["ltp"], summary.loc["ltd"]
    assert len(fits) == 20 and (fits["converged"]).all()
    # both saturating: first-to-last mean step ratio ~10 (LTP) -> A/N ~0.43, NL ~2.8;
    # ~2.7 (LTD) -> A/N ~1, NL ~1.2 (the ratio ignores the mid-range bulge of the LTD steps)
    assert 2.0 < ltp["nl"] < 4.5 and 0.8 < ltd["nl"] < 2.5
    # levels: mean step above the step sd over most of each branch (218 and 316 pulses)
    assert 100 < ltp["n_states"] <= 219 and 200 < ltd["n_states"] <= 317
    # the sampler reproduces the tables' step spread (sd 0.65-1.13 uS and 0.5-1.27 uS)
    assert 0.6 < ltp["step_noise"] < 1.2 and 0.45 < ltd["step_noise"] < 1.0
    assert ltp["c2c_step_sigma_frac"] < 0.003 and ltd["c2c_step_sigma_frac"] < 0.003
    # the exponential model misdescribes the mean curve itself (below): poor_fit, said so
    assert (summary["status"] == Status.POOR_FIT).all()
    assert summary["reason"].str.contains("x the trace noise").all()


def test_enode_mean_curve_fit_agrees_with_sampled_runs(enode):
    summary, _ = enode
    spec = example_spec("enode")
    inc = read_step_lookup_table(spec["set"], scale=1e6)
    dec = read_step_lookup_table(spec["reset"], scale=1e6)
    set_table, reset_table = mean_lookup_run(
        inc,
        dec,
        n_pulses_set=mean_step_pulses(inc, increasing=True),
        n_pulses_reset=mean_step_pulses(dec, increasing=False),
    )
    # the mean trajectory crosses (nearly) the whole table range in those pulses
    assert (
        set_table["mean"].iloc[-1] > inc.g[-1] - 20 and reset_table["mean"].iloc[-1] < dec.g[0] + 20
    )
    fits, _ = analyse_weight_tables(set_table, reset_table, spec, FIT_KW)
    for phase in ("ltp", "ltd"):
        assert fits[f"nl_{phase}"].iloc[0] == pytest.approx(summary.loc[phase, "nl"], abs=0.15)
    # the misfit is the model's, not the sampling noise: the noise-free curve is off by uS too
    assert fits["ltd_residual_sd"].iloc[0] > 5


def test_enode_sampling_is_seeded():
    spec = example_spec("enode") | {"lookup": {"runs": 3, "pulses": 50}}
    a = load_weight_tables(spec, seed=1)
    b = load_weight_tables(spec, seed=1)
    c = load_weight_tables(spec, seed=2)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert a[0].shape == (50, 3) and not np.allclose(a[0], c[0])
    # reset starts where set ended, and every weight stays inside the table's bins
    assert (a[1].iloc[0] < a[0].iloc[-1] + 5).all()
    assert ((a[0] >= 297.7) & (a[0] <= 978.3)).all().all()


def test_bad_lookup_tables_are_named(tmp_path):
    good = (EXAMPLES / "enode" / "dG_increasing.txt").read_text().splitlines()
    cases = {
        "short_row": (
            good[:6] + [good[6].rsplit(",", 1)[0]] + good[7:],
            r"line 7: 47 steps; expected 48",
        ),
        "text": (
            good[:1] + ["0.1, x, 0.3"] + good[2:],
            r"line 2: expected the weight bins .* got 'x'",
        ),
        "cdf": (good[:2] + ["0.5, 0.2, 1.0"] + good[3:], r"line 3: the CDF points must increase"),
        "rows": (good[:-1], r"121 lines of steps after line 3; expected one per CDF point \(122\)"),
    }
    for name, (lines, message) in cases.items():
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(WeightTableError, match=rf"{name}\.txt: .*{message}"):
            read_step_lookup_table(path)
    spec = example_spec("enode")
    swapped = spec | {"set": spec["reset"], "reset": spec["set"]}
    with pytest.raises(
        WeightTableError, match=r"dG_decreasing\.txt: the mean step is negative.*swapped"
    ):
        load_weight_tables(swapped, seed=SEED)


def test_bad_column_selection_is_named():
    path = EXAMPLES / "gong_et_al" / "gong_et_al.csv"
    with pytest.raises(
        WeightTableError, match=r"gong_et_al\.csv: column 3 selected, but the table has 2"
    ):
        read_weight_table(path, header_line=0, columns=[3])
    with pytest.raises(
        WeightTableError, match=r"column 'up' selected, but the header has \['run1', 'run2'\]"
    ):
        read_weight_table(path, header_line=0, columns=["up"])


def test_headerless_file_read_with_a_header_is_refused():
    spec = example_spec("gong_et_al") | {"header_line": 1}
    with pytest.raises(
        WeightTableError,
        match=r"gong_et_al\.csv: line 1 \(the header line\) holds numbers \(-0\.84444, 0\.76667\): "
        r"if the file has no header, set header_line: 0",
    ):
        load_weight_tables(spec, seed=SEED)


def test_integer_run_names_are_a_header(tmp_path):
    (tmp_path / "runs.csv").write_text("1,2\n0.1,0.2\n0.2,0.3\n0.3,0.4\n0.4,0.5\n")
    assert list(read_weight_table(tmp_path / "runs.csv").columns) == ["1", "2"]


def test_column_selection_on_a_lookup_table_is_refused():
    spec = example_spec("enode") | {"set_columns": [1]}
    with pytest.raises(WeightTableError, match=r"entry 'enode': set_columns applies to form runs"):
        load_weight_tables(spec, seed=SEED)


@pytest.mark.slow
def test_examples_run_through_the_rule(tmp_path):
    from conftest import run_snakemake

    entries = [example_spec(name) for name in ("gong_et_al", "enode")]
    entries[1]["lookup"] = {"runs": 4, "pulses": None}  # tiny
    (tmp_path / "examples.yaml").write_text(yaml.safe_dump({"traces": {"weight_tables": entries}}))
    run_snakemake(
        tmp_path,
        "results/tables/weight_table_summary.csv",
        "--configfile",
        str(ROOT / ".test/config/tiny.yaml"),
        str(tmp_path / "examples.yaml"),
    )
    summary = pd.read_csv(tmp_path / "results/tables/weight_table_summary.csv")
    assert list(summary["table"]) == ["gong_et_al", "gong_et_al", "enode", "enode"]
    assert (summary.loc[summary["table"] == "enode", "nl"] > 0).all()
    assert summary.loc[1, "status"] == "ok" and 2.0 < summary.loc[1, "nl"] < 4.5
