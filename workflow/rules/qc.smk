# Stage: per-trace quality control of the robust read-out (results/qc/): one row per trace and
# figures of the detected edges, peaks, baselines and reads on the raw signal.


rule trace_qc:
    input:
        manifest="results/traces/manifest.csv",
        code=script_code("trace_qc"),
    output:
        table=report_item(
            "results/qc/trace_qc.csv",
            caption="tables/trace_qc.rst",
            stage="Trace QC",
            subcategory="QC table",
            panel="table",
            content="one row per trace",
        ),
        figures=report_item(
            directory("results/qc/figures"),
            patterns=["{name}.png"],
            caption="qc.rst",
            stage="Trace QC",
            subcategory="QC figures",
            panel="QC",
            content="trace {name}",
        ),
    log:
        "results/logs/trace_qc.log",
    benchmark:
        "results/benchmarks/trace_qc.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    params:
        pulses=config["analysis"]["pulses"],
        qc=config["analysis"]["qc"],
    script:
        rule_script("trace_qc")


FINAL_OUTPUTS += [*rules.trace_qc.output]
