"""Snakemake alone builds the job graph: no numpy, pandas, scipy, ... is imported at DAG build.

``snakemake --sdm conda`` starts from an environment holding Snakemake only, and the rule
scripts get their software from workflow/envs/fmes.yaml. These tests run Snakemake's command line
in a Python whose import of the analysis libraries fails as if they were not installed, so any
DAG-time import of them (in the Snakefile, the rule files or the fmes modules they use) makes the
dry run fail.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TINY, copy_run, planned

BLOCKED = ("numpy", "pandas", "scipy", "pyarrow", "lmfit", "sklearn", "matplotlib", "mlxtend")

# a Python that refuses the analysis libraries, then runs Snakemake's command line
SNAKEMAKE_WITHOUT_LIBRARIES = f"""
import sys

BLOCKED = {BLOCKED!r}


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            print(f"blocked import at DAG build: {{name}}", file=sys.stderr)
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, Refuse())
from snakemake.cli import main

sys.argv = ["snakemake", *sys.argv[1:]]
main()
"""


def _dry_run_without_libraries(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-c",
        SNAKEMAKE_WITHOUT_LIBRARIES,
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "1",
        "--dry-run",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env)
    # a failed import is only reported: Snakemake's own dependencies try some of these libraries
    # optionally (yte: numpy), as they would in an environment without them
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def test_the_blocker_refuses_the_libraries(tmp_path):
    """The guard itself: a Snakefile that imports numpy fails under it."""
    (tmp_path / "Snakefile").write_text("import numpy\n\nrule all:\n    output: 'x'\n")
    command = [sys.executable, "-c", SNAKEMAKE_WITHOUT_LIBRARIES, "--cores", "1", "--dry-run"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0 and "blocked import at DAG build: numpy" in proc.stderr


@pytest.mark.slow
def test_dag_of_a_fresh_run_builds_without_the_analysis_libraries(tmp_path):
    proc = _dry_run_without_libraries(tmp_path, "--configfile", TINY)
    jobs = planned(proc)
    # everything up to the device_params checkpoint, whose output plans the networks
    assert {"synthesize_traces", "validate_traces", "device_params"} <= set(jobs)
    assert int(re.findall(r"^total\s+(\d+)$", proc.stdout, flags=re.MULTILINE)[0]) > 20


@pytest.mark.slow
def test_raw_manifest_is_read_at_dag_build_without_the_analysis_libraries(tmp_path):
    """A raw campaign: the manifest's states, trace files and chunks come from the csv module."""
    work = tmp_path / "run"
    work.mkdir()
    source = f"traces={{'source': 'raw', 'raw_manifest': '{ROOT / 'raw/manifest.csv'}'}}"
    jobs = planned(_dry_run_without_libraries(work, "--configfile", TINY, "--config", source))
    assert {"validate_traces", "analyse_ltp_ltd", "device_params"} <= set(jobs)
    assert "synthesize_traces" not in jobs


@pytest.mark.slow
def test_jobs_after_the_checkpoint_are_planned_without_the_analysis_libraries(tiny_run, tmp_path):
    """The networks and the adaptation are planned from the device_params checkpoint's CSV
    output (a real one, from the tiny run): read at DAG build with the csv module."""
    work = copy_run(tiny_run, tmp_path / "run")
    for output in (
        *(work / "results/networks").glob("*/500/seed0.csv"),
        work / "results/adaptation/seed0.csv",
    ):
        output.unlink()
    jobs = planned(_dry_run_without_libraries(work, "--configfile", TINY))
    assert {"train_network", "run_adaptation"} <= set(jobs)
    assert "device_params" not in jobs  # its output is there: the plan was read from it
