# Stage 1: calibrated device model -> synthetic traces (or the user's raw traces) -> one manifest.


rule calibrate_device:
    input:
        targets=project_path(config["calibration"]["targets"]),
        code=script_code("calibrate_device"),
    output:
        params="results/calibration/cell_params.json",
        table=report_item(
            "results/tables/calibration.csv",
            caption="tables/calibration.rst",
            stage="Device model",
            subcategory="Calibration",
            panel="table",
            content="every numeric target: model vs paper",
        ),
        figure=report_item(
            "results/figures/calibration.png",
            caption="calibration.rst",
            stage="Device model",
            subcategory="Calibration",
            panel="Figs 2b, 2c, 3c (model)",
            content="equivalent circuit fitted to the paper's numbers",
        ),
    log:
        "results/logs/calibrate_device.log",
    benchmark:
        "results/benchmarks/calibrate_device.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        device=config["device"],
        calibration=config["calibration"],
        # only the protocols the calibration simulates (the other targets' conditions are in the
        # targets file, an input): a change of, say, the PPF grid must not rerun the calibration
        # (Snakemake reruns a rule whenever its params change)
        protocols={k: config["protocols"][k] for k in ("pulse_train", "ltp_ltd")},
    script:
        rule_script("calibrate_device")


rule synthesize_array_chunk:
    """One chunk of a large array campaign (whole devices of one state) straight to the store."""
    input:
        params=rules.calibrate_device.output.params,
        code=script_code("synthesize_array_chunk"),
    output:
        part="results/traces/synthetic/store/part-{chunk}.parquet",
    log:
        "results/logs/synthesize_array_chunk/{chunk}.log",
    benchmark:
        "results/benchmarks/synthesize_array_chunk/{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d{5}",
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    params:
        seed=config["seed"],
        ltp_ltd=config["protocols"]["ltp_ltd"],
        variability=config["variability"],
        noise=config["device"]["noise"],
        chunk_traces=STORE["chunk_traces"],
        batch_traces=STORE["batch_traces"],
    script:
        rule_script("synthesize_array_chunk")


rule synthesize_traces:
    input:
        params=rules.calibrate_device.output.params,
        store_parts=synthetic_store_parts,
        code=script_code("synthesize_traces"),
    output:
        manifest="results/traces/synthetic/manifest.csv",
        traces=directory("results/traces/synthetic/traces"),
    log:
        "results/logs/synthesize_traces.log",
    benchmark:
        "results/benchmarks/synthesize_traces.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        seed=config["seed"],
        resistances=config["resistances"],
        protocols=config["protocols"],
        variability=config["variability"],
        noise=config["device"]["noise"],
        chunk_traces=STORE["chunk_traces"],
    script:
        rule_script("synthesize_traces")


rule validate_store_part:
    """The trace checks of one part of a large synthetic campaign's store (scattered; one job per
    part, gathered by validate_traces)."""
    input:
        manifest=trace_source_manifest(),
        part="results/traces/synthetic/store/part-{chunk}.parquet",
        code=script_code("validate_store_part"),
    output:
        checked="results/chunks/validation/part-{chunk}.parquet",
    log:
        "results/logs/validate_store_part/{chunk}.log",
    benchmark:
        "results/benchmarks/validate_store_part/{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d{5}",
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        allow_outside=config["traces"]["allow_paths_outside_manifest_folder"],
        plausible=config["traces"]["plausible"],
        tolerance=config["traces"]["manifest_tolerance"],
    script:
        rule_script("validate_store_part")


rule validate_traces:
    input:
        manifest=trace_source_manifest(),
        traces=raw_trace_files,
        checked=validated_store_parts,
        code=script_code("validate_traces"),
    output:
        manifest="results/traces/manifest.csv",
        converted=directory("results/traces/converted"),
        store=directory("results/traces/store"),
    log:
        "results/logs/validate_traces.log",
    benchmark:
        "results/benchmarks/validate_traces.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=config["traces"]["source"],
        export=config["traces"]["export"],
        export_formats=config["traces"]["export_formats"],
        # raw campaigns this large are converted once into the Parquet store
        convert_to_store=config["traces"]["source"] == "raw" and stores_traces(),
        chunk_traces=STORE["chunk_traces"],
        batch_traces=STORE["batch_traces"],
        allow_outside=config["traces"]["allow_paths_outside_manifest_folder"],
        plausible=config["traces"]["plausible"],
        tolerance=config["traces"]["manifest_tolerance"],
    script:
        rule_script("validate_traces")


FINAL_OUTPUTS += [
    rules.calibrate_device.output.table,
    rules.calibrate_device.output.figure,
    rules.validate_traces.output.manifest,
]
