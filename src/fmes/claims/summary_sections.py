"""The sections of the run summary (``results/summary.md``): which table, which columns.

Standard library only: the workflow reads :func:`summary_table_paths` when it builds the job
graph, which must need nothing beyond Snakemake (``tests/workflow/test_snakemake_alone.py``).
:mod:`fmes.claims.summary` renders the page. Adding a section is one more entry of
:data:`SUMMARY_SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["SUMMARY_SECTIONS", "SummarySection", "summary_table_paths"]


@dataclass(frozen=True)
class SummarySection:
    """One section of the summary page.

    Parameters
    ----------
    title : str
        Section heading.
    table : str
        Stem of the table: ``results/tables/<table>.csv``.
    columns : sequence of str
        Columns shown, in order; each must be in the table (a clear error otherwise).
    where : mapping, optional
        Column -> value the shown rows must have (e.g. ``{"interval": "window"}``).
    mean_over : str, optional
        A column averaged out (e.g. ``"seed"``): the numeric columns are the mean over it per
        combination of the other shown non-numeric columns, and ``n_<mean_over>s`` counts it.
    note : str
        A sentence under the heading: what the numbers are, where the method is.
    """

    title: str
    table: str
    columns: Sequence[str]
    where: Mapping[str, object] = field(default_factory=dict)
    mean_over: str | None = None
    note: str = ""


#: The sections of results/summary.md, in page order.
SUMMARY_SECTIONS: list[SummarySection] = [
    SummarySection(
        "Paper versus reproduction",
        "paper_vs_reproduced",
        ["target_id", "paper_value", "reproduced_value", "reproduced_std", "status", "note"],
        note="Every value and claim the paper states, beside this run's "
        "(`results/tables/paper_vs_reproduced.csv` has the quantities, tolerances and sources).",
    ),
    SummarySection(
        "The network claims under every update scheme",
        "claims_robustness",
        [
            "claim",
            "variant",
            "state",
            "cell_verdict",
            "value_mean",
            "value_ci95_low",
            "value_ci95_high",
            "p_holds",
            "p_holds_adjusted",
            "p_fails_adjusted",
        ],
        note="Each claim per update scheme (and per state for the headline): value with its "
        "95 % interval (network claims: crossed bootstrap over seeds and test images; "
        'adaptation claims: Student t over seeds), one-sided p values of "holds" raw and '
        "corrected over all cells, and the verdict: holds / fails / inconclusive "
        "(`claims_robustness.csv`; docs/claim_statistics.md). The learning rate was searched "
        "inside each seed on its validation split (`claims_robustness_learning_rates.csv`).",
    ),
    SummarySection(
        "Network accuracy (Fig 4d)",
        "network_accuracy",
        ["net", "state", "final_test_accuracy_mean", "final_test_accuracy_std", "n_seeds"],
        note="Test accuracy after training, mean and standard deviation over seeds.",
    ),
    SummarySection(
        "Energy per programming pulse: where it goes",
        "energy_split",
        [
            "resistance_label",
            "polarity",
            "source_J",
            "loss_rs_J",
            "loss_r_J",
            "loss_internal_J",
            "stored_change_J",
            "trace_source_J",
        ],
        where={"interval": "window"},
        note="Mean over the LTP (+1) and LTD (−1) pulses, from a pulse's onset to the next: the "
        "source energy = series-resistance + regulating-resistor + internal losses + change in "
        "stored energy (circuit model); `trace_source_J` is the traces' ∫ I·V dt. Counted: the "
        "cell and R only (docs/energy_and_inference.md).",
    ),
    SummarySection(
        "Training energy and holding energy",
        "training_energy_summary",
        [
            "net",
            "state",
            "final_test_accuracy",
            "total_energy_J",
            "energy_to_reach_J",
            "holding_bound_J",
            "holding_final_J",
            "holding_bound_to_pulses",
        ],
        mean_over="seed",
        note="Programming pulses of a whole training run (and to reach the final accuracy), "
        "beside the energy the regulating resistors dissipate while the devices hold their "
        "states for the run (bound: every device at its window's largest |V|; final: the "
        "trained voltages).",
    ),
    SummarySection(
        "Adaptation versus retraining (Fig 5)",
        "adaptation_energy",
        [
            "variant",
            "target",
            "target_accuracy",
            "n_matched",
            "n_seeds",
            "energy_ratio_gmean",
            "energy_ratio_ci_low",
            "energy_ratio_ci_high",
            "energy_verdict",
            "time_ratio_gmean",
            "time_ratio_ci_low",
            "time_ratio_ci_high",
            "time_verdict",
        ],
        note="Resistance-mapping adaptation against gradient-descent retraining of the same "
        "devices on the same images, where each first reaches the target dataset2 accuracy: "
        "mapping / retraining, geometric mean over seeds with its interval and the verdict on "
        "< 1 (per seed: `adaptation_energy_seeds.csv`; per image count: "
        "`adaptation_energy_routes.csv`; scope and reasons: `adaptation_energy.csv`).",
    ),
    SummarySection(
        "The trained network over time",
        "accuracy_retention_summary",
        ["net", "state", "read_noise", "trained_accuracy", "kept_until_s", "kept_whole_grid"],
        note="How long each state stays within `inference.tolerance` of its trained accuracy "
        "as its devices self-discharge.",
    ),
]


def summary_table_paths(
    sections: Sequence[SummarySection] = SUMMARY_SECTIONS,
) -> dict[str, str]:
    """Table stem -> ``results/tables/<stem>.csv`` of every section (the rule's inputs)."""
    return {s.table: f"results/tables/{s.table}.csv" for s in sections}
