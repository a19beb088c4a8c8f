"""The run's numbers as one Markdown page: ``results/summary.md``, which README.md links.

Numbers that come from a run (accuracies, energies, adaptation, retention, the paper table) are
written by the run, from its own tables, so the page cannot go stale after a change. Each
section is a :class:`SummarySection`: a title, the stem of a table under ``results/tables/``,
the columns shown (in that order), optional row filter and averaging over seeds, and a note.
:data:`SUMMARY_SECTIONS` lists them; adding a section is one more entry there (and the table as
an input of ``rule run_summary``, which takes every section's table it can find in the run).

Formatting: numbers with four significant digits (a value already rounded to fewer keeps its
digits), whole numbers as integers, missing values as "–", and ``|`` in text escaped so that a
note cannot break the Markdown table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "SUMMARY_SECTIONS",
    "SummarySection",
    "format_value",
    "markdown_table",
    "render_summary",
    "section_rows",
    "summary_table_paths",
]


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
            "mapping_accuracy_dataset2",
            "mapping_energy_J",
            "mapping_time_s",
            "retraining_accuracy_dataset2",
            "retraining_energy_J",
            "retraining_time_s",
            "energy_ratio",
            "time_ratio",
        ],
        mean_over="seed",
        note="Resistance-mapping adaptation against gradient-descent retraining of the same "
        "devices on the same images, mean over seeds (`results/tables/adaptation_energy.csv`).",
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


def format_value(value: object) -> str:
    """A table cell as Markdown text (module docstring: the number format)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def section_rows(section: SummarySection, table: pd.DataFrame) -> pd.DataFrame:
    """The rows and columns ``section`` shows of ``table`` (filter, then mean over seeds)."""
    needed = [*section.columns, *section.where]
    if section.mean_over:
        needed.append(section.mean_over)
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise ValueError(
            f"summary section {section.title!r}: results/tables/{section.table}.csv has no "
            f"column(s) {missing} (it has {list(table.columns)})"
        )
    rows = table
    for column, wanted in section.where.items():
        rows = rows[rows[column].astype(str) == str(wanted)]
    columns = list(section.columns)
    if section.mean_over and len(rows):
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(rows[c])]
        keys = [c for c in columns if c not in numeric]
        count = f"n_{section.mean_over}s"
        if not keys:  # every shown column is a number: one row, the mean over all
            means = rows[numeric].mean().to_frame().T
            means[count] = rows[section.mean_over].nunique()
            return means[[*columns, count]]
        grouped = rows.groupby(keys, sort=False, dropna=False)
        means = grouped[numeric].mean()
        means[count] = grouped[section.mean_over].nunique()
        return means.reset_index()[[*columns, count]]
    return rows[columns].reset_index(drop=True)


def markdown_table(rows: pd.DataFrame) -> list[str]:
    """``rows`` as the lines of a Markdown (GitHub) table: header, rule, one line per row."""
    header = "| " + " | ".join(str(c) for c in rows.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in rows.columns) + "|"
    body = [
        "| " + " | ".join(format_value(v) for v in row) + " |"
        for row in rows.itertuples(index=False, name=None)
    ]
    return [header, rule, *body]


def render_summary(
    tables: Mapping[str, pd.DataFrame],
    sections: Sequence[SummarySection] = SUMMARY_SECTIONS,
    title: str = "Run summary",
    preamble: str = "",
) -> str:
    """The summary page: a heading per section, its note and its table; a section whose table
    the run did not produce (absent from ``tables``) says so instead."""
    lines = [f"# {title}", ""]
    if preamble:
        lines += [preamble, ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.note:
            lines += [section.note, ""]
        if section.table not in tables:
            lines += [f"Not produced by this run (no `results/tables/{section.table}.csv`).", ""]
            continue
        rows = section_rows(section, tables[section.table])
        lines += [*markdown_table(rows), ""] if len(rows) else ["No rows in this run.", ""]
    return "\n".join(lines)
