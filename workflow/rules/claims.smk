# Stage: the paper's network claims under test (learning-rate search, update-scheme variants,
# claim robustness). Library: src/fmes/networks/training.py (training), src/fmes/claims/robustness.py
# (claims); schemes: docs/update_schemes.md.
# Like the networks and the adaptation, the stage is planned after the device_params checkpoint
# (fmes.workflow.planning via state_plan): which states have usable device parameters is known only then.

LR_SEARCH = NETWORKS["lr_search"]
ROBUSTNESS = NETWORKS["robustness"]
VARIANTS = [f"{m}-{r}" for m in ROBUSTNESS["mappings"] for r in ROBUSTNESS["pulse_rules"]]
ROBUSTNESS_TABLES = robustness_tables  # an input function (report.smk's paper table)


rule networks_lr_search:
    input:
        split=rules.networks_mnist.output.split,
        device_params="results/tables/device_params.csv",
        provenance="results/tables/device_params_provenance.csv",
        code=script_code("search_learning_rate"),
    output:
        table=report_item(
            "results/tables/learning_rate_search.csv",
            caption="tables/learning_rate_search.rst",
            stage="Networks",
            subcategory="Learning-rate search",
            panel="table",
            content="validation accuracy per learning rate",
        ),
    log:
        "results/logs/networks_lr_search.log",
    benchmark:
        "results/benchmarks/networks_lr_search.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        seed=config["seed"],
        search_seed=NETWORKS["seeds"][0],
        nets=NETWORKS["nets"],
        # the configured states; the script keeps those the device_params plan allows
        states=[*(["ideal"] if NETWORKS["ideal_baseline"] else []), *NETWORKS["resistances"]],
        allow_non_ok=NETWORKS["allow_non_ok_states"],
        net_params={net: NETWORKS[net] for net in NETWORKS["nets"]},
        batch_size=NETWORKS["batch_size"],
        w_max=NETWORKS["w_max"],
        update_scheme=NETWORKS["update"],
        lr_search=LR_SEARCH,
    script:
        rule_script("search_learning_rate")


rule claims_variant:
    input:
        split=rules.networks_mnist.output.split,
        device_params="results/tables/device_params.csv",
        provenance="results/tables/device_params_provenance.csv",
        cell_params="results/calibration/cell_params.json",
        targets=project_path(config["calibration"]["targets"]),
        code=script_code("claims_variant"),
    output:
        networks="results/robustness/{variant}/networks.csv",
        adaptation="results/robustness/{variant}/adaptation.csv",
        lr_search="results/robustness/{variant}/lr_search.csv",
        correct="results/robustness/{variant}/correct.npz",
    log:
        "results/logs/claims_variant/{variant}.log",
    benchmark:
        "results/benchmarks/claims_variant/{variant}.tsv"
    wildcard_constraints:
        variant="(per_state|shared)-(proportional|sign|stochastic)",
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=120,
    params:
        seed=config["seed"],
        # the script trains the net the paper's network claims select (paper_targets.yaml)
        net_params={net: NETWORKS[net] for net in ("perceptron", "mlp")},
        batch_size=NETWORKS["batch_size"],
        w_max=NETWORKS["w_max"],
        update_scheme=NETWORKS["update"],
        lr_search=LR_SEARCH,
        robustness=ROBUSTNESS,
        adaptation=ADAPTATION,
        # the script checks the robustness states and the adaptation's training state against
        # the device_params plan (fmes.workflow.planning), as the networks and the adaptation stages do
        allow_non_ok=NETWORKS["allow_non_ok_states"],
        adaptation_enabled=ROBUSTNESS["adaptation"],
    script:
        rule_script("claims_variant")


rule claims_robustness:
    input:
        networks=expand("results/robustness/{variant}/networks.csv", variant=VARIANTS),
        adaptation=expand("results/robustness/{variant}/adaptation.csv", variant=VARIANTS),
        lr_search=expand("results/robustness/{variant}/lr_search.csv", variant=VARIANTS),
        correct=expand("results/robustness/{variant}/correct.npz", variant=VARIANTS),
        targets=project_path(config["calibration"]["targets"]),
        code=script_code("claims_robustness"),
    output:
        table=report_item(
            "results/tables/claims_robustness.csv",
            caption="tables/claims_robustness.rst",
            stage="Paper vs reproduction",
            subcategory="Claim robustness",
            panel="table",
            content="each claim under each update scheme",
        ),
        learning_rates=report_item(
            "results/tables/claims_robustness_learning_rates.csv",
            caption="tables/claims_robustness_learning_rates.rst",
            stage="Paper vs reproduction",
            subcategory="Claim robustness",
            panel="table",
            content="validation accuracy vs learning rate per seed",
        ),
        learning_rate_figure=report_item(
            "results/figures/claims_learning_rates.png",
            caption="claims_learning_rates.rst",
            stage="Paper vs reproduction",
            subcategory="Claim robustness",
            panel="not a paper panel",
            content="learning-rate search per seed",
        ),
        figure=report_item(
            "results/figures/claims_robustness.png",
            caption="claims_robustness.rst",
            stage="Paper vs reproduction",
            subcategory="Claim robustness",
            panel="Figs 4d, 5f claims",
            content="claims under every update scheme",
        ),
    log:
        "results/logs/claims_robustness.log",
    benchmark:
        "results/benchmarks/claims_robustness.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seed=config["seed"],
        variants=VARIANTS,  # in the order of input.correct
        n_boot=ROBUSTNESS["n_boot"],
        confidence=ROBUSTNESS["confidence"],
        multiplicity=ROBUSTNESS["multiplicity"],
    script:
        rule_script("claims_robustness")


rule device_landscape:
    input:
        split=rules.networks_mnist.output.split,
        device_params="results/tables/device_params.csv",
        code=script_code("device_landscape"),
    output:
        table=report_item(
            "results/tables/device_landscape.csv",
            caption="tables/device_landscape.rst",
            stage="Networks",
            subcategory="Device landscape",
            panel="table",
            content="accuracy over the device grids",
        ),
        points="results/tables/device_landscape_states.csv",
        figure=report_item(
            "results/figures/device_landscape.png",
            caption="device_landscape.rst",
            stage="Networks",
            subcategory="Device landscape",
            panel="not a paper panel",
            content="fitted states among possible devices",
        ),
    log:
        "results/logs/device_landscape.log",
    benchmark:
        "results/benchmarks/device_landscape.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        seed=config["seed"],
        landscape=NETWORKS["landscape"],
        net_params=NETWORKS[NETWORKS["landscape"]["net"]],
        batch_size=NETWORKS["batch_size"],
        w_max=NETWORKS["w_max"],
        update_scheme=NETWORKS["update"],
    script:
        rule_script("device_landscape")


FINAL_OUTPUTS += [rules.networks_lr_search.output.table] if LR_SEARCH["enabled"] else []
FINAL_OUTPUTS += [
    landscape_outputs,
    robustness_outputs,
]  # planned after the device_params checkpoint
