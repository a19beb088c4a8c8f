"""Calibration on the default config reproduces every paper target it is meant to."""

import math
from pathlib import Path

import lmfit
import numpy as np
import pytest
import yaml

from fmes.data.targets import load_targets
from fmes.device import calibration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    targets = load_targets(ROOT / config["calibration"]["targets"])
    return calibration.calibrate_from_config(config, targets)


def test_fit_converges(result):
    assert result.success, result.message


def test_every_fitted_target_within_10_percent(result):
    fitted = result.table[result.table["used_in_fit"]]
    assert len(fitted) == 4
    assert (fitted["relative_error"].abs() < 0.10).all(), fitted[["target_id", "relative_error"]]


@pytest.mark.parametrize(
    "target_id",
    [
        "dynamic_range_min",
        "retention_open_100s",
        "psv_increases_with_amplitude",
        "psv_increases_with_width",
        "psv_increases_with_resistance",
        "ppf_decays_faster_at_lower_R",
    ],
)
def test_checked_targets_and_trends_hold(result, target_id):
    row = result.table.set_index("target_id").loc[target_id]
    assert row["passed"], row


def test_exactly_determined_fit_reports_no_stderr(result):
    # 4 free parameters fitted to 4 targets: lmfit's covariance-based stderr would be meaningless
    assert result.fitted == [
        "series_resistance_ohm",
        "fast_capacitance_F",
        "diffusion_resistance_ohm",
        "slow_capacitance_F",
    ]
    assert sorted(result.stderr_rel) == sorted(result.fitted)
    assert all(math.isnan(v) for v in result.stderr_rel.values())
    assert result.stderr_reason.startswith("exactly determined: 4 fitted targets = 4 free")


def _line_fit(x: np.ndarray, y: np.ndarray) -> lmfit.minimizer.MinimizerResult:
    params = lmfit.Parameters()
    params.add("slope", value=1.0)
    params.add("intercept", value=0.0)
    return lmfit.minimize(
        lambda p: p["slope"].value * x + p["intercept"].value - y, params, method="least_squares"
    )


# an exact fit has zero residuals, so lmfit's scaled covariance is zero and its correlations 0/0
@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide:RuntimeWarning")
def test_fit_stderr_is_nan_with_a_reason_when_the_fit_has_no_degree_of_freedom():
    stderr, reason = calibration.fit_stderr(_line_fit(np.array([0.0, 1.0]), np.array([1.0, 3.1])))
    assert set(stderr) == {"slope", "intercept"}
    assert all(math.isnan(v) for v in stderr.values())
    assert reason.startswith("exactly determined: 2 fitted targets = 2 free parameters")


def test_fit_stderr_is_lmfits_estimate_when_the_fit_has_degrees_of_freedom():
    x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.1, 4.9])
    stderr, reason = calibration.fit_stderr(_line_fit(x, y))
    assert reason == ""
    # ordinary least squares: residuals -0.05, 0.1, -0.05, s^2 = 0.015 / (3 - 2), Sxx = 2
    assert stderr["slope"] == pytest.approx(math.sqrt(0.015 / 2), rel=1e-6)


def test_inconsistent_quote_is_reported_not_hidden(result):
    # The 0.12-0.74 V at 0.5 mA quote cannot hold together with A1 = 0.094 V at 1 mA in a linear
    # circuit; the table must say so rather than silently pass it.
    row = result.table.set_index("target_id").loc["psv_0p5mA_8000ohm"]
    assert not row["passed"]
    assert row["model_value"] < 0.1


def test_the_quote_read_on_the_iv_sweep_is_its_own_row(result):
    # read as the voltage of the Fig 2b sweep at 0.5 mA, the same quote is near the model
    table = result.table.set_index("target_id")
    low, high = (table.loc[f"iv_voltage_0p5mA_{r}ohm"] for r in ("500", "8000"))
    assert 0.12 < low["model_value"] < 0.25 and 0.55 < high["model_value"] < 0.8
    assert high["passed"]
    assert not table.loc[
        ["iv_voltage_0p5mA_500ohm", "iv_voltage_0p5mA_8000ohm"], "used_in_fit"
    ].any()


def test_fitted_values_are_physical(result):
    p = result.params
    assert 1 < float(p.series_resistance_ohm) < 100  # tens of ohm
    assert 1e-6 < float(p.fast_capacitance_F) < 1e-4  # tens of uF
    assert 5e-3 < float(p.slow_capacitance_F) < 2e-2  # ~8-10 mF (I-V at 50 mV/s)


def test_disabled_calibration_evaluates_config_values(result):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    targets = load_targets(ROOT / "config/paper_targets.yaml")
    out = calibration.calibrate(result.params, [], targets, config["protocols"])
    assert out.message.startswith("not fitted")
    assert out.fitted == [] and out.stderr_rel == {}
    assert out.table.set_index("target_id").loc["ppf_A1_7000ohm", "model_value"] == pytest.approx(
        0.094, rel=1e-6
    )


def test_bad_target_file_is_named(tmp_path):
    bad = tmp_path / "targets.yaml"
    bad.write_text(
        "targets:\n  - id: x\n    quantity: q\n    comparison: equal\n    stage: calibration\n    source: s\n"
    )
    with pytest.raises(
        ValueError, match=r"targets.yaml: target x: a numeric comparison needs 'value'"
    ):
        load_targets(bad)
