"""Claim verdicts on constructed cases: crossed bootstrap, TOST, multiplicity (fast, no training)."""

from __future__ import annotations

import numpy as np
import pytest

from fmes.claims.statistics import (
    adjust_p,
    claim_band,
    claim_test,
    crossed_bootstrap,
    mcnemar_exact,
    t_replicates,
    verdict,
)

ALPHA = 0.025


def _outcomes(p_arms, n_seeds=5, n_images=1000, seed=0):
    """(arms, seeds, images) correctness with per-image difficulty shared by every arm/seed."""
    rng = np.random.default_rng(seed)
    difficulty = rng.random((1, 1, n_images))
    noise = rng.random((len(p_arms), n_seeds, n_images))
    u = 0.5 * difficulty + 0.5 * noise  # paired: the image's difficulty is shared
    # threshold at the quantile of u giving accuracy p (u is a sum of two uniforms)
    cut = [np.quantile(u, p) for p in p_arms]
    return u < np.asarray(cut)[:, None, None]


def _verdict(correct, kind, band):
    estimate, reps = crossed_bootstrap(correct, kind, n_boot=2000, seed=1)
    test = claim_test(estimate, reps, band, ALPHA)
    return verdict(test["p_holds"], test["p_fails"], ALPHA), estimate, test


def test_true_difference_holds_null_is_inconclusive_reverse_fails():
    up = claim_band("increasing")
    holds, estimate, test = _verdict(_outcomes([0.80, 0.86]), "increasing", up)
    assert holds == "holds" and estimate == pytest.approx(0.06, abs=0.02)
    assert 0 < test["ci_low"] < estimate < test["ci_high"]
    null, _, test = _verdict(_outcomes([0.85, 0.85]), "increasing", up)
    assert null == "inconclusive" and test["ci_low"] < 0 < test["ci_high"]
    assert _verdict(_outcomes([0.86, 0.80]), "increasing", up)[0] == "fails"


def test_equivalence_within_tolerance_holds_via_tost_and_far_value_fails():
    band = claim_band("equal", 0.90, 0.05)  # 0.855 .. 0.945
    assert band == pytest.approx((0.855, 0.945))
    assert _verdict(_outcomes([0.90]), "level", band)[0] == "holds"
    assert _verdict(_outcomes([0.75]), "level", band)[0] == "fails"
    # on the edge of the band: the interval straddles it
    assert _verdict(_outcomes([0.855]), "level", band)[0] == "inconclusive"


def test_holm_turns_a_marginal_raw_p_into_not_significant_across_many_cells():
    p = np.array([0.01, *np.full(19, 0.5)])
    assert verdict(p[0], 1.0, ALPHA) == "holds"  # raw
    holm = adjust_p(p, "holm")
    assert holm[0] == pytest.approx(0.2) and verdict(holm[0], 1.0, ALPHA) == "inconclusive"
    assert adjust_p([0.01, 0.02, 0.03], "holm") == pytest.approx([0.03, 0.04, 0.04])
    assert adjust_p([0.01, 0.02, 0.03], "bh") == pytest.approx([0.03, 0.03, 0.03])
    assert np.isnan(adjust_p([np.nan, 0.01])[0]) and adjust_p([np.nan, 0.01])[1] == 0.01
    with pytest.raises(ValueError, match="holm"):
        adjust_p([0.1], "bonferroni")


def test_t_replicates_without_per_image_outcomes_and_mcnemar():
    estimate, draws = t_replicates([0.90, 0.91, 0.905, 0.9, 0.91])
    test = claim_test(estimate, draws, claim_band("equal", 0.90, 0.05), ALPHA)
    assert verdict(test["p_holds"], test["p_fails"], ALPHA) == "holds"
    _, single = t_replicates([0.9])
    assert np.isnan(claim_test(0.9, single, (0.8, 1.0), ALPHA)["p_holds"])
    a = np.r_[np.ones(60, bool), np.zeros(40, bool)]
    assert mcnemar_exact(a, a) == 1.0
    b = np.r_[np.ones(30, bool), np.zeros(70, bool)]
    assert mcnemar_exact(a, b) < 1e-6
