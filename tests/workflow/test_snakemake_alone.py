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
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, TINY, copy_run, planned
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from fmes.core.io import read_table, write_csv
from fmes.data.traces import TraceContractError, read_manifest
from fmes.workflow.manifest import manifest_rows
from fmes.workflow.planning import plan_state_rows, plan_states, read_rows

BLOCKED = ("numpy", "pandas", "scipy", "pyarrow", "lmfit", "sklearn", "matplotlib", "mlxtend")

# a Python that refuses the analysis libraries, then runs Snakemake's command line
SNAKEMAKE_WITHOUT_LIBRARIES = f"""
import sys

BLOCKED = {BLOCKED!r}


# wraps an import finder: the blocked packages are not found, exactly as if not installed
# (importlib.util.find_spec gives None, import raises ModuleNotFoundError)
class Hide:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            print(f"blocked import at DAG build: {{name}}", file=sys.stderr)
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, attribute):
        return getattr(self.finder, attribute)


sys.meta_path[:] = [Hide(finder) for finder in sys.meta_path]
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
    # the tables gathered from the planned jobs are missing, and so are some jobs' outputs
    for output in (
        work / "results/tables/network_accuracy.csv",
        *(work / "results/networks").glob("*/500/seed0.csv"),
        work / "results/tables/adaptation.csv",
        work / "results/adaptation/seed0.csv",
    ):
        output.unlink()
    jobs = planned(_dry_run_without_libraries(work, "--configfile", TINY))
    assert {"networks_train", "run_adaptation"} <= set(jobs)
    assert "device_params" not in jobs  # its output is there: the plan was read from it


# --- the DAG-time readers give what the library's readers give ---------------------------------


def test_manifest_rows_agree_with_the_full_manifest_reader():
    rows = manifest_rows(ROOT / "raw/manifest.csv")
    full = read_manifest(ROOT / "raw/manifest.csv")
    assert [r.protocol for r in rows] == list(full["protocol"])
    assert [r.resistance_label for r in rows] == list(full["resistance_label"])
    assert [r.trace_path for r in rows] == list(full["trace_path"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace(",ppf,", ",paired_pulse,", 1), "column 'protocol'"),
        (lambda text: text.replace("traces/", "../elsewhere/", 1), "outside the manifest's folder"),
    ],
)
def test_manifest_rows_refuse_what_the_full_reader_refuses(tmp_path, edit, message):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(edit((ROOT / "raw/manifest.csv").read_text()))
    said = []
    for reader in (manifest_rows, lambda path: read_manifest(path, check_files=False)):
        with pytest.raises(TraceContractError) as err:
            reader(manifest)
        said.append(str(err.value))
    # one message: the file, the row and its line, the column, what was expected
    assert said[0] == said[1]
    assert said[0].startswith(f"{manifest}: row ") and "(line " in said[0] and message in said[0]


def test_state_plan_from_csv_rows_equals_the_plan_from_tables(tmp_path):
    params = tmp_path / "device_params.csv"
    provenance = tmp_path / "device_params_provenance.csv"
    write_csv(
        pd.DataFrame(
            {
                "resistance_label": ["500", "8000"],
                "a_p_pulses": [3.0, 5.0],
                "status": ["ok", "poor_fit"],
                "reason": ["", "residuals far above the trace noise"],
            }
        ),
        params,
    )
    write_csv(
        pd.DataFrame(
            {
                "resistance_label": ["open"],
                "column": ["*"],
                "source": ["skipped"],
                "note": ["no LTP/LTD traces at open"],
            }
        ),
        provenance,
    )
    states = ["500", "8000", "open", "1000"]
    for allow in (False, True):
        settings = dict(allow_non_ok=allow, allow_key="networks.allow_non_ok_states")
        rows = plan_state_rows(read_rows(params), read_rows(provenance), states, **settings)
        frame = plan_states(
            read_table(params),
            read_table(provenance, extra_labels=("column", "source", "note")),
            states,
            **settings,
        )
        assert [tuple(r) for r in rows] == list(frame.itertuples(index=False, name=None))
        assert [r.use for r in rows] == [True, allow, False, False]
    assert "no LTP/LTD traces at open" in rows[2].reason


def test_rule_environment_pins_lie_inside_the_pyproject_ranges():
    """workflow/envs/fmes.yaml (for --sdm conda) and pyproject.toml (the venv) name the same
    analysis stack; each conda pin is a version the pyproject range allows."""
    env = yaml.safe_load((ROOT / "workflow/envs/fmes.yaml").read_text())
    conda_names = {"matplotlib-base": "matplotlib"}  # conda-forge's build without a GUI backend
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and "=" in dep:
            name, version = dep.split("=", 1)
            pins[conda_names.get(name, name)] = version
    python = pins.pop("python")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert Version(python) in SpecifierSet(project["requires-python"])
    ranges = {
        Requirement(d).name.lower(): Requirement(d).specifier for d in project["dependencies"]
    }
    # Snakemake and its executor plugin reach the rule environment with the library (pip -e)
    assert set(ranges) - set(pins) <= {"snakemake", "snakemake-executor-plugin-cluster-generic"}
    for name, version in pins.items():
        if name in ranges:
            assert Version(version) in ranges[name], (name, version, ranges[name])
    assert set(pins) - set(ranges) <= {"pygments"}  # snakemake[reports] brings it in the venv
    assert {"-e ../.."} <= set(next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)))
