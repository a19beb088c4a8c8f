# Stage: the trained networks as a system: training energy/time from the counted pulses, and
# accuracy over time since training (retention), with read noise and an output ADC. The
# per-run inputs come from networks_train (its _pulses.csv and _inference.csv outputs).
# Library: src/fmes/networks/system.py (tables).


rule system_summary:
    input:
        # the runs planned after the device_params checkpoint (common.smk, net_runs)
        curves=net_runs,
        pulses=lambda wc: [path.removesuffix(".csv") + "_pulses.csv" for path in net_runs(wc)],
        inference=lambda wc: [path.removesuffix(".csv") + "_inference.csv" for path in net_runs(wc)],
        # the trained device voltages (holding energy) and the training set's size
        weights=lambda wc: [path.removesuffix(".csv") + ".npz" for path in net_runs(wc)],
        split="results/networks/mnist.npz",
        device_params="results/tables/device_params.csv",
        code=script_code("system_summary"),
    output:
        training="results/tables/training_energy.csv",
        training_summary=system_item(
            "results/tables/training_energy_summary.csv",
            topic="Training energy",
            panel="table",
            content="energy and time to the final accuracy",
        ),
        over_time="results/tables/accuracy_over_time.csv",
        kept=system_item(
            "results/tables/accuracy_retention_summary.csv",
            topic="Inference over time",
            panel="table",
            content="how long each state keeps its accuracy",
        ),
        adc=system_item(
            "results/tables/accuracy_vs_adc.csv",
            topic="Output ADC",
            panel="table",
            content="accuracy per ADC resolution",
        ),
        fig_training=system_item(
            "results/figures/training_energy.png",
            topic="Training energy",
            panel="not a paper panel",
            content="accuracy vs cumulative training energy",
        ),
        fig_time=system_item(
            "results/figures/accuracy_over_time.png",
            topic="Inference over time",
            panel="not a paper panel",
            content="accuracy vs time since training",
        ),
        fig_adc=system_item(
            "results/figures/accuracy_vs_adc.png",
            topic="Output ADC",
            panel="not a paper panel",
            content="accuracy vs ADC bits",
        ),
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
    params:
        tolerance=config["inference"]["tolerance"],
    script:
        rule_script("system_summary")


FINAL_OUTPUTS += [*rules.system_summary.output]


rule adaptation_energy:
    input:
        routes=expand("results/adaptation/seed{seed}_energy.csv", seed=ADAPTATION["seeds"]),
        code=script_code("adaptation_energy"),
    output:
        table=system_item(
            "results/tables/adaptation_energy.csv",
            topic="Adaptation energy",
            panel="table",
            content="mapping / retraining at matched accuracy: ratios, interval, verdict",
        ),
        seeds="results/tables/adaptation_energy_seeds.csv",
        routes=system_item(
            "results/tables/adaptation_energy_routes.csv",
            topic="Adaptation energy",
            panel="table",
            content="both routes per image count: accuracies, pulses, energies, time",
        ),
        figure=system_item(
            "results/figures/adaptation_energy.png",
            topic="Adaptation energy",
            panel="Fig 5 claim",
            content="accuracy vs programming energy: mapping vs retraining",
        ),
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
    params:
        cost=ADAPTATION["cost"],
    script:
        rule_script("adaptation_energy")


FINAL_OUTPUTS += [adaptation_energy_outputs]  # planned after the device_params checkpoint


rule export_devices:
    input:
        device_params="results/tables/device_params.csv",
        code=script_code("export_devices"),
    output:
        neurosim=system_item(
            "results/exports/neurosim_device_params.txt",
            topic="Exports",
            panel="export",
            content="NeuroSim device parameters",
        ),
        aihwkit=system_item(
            "results/exports/aihwkit_softbounds_devices.json",
            topic="Exports",
            panel="export",
            content="AIHWKit soft-bounds devices",
        ),
        roundtrip=system_item(
            "results/tables/export_roundtrip.csv",
            topic="Exports",
            panel="table",
            content="round trip of the exports",
        ),
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
    params:
        tolerance=config["exports"]["roundtrip_tolerance"],
    script:
        rule_script("export_devices")


FINAL_OUTPUTS += [*rules.export_devices.output]
