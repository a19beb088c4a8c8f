"""The model side of the calibration reads each target's simulation conditions from
config/paper_targets.yaml (select: + conditions:), checks them, and simulates what they say."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from fmes.data.targets import load_targets
from fmes.device import calibration
from fmes.device import circuit as device
from fmes.device.calibration import (
    AmplitudeSeries,
    LtpLtdCycle,
    ModelConditions,
    Pulse,
    PulsePair,
    SweepRead,
    SweepVoltage,
    TrainRetention,
    WidthSeries,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())
TARGETS = load_targets(ROOT / "config/paper_targets.yaml")
TREND_R = ("500", "1000", "2000", "4000", "7000", "8000", "open")

# The conditions the model was calibrated under before they moved into the targets file: the
# file must keep saying exactly these (a change here is a change of the calibration's results).
IV_500 = SweepRead(
    resistance_label=("500",),
    sweep_rate_V_per_s=0.05,
    v_target_V=0.6,
    v_max_V=0.8,
    read_time_s=12.0,
)
PPF_7000 = PulsePair(resistance_label=("7000",), amplitude_A=1e-3, width_s=1e-3, interval_s=0.01)
UNCHANGED = ModelConditions(
    iv_current_0p6V_500ohm=IV_500,
    iv_current_0p6V_8000ohm=replace(IV_500, resistance_label=("8000",)),
    ppf_A1_7000ohm=PPF_7000,
    ppf_A2_7000ohm=PPF_7000,
    retention_open_100s=TrainRetention(resistance_label=("open",), t_ref_s=1.0, t_ret_s=100.0),
    psv_increases_with_amplitude=AmplitudeSeries(
        resistance_label=TREND_R, width_s=1e-3, amplitudes_A=(1e-4, 2e-4, 5e-4, 1e-3, 2e-3)
    ),
    psv_increases_with_width=WidthSeries(
        resistance_label=TREND_R, amplitude_A=1e-3, widths_s=(5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
    ),
    psv_increases_with_resistance=Pulse(resistance_label=TREND_R, amplitude_A=1e-3, width_s=1e-3),
    ppf_decays_faster_at_lower_R=PulsePair(
        resistance_label=TREND_R, amplitude_A=1e-3, width_s=1e-3, interval_s=0.02
    ),
    psv_0p5mA_500ohm=Pulse(resistance_label=("500",), amplitude_A=5e-4, width_s=1e-3),
    psv_0p5mA_8000ohm=Pulse(resistance_label=("8000",), amplitude_A=5e-4, width_s=1e-3),
    iv_voltage_0p5mA_500ohm=SweepVoltage(
        resistance_label=("500",), sweep_rate_V_per_s=0.05, i_target_A=5e-4, v_max_V=0.8
    ),
    iv_voltage_0p5mA_8000ohm=SweepVoltage(
        resistance_label=("8000",), sweep_rate_V_per_s=0.05, i_target_A=5e-4, v_max_V=0.8
    ),
    dynamic_range_min=LtpLtdCycle(resistance_label=("500", "1000", "8000", "open")),
)


def edited(target_id: str, block: str, key: str, value, targets=TARGETS) -> list[dict]:
    """The targets with one fact replaced (the block is replaced, not mutated: YAML anchors
    share one mapping between targets) or removed (``value=None``)."""
    targets = [dict(t) for t in targets]
    target = next(t for t in targets if t["id"] == target_id)
    facts = {k: v for k, v in (target.get(block) or {}).items() if k != key}
    target[block] = facts if value is None else {**facts, key: value}
    return targets


def observables(targets: list[dict], tmp_path: Path) -> dict:
    """Model observables of the nominal device under the conditions of a copied targets file."""
    path = tmp_path / "paper_targets.yaml"
    path.write_text(yaml.safe_dump({"targets": targets}))
    conditions = ModelConditions.from_targets(load_targets(path))
    params = device.CellParams.from_mapping(CONFIG["device"])
    return calibration.model_observables(params, conditions, CONFIG["protocols"])


def test_targets_file_states_the_conditions_the_model_was_calibrated_under():
    assert ModelConditions.from_targets(TARGETS) == UNCHANGED


@pytest.fixture(scope="module")
def nominal(tmp_path_factory) -> dict:
    return observables(TARGETS, tmp_path_factory.mktemp("nominal"))


@pytest.mark.parametrize(
    ("target_id", "block", "key", "value", "expected_factor"),
    [
        # a linear circuit: the peaks scale with the amplitude
        ("ppf_A1_7000ohm", "conditions", "amplitude_A", 2.0e-3, 2.0),
        ("psv_0p5mA_8000ohm", "select", "amplitude_A", 1.0e-3, 2.0),
        # the open state forgets slowly: a read 50 s after the train keeps more than one at 100 s
        ("retention_open_100s", "conditions", "t_ret_s", 50.0, None),
        ("psv_increases_with_width", "conditions", "widths_s", [1.0e-3, 2.0e-3], None),
    ],
)
def test_a_changed_condition_changes_its_observable(
    nominal, tmp_path, target_id, block, key, value, expected_factor
):
    changed = observables(edited(target_id, block, key, value), tmp_path)[target_id]
    before = nominal[target_id]
    if expected_factor is not None:
        assert changed == pytest.approx(expected_factor * before, rel=1e-9)
    elif target_id == "retention_open_100s":
        assert before < changed < 1.0
    else:
        assert np.shape(changed) == (len(TREND_R), len(value))
        np.testing.assert_array_equal(changed, nominal[target_id][:, 1:3])


def test_the_dynamic_range_is_checked_at_the_states_its_target_selects(nominal, tmp_path):
    # the states are the target's select: (the analysis reads the same block); the value is the
    # smallest W_max/W_min over them
    assert nominal["dynamic_range_by_R"].shape == (4,)
    assert nominal["dynamic_range_min"] == pytest.approx(nominal["dynamic_range_by_R"].min())
    targets = edited("dynamic_range_min", "select", "resistance_label", ["1000", "open"])
    fewer = observables(targets, tmp_path)
    np.testing.assert_array_equal(fewer["dynamic_range_by_R"], nominal["dynamic_range_by_R"][1::2])


def test_a_changed_sweep_rate_changes_the_iv_current(nominal, tmp_path):
    targets = edited("iv_current_0p6V_500ohm", "select", "sweep_rate_V_per_s", 0.1)
    targets = edited("iv_current_0p6V_500ohm", "conditions", "read_time_s", 6.0, targets)
    faster = observables(targets, tmp_path)
    # the double layer's capacitive current grows with the sweep rate; the other target is
    # untouched although both shared the sweep's conditions through a YAML anchor
    assert faster["iv_current_0p6V_500ohm"] > nominal["iv_current_0p6V_500ohm"]
    assert faster["iv_current_0p6V_8000ohm"] == nominal["iv_current_0p6V_8000ohm"]


@pytest.mark.parametrize(
    ("target_id", "block", "key", "value", "message"),
    [
        ("ppf_A1_7000ohm", "conditions", "width_s", None, r"ppf_A1_7000ohm: missing 'width_s'"),
        (
            "ppf_A2_7000ohm",
            "conditions",
            "amplitude_A",
            "1e-3",
            r"ppf_A2_7000ohm: amplitude_A: expected a number > 0 \(write 1\.0e-3",
        ),
        (
            "psv_increases_with_width",
            "conditions",
            "widths_s",
            [2.0e-3, 1.0e-3],
            r"psv_increases_with_width: widths_s: expected an increasing list",
        ),
        (
            "retention_open_100s",
            "conditions",
            "resistance_label",
            "shorted",
            r"retention_open_100s: resistance_label: expected a resistance in ohm",
        ),
        (
            "psv_0p5mA_500ohm",
            "conditions",
            "amplitude_A",
            1.0e-3,
            r"psv_0p5mA_500ohm: \['amplitude_A'\] given in both select: and conditions:",
        ),
        (
            "ppf_A1_7000ohm",
            "conditions",
            "amplitud_A",
            1.0e-3,
            r"ppf_A1_7000ohm: conditions \['amplitud_A'\] are not read by the model",
        ),
        (
            "iv_current_0p6V_8000ohm",
            "conditions",
            "read_time_s",
            16.0,
            r"iv_current_0p6V_8000ohm: read_time_s: expected v_target_V / sweep_rate_V_per_s",
        ),
        (
            "psv_0p5mA_8000ohm",
            "select",
            "resistance_label",
            ["500", "8000"],
            r"psv_0p5mA_8000ohm: resistance_label: a numeric target needs exactly one label",
        ),
    ],
)
def test_bad_condition_stops_the_calibration_naming_target_and_key(
    target_id, block, key, value, message
):
    with pytest.raises(ValueError, match=rf"^calibration\.targets: target {message}"):
        calibration.calibrate_from_config(CONFIG, edited(target_id, block, key, value))


def test_every_calibration_target_must_be_one_the_model_evaluates():
    unknown = [*TARGETS, {**TARGETS[0], "id": "psv_at_9000ohm"}]
    with pytest.raises(
        ValueError, match=r"calibration targets \['psv_at_9000ohm'\]: the model has"
    ):
        ModelConditions.from_targets(unknown)
    missing = [t for t in TARGETS if t["id"] != "ppf_A2_7000ohm"]
    with pytest.raises(ValueError, match=r"missing calibration targets \['ppf_A2_7000ohm'\]"):
        ModelConditions.from_targets(missing)


def test_only_the_cheap_observables_can_be_fitted():
    targets = [{**t, "fit": True} if t["id"] == "psv_0p5mA_500ohm" else t for t in TARGETS]
    with pytest.raises(ValueError, match=r"targets \['psv_0p5mA_500ohm'\] have fit: true, but"):
        calibration.calibrate_from_config(CONFIG, targets)


def test_a_config_still_setting_check_resistances_is_told_where_the_states_are():
    from snakemake.exceptions import WorkflowError

    from fmes.workflow.config import validate_config

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["calibration"]["check_resistances"] = ["500", "open"]
    with pytest.raises(
        WorkflowError,
        match=r"config key calibration\.check_resistances is no longer read: the states of the "
        r"dynamic-range check are the select: resistance_label of target dynamic_range_min",
    ):
        validate_config(config, ROOT / "workflow/schemas/config.schema.yaml")


def test_sweep_voltage_at_current_reads_the_rising_branch():
    # capacitances so small that the cell is resistive at 50 mV/s: I = V (1/R + 1/(R_s + R_leak))
    cell = device.CellParams(20.0, 1e-9, 600.0, 1e-9, 1e6)
    read = SweepVoltage(
        resistance_label=("1000", "8000"), sweep_rate_V_per_s=0.05, i_target_A=5e-4, v_max_V=0.8
    )
    volts = calibration.sweep_voltage_at_current(cell, read)
    expected = 5e-4 / (1 / 1000 + 1 / (20.0 + 1e6))
    np.testing.assert_allclose(volts[0], expected, rtol=1e-4)
    # 0.5 mA through 8000 ohm needs 4 V: the 0.8 V sweep never carries it
    assert np.isnan(volts[1])
