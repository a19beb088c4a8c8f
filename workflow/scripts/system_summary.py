"""Rule system_summary: training energy/time per state and the trained networks over time.

The tables are built by fmes.networks.system from the networks stage's per-run tables.
"""

from fmes.core.figures import save_figure, save_figure_or_placeholder
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.networks.figures import accuracy_over_time_figure, adc_figure, training_energy_figure
from fmes.networks.mnist import load_split
from fmes.networks.system import (
    gather_runs,
    holding_runs,
    inference_tables,
    kept_lines,
    training_energy_lines,
    training_energy_tables,
)


def main(snakemake) -> None:
    log = rule_logger("system_summary", snakemake.log[0])
    inp, out, P = snakemake.input, snakemake.output, snakemake.params
    curves, pulses = gather_runs(inp.curves), gather_runs(inp.pulses)
    holding = holding_runs(inp.curves, inp.weights)
    n_images = int(load_split(inp.split).y_train.size)
    training, summary, missing = training_energy_tables(
        curves, pulses, read_table(inp.device_params), P.tolerance, holding, n_images
    )
    for reason in missing:
        log.warning("no training energy: %s", reason)
    write_csv(training, out.training)
    write_csv(summary, out.training_summary)
    for line in training_energy_lines(summary, P.tolerance):
        log.info(line)
    states = [s for s in dict.fromkeys(curves["state"]) if s != "ideal"]

    def draw_training():
        fig, unpulsed = training_energy_figure(training, states)
        for run in unpulsed:
            log.warning("%s: no programming pulse during training", run)
        return fig

    save_figure_or_placeholder(
        out.fig_training,
        "Accuracy vs training energy",
        "no state has per-pulse energies" if training.empty else None,
        draw_training,
    )

    over_time, kept, adc = inference_tables(gather_runs(inp.inference), P.tolerance)
    write_csv(over_time, out.over_time)
    write_csv(kept, out.kept)
    for line in kept_lines(kept, P.tolerance):
        log.info(line)
    save_figure_or_placeholder(
        out.fig_time,
        "Accuracy vs time since training",
        "no state has a retention model" if over_time.empty else None,
        lambda: accuracy_over_time_figure(over_time, states),
    )
    write_csv(adc, out.adc)
    save_figure(adc_figure(adc, states), out.fig_adc)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
