"""The `fmes device-params` and `fmes export` console commands, on the raw/ example traces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fmes.cli import main
from fmes.contracts import DEVICE_PARAMS_COLUMNS
from fmes.io import read_table

MANIFEST = "raw/manifest.csv"


@pytest.fixture(scope="module")
def device_params_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "device_params.csv"
    assert main(["device-params", MANIFEST, "--output", str(out)]) == 0
    return out


def test_device_params_command_writes_one_row_per_state(device_params_csv):
    params = read_table(device_params_csv)
    assert list(params.columns) == list(DEVICE_PARAMS_COLUMNS)
    manifest = pd.read_csv(MANIFEST, dtype=str)
    ltp_states = manifest.loc[manifest["protocol"] == "ltp_ltd", "resistance_ohm"].fillna("open")
    assert sorted(params["resistance_label"]) == sorted(set(ltp_states))
    assert (params["g_max_V"] > params["g_min_V"]).all()
    by_state = params.set_index("resistance_label")
    # the mechanism of the study: a larger regulating resistance gives a more linear update
    assert by_state.loc["8000", "a_p_pulses"] > by_state.loc["500", "a_p_pulses"]


def test_device_params_command_refuses_a_manifest_without_ltp_ltd(tmp_path, capsys):
    manifest = pd.read_csv(MANIFEST, dtype=str)
    only_pulses = manifest[manifest["protocol"] != "ltp_ltd"].copy()
    # the traces travel with the manifest (paths outside its folder are refused)
    for rel in only_pulses["path"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(MANIFEST).parent / rel, tmp_path / rel)
    only_pulses.to_csv(tmp_path / "manifest.csv", index=False)
    assert (
        main(
            ["device-params", str(tmp_path / "manifest.csv"), "--output", str(tmp_path / "dp.csv")]
        )
        == 1
    )
    assert "no ltp_ltd trace" in capsys.readouterr().err
    assert not (tmp_path / "dp.csv").exists()


def test_export_command_writes_neurosim_and_aihwkit_files(device_params_csv, tmp_path, capsys):
    assert main(["export", str(device_params_csv), "--outdir", str(tmp_path)]) == 0
    labels = read_table(device_params_csv)["resistance_label"].tolist()
    devices = json.loads((tmp_path / "aihwkit_softbounds_devices.json").read_text())["devices"]
    assert sorted(devices) == sorted(labels)
    neurosim = (tmp_path / "neurosim_device_params.txt").read_text()
    assert neurosim.count("NL_LTP") >= len(labels)
    printed = capsys.readouterr().out
    assert all(f"  {label}: largest curve deviation" in printed for label in labels)


@pytest.mark.parametrize(
    ("command", "expected"), [("device-params", "MANIFEST"), ("export", "DEVICE_PARAMS")]
)
def test_the_subcommands_have_help(command, expected):
    out = subprocess.run(
        [sys.executable, "-m", "fmes.cli", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert expected in out.stdout
