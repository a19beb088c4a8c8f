# Stage: per-trace quality control of the robust read-out (results/qc/): one row per trace and
# figures of the detected edges, peaks, baselines and reads on the raw signal.


rule trace_qc:
    input:
        manifest="results/traces/manifest.csv",
        code=script_code("trace_qc"),
    output:
        table="results/qc/trace_qc.csv",
        figures=report(
            directory("results/qc/figures"),
            patterns=["{name}.png"],
            caption="../report/qc.rst",
            category="QC",
        ),
    params:
        pulses=config["analysis"]["pulses"],
        qc=config["analysis"]["qc"],
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
    script:
        rule_script("trace_qc")


FINAL_OUTPUTS += [*rules.trace_qc.output]
