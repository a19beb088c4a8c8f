"""Rule run_summary: results/summary.md, the run's numbers as Markdown tables (fmes.claims.summary)."""

from pathlib import Path

import pandas as pd

from fmes.claims.summary import SUMMARY_SECTIONS, render_summary
from fmes.core.logs import rule_logger


def read_or_empty(path: str) -> pd.DataFrame:
    """The table at ``path``; an empty file (a stage that produced no rows) is an empty table."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def main(snakemake) -> None:
    log = rule_logger("run_summary", snakemake.log[0])
    stems = {section.table for section in SUMMARY_SECTIONS}
    # display only: read as plain CSV (the paper table's verdicts are not fmes.core.status values,
    # which fmes.core.io.read_table checks)
    tables = {
        stem: read_or_empty(snakemake.input[stem])
        for stem in stems
        if stem in snakemake.input.keys()
    }
    for stem in sorted(stems - set(tables)):
        log.info("no %s table in this run: its section says so", stem)
    text = render_summary(
        tables,
        preamble="Written by `rule run_summary` from this run's tables (`src/fmes/claims/summary.py`); "
        "methods in `docs/`, the full tables in `results/tables/`.",
    )
    Path(snakemake.output.summary).write_text(text + "\n", encoding="utf-8")
    log.info("%d sections, %d tables", len(SUMMARY_SECTIONS), len(tables))


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
