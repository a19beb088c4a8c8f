"""End to end: the DAG runs on the tiny config and produces what the README promises."""

import json
import re
import shutil

import pandas as pd
import pytest
from conftest import ROOT, SMALL_NETWORKS, TINY, copy_run, run_snakemake

from fmes.data.traces import read_manifest

pytestmark = pytest.mark.slow  # runs Snakemake (deselect locally with -m 'not slow'; CI runs it)


def test_tiny_run_produces_traces_and_calibration(tiny_run):
    calibration = pd.read_csv(tiny_run / "results/tables/calibration.csv")
    fitted = calibration[calibration["used_in_fit"]]
    assert (fitted["relative_error"].abs() < 0.1).all()
    assert (tiny_run / "results/figures/calibration.png").stat().st_size > 10_000
    manifest = read_manifest(tiny_run / "results/traces/synthetic/manifest.csv")
    working = read_manifest(tiny_run / "results/traces/manifest.csv")  # readable as a manifest too
    assert (working["trace_path"].to_numpy() == manifest["trace_path"].to_numpy()).all()
    assert set(manifest["protocol"]) == {"iv_sweep", "pulse", "ppf", "pulse_train", "ltp_ltd"}
    array = manifest[manifest["device_id"] != "nominal"]
    assert len(array) == 2 * 2 * 3 * 2  # rows x cols x cycles x resistances of the tiny config
    for rule in ("calibrate_device", "synthesize_traces", "validate_traces"):
        assert (tiny_run / f"results/logs/{rule}.log").stat().st_size > 0
        assert (tiny_run / f"results/benchmarks/{rule}.tsv").exists()


def test_second_run_has_nothing_to_do(tiny_run):
    proc = run_snakemake(tiny_run, "--configfile", TINY, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("traces={'source': 'lab'}", "'lab' is not one of ['synthetic', 'raw']"),
        (
            "traces={'source': 'raw', 'raw_manifest': 'lab/manifest.csv'}",
            "lab/manifest.csv (config key traces.raw_manifest) does not exist",
        ),
    ],
    ids=["invalid_config_is_rejected_naming_the_key", "raw_source_without_manifest_says_which_key"],
)
def test_bad_config_is_rejected_in_the_dry_run(tmp_path, override, message):
    proc = run_snakemake(
        tmp_path,
        "--configfile",
        TINY,
        "--config",
        override,
        "--dry-run",
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_tiny_run_builds_every_stage_and_the_paper_table(tiny_run):
    tables = tiny_run / "results/tables"
    for name in (
        "device_params",
        "ppf_fits",
        "ltp_ltd_fits",
        "network_accuracy",
        "adaptation",
        "paper_vs_reproduced",
    ):
        assert (tables / f"{name}.csv").stat().st_size > 0, name
    paper = pd.read_csv(tables / "paper_vs_reproduced.csv")
    assert paper["reproduced_value"].notna().all(), paper.loc[
        paper["reproduced_value"].isna(), "target_id"
    ].tolist()
    # the network claims' status is their verdict under the default update scheme (two seeds
    # in the tiny config: mostly inconclusive), in the paper table's words
    assert set(paper["status"]) <= {"pass", "fail", "inconclusive"}
    judged = paper[paper["target_id"] == "accuracy_mlp_8000ohm"]
    assert judged["note"].str.contains("verdict under the default update scheme").all()
    fitted = paper.set_index("target_id").loc[["iv_current_0p6V_500ohm", "iv_current_0p6V_8000ohm"]]
    assert (fitted["status"] == "pass").all()


def test_report_has_a_description_numbered_stages_tables_and_captions_from_the_config(
    tiny_run, tmp_path
):
    # a config value the run did not use (tiny keeps the default 30) must reach the rendered caption
    override = tmp_path / "override.yaml"
    override.write_text("analysis:\n  qc:\n    max_flagged_figures: 29\n")
    configs = [TINY, str(override)]
    work = copy_run(tiny_run, tmp_path / "run")  # the shared run stays as the DAG left it
    run_snakemake(work, "--configfile", *configs, "--report", "results/report.html")
    html = (work / "results/report.html").read_text()
    assert (
        "fmes-repro: a reproduction of the flexible MXene" in html
    )  # the landing-page description
    assert "max_flagged_figures</tt> = 29" in html
    assert "max_flagged_figures</tt> = 30" not in html
    categories = _report_categories(html)
    assert sorted(categories) == [
        "1. Device model",
        "2. Trace QC",
        "3. Device analyses",
        "4. Networks",
        "5. Adaptation",
        "6. System",
        "7. Paper vs reproduction",
    ]
    # subcategories numbered in workflow order within their stage (the report sorts by name)
    assert sorted(categories["3. Device analyses"])[:2] == ["3.1 I–V sweeps", "3.2 Single pulses"]
    assert sorted(categories["5. Adaptation"]) == ["5.1 Resistance mapping (Fig 5)"]
    reported = {
        path
        for subcategories in categories.values()
        for paths in subcategories.values()
        for path in paths
    }
    figures = {path.relative_to(work).as_posix() for path in (work / "results").rglob("*.png")}
    assert figures and figures <= reported, sorted(figures - reported)
    for table in (
        "tables/paper_vs_reproduced.csv",
        "tables/device_params.csv",
        "tables/claims_robustness.csv",
        "qc/trace_qc.csv",
        "tables/energy_per_pulse.csv",
    ):
        assert f"results/{table}" in reported


def _report_categories(html: str) -> dict[str, dict[str, list[str]]]:
    """category -> subcategory -> files, as the report's page lists them; each numbered
    ("<n>. stage", "<n>.<m> topic") without gaps."""
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html).group(1))
    numbers = sorted(int(name.split(".")[0]) for name in categories)
    assert numbers == list(range(1, len(categories) + 1)), sorted(categories)
    for name, subcategories in categories.items():
        n = name.split(".")[0]
        topics = sorted(int(sub.split()[0].split(".")[1]) for sub in subcategories)
        assert all(sub.startswith(f"{n}.") for sub in subcategories), subcategories
        assert topics == list(range(1, len(subcategories) + 1)), sorted(subcategories)
    return categories


def test_report_numbers_what_a_run_leaves_out_without_gaps(tiny_run, tmp_path):
    """No learning-rate search and an adaptation state the run did not measure: the Adaptation
    stage, its energy topic and the search are left out, and the rest is numbered on."""
    override = tmp_path / "override.yaml"
    override.write_text(
        "networks:\n  lr_search:\n    enabled: false\nadaptation:\n  train:\n    state: '1000'\n"
    )
    work = copy_run(tiny_run, tmp_path / "run")
    configs = [TINY, str(override)]
    run_snakemake(work, "--configfile", *configs, "--report", "results/report.html")
    categories = _report_categories((work / "results/report.html").read_text())
    assert sorted(categories) == [
        "1. Device model",
        "2. Trace QC",
        "3. Device analyses",
        "4. Networks",
        "5. System",
        "6. Paper vs reproduction",
    ]
    assert sorted(categories["4. Networks"]) == [
        "4.1 MNIST training (Fig 4)",
        "4.2 Device landscape",
    ]
    assert "Adaptation energy" not in " ".join(categories["5. System"])


def test_partial_raw_data_run_what_they_allow_and_say_what_was_skipped(tmp_path):
    # a lab that measured only single pulses and PPF: no I-V, no trains, no LTP/LTD cycles
    lab = tmp_path / "lab"
    shutil.copytree(ROOT / "raw", lab)
    manifest = pd.read_csv(lab / "manifest.csv", dtype=str, keep_default_na=False)
    manifest[manifest["protocol"].isin(["pulse", "ppf"])].to_csv(lab / "manifest.csv", index=False)
    work = tmp_path / "run"
    work.mkdir()
    source = f"traces={{'source': 'raw', 'raw_manifest': '{lab / 'manifest.csv'}'}}"
    small = tmp_path / "small.yaml"  # the assertions are about skipping, not about training
    small.write_text(SMALL_NETWORKS)
    proc = run_snakemake(work, "--configfile", TINY, str(small), "--config", source)
    said = proc.stdout + proc.stderr
    assert "device networks at 8000: skipped: no device parameters at 8000" in said
    tables = work / "results/tables"
    iv = pd.read_csv(tables / "iv_current_at_target.csv")
    assert (iv["status"] == "skipped").all() and "no 'iv_sweep' traces" in iv["reason"].iloc[0]
    paper = pd.read_csv(tables / "paper_vs_reproduced.csv").set_index("target_id")
    assert (
        paper.loc["ppf_decays_faster_at_lower_R", "status"] == "pass"
    )  # measured on the lab's traces
    # nothing is borrowed from the synthetic model for a user's own device
    assert paper.loc["iv_current_0p6V_500ohm", "status"] == "not evaluated"
    assert "adaptation (Fig 5) skipped" in paper.loc["adaptation_dataset2_after", "note"]
    accuracy = pd.read_csv(tables / "network_accuracy.csv", keep_default_na=False)
    assert set(accuracy.loc[accuracy["status"] == "ok", "state"]) == {"ideal"}
    skipped = accuracy[accuracy["status"] == "skipped"]
    assert set(skipped["state"]) == {"500", "8000", "open"}
    assert skipped["reason"].str.contains("no 'ltp_ltd' traces").all()


def test_tiny_run_writes_the_summary_from_its_tables(tiny_run):
    from fmes.claims.summary import SUMMARY_SECTIONS

    text = (tiny_run / "results/summary.md").read_text()
    for section in SUMMARY_SECTIONS:
        assert f"## {section.title}" in text
    # the tiny run produces every section's table: no section is left without its rows
    assert "Not produced by this run" not in text
    assert text.count("| --- |") >= len(SUMMARY_SECTIONS)
    # the claims' verdicts per scheme, with interval and corrected p, come from the run
    assert "| claim | variant | state | cell_verdict | value_mean |" in text
