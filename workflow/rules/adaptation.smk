# Stage: adaptive re-purposing of the trained network by resistance mapping (Fig 5).
# One job per seed (train on dataset1, map dataset2, evaluate device scheme + baselines), then
# one aggregation/figure job. Every config value reaches the scripts through params:.
from fmes.adaptation import check_digit_sets

ADAPTATION = config["adaptation"]
# fail at DAG build, naming the config key, rather than inside a job
check_digit_sets(ADAPTATION["dataset1"], ADAPTATION["dataset2"])
ADAPTATION_ENABLED = ADAPTATION["train"]["state"] in device_states()
if not ADAPTATION_ENABLED:
    skipped_stage(
        "adaptation (Fig 5)",
        f"{trace_source_manifest()} has no ltp_ltd traces at adaptation.train.state = "
        f"{ADAPTATION['train']['state']!r}",
        stage="adaptation",
    )


rule run_adaptation:
    input:
        split="results/networks/mnist.npz",
        device_params="results/tables/device_params.csv",
        cell_params="results/calibration/cell_params.json",
        code=script_code("run_adaptation"),
    output:
        table="results/adaptation/seed{seed}.csv",
        arrays="results/adaptation/seed{seed}.npz",
        energy="results/adaptation/seed{seed}_energy.csv",
    params:
        seed=config["seed"],
        dataset1=ADAPTATION["dataset1"],
        dataset2=ADAPTATION["dataset2"],
        train=ADAPTATION["train"],
        mapping=ADAPTATION["mapping"],
        finetune=ADAPTATION["finetune"],
        n_figure_samples=ADAPTATION["n_figure_samples"],
        retrain=ADAPTATION["retrain"],
    log:
        "results/logs/adaptation/seed{seed}.log",
    benchmark:
        "results/benchmarks/adaptation/seed{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/fmes.yaml"
    threads: 1  # 784 x K GEMMs are small: one BLAS thread per job, seeds in parallel
    resources:
        mem_mb=1500,
        runtime=15,
    script:
        rule_script("run_adaptation")


rule plot_adaptation:
    input:
        tables=expand("results/adaptation/seed{seed}.csv", seed=ADAPTATION["seeds"]),
        arrays=expand("results/adaptation/seed{seed}.npz", seed=ADAPTATION["seeds"]),
        paper_targets=project_path(config["calibration"]["targets"]),
        code=script_code("plot_adaptation"),
    output:
        table="results/tables/adaptation.csv",
        fig5b=report(
            "results/figures/fig5b_weights_before.png",
            caption="../report/adaptation/fig5b_weights_before.rst",
            category="5. Adaptation",
        ),
        fig5e=report(
            "results/figures/fig5e_weights_after.png",
            caption="../report/adaptation/fig5e_weights_after.rst",
            category="5. Adaptation",
        ),
        fig5f=report(
            "results/figures/fig5f_accuracy_vs_images.png",
            caption="../report/adaptation/fig5f_accuracy_vs_images.rst",
            category="5. Adaptation",
        ),
        fig5g=report(
            "results/figures/fig5g_classification.png",
            caption="../report/adaptation/fig5g_classification.rst",
            category="5. Adaptation",
        ),
        fig5hi=report(
            "results/figures/fig5hi_probabilities.png",
            caption="../report/adaptation/fig5hi_probabilities.rst",
            category="5. Adaptation",
        ),
    params:
        seeds=ADAPTATION["seeds"],
        figure_seed=ADAPTATION["figure_seed"],
    log:
        "results/logs/plot_adaptation.log",
    benchmark:
        "results/benchmarks/plot_adaptation.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        rule_script("plot_adaptation")


if ADAPTATION_ENABLED:
    FINAL_OUTPUTS += [*rules.plot_adaptation.output]
