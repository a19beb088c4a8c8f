# Stage: the paper-versus-reproduction table (and everything the HTML report gathers).

ADAPTATION_TABLES = ["results/tables/adaptation.csv"] if ADAPTATION_ENABLED else []


rule paper_vs_reproduced:
    input:
        targets=project_path(config["calibration"]["targets"]),
        # the calibrated model stands in for quantities the traces lack only when the traces are
        # the model's own (synthetic); a user's raw data are compared on their own
        calibration=(["results/tables/calibration.csv"] if config["traces"]["source"] == "synthetic" else []),
        manifest="results/traces/manifest.csv",
        analysis=[
            "results/tables/iv_current_at_target.csv",
            "results/tables/ppf_values.csv",
            "results/tables/pulse_response.csv",
            "results/tables/ltp_ltd_fits.csv",
            "results/tables/device_params.csv",
        ],
        networks="results/tables/network_accuracy.csv",
        adaptation=ADAPTATION_TABLES,
        adaptation_energy=ADAPTATION_ENERGY_TABLES,
        robustness=ROBUSTNESS_TABLES,
        code=script_code("paper_vs_reproduced"),
    output:
        table="results/tables/paper_vs_reproduced.csv",
        figure=report(
            "results/figures/paper_vs_reproduced.png",
            caption="../report/paper_vs_reproduced.rst",
            category="6. Paper vs reproduction",
        ),
    params:
        nominal_device=config["analysis"]["nominal_device"],
        skipped_stages=SKIPPED_STAGES,
    log:
        "results/logs/paper_vs_reproduced.log",
    benchmark:
        "results/benchmarks/paper_vs_reproduced.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        rule_script("paper_vs_reproduced")


FINAL_OUTPUTS += [rules.paper_vs_reproduced.output.table, rules.paper_vs_reproduced.output.figure]
