"""fmes.claims: comparison, export, robustness, statistics, summary, summary_sections."""
