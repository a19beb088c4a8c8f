"""The import-closure of rule scripts (what marks results out of date when code changes)."""

from pathlib import Path

from fmes.workflow.provenance import library_files

ROOT = Path(__file__).resolve().parents[2]


def _rel(paths):
    return {str(Path(p).relative_to(ROOT / "src")) for p in paths}


def test_closure_follows_imports_transitively(tmp_path):
    src = tmp_path / "src"
    (src / "fmes" / "sub").mkdir(parents=True)
    (src / "fmes" / "__init__.py").write_text("")
    (src / "fmes" / "a.py").write_text("from fmes import b\n")
    (src / "fmes" / "b.py").write_text(
        "import numpy as np\n\ndef f():\n    from fmes.sub.c import g\n"
    )
    (src / "fmes" / "sub" / "__init__.py").write_text("")
    (src / "fmes" / "sub" / "c.py").write_text("X = 1\n")
    (src / "fmes" / "unused.py").write_text("")
    script = tmp_path / "script.py"
    script.write_text("from fmes.a import thing\n")
    found = {str(Path(p).relative_to(src)) for p in library_files(script, src)}
    assert found == {
        "fmes/__init__.py",
        "fmes/a.py",
        "fmes/b.py",
        "fmes/sub/__init__.py",
        "fmes/sub/c.py",
    }


def test_real_scripts_declare_what_they_import():
    calib = _rel(library_files(ROOT / "workflow/scripts/calibrate_device.py", ROOT / "src"))
    assert {
        "fmes/device/calibration.py",
        "fmes/device/circuit.py",
        "fmes/device/synthetic.py",
        "fmes/data/traces.py",
    } <= calib
    assert "fmes/networks/estimators.py" not in calib
    train = _rel(library_files(ROOT / "workflow/scripts/train_network.py", ROOT / "src"))
    assert {
        "fmes/networks/estimators.py",
        "fmes/device/synapse.py",
        "fmes/networks/mnist.py",
    } <= train
    assert not {p for p in train if p.startswith("fmes/analysis")}


def test_an_edited_module_is_read_again(tmp_path):
    # the closure caches each file's imports by path, size and mtime: an edit must be seen
    src = tmp_path / "src"
    (src / "fmes").mkdir(parents=True)
    (src / "fmes" / "__init__.py").write_text("")
    (src / "fmes" / "a.py").write_text("X = 1\n")
    (src / "fmes" / "b.py").write_text("")
    script = tmp_path / "script.py"
    script.write_text("from fmes.a import X\n")
    before = {Path(p).name for p in library_files(script, src)}
    (src / "fmes" / "a.py").write_text("from fmes import b\n")
    after = {Path(p).name for p in library_files(script, src)}
    assert before == {"__init__.py", "a.py"} and after == {"__init__.py", "a.py", "b.py"}
