"""config/paper.yaml builds its full DAG; the MNIST source 'auto' picks the IDX files if present."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import ROOT, run_snakemake

from fmes.networks.mnist import write_idx

pytestmark = pytest.mark.slow  # runs Snakemake (deselect locally with -m 'not slow'; CI runs it)


def _job_counts(text: str) -> dict[str, int]:
    """Rule -> job count from snakemake's dry-run 'Job stats' table."""
    stats = text.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}


def test_paper_profile_builds_the_paper_scale_dag_on_idx_files(tmp_path):
    folder = tmp_path / "raw/mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 20)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    proc = run_snakemake(tmp_path, "--configfile", str(ROOT / "config/paper.yaml"), "--dry-run")
    out = proc.stdout + proc.stderr
    jobs = _job_counts(out)
    # the network, adaptation and claim jobs (6 update-scheme variants) are planned after the
    # device_params checkpoint (from the states the analyses produce), so a dry run lists none
    for rule in (
        "networks_train",
        "run_adaptation",
        "claims_variant",
        "claims_robustness",
        "device_landscape",
    ):
        assert jobs.get(rule, 0) == 0, rule
    assert "checkpoint" in out
    assert jobs["networks_lr_search"] == 1
    # mnist.source auto: the four IDX files are present, so they are the MNIST job's inputs
    assert "raw/mnist/train-images-idx3-ubyte.gz" in out
