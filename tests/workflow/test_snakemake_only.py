"""The DAG builds with Snakemake alone: a venv holding only Snakemake (the same version as the
project's, from the package registry) dry-runs the workflow. With ``--sdm conda`` (the Snakemake
workflow catalog's way: one conda environment per rule, workflow/envs/) Snakemake also needs the
``conda`` command itself, even for a dry run; that case runs where conda is installed."""

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import ROOT, TINY, planned

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snakemake_only_python(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("snakemake_only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin/pip"), "install", "--quiet", f"snakemake=={version('snakemake')}"],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, f"could not install snakemake alone:\n{pip.stderr[-3000:]}"
    return venv / "bin/python"


def test_the_snakemake_only_venv_lacks_the_library_stack(snakemake_only_python):
    for module in ("fmes", "numpy", "pandas", "scipy", "pyarrow"):
        probe = subprocess.run([str(snakemake_only_python), "-c", f"import {module}"])
        assert probe.returncode != 0, f"{module} is importable: the venv is not Snakemake alone"


def _dry_run(python: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    workdir.mkdir()
    command = [str(python.with_name("snakemake")), "-s", str(ROOT / "Snakefile")]
    command += ["--directory", str(workdir), "--cores", "1", "-n", *args, "--configfile", TINY]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True)


def test_dag_builds_with_snakemake_alone(snakemake_only_python, tmp_path):
    proc = _dry_run(snakemake_only_python, tmp_path / "run")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-4000:]
    assert {"synthesize_traces", "validate_traces", "device_params"} <= set(planned(proc))


@pytest.mark.skipif(
    shutil.which("conda") is None,
    reason=(
        "--sdm conda not tested here: no conda command on this machine (and no conda channel "
        "reachable to install one); Snakemake needs conda even for a dry run with --sdm conda. "
        "test_dag_builds_with_snakemake_alone covers the DAG build from Snakemake alone"
    ),
)
def test_dag_builds_with_snakemake_alone_and_sdm_conda(snakemake_only_python, tmp_path):
    proc = _dry_run(snakemake_only_python, tmp_path / "run", "--sdm", "conda")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-4000:]
    assert {"synthesize_traces", "validate_traces", "device_params"} <= set(planned(proc))
