# Stage: the trained networks as a system: training energy/time from the counted pulses, and
# accuracy over time since training (retention), with read noise and an output ADC. The
# per-run inputs come from networks_train (its _pulses.csv and _inference.csv outputs).

SYSTEM_RUNS = [path.removesuffix(".csv") for path in NET_RUNS]
system_fig = lambda name: report(
    f"results/figures/{name}.png",
    caption=f"../report/system/{name}.rst",
    category="6. System",
)


rule system_summary:
    input:
        curves=NET_RUNS,
        pulses=[f"{run}_pulses.csv" for run in SYSTEM_RUNS],
        inference=[f"{run}_inference.csv" for run in SYSTEM_RUNS],
        device_params="results/tables/device_params.csv",
        code=script_code("system_summary"),
    output:
        training="results/tables/training_energy.csv",
        training_summary="results/tables/training_energy_summary.csv",
        over_time="results/tables/accuracy_over_time.csv",
        kept="results/tables/accuracy_retention_summary.csv",
        adc="results/tables/accuracy_vs_adc.csv",
        fig_training=system_fig("training_energy"),
        fig_time=system_fig("accuracy_over_time"),
        fig_adc=system_fig("accuracy_vs_adc"),
    params:
        tolerance=config["inference"]["tolerance"],
    log:
        "results/logs/system_summary.log",
    benchmark:
        "results/benchmarks/system_summary.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        rule_script("system_summary")


FINAL_OUTPUTS += [*rules.system_summary.output]


ADAPTATION_ENERGY_TABLES = ["results/tables/adaptation_energy.csv"] if ADAPTATION_ENABLED else []


rule adaptation_energy:
    input:
        routes=expand("results/adaptation/seed{seed}_energy.csv", seed=ADAPTATION["seeds"]),
        code=script_code("adaptation_energy"),
    output:
        table="results/tables/adaptation_energy.csv",
        routes="results/tables/adaptation_energy_routes.csv",
        figure=system_fig("adaptation_energy"),
    log:
        "results/logs/adaptation_energy.log",
    benchmark:
        "results/benchmarks/adaptation_energy.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        rule_script("adaptation_energy")


if ADAPTATION_ENABLED:
    FINAL_OUTPUTS += [*rules.adaptation_energy.output]


rule export_devices:
    input:
        device_params="results/tables/device_params.csv",
        code=script_code("export_devices"),
    output:
        neurosim="results/exports/neurosim_device_params.txt",
        aihwkit="results/exports/aihwkit_softbounds_devices.json",
        roundtrip="results/tables/export_roundtrip.csv",
    params:
        tolerance=config["exports"]["roundtrip_tolerance"],
    log:
        "results/logs/export_devices.log",
    benchmark:
        "results/benchmarks/export_devices.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        rule_script("export_devices")


FINAL_OUTPUTS += [*rules.export_devices.output]
