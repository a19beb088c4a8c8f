"""The repository stands alone: what its code and documents cite resolves inside it."""

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

# Where the project's text lives (results/, .venv/ and caches are not the project's text).
TEXT_FOLDERS = ("src", "workflow", "docs", "config", ".test", "tests", "benchmarks", "tools")
TEXT_FILES = (
    "README.md",
    "raw/README.md",
    "Snakefile",
    "Makefile",
    "pyproject.toml",
    ".snakemake-workflow-catalog.yml",
)
TEXT_SUFFIXES = {".py", ".smk", ".md", ".rst", ".yaml", ".yml", ".toml", ".txt", ".sh", ""}

# Pointers to the outside of this repository: planning notes of its authors, an issue tracker,
# a machine's folders.
FOREIGN = re.compile(r"DESIGN\.md|REFERENCES\.md|[Ii]ssue [0-9]|/work/|\.\./shared")
# A docs/ or raw/ path as text cites it (not a part of a URL or of a longer path).
CITED = re.compile(r"(?<![\w./-])((?:docs|raw)/[\w./*-]*[\w*])")
# Folders that raw/README.md, the CLI and the config name as places for a user's own files.
USER_FOLDERS = ("raw/eu/", "raw/rram/")


def _project_text() -> dict[Path, str]:
    paths = [ROOT / name for name in TEXT_FILES]
    for folder in TEXT_FOLDERS:
        paths += sorted((ROOT / folder).rglob("*"))
    return {
        path: path.read_text()
        for path in paths
        if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts
    }


def test_nothing_points_outside_the_repository():
    this_file = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path, text in _project_text().items()
        if path.resolve() != this_file
        for number, line in enumerate(text.splitlines(), 1)
        if FOREIGN.search(line)
    ]
    assert not found, "\n".join(found)


def _user_folders() -> tuple[str, ...]:
    idx_dir = yaml.safe_load((ROOT / "config/config.yaml").read_text())["mnist"]["idx_dir"]
    return (*USER_FOLDERS, idx_dir.rstrip("/") + "/")


def test_every_cited_docs_or_raw_path_exists():
    user_folders = _user_folders()
    missing = set()
    for path, text in _project_text().items():
        for match in CITED.finditer(text):
            cited = match.group(1).rstrip(".")
            if f"{cited}/".startswith(user_folders):
                continue
            exists = any(ROOT.glob(cited)) if "*" in cited else (ROOT / cited).exists()
            if not exists:
                missing.add(f"{cited} (cited in {path.relative_to(ROOT)})")
    assert not missing, sorted(missing)


@pytest.mark.parametrize(
    "document", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))]
)
def test_relative_links_of_the_documents_resolve(document):
    path = ROOT / document if document == "README.md" else ROOT / "docs" / document
    links = re.findall(r"\]\(([^)\s]+)\)", path.read_text())
    local = [link.split("#")[0] for link in links if not re.match(r"[a-z]+:|#", link)]
    assert [link for link in local if not (path.parent / link).exists()] == []


def test_the_citation_pattern_finds_paths_and_skips_urls():
    text = (
        "see docs/methods.md, https://arrow.apache.org/docs/python/parquet.html and raw/README.md."
    )
    assert [m.group(1).rstrip(".") for m in CITED.finditer(text)] == [
        "docs/methods.md",
        "raw/README.md",
    ]
    assert FOREIGN.search("as planned in DESIGN.md") and FOREIGN.search("(issue 12)")
    assert not FOREIGN.search("see docs/interfaces.md")
