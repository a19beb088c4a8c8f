# Stage: adaptive re-purposing of the trained network by resistance mapping (Fig 5).
# One job per seed (train on dataset1, map dataset2, evaluate device scheme + baselines), then
# one aggregation/figure job. Every config value reaches the scripts through params:.
from fmes.workflow.config import check_digit_sets

ADAPTATION = config["adaptation"]
# fail at DAG build, naming the config key, rather than inside a job
check_digit_sets(ADAPTATION["dataset1"], ADAPTATION["dataset2"])


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
    params:
        seed=config["seed"],
        dataset1=ADAPTATION["dataset1"],
        dataset2=ADAPTATION["dataset2"],
        train=ADAPTATION["train"],
        mapping=ADAPTATION["mapping"],
        finetune=ADAPTATION["finetune"],
        n_figure_samples=ADAPTATION["n_figure_samples"],
        retrain=ADAPTATION["retrain"],
        cost=ADAPTATION["cost"],
        sensitivity=ADAPTATION["sensitivity"],
    script:
        rule_script("run_adaptation")


rule plot_adaptation:
    input:
        tables=expand("results/adaptation/seed{seed}.csv", seed=ADAPTATION["seeds"]),
        arrays=expand("results/adaptation/seed{seed}.npz", seed=ADAPTATION["seeds"]),
        paper_targets=project_path(config["calibration"]["targets"]),
        code=script_code("plot_adaptation"),
    output:
        table=report_item(
            "results/tables/adaptation.csv",
            caption="tables/adaptation.rst",
            stage="Adaptation",
            subcategory="Resistance mapping (Fig 5)",
            panel="table",
            content="accuracies per method and image count",
        ),
        fig5b=report_item(
            "results/figures/fig5b_weights_before.png",
            caption="adaptation/fig5b_weights_before.rst",
            stage="Adaptation",
            subcategory="Resistance mapping (Fig 5)",
            panel="Fig 5b",
            content="weight maps before adaptation",
        ),
        fig5e=report_item(
            "results/figures/fig5e_weights_after.png",
            caption="adaptation/fig5e_weights_after.rst",
            stage="Adaptation",
            subcategory="Resistance mapping (Fig 5)",
            panel="Fig 5e",
            content="weight maps after adaptation",
        ),
        fig5f=report_item(
            "results/figures/fig5f_accuracy_vs_images.png",
            caption="adaptation/fig5f_accuracy_vs_images.rst",
            stage="Adaptation",
            subcategory="Resistance mapping (Fig 5)",
            panel="Fig 5f",
            content="accuracy vs mapped images",
        ),
        fig5g=report_item(
            "results/figures/fig5g_classification.png",
            caption="adaptation/fig5g_classification.rst",
            stage="Adaptation",
            subcategory="Resistance mapping (Fig 5)",
            panel="Fig 5g",
            content="classification of samples",
        ),
        fig5hi=report_item(
            "results/figures/fig5hi_probabilities.png",
            caption="adaptation/fig5hi_probabilities.rst",
            stage="Adaptation",
            subcategory="Resistance mapping (Fig 5)",
            panel="Figs 5h, 5i",
            content="class probabilities",
        ),
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
    params:
        seeds=ADAPTATION["seeds"],
        figure_seed=ADAPTATION["figure_seed"],
    script:
        rule_script("plot_adaptation")


FINAL_OUTPUTS += [adaptation_outputs]
