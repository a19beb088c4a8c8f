"""Operations: rerun scope, per-rule reruns, reanalysis, interruptions, determinism, cluster.

Every assertion about *what would run* uses Snakemake's own dry-run job list and per-job reasons;
every test works in its own directory (copies of the session's ``tiny_run`` keep their
timestamps, so Snakemake sees them as up to date). Stages that are not yet included in the
Snakefile are skipped with a reason, never silently passed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, SNAKEMAKE, TINY, copy_run, dry_run, planned, run_snakemake

from fmes.data.traces import read_manifest, read_working_manifest
from fmes.workflow.provenance import library_files

pytestmark = pytest.mark.slow  # runs Snakemake (deselect locally with -m 'not slow'; CI runs it)


TRACE_RULES = {"calibrate_device", "synthesize_traces", "validate_traces"}


def stage_included(name: str) -> bool:
    """Whether workflow/rules/<name>.smk is part of the DAG yet (stages land during the project)."""
    return f'include: "rules/{name}.smk"' in (ROOT / "workflow/Snakefile").read_text()


needs_analysis = pytest.mark.skipif(
    not stage_included("analysis"), reason="analysis.smk not in the Snakefile yet"
)
needs_networks = pytest.mark.skipif(
    not stage_included("networks"), reason="networks.smk not in the Snakefile yet"
)


def write_yaml(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def downstream_of(workdir: Path, rule: str, *args: str) -> set[str]:
    """What Snakemake itself says depends on ``rule`` (``--forcerun`` schedules rule + downstream)."""
    return set(dry_run(workdir, "--forcerun", rule, *args, "--configfile", TINY))


# --- (1) rerun scope -------------------------------------------------------------------------


def test_trace_generation_key_reruns_synthesis_and_downstream_only(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    override = write_yaml(tmp_path / "cycles.yaml", "variability:\n  cycles: 2\n")
    jobs = dry_run(work, "--configfile", TINY, override)
    assert "params have changed" in jobs["synthesize_traces"].lower()
    assert "calibrate_device" not in jobs  # upstream: untouched
    assert set(jobs) & TRACE_RULES == {"synthesize_traces", "validate_traces"}
    assert set(jobs) == downstream_of(work, "synthesize_traces")


def test_ppf_interval_grid_does_not_rerun_calibration(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    override = write_yaml(
        tmp_path / "ppf.yaml", "protocols:\n  ppf:\n    intervals_s: [0.002, 0.01, 0.1]\n"
    )
    jobs = dry_run(work, "--configfile", TINY, override)
    assert "synthesize_traces" in jobs
    assert "calibrate_device" not in jobs


@needs_analysis
def test_analysis_key_reruns_one_analysis_only(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    override = write_yaml(tmp_path / "ppf_model.yaml", "analysis:\n  ppf:\n    model: single\n")
    jobs = dry_run(work, "--configfile", TINY, override)
    assert "params have changed" in jobs["analyse_ppf"].lower()
    assert not set(jobs) & TRACE_RULES
    assert not {r for r in jobs if r.startswith("analyse_") and r != "analyse_ppf"}
    assert set(jobs) == downstream_of(work, "analyse_ppf")


@needs_networks
def test_network_key_reruns_training_not_data_or_analyses(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    override = write_yaml(tmp_path / "epochs.yaml", "networks:\n  epochs: 1\n")  # tiny: 2
    jobs = dry_run(work, "--configfile", TINY, override)
    assert "params have changed" in jobs["networks_train"].lower()
    assert "networks_mnist" not in jobs
    assert not {
        r for r in jobs if r in TRACE_RULES or r.startswith("analyse_") or r == "device_params"
    }
    # the decay-during-training comparison trains the perceptron itself, at networks.epochs
    assert "params have changed" in jobs["training_decay_effect"].lower()
    assert set(jobs) == downstream_of(work, "networks_train", "training_decay_effect")


def test_unchanged_config_plans_nothing(tiny_run, tmp_path):
    # the control for the tests above: without an edit, a copied run has nothing to do (Snakemake
    # says so itself, so an empty job list is not a listing the parser failed to read)
    work = copy_run(tiny_run, tmp_path / "run")
    proc = run_snakemake(work, "--dry-run", "--configfile", TINY)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert planned(proc) == {}


# --- library code changes (lib() inputs) -------------------------------------------------------


# A slice of the DAG through every stage (the whole tiny DAG at --cores 1 would cost minutes).
COPY_TARGETS = [
    "results/traces/manifest.csv",
    "results/tables/calibration.csv",
    *(
        ["results/tables/ppf_fits.csv", "results/tables/device_params.csv"]
        if stage_included("analysis")
        else []
    ),
    *(["results/networks/perceptron/500/seed0.csv"] if stage_included("networks") else []),
]


def _copy_command(copy: Path, *extra: str) -> list[str]:
    """Snakemake on the copy's own Snakefile, one core, the tiny config, for COPY_TARGETS."""
    return [
        SNAKEMAKE,
        *COPY_TARGETS,
        "-s",
        str(copy / "Snakefile"),
        "--directory",
        str(copy),
        "--cores",
        "1",
        *extra,
        "--configfile",
        TINY,
    ]


def copy_repository(dst: Path) -> Path:
    """The workflow and the library copied into ``dst`` (copy2: the files keep their mtimes, so a
    finished run's outputs stay newer than the copied library files)."""
    for name in ("Snakefile", "workflow", "config", "raw", "profiles"):
        src = ROOT / name
        if src.is_symlink():
            os.symlink(os.readlink(src), dst / name)
        elif src.is_dir():
            shutil.copytree(
                src, dst / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(src, dst / name)
    shutil.copytree(
        ROOT / "src/fmes", dst / "src/fmes", ignore=shutil.ignore_patterns("__pycache__")
    )
    return dst


@pytest.fixture(scope="module")
def repo_copy_run(tmp_path_factory) -> Path:
    """The workflow copied into a folder and run there with --cores 1.

    Inside a copy the library inputs (``lib(...)``) resolve to the copy's ``src/fmes`` files, so a
    test can edit them; the scripts still import the installed package, which a dry run never
    executes. The run doubles as the second clean run of the determinism tests (other folder,
    other core count than ``tiny_run``).
    """
    copy = copy_repository(tmp_path_factory.mktemp("repo_copy"))
    proc = subprocess.run(
        _copy_command(copy),
        cwd=copy,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    return copy


def copy_dry_run(copy: Path) -> dict[str, str]:
    proc = subprocess.run(
        _copy_command(copy, "--dry-run"), cwd=copy, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return planned(proc)


def _dry_run_after_editing(repo_copy_run: Path, tmp_path: Path, module: str) -> dict[str, str]:
    """The jobs a dry run plans in a fresh copy of the run after a comment is appended to
    ``src/fmes/<module>``."""
    copy = copy_run(repo_copy_run, tmp_path / "copy")
    path = copy / "src/fmes" / module
    path.write_text(path.read_text() + "\n# an edit\n")
    return copy_dry_run(copy)


def test_library_inputs_resolve_inside_a_copy(repo_copy_run):
    # guards the premise of the code-change tests: the lib() inputs are the copy's files
    jobs = planned(
        subprocess.run(
            _copy_command(repo_copy_run, "--dry-run", "--forcerun", "validate_traces"),
            cwd=repo_copy_run,
            capture_output=True,
            text=True,
        )
    )
    assert "validate_traces" in jobs
    assert copy_dry_run(repo_copy_run) == {}


def test_touching_a_module_reruns_nothing(repo_copy_run, tmp_path):
    copy = copy_run(repo_copy_run, tmp_path / "copy")
    module = copy / "src/fmes/data/traces.py"
    later = time.time() + 10
    os.utime(module, (later, later))  # newer mtime, same bytes: the checksum says unchanged
    assert copy_dry_run(copy) == {}


@pytest.mark.parametrize(
    ("module", "declared_by", "also_planned", "not_planned"),
    [
        # device/calibration.py is imported (via its script) by calibrate_device: all after reruns
        ("device/calibration", "calibrate_device", {"synthesize_traces", "validate_traces"}, set()),
        # data/traces.py is imported by the calibration too (calibration -> synthetic -> traces)
        ("data/traces", "calibrate_device", {"synthesize_traces", "validate_traces"}, set()),
    ],
)
def test_editing_a_module_marks_the_rules_that_import_it(
    repo_copy_run, tmp_path, module, declared_by, also_planned, not_planned
):
    jobs = _dry_run_after_editing(repo_copy_run, tmp_path, f"{module}.py")
    # the most upstream rule that imports the module names it as the reason; the rest follow
    assert jobs[declared_by].lower() == f"updated input files: src/fmes/{module}.py", jobs
    assert also_planned <= set(jobs)
    assert not set(jobs) & not_planned


@needs_networks
def test_editing_a_network_module_leaves_traces_and_analyses_alone(repo_copy_run, tmp_path):
    jobs = _dry_run_after_editing(repo_copy_run, tmp_path, "networks/estimators.py")
    assert jobs["networks_train"].lower() == "updated input files: src/fmes/networks/estimators.py"
    assert not set(jobs) & TRACE_RULES
    assert not {r for r in jobs if r.startswith("analyse_")}


@needs_analysis
def test_editing_an_analysis_module_reruns_analyses_not_traces(repo_copy_run, tmp_path):
    # fmes.analysis/__init__ imports nothing, so validate_traces (which needs pulse detection
    # only) does not depend on ppf.py; the analyses that import it rerun
    jobs = _dry_run_after_editing(repo_copy_run, tmp_path, "analysis/ppf.py")
    assert jobs["analyse_ppf"].lower() == "updated input files: src/fmes/analysis/ppf.py"
    assert not set(jobs) & TRACE_RULES


# One module per sub-package; each edit must rerun exactly the rules whose scripts import it
# (directly or through other fmes modules) and what depends on their outputs.
EDITED_MODULES = [
    "core/figures.py",  # the shared figure helpers: every rule that draws
    "workflow/config.py",  # also read when the job graph is built; a comment changes no job
    "data/targets.py",  # the paper's targets: calibration, comparison, claims
    "device/calibration.py",  # upstream of every trace
    "analysis/ppf.py",  # imported directly and through fmes.analysis.pipeline
    "networks/landscape.py",  # one rule: device_landscape
    "claims/comparison.py",  # one rule: paper_vs_reproduced
]


def _rules_by_script() -> dict[str, str]:
    """script name -> rule (each rule names its script once, as ``rule_script("<name>")``)."""
    rules = {}
    for smk in (ROOT / "workflow/rules").glob("*.smk"):
        rule = None
        for line in smk.read_text().splitlines():
            if m := re.match(r"^(?:rule|checkpoint) (\w+):", line):
                rule = m.group(1)
            elif rule and (m := re.search(r'rule_script\("(\w+)"\)', line)):
                rules[m.group(1)] = rule
    return rules


def rules_importing(module: str) -> set[str]:
    """The rules whose script imports ``src/fmes/<module>``, from the provenance closures."""
    target = str((ROOT / "src/fmes" / module).resolve())
    scripts = _rules_by_script()
    assert scripts, "no rule_script(...) found in workflow/rules"
    return {
        rule
        for name, rule in scripts.items()
        if target in library_files(ROOT / "workflow/scripts" / f"{name}.py", ROOT / "src")
    }


# Trigger set of the dry runs on a copy of the library: the copy's files have other paths than
# the ones the run recorded, and Snakemake's ``input`` trigger (the set of input paths changed)
# would mark every job for that reason alone. A library edit is seen through the others: an input
# newer than the outputs whose checksum differs from the recorded one.
TRIGGERS = ("--rerun-triggers", "mtime", "params", "code", "software-env")


def _dry_run_on_library(work: Path, repo: Path) -> dict[str, str]:
    """The jobs planned in ``work`` by the Snakefile of ``repo`` (whose src/fmes the rules track)."""
    command = [SNAKEMAKE, "-s", str(repo / "Snakefile"), "--directory", str(work), "--cores", "1"]
    command += ["--dry-run", *TRIGGERS, "--configfile", TINY]
    proc = subprocess.run(
        command, cwd=work, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return planned(proc)


@pytest.fixture(scope="module")
def library_copy(tmp_path_factory) -> Path:
    """The workflow and library copied once; each test edits one module and restores it."""
    return copy_repository(tmp_path_factory.mktemp("library_copy"))


@pytest.fixture(scope="module")
def tiny_dag(tiny_run, tmp_path_factory) -> tuple[set[str], set[str]]:
    """The rules of the tiny run's job graph, and those Snakemake still plans when the
    device_params checkpoint reruns (the jobs planned from its output wait until it has run)."""
    work = copy_run(tiny_run, tmp_path_factory.mktemp("tiny_dag") / "run")
    # every output of the finished run with its rule (a forced plan would hide the jobs after
    # the checkpoint, as it reruns)
    summary = run_snakemake(work, "--summary", "--configfile", TINY).stdout.splitlines()
    every = {row.split("\t")[2] for row in summary[1:] if row.count("\t") >= 2}
    assert {"calibrate_device", "networks_train", "run_summary"} <= every, summary[:5]
    return every, downstream_of(work, "device_params")


def test_a_copied_library_alone_reruns_nothing(tiny_run, tmp_path, library_copy):
    # the control of the test below: the copy, unedited, plans nothing under these triggers
    work = copy_run(tiny_run, tmp_path / "run")
    assert _dry_run_on_library(work, library_copy) == {}


@pytest.mark.parametrize("module", EDITED_MODULES)
def test_an_edit_in_each_subpackage_reruns_exactly_its_importers(
    tiny_run, tmp_path, library_copy, tiny_dag, module
):
    every, after_checkpoint = tiny_dag
    importers = rules_importing(module) & every  # a chunk rule the tiny run lacks is not planned
    assert importers, f"no rule of the tiny run imports {module}"
    work = copy_run(tiny_run, tmp_path / "run")
    path = library_copy / "src/fmes" / module
    text, stat = path.read_text(), path.stat()
    try:
        path.write_text(text + "\n# an edit\n")
        jobs = _dry_run_on_library(work, library_copy)
    finally:
        path.write_text(text)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    # the rules that give the edited file as their reason import it (Snakemake names one reason
    # per job: an importer downstream of another one gives that one's outputs instead)
    named = {rule for rule, reason in jobs.items() if f"src/fmes/{module}" in reason}
    assert named and named <= importers, jobs
    # the plan is what Snakemake itself schedules after them, nothing more
    assert set(jobs) == downstream_of(work, *named)
    # every importer is planned, or waits behind the device_params checkpoint, which reruns first
    deferred = importers - set(jobs)
    assert not deferred or "device_params" in jobs
    assert not deferred & after_checkpoint, deferred  # (these Snakemake would plan already)
    assert not deferred & after_checkpoint, deferred


# --- (2) one panel, --forcerun, overrides, raw data ---------------------------------------------


def test_one_output_file_rebuilds_one_rule_alone(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    target = (
        "results/figures/fig3a_ppf_fits.png"
        if stage_included("analysis")
        else "results/figures/calibration.png"
    )
    before = (work / target).read_bytes()
    (work / target).unlink()
    jobs = dry_run(work, target, "--configfile", TINY)
    assert len(jobs) == 1
    rule = next(iter(jobs))
    untouched = {p: p.stat().st_mtime_ns for p in (work / "results").rglob("*.csv")}
    proc = run_snakemake(work, target, "--configfile", TINY)
    assert set(planned(proc)) == {rule}
    assert (work / target).read_bytes() == before  # the same panel, byte for byte
    changed = [p for p, m in untouched.items() if p.stat().st_mtime_ns != m]
    # only the rule's own tables may be rewritten; identical content -> nothing downstream reruns
    assert dry_run(work, "--configfile", TINY) == {}, changed


def test_forcerun_reruns_rule_and_downstream_only(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    jobs = dry_run(work, "--forcerun", "validate_traces", "--configfile", TINY)
    assert jobs["validate_traces"].lower().startswith("forced execution")
    assert not {"calibrate_device", "synthesize_traces", "networks_mnist"} & set(
        jobs
    )  # upstream/unrelated
    if stage_included("analysis"):
        # every analysis of the working manifest, the scattered LTP/LTD chunk jobs and their
        # gather, and the device_params checkpoint after them
        assert {
            "analyse_pulse_response",
            "analyse_ppf",
            "analyse_acf",
            "analyse_retention",
            "analyse_energy",
            "trace_qc",
            "analyse_ltp_ltd_chunk",
            "analyse_ltp_ltd",
            "analyse_variability",
            "device_params",
        } <= set(jobs)
    # downstream *only*, derived independently of --forcerun: a changed working manifest (what the
    # forced job rewrites; a new mtime alone is not enough, small files are compared by checksum)
    # makes exactly the same jobs out of date
    with open(work / "results/traces/manifest.csv", "a") as manifest:
        manifest.write("\n")
    assert set(dry_run(work, "--configfile", TINY)) == set(jobs) - {"validate_traces"}


def test_config_override_on_the_command_line(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    jobs = dry_run(work, "--configfile", TINY, "--config", "seed=7")
    assert "params have changed" in jobs["synthesize_traces"].lower()
    assert "calibrate_device" not in jobs


def test_nested_numbers_on_the_command_line_arrive_as_text(tmp_path):
    # documented pitfall: --config parses nested values as strings; use --configfile for them
    proc = run_snakemake(
        tmp_path,
        "--dry-run",
        "--configfile",
        TINY,
        "--config",
        "variability={'cycles': 2}",
        check=False,
    )
    assert proc.returncode != 0
    assert "'2' is not of type 'integer'" in proc.stdout + proc.stderr


def test_raw_source_reanalysis_and_trace_edits(tmp_path):
    raw = tmp_path / "lab"
    shutil.copytree(ROOT / "raw", raw)
    work = tmp_path / "run"
    work.mkdir()
    source = f"traces={{'source': 'raw', 'raw_manifest': '{raw / 'manifest.csv'}'}}"
    run_snakemake(work, "results/traces/manifest.csv", "--configfile", TINY, "--config", source)
    # the working manifest points at the measured files (trace_path absolute, path relative to it)
    manifest = read_working_manifest(work / "results/traces/manifest.csv")
    assert len(manifest) == len(read_manifest(raw / "manifest.csv"))
    assert all(p.startswith(str(raw)) for p in manifest["trace_path"])
    assert not (work / "results/traces/synthetic").exists()  # the model is not needed for raw data
    # editing one measured trace reruns the validation (each listed trace is an input)
    trace = Path(manifest["trace_path"].iloc[0])
    lines = trace.read_text().splitlines()
    trace.write_text("\n".join(lines[:-1]) + "\n")  # drop the last sample: a real content change
    jobs = dry_run(work, "results/traces/manifest.csv", "--configfile", TINY, "--config", source)
    assert set(jobs) == {"validate_traces"}
    assert "updated input files" in jobs["validate_traces"].lower()


# --- (3) interruptions ---------------------------------------------------------------------------

# enough array traces that synthesize_traces is still writing when the signal arrives
SLOW = "variability:\n  rows: 4\n  cols: 4\n  cycles: 6\n"


def _run_and_interrupt(work: Path, command: list[str], sig: int, log_path: Path) -> int | None:
    """Start ``command``, send ``sig`` to its process group once synthesize_traces has begun
    writing trace files; the return code, or None if the run got to its end before the signal
    could stop it (the write phase is short, and a busy machine may schedule this poll late)."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command,
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # a shell starts background jobs (`nohup make test &`, some CI runners) with SIGINT
            # ignored, and an ignored signal stays ignored through exec: give the run the default
            # disposition a terminal's Ctrl-C meets
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        traces = work / "results/traces/synthetic/traces"
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                if any(traces.iterdir()):
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        if proc.poll() is not None:
            return None
        os.killpg(proc.pid, sig)  # the whole group, like Ctrl-C in a terminal or an OOM kill
        proc.wait(timeout=60)
    return None if proc.returncode == 0 else proc.returncode


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_run_leaves_nothing_taken_as_complete(tmp_path, sig):
    slow = write_yaml(tmp_path / "slow.yaml", SLOW)
    target = "results/traces/manifest.csv"
    for attempt in range(3):  # a fresh folder each time; every check below is on an interrupted run
        work = tmp_path / f"run{attempt}"
        work.mkdir()
        command = [
            SNAKEMAKE,
            target,
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(work),
            "--cores",
            "2",
            "--configfile",
            TINY,
            slow,
        ]
        if _run_and_interrupt(work, command, sig, tmp_path / f"first{attempt}.log") is not None:
            break
    else:
        raise AssertionError(
            "three runs ended before the signal could interrupt them:\n"
            + (tmp_path / "first2.log").read_text()[-3000:]
        )
    calibration = work / "results/calibration/cell_params.json"
    assert calibration.is_file()  # finished before the signal
    calibrated_at = calibration.stat().st_mtime_ns
    assert not (work / "results/traces/synthetic/manifest.csv").exists()
    assert not (work / target).exists()

    # the next plain run refuses to use the partial trace folder
    again = run_snakemake(work, target, "--configfile", TINY, slow, check=False)
    assert again.returncode != 0
    out = again.stdout + again.stderr
    assert "IncompleteFilesException" in out or "LockException" in out
    # the documented recovery (docs/operations.md): unlock (needed after SIGKILL), rerun incomplete
    run_snakemake(work, "--unlock", "--configfile", TINY, slow)
    done = run_snakemake(work, target, "--rerun-incomplete", "--configfile", TINY, slow)
    assert "calibrate_device" not in done.stdout + done.stderr  # nothing finished is recomputed
    assert calibration.stat().st_mtime_ns == calibrated_at
    manifest = read_manifest(work / "results/traces/synthetic/manifest.csv")
    assert len(manifest) == 42 + 4 * 4 * 6 * 2  # nominal traces + array (rows x cols x cycles x R)
    assert not list((work / "results").rglob("*.tmp"))
    assert dry_run(work, target, "--configfile", TINY, slow) == {}


# --- (4) determinism -----------------------------------------------------------------------------


def _compared_files(run: Path) -> list[Path]:
    patterns = [
        "results/tables/*.csv",
        "results/traces/manifest.csv",
        "results/traces/synthetic/manifest.csv",
        "results/traces/synthetic/traces/*.csv",
        "results/figures/*.png",
        "results/figures/*.pdf",
        "results/networks/*/*/*.csv",
    ]
    return sorted(p.relative_to(run) for pattern in patterns for p in run.glob(pattern))


def test_two_clean_runs_are_byte_identical_whatever_the_cores(tiny_run, repo_copy_run):
    # tiny_run: the whole DAG, --cores 2, one folder; repo_copy_run: a slice through every stage,
    # --cores 1, another folder. Everything the slice made must match byte for byte.
    files = _compared_files(repo_copy_run)
    assert {"results/figures/calibration.png", "results/tables/calibration.csv"} <= {
        str(f) for f in files
    }
    if stage_included("analysis"):
        assert {
            "results/tables/ppf_fits.csv",
            "results/tables/ltp_ltd_fits.csv",
            "results/tables/device_params.csv",
            "results/figures/fig3a_ppf_fits.png",
        } <= {str(f) for f in files}
    assert "results/traces/manifest.csv" in {str(f) for f in files}
    differ = [
        str(f) for f in files if (tiny_run / f).read_bytes() != (repo_copy_run / f).read_bytes()
    ]
    assert not differ
    # relocatable: no table names the folder it was made in (the working manifest included)
    assert not [
        str(f)
        for f in files
        if f.suffix == ".csv" and str(repo_copy_run) in (repo_copy_run / f).read_text()
    ]


def test_outputs_are_readable_by_others(tiny_run):
    # atomic writes go through mkstemp (mode 0600); fmes.core.io restores the umask's mode
    mode = (tiny_run / "results/traces/synthetic/manifest.csv").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


# --- cluster: the generic executor with a local submit script -------------------------------------


def test_generic_cluster_executor_runs_jobs_as_separate_processes(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    profile = ROOT / "workflow/profiles/cluster-generic"
    before = {
        p.name: p.read_bytes() for p in (work / "results/traces/synthetic/traces").glob("*.csv")
    }
    shutil.rmtree(work / "results/traces/synthetic")
    (work / "results/traces/manifest.csv").unlink()
    command = [
        SNAKEMAKE,
        "results/traces/manifest.csv",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(work),
        "--workflow-profile",
        str(profile),
        "--jobs",
        "2",
        "--configfile",
        TINY,
    ]
    expected = set(
        planned(subprocess.run([*command, "--dry-run"], cwd=work, capture_output=True, text=True))
    )
    assert {"synthesize_traces", "validate_traces"} <= expected
    proc = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    ids = re.findall(r"Submitted job \d+ with external jobid '(\d+)'", out)
    assert len(ids) == len(expected) and os.getpid() not in map(
        int, ids
    )  # each job its own process
    logs = sorted(
        p.name.split(".")[1] for p in (work / "results/logs/cluster").glob("snakejob.*.log")
    )
    assert logs == sorted(expected)  # written by submit.sh, one per job
    after = {
        p.name: p.read_bytes() for p in (work / "results/traces/synthetic/traces").glob("*.csv")
    }
    assert after == before
