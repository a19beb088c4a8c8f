"""The `fmes device-params` and `fmes export` console commands, on the raw/ example traces."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fmes.cli import COMMANDS, DEFAULT_SCHEMA, load_config, main
from fmes.core.contracts import DEVICE_PARAMS_COLUMNS
from fmes.core.io import read_table

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


# the console script the package installs ([project.scripts] in pyproject.toml)
FMES = str(Path(sys.executable).with_name("fmes"))


@pytest.mark.parametrize(
    ("command", "expected"),
    [("manifest", "--pattern"), ("device-params", "MANIFEST"), ("export", "DEVICE_PARAMS")],
)
def test_the_subcommands_have_help(command, expected, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert out.startswith(f"usage: fmes {command}") and expected in out
    description = next(c.description for c in COMMANDS if c.name == command)
    assert " ".join(description.split()[:6]) in " ".join(out.split())


def test_the_console_script_lists_every_subcommand(capsys):
    assert {c.name for c in COMMANDS} == {"manifest", "device-params", "export"}
    out = subprocess.run([FMES, "--help"], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert re.search(rf"^\s+{command.name}\s+{command.summary[:20]}", out, flags=re.M), out
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 2 and "required: COMMAND" in capsys.readouterr().err


def test_configfiles_merge_over_the_defaults_key_by_key(tmp_path):
    """fmes merges --configfile as snakemake does: nested keys replace only themselves."""
    user = tmp_path / "user.yaml"
    user.write_text("analysis:\n  ltp_ltd:\n    read_noise_V: 0.002\n")
    config = load_config([str(user)], DEFAULT_SCHEMA)
    defaults = load_config([], DEFAULT_SCHEMA)
    assert config["analysis"]["ltp_ltd"]["read_noise_V"] == 0.002
    config["analysis"]["ltp_ltd"]["read_noise_V"] = defaults["analysis"]["ltp_ltd"]["read_noise_V"]
    assert config == defaults
