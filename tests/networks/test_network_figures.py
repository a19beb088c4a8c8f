"""The network stage's figures are drawn from their tables (fmes.networks.figures)."""

import pandas as pd

from fmes.core.figures import plt
from fmes.networks.figures import training_energy_figure


def test_training_energy_figure_draws_pulsed_runs_and_names_the_unpulsed_ones():
    rows = []
    for state, energy_J in (("500", 1e-6), ("open", 0.0)):
        for seed in (0, 1):
            for epoch in (1, 2):
                rows.append(
                    {
                        "net": "mlp",
                        "state": state,
                        "seed": seed,
                        "epoch": epoch,
                        "cumulative_energy_J": energy_J * epoch,
                        "test_accuracy": 0.5 + 0.1 * epoch + 0.01 * seed,
                    }
                )
    fig, unpulsed = training_energy_figure(pd.DataFrame(rows), ["500", "open"])
    assert unpulsed == ["mlp open"]  # nothing to draw on the log energy axis
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["500 Ω"]
    assert ax.get_xscale() == "log" and ax.get_title() == "mlp"
    plt.close(fig)
