"""The run's numbers as one Markdown page: ``results/summary.md``, which README.md links.

Numbers that come from a run (accuracies, energies, adaptation, retention, the paper table) are
written by the run, from its own tables, so the page cannot go stale after a change. Each
section is a :class:`~fmes.claims.summary_sections.SummarySection`: a title, the stem of a table under ``results/tables/``,
the columns shown (in that order), optional row filter and averaging over seeds, and a note.
:data:`fmes.claims.summary_sections.SUMMARY_SECTIONS` lists them (standard library only, as the
workflow reads it when building the job graph); adding a section is one more entry there (and the table as
an input of ``rule run_summary``, which takes every section's table it can find in the run).

Formatting: numbers with four significant digits (a value already rounded to fewer keeps its
digits), whole numbers as integers, missing values as "–", and ``|`` in text escaped so that a
note cannot break the Markdown table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fmes.claims.summary_sections import SUMMARY_SECTIONS, SummarySection, summary_table_paths

__all__ = [
    "SUMMARY_SECTIONS",
    "SummarySection",
    "format_value",
    "markdown_table",
    "render_summary",
    "section_rows",
    "summary_table_paths",
]


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


def _skipped_reason(table: pd.DataFrame) -> str | None:
    """The reason of a placeholder table whose every row is ``skipped`` (a stage the data did
    not allow), else None."""
    if len(table) and "status" in table and table["status"].astype(str).eq("skipped").all():
        reasons = table["reason"].dropna().astype(str) if "reason" in table else pd.Series([])
        return "; ".join(dict.fromkeys(reasons)) or "no reason given"
    return None


def render_summary(
    tables: Mapping[str, pd.DataFrame],
    sections: Sequence[SummarySection] = SUMMARY_SECTIONS,
    title: str = "Run summary",
    preamble: str = "",
) -> str:
    """The summary page: a heading per section, its note and its table. A section whose table
    the run did not produce (absent from ``tables``), left empty or only ``skipped`` (a stage
    the data did not allow) says so instead."""
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
        table = tables[section.table]
        skipped = _skipped_reason(table)
        if skipped is not None:
            lines += [f"Skipped in this run: {format_value(skipped)}", ""]
            continue
        rows = section_rows(section, table) if len(table) else table
        lines += [*markdown_table(rows), ""] if len(rows) else ["No rows in this run.", ""]
    return "\n".join(lines)
