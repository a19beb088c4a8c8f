# Stage: the paper-versus-reproduction table (and everything the HTML report gathers).


rule paper_vs_reproduced:
    input:
        targets=project_path(config["calibration"]["targets"]),
        # the calibrated model stands in for quantities the traces lack only when the traces are
        # the model's own (synthetic); a user's raw data are compared on their own
        calibration=(
            ["results/tables/calibration.csv"] if config["traces"]["source"] == "synthetic" else []
        ),
        manifest="results/traces/manifest.csv",
        analysis=[
            "results/tables/iv_current_at_target.csv",
            "results/tables/ppf_values.csv",
            "results/tables/pulse_response.csv",
            "results/tables/ltp_ltd_fits.csv",
            "results/tables/device_params.csv",
        ],
        networks="results/tables/network_accuracy.csv",
        adaptation=adaptation_tables,
        adaptation_energy=adaptation_energy_tables,
        robustness=ROBUSTNESS_TABLES,
        device_params=rules.device_params.output.params,
        provenance=rules.device_params.output.provenance,
        code=script_code("paper_vs_reproduced"),
    output:
        table=report_item(
            "results/tables/paper_vs_reproduced.csv",
            caption="tables/paper_vs_reproduced.rst",
            stage="Paper vs reproduction",
            subcategory="Paper table",
            panel="table",
            content="every value and claim, paper vs this run",
        ),
        figure=report_item(
            "results/figures/paper_vs_reproduced.png",
            caption="paper_vs_reproduced.rst",
            stage="Paper vs reproduction",
            subcategory="Paper table",
            panel="all panels",
            content="relative error of every target",
        ),
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
    params:
        nominal_device=config["analysis"]["nominal_device"],
        pulses=config["analysis"]["pulses"],
        t_ret_s=config["analysis"]["retention"]["t_ret_s"],
        train_frequency_Hz=config["protocols"]["pulse_train"]["frequency_Hz"],
        skipped_stages=SKIPPED_STAGES,
        adaptation_state=ADAPTATION["train"]["state"],
        adaptation_allow_non_ok=ADAPTATION["train"]["allow_non_ok_state"],
        # the network claims' status: their verdict under this scheme (claims_robustness.csv)
        default_variant=f"{NETWORKS['update']['mapping']}-{NETWORKS['update']['pulse_rule']}",
    script:
        rule_script("paper_vs_reproduced")


FINAL_OUTPUTS += [rules.paper_vs_reproduced.output.table, rules.paper_vs_reproduced.output.figure]


rule run_summary:
    input:
        unpack(summary_inputs),
    output:
        summary=report_item(
            "results/summary.md",
            caption="tables/run_summary.rst",
            stage="Paper vs reproduction",
            subcategory="Run summary",
            panel="summary",
            content="the run's numbers, written by the run (README links it)",
        ),
    log:
        "results/logs/run_summary.log",
    benchmark:
        "results/benchmarks/run_summary.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        rule_script("run_summary")


FINAL_OUTPUTS += [rules.run_summary.output.summary]
