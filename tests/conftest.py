"""Shared fixtures and helpers for the end-to-end tests.

Running Snakemake is what makes the suite slow, so tests share runs instead of making their own:

- ``tiny_run`` (session): one full run of the DAG on .test/config/tiny.yaml. Tests that need a finished
  run to *change* copy it with :func:`copy_run` (timestamps kept, so the copy is up to date) and
  work on the copy; tests that only read outputs use it directly (never modify it).
- :func:`dry_run` / :func:`planned`: what Snakemake would run (rule -> reason), from its own
  dry-run listing (rules and checkpoints).
- :data:`SMALL_NETWORKS`: a config override that keeps the network and adaptation stages to one
  short job each, for end-to-end tests whose assertions are about planning or skipping, not about
  training quality.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = str(ROOT / ".test/config/tiny.yaml")

# one MLP seed for one epoch, no learning-rate search or robustness claims, a short adaptation
SMALL_NETWORKS = (
    "networks: {nets: [mlp], seeds: [0], epochs: 1, lr_search: {enabled: false}, robustness: {enabled: false}}\n"
    "adaptation: {seeds: [0], train: {epochs: 2}, mapping: {n_images: [0, 4]}}\n"
)


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the project's Snakefile with ``--directory workdir`` (each test its own lock)."""
    command = [
        SNAKEMAKE,
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def planned(proc: subprocess.CompletedProcess) -> dict[str, str]:
    """rule -> reason of every job in a dry run's listing (one entry per rule is enough here).

    Checkpoint jobs are listed as ``checkpoint <name>:``; jobs that are planned from a
    checkpoint's output (network training, adaptation) are not listed until it has run.
    """
    jobs: dict[str, str] = {}
    rule = None
    for line in (proc.stdout + proc.stderr).splitlines():
        if m := re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line.strip()):
            rule = m.group(1)
            jobs.setdefault(rule, "")
        elif rule and (m := re.match(r"^reason: (.*)$", line.strip())):
            jobs[rule] = jobs[rule] or m.group(1)
    return jobs


def dry_run(workdir: Path, *args: str) -> dict[str, str]:
    """:func:`planned` of ``snakemake --dry-run *args`` in ``workdir``."""
    # targets and plain options first: --configfile takes every following word as a file
    return planned(run_snakemake(workdir, "--dry-run", *args))


def copy_run(src: Path, dst: Path) -> Path:
    """Copy a finished run; copy2 (the copytree default) keeps mtimes, so it stays up to date."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One full run of the DAG on .test/config/tiny.yaml, shared by the end-to-end tests (read-only:
    a test that changes anything works on a :func:`copy_run` of it)."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    run_snakemake(workdir, "--configfile", TINY)
    return workdir
