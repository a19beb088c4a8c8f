"""The workflow's catalog layout: entry points, validation at DAG build, the published metadata."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_snakemake
from packaging.requirements import Requirement


def _planned_jobs(workdir: Path, snakefile: str, *args: str) -> str:
    proc = run_snakemake(
        workdir,
        "-n",
        "--configfile",
        str(ROOT / ".test/config/tiny.yaml"),
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


def _undescribed(readme: str, config: dict, schema: dict) -> list[str]:
    """The config sections (top-level keys of config.yaml or the schema) without a
    ``- **`section`**`` entry in ``readme``, and the key groups (keys holding a mapping) that
    their section's entry does not name."""
    parts = re.split(r"^- \*\*`(\w+)`\*\*", readme, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    missing = sorted((set(config) | set(schema["properties"])) - set(sections))
    for section, text in sections.items():
        values = config.get(section)
        groups = (
            {k for k, v in values.items() if isinstance(v, dict)}
            if isinstance(values, dict)
            else set()
        )
        properties = schema["properties"].get(section, {}).get("properties", {})
        groups |= {k for k, v in properties.items() if v.get("type") == "object"}
        missing += [f"{section}.{key}" for key in sorted(groups) if f"`{key}`" not in text]
    return missing


def _config_and_schema() -> tuple[dict, dict]:
    return (
        yaml.safe_load((ROOT / "config/config.yaml").read_text()),
        yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text()),
    )


def test_config_readme_describes_every_config_section_and_key_group():
    readme = (ROOT / "config/README.md").read_text()
    missing = _undescribed(readme, *_config_and_schema())
    assert not missing, f"config/README.md does not describe {missing}"


def test_the_readme_check_reads_each_section_on_its_own():
    """A group named only in another section's entry, or a section without an entry, is found."""
    readme = (ROOT / "config/README.md").read_text()
    assert "`noise`" in readme.split("- **`device`**")[1].split("- **`")[0]
    without_noise = readme.replace(
        "and `noise`, the measurement noise", "and the measurement noise"
    )
    assert _undescribed(without_noise, *_config_and_schema()) == ["device.noise"]
    without_exports = readme.split("- **`exports`**")[0]
    assert _undescribed(without_exports, *_config_and_schema()) == ["exports"]


def test_the_report_dependencies_come_with_the_package():
    """`snakemake --report` needs pygments (and jinja2): snakemake's [reports] extra brings them
    with a plain `pip install .`, and the conda rule environment pins pygments."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    snakemake = next(Requirement(d) for d in deps if Requirement(d).name == "snakemake")
    assert "reports" in snakemake.extras
    extra = metadata.requires("snakemake") or []
    assert any(r.startswith("pygments") and 'extra == "reports"' in r for r in extra), extra
    env = yaml.safe_load((ROOT / "workflow/envs/fmes.yaml").read_text())
    assert any(str(d).startswith("pygments=") for d in env["dependencies"])
