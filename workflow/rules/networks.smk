# Stage: device-constrained networks (Fig 4). One training job per network x state x seed.
# A state is a resistance label from results/tables/device_params.csv, or "ideal" (float weights).

NETWORKS = config["networks"]
_unconfigured = [s for s in NETWORKS["resistances"] if s not in config["resistances"]]
if _unconfigured and config["traces"]["source"] == "synthetic":
    # device_params.csv has rows only for the states in `resistances`: fail at parse time
    raise WorkflowError(
        f"config networks.resistances {_unconfigured} are not in resistances {config['resistances']}"
    )


rule networks_mnist:
    input:
        idx=mnist_inputs,
        code=script_code("prepare_mnist"),
    output:
        split="results/networks/mnist.npz",
    log:
        "results/logs/networks_mnist.log",
    benchmark:
        "results/benchmarks/networks_mnist.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        mnist={**config["mnist"], "source": mnist_source()},
        seed=config["seed"],
    script:
        rule_script("prepare_mnist")


# The leakage resistance the paper's retention allows (lower: exactly its retention target;
# upper: inference.leakage.upper_factor x the model's) and each trained state's τ across it.
rule leakage_bracket:
    input:
        cell_params="results/calibration/cell_params.json",
        targets=project_path(config["calibration"]["targets"]),
        code=script_code("leakage_bracket"),
    output:
        table=system_item(
            "results/tables/leakage_bracket.csv",
            topic="Inference over time",
            panel="table",
            content="leakage resistance bracket and retention τ per state",
        ),
    log:
        "results/logs/leakage_bracket.log",
    benchmark:
        "results/benchmarks/leakage_bracket.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        pulse_train=config["protocols"]["pulse_train"],
        leakage=config["inference"]["leakage"],
        resistances=NETWORKS["resistances"],
    script:
        rule_script("leakage_bracket")


# One job per (net, state) trains every seed in-process (data and device parameters loaded once;
# each seed's files are byte-identical to those of a one-seed job): the figure seed is trained
# with them when it is not one of the seeds.
NET_TRAIN_SEEDS = sorted({*NETWORKS["seeds"], NETWORKS["figure_seed"]})


rule networks_train:
    input:
        split=rules.networks_mnist.output.split,
        device_params=device_params_input,
        retention_fits=lambda wc: (
            [] if wc.state == "ideal" else ["results/tables/retention_fits.csv"]
        ),
        ltp_ltd_fits=lambda wc: [] if wc.state == "ideal" else ["results/tables/ltp_ltd_fits.csv"],
        leakage_bracket=lambda wc: (
            [] if wc.state == "ideal" else [rules.leakage_bracket.output.table]
        ),
        code=script_code("train_network"),
    output:
        curves=expand("results/networks/{{net}}/{{state}}/seed{seed}.csv", seed=NET_TRAIN_SEEDS),
        weights=expand("results/networks/{{net}}/{{state}}/seed{seed}.npz", seed=NET_TRAIN_SEEDS),
        pulses=expand(
            "results/networks/{{net}}/{{state}}/seed{seed}_pulses.csv", seed=NET_TRAIN_SEEDS
        ),
        inference=expand(
            "results/networks/{{net}}/{{state}}/seed{seed}_inference.csv", seed=NET_TRAIN_SEEDS
        ),
    log:
        "results/logs/networks/{net}_{state}.log",
    benchmark:
        "results/benchmarks/networks/{net}_{state}.tsv"
    wildcard_constraints:
        net="perceptron|mlp",
        state=r"ideal|open|[1-9][0-9]*",
    conda:
        "../envs/fmes.yaml"
    threads: 1  # mini-batch GEMMs are small: one BLAS thread per job, jobs in parallel
    resources:
        mem_mb=1000,
        runtime=30 * len(NET_TRAIN_SEEDS),
    params:
        seed=config["seed"],
        seeds=NET_TRAIN_SEEDS,
        net=lambda wc: NETWORKS[wc.net],
        epochs=NETWORKS["epochs"],
        batch_size=NETWORKS["batch_size"],
        w_max=NETWORKS["w_max"],
        digit=NETWORKS["figure_digit"],
        update_scheme=NETWORKS["update"],
        nominal_device=config["analysis"]["nominal_device"],
        inference=config["inference"],
        allow_non_ok=NETWORKS["allow_non_ok_states"],
    script:
        rule_script("train_network")


rule networks_aggregate:
    input:
        curves=net_runs,
        device_params=rules.device_params.output.params,
        provenance=rules.device_params.output.provenance,
        # the paper's Fig 4d accuracies beside this run's (its networks targets)
        targets=project_path(config["calibration"]["targets"]),
        code=script_code("aggregate_networks"),
    output:
        table=report_item(
            "results/tables/network_accuracy.csv",
            caption="tables/network_accuracy.rst",
            stage="Networks",
            subcategory="MNIST training (Fig 4)",
            panel="table",
            content="accuracy per net and state",
        ),
        curves="results/tables/network_accuracy_curves.csv",
    log:
        "results/logs/networks_aggregate.log",
    benchmark:
        "results/benchmarks/networks_aggregate.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nets=NETWORKS["nets"],
        resistances=NETWORKS["resistances"],
        allow_non_ok=NETWORKS["allow_non_ok_states"],
    script:
        rule_script("aggregate_networks")


rule networks_figures:
    input:
        table=rules.networks_aggregate.output.table,
        curves=rules.networks_aggregate.output.curves,
        weights=net_figure_weights,
        code=script_code("plot_networks"),
    output:
        fig4c=report_item(
            "results/figures/fig4c_weights_digit3.png",
            caption="networks/fig4c.rst",
            stage="Networks",
            subcategory="MNIST training (Fig 4)",
            panel="Fig 4c",
            content="weight maps into one output",
        ),
        fig4d=report_item(
            "results/figures/fig4d_accuracy.png",
            caption="networks/fig4d.rst",
            stage="Networks",
            subcategory="MNIST training (Fig 4)",
            panel="Fig 4d",
            content="test accuracy per state",
        ),
        fig4ef=report_item(
            "results/figures/fig4ef_state_distributions.png",
            caption="networks/fig4ef.rst",
            stage="Networks",
            subcategory="MNIST training (Fig 4)",
            panel="Figs 4e, 4f",
            content="device-state distributions",
        ),
    log:
        "results/logs/networks_figures.log",
    benchmark:
        "results/benchmarks/networks_figures.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        nets=NETWORKS["nets"],
        digit=NETWORKS["figure_digit"],
        seed=NETWORKS["figure_seed"],
    script:
        rule_script("plot_networks")


FINAL_OUTPUTS += [
    rules.networks_aggregate.output.table,
    rules.networks_figures.output.fig4c,
    rules.networks_figures.output.fig4d,
    rules.networks_figures.output.fig4ef,
]


# What decay between updates during training costs: the perceptron at every trained state with
# and without it (inference.training_decay's update period; the figure seed, default update).
rule training_decay_effect:
    input:
        split=rules.networks_mnist.output.split,
        device_params="results/tables/device_params.csv",
        retention_fits="results/tables/retention_fits.csv",
        ltp_ltd_fits="results/tables/ltp_ltd_fits.csv",
        code=script_code("training_decay_effect"),
    output:
        table=system_item(
            "results/tables/training_decay_effect.csv",
            topic="Inference over time",
            panel="table",
            content="accuracy with and without decay between updates",
        ),
    log:
        "results/logs/training_decay_effect.log",
    benchmark:
        "results/benchmarks/training_decay_effect.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        seed=config["seed"],
        figure_seed=NETWORKS["figure_seed"],
        resistances=NETWORKS["resistances"],
        epochs=NETWORKS["epochs"],
        batch_size=NETWORKS["batch_size"],
        learning_rate=NETWORKS["perceptron"]["learning_rate"],
        w_max=NETWORKS["w_max"],
        nominal_device=config["analysis"]["nominal_device"],
        reference=config["inference"]["reference"],
        training_decay=config["inference"]["training_decay"],
    script:
        rule_script("training_decay_effect")


FINAL_OUTPUTS += [*rules.training_decay_effect.output]
