"""Rule plot_adaptation: aggregate the per-seed adaptation runs and draw the Fig 5 panels.

Writes results/tables/adaptation.csv (method x n_images: mean and std over seeds of the dataset2
and dataset1 accuracies, with the paper's values beside the device rows) and Fig 5b, 5e, 5f, 5g
and 5h/i (one seed: params.figure_seed).
"""

import numpy as np
import pandas as pd

from fmes.core.figures import plt, save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.data.targets import load_targets
from fmes.networks.adaptation import adaptation_table, prediction_outcome, true_class_probability

METHOD_NAMES = {
    "device": "FMES resistance mapping (device)",
    "ideal_linear": "same mapping, ideal linear weights",
    "finetune": "ideal gradient fine-tuning",
}


def weight_maps(states_V: np.ndarray, digits: list[int], title: str):
    """One 28x28 map of device states per output (Fig 5b/5e)."""
    n_out = len(digits)
    # robust limits per figure: the device window is far wider than either set of states
    vmin_mV, vmax_mV = np.percentile(states_V * 1e3, [0.5, 99.5])
    fig, axes = plt.subplots(
        1,
        n_out + 1,
        figsize=(2.0 * n_out + 0.8, 2.5),
        gridspec_kw={"width_ratios": [1] * n_out + [0.07]},
    )
    for k, ax in enumerate(axes[:n_out]):
        im = ax.imshow(
            states_V[k].reshape(28, 28) * 1e3, cmap="viridis", vmin=vmin_mV, vmax=vmax_mV
        )
        ax.set(title=f"output {k}: '{digits[k]}'", xticks=[], yticks=[])
        ax.grid(False)
    fig.colorbar(im, cax=axes[n_out], label="device state, PSV (mV)")
    fig.suptitle(title)
    return fig


def accuracy_figure(agg: pd.DataFrame, paper: dict, d1: list[int], d2: list[int]):
    """Fig 5f: both accuracies against the number of mapped dataset2 images."""
    fig, (ax2, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, group in agg.groupby("method", sort=False):
        x = group["n_images"].to_numpy()
        xs = np.where(x == 0, 0.5, x)  # 0 images drawn at 0.5 on the log axis
        for ax, col in ((ax2, "accuracy_dataset2"), (ax1, "accuracy_dataset1")):
            m, s = group[f"{col}_mean"].to_numpy() * 100, group[f"{col}_std"].to_numpy() * 100
            ax.plot(xs, m, "o-", ms=3, label=METHOD_NAMES.get(method, method))
            ax.fill_between(xs, m - s, m + s, alpha=0.2)
    ax2.plot(
        [0.5],
        [paper.get("adaptation_dataset2_before", np.nan) * 100],
        "k*",
        ms=10,
        label="paper, before",
    )
    for ax, target, ls, label in (
        (ax2, "adaptation_dataset2_after", "--", "paper, after (Fig 5f)"),
        (ax1, "adaptation_dataset1_accuracy", ":", "paper, dataset1 before"),
    ):
        ax.axhline(paper.get(target, np.nan) * 100, color="k", ls=ls, lw=1, label=label)
    for ax, dataset, title in (
        (ax2, "dataset2", f"dataset2 {d2} (mean ± std, {agg['n_seeds'].max()} seeds)"),
        (ax1, "dataset1", f"dataset1 {d1}: forgetting"),
    ):
        ax.set(
            xscale="log",
            xlabel="mapped dataset2 images (count; 0 drawn at 0.5)",
            ylabel=f"{dataset} test accuracy (%)",
            ylim=(0, 100),
            title=title,
        )
    ax2.legend(loc="lower right")
    ax1.legend(loc="upper right")
    return fig


def classification_figure(arr: dict, d2: list[int]):
    """Fig 5g: the class predicted for each figure sample, before and after adaptation."""
    labels = arr["figure_labels"]
    n_s = len(labels)
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True)
    for ax, proba, name in (
        (axes[0], arr["proba_before"], "before"),
        (axes[1], arr["proba_after"], "after"),
    ):
        pred, ok = prediction_outcome(proba, labels)
        idx = np.arange(n_s)
        ax.step(idx, labels, where="mid", color="0.6", lw=1, label="true class")
        ax.plot(idx[ok], pred[ok], "o", ms=3, color="tab:green", label="predicted, correct")
        ax.plot(idx[~ok], pred[~ok], "x", ms=4, color="tab:red", label="predicted, wrong")
        ax.set(
            yticks=range(len(d2)),
            yticklabels=[f"'{d}'" for d in d2],
            ylabel="class (dataset2 digit)",
            title=f"{name} adaptation: {ok.mean() * 100:.1f}% of {n_s} samples correct",
        )
    axes[1].set_xlabel("sample index (sorted by true class)")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def probability_figure(arr: dict, d2: list[int]):
    """Fig 5h/5i: per-sample class probabilities before and after adaptation."""
    labels = arr["figure_labels"]
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8), gridspec_kw={"width_ratios": [1, 1, 0.04]})
    for ax, proba, name in (
        (axes[0], arr["proba_before"], "(h) before"),
        (axes[1], arr["proba_after"], "(i) after"),
    ):
        im = ax.imshow(
            proba.T, aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest"
        )
        for b in np.flatnonzero(np.diff(labels)) + 0.5:
            ax.axvline(b, color="w", lw=0.8)
        correct = true_class_probability(proba, labels)
        ax.set(
            title=f"{name} adaptation: mean p(true class) = {correct:.2f}",
            xlabel="sample index (sorted by true class)",
            yticks=range(len(d2)),
            yticklabels=[f"'{d}'" for d in d2],
        )
        ax.grid(False)
    axes[0].set_ylabel("output class (dataset2 digit)")
    fig.colorbar(im, cax=axes[2], label="softmax probability (1)")
    return fig


def main(snakemake) -> None:
    log = rule_logger("plot_adaptation", snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    runs = pd.concat([read_table(path) for path in snakemake.input.tables], ignore_index=True)
    log.info("%d seeds, %d rows", runs["seed"].nunique(), len(runs))
    agg = adaptation_table(runs)
    write_csv(agg, out.table)
    for method, group in agg.groupby("method", sort=False):
        first, last = group.iloc[0], group.iloc[-1]
        log.info(
            "%s: dataset2 %.3f -> %.3f +- %.3f (n=%d), dataset1 %.3f -> %.3f +- %.3f",
            method,
            first.accuracy_dataset2_mean,
            last.accuracy_dataset2_mean,
            last.accuracy_dataset2_std,
            last.n_images,
            first.accuracy_dataset1_mean,
            last.accuracy_dataset1_mean,
            last.accuracy_dataset1_std,
        )
    paper = {t["id"]: t.get("value", np.nan) for t in load_targets(snakemake.input.paper_targets)}

    seeds = list(p.seeds)
    arrays_path = snakemake.input.arrays[seeds.index(p.figure_seed)]  # validated: one of seeds
    with np.load(arrays_path) as data:
        arr = {k: data[k] for k in data.files}
    d1, d2 = arr["dataset1"].tolist(), arr["dataset2"].tolist()
    save_figure(
        weight_maps(
            arr["weights_before_V"], d1, "trained on dataset1 (open state), before adaptation"
        ),
        out.fig5b,
    )
    n_max = int(arr["n_images"][-1])
    save_figure(
        weight_maps(arr["weights_after_V"], d2, f"after mapping {n_max} dataset2 images"),
        out.fig5e,
    )
    save_figure(accuracy_figure(agg, paper, d1, d2), out.fig5f)
    save_figure(classification_figure(arr, d2), out.fig5g)
    save_figure(probability_figure(arr, d2), out.fig5hi)
    log.info("figures written")


if __name__ == "__main__":
    main(globals()["snakemake"])
