"""The workflow's catalog layout: entry points, validation at DAG build, the published metadata."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_snakemake


def _planned_jobs(workdir: Path, snakefile: str, *args: str) -> str:
    proc = run_snakemake(
        workdir,
        "-n",
        "--configfile",
        str(ROOT / "config/tiny.yaml"),
        *args,
        "-s",
        str(ROOT / snakefile),
    )
    totals = re.findall(r"^total\s+(\d+)$", proc.stdout, flags=re.MULTILINE)
    assert totals, proc.stdout[-2000:]
    return totals[0]


@pytest.mark.slow
def test_root_entry_point_and_workflow_snakefile_plan_the_same_jobs(tmp_path):
    root = _planned_jobs(tmp_path, "Snakefile")
    inner = _planned_jobs(tmp_path, "workflow/Snakefile")
    assert root == inner and int(root) > 20


@pytest.mark.slow
def test_non_finite_config_value_is_refused_at_dag_build_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("device:\n  series_resistance_ohm: .nan\n")
    proc = run_snakemake(tmp_path, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "device.series_resistance_ohm" in proc.stderr + proc.stdout
    assert "expected a finite number" in proc.stderr + proc.stdout


def test_min_version_matches_the_pyproject_lower_bound():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lower = next(
        re.search(r">=([\d.]+)", d).group(1) for d in deps if re.match(r"snakemake(\[|>)", d)
    )
    assert f'min_version("{lower}")' in (ROOT / "workflow/Snakefile").read_text()


def test_catalog_metadata_and_licence_exist():
    catalog = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"


def test_config_readme_describes_every_config_section():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    readme = (ROOT / "config/README.md").read_text()
    missing = [key for key in schema["properties"] if f"`{key}`" not in readme]
    assert not missing, f"config/README.md does not describe {missing}"
