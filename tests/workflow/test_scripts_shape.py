"""Every rule script can be imported without Snakemake and exposes main(snakemake)."""

import importlib.util
import inspect
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[2] / "workflow" / "scripts").glob("*.py"))
# still module-level bodies (open work: convert each, then drop it from this set; the set may
# only shrink)
PENDING: set[str] = set()


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_imports_without_running_and_has_main(path):
    if path.stem in PENDING:
        pytest.skip("main(snakemake) shape pending")
    spec = importlib.util.spec_from_file_location(f"rule_script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # would raise (no snakemake object) if the body ran on import
    assert list(inspect.signature(module.main).parameters) == ["snakemake"]
    assert 'if __name__ == "__main__":' in path.read_text()


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_draws_no_figure_itself(path):
    # every figure is drawn by its stage's fmes.<stage>.figures module; a script only saves it
    # (a skipped one with fmes.core.figures.save_figure_or_placeholder)
    text = path.read_text()
    for drawing in ("matplotlib", "plt.", "subplots(", "placeholder_figure("):
        assert drawing not in text, f"{path.name} draws a figure itself ({drawing})"
