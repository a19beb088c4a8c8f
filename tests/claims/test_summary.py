"""The run summary (results/summary.md): built from the run's tables, linked from README."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmes.claims.summary import (
    SUMMARY_SECTIONS,
    SummarySection,
    format_value,
    markdown_table,
    render_summary,
    section_rows,
)

ROOT = Path(__file__).resolve().parents[2]


def test_constructed_tables_give_the_expected_markdown_lines():
    table = pd.DataFrame(
        {
            "net": ["mlp", "mlp", "mlp", "perceptron"],
            "state": ["open", "open", "500", "open"],
            "seed": [0, 1, 0, 0],
            "accuracy": [0.9, 0.8, 0.5, np.nan],
            "note": ["a|b", "", "", "x"],
        }
    )
    section = SummarySection("Accuracy", "acc", ["net", "state", "accuracy"], mean_over="seed")
    assert markdown_table(section_rows(section, table)) == [
        "| net | state | accuracy | n_seeds |",
        "| --- | --- | --- | --- |",
        "| mlp | open | 0.85 | 2 |",
        "| mlp | 500 | 0.5 | 1 |",
        "| perceptron | open | – | 1 |",
    ]
    filtered = SummarySection("Notes", "acc", ["state", "note"], where={"net": "perceptron"})
    page = render_summary({"acc": table}, [section, filtered], title="T").splitlines()
    assert page[:4] == ["# T", "", "## Accuracy", ""]
    assert "| open | x |" in page and "## Notes" in page
    # a table the run did not produce: the section says so instead of failing
    absent = render_summary({}, [section])
    assert "Not produced by this run (no `results/tables/acc.csv`)." in absent
    # an empty table and a skipped placeholder (a stage the data did not allow)
    assert "No rows in this run." in render_summary({"acc": pd.DataFrame()}, [section])
    skipped = pd.DataFrame({"status": ["skipped"], "reason": ["no ltp_ltd traces"]})
    assert "Skipped in this run: no ltp_ltd traces" in render_summary({"acc": skipped}, [section])
    # escaping and number formats
    assert format_value("a|b") == "a\\|b"
    assert [format_value(v) for v in (1.0, 2, 5.3e-08, math.inf, True, None)] == [
        "1",
        "2",
        "5.3e-08",
        "∞",
        "yes",
        "–",
    ]


def test_a_missing_column_is_a_clear_error():
    section = SummarySection("S", "energy_split", ["source_J", "loss_rs_J"])
    with pytest.raises(
        ValueError, match=r"'S'.*energy_split.csv has no column\(s\) \['loss_rs_J'\]"
    ):
        section_rows(section, pd.DataFrame({"source_J": [1.0]}))


def test_every_section_reads_a_table_the_workflow_writes():
    rules = "\n".join(p.read_text() for p in (ROOT / "workflow/rules").glob("*.smk"))
    written = set(re.findall(r'"results/tables/([a-z0-9_]+)\.csv"', rules))
    assert {s.table for s in SUMMARY_SECTIONS} <= written
    assert len({s.title for s in SUMMARY_SECTIONS}) == len(SUMMARY_SECTIONS)


def test_readme_links_the_generated_summary():
    readme = (ROOT / "README.md").read_text()
    assert "results/summary.md" in readme
