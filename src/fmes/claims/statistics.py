"""Verdicts on the paper's claims: paired bootstrap intervals, equivalence tests, multiplicity.

A claim is tested on the per-image outcomes (correct or not) of networks trained with several
seeds and scored on one shared test set. Two arms (two resistance states) share the seed
(same initial weights and batch order) and the test images, so their difference is *paired*.
Both seeds and test images are random draws, crossed with each other: the interval comes from a
crossed bootstrap (Efron & Tibshirani 1993) that resamples the seeds and, independently, the
test images, the same image draw for every arm and seed (:func:`crossed_bootstrap`). Without
per-image outcomes (one value per seed) the test is Student's t over seeds
(:func:`t_replicates`).

Three verdicts (:data:`VERDICTS`), each from a one-sided test at level ``alpha``:

- ``holds``: the hypothesis "the claim is false" is rejected (for an ordering or bound claim the
  interval lies on the claim's side of the boundary; for an "≈ value" claim both one-sided tests
  of the two one-sided tests procedure reject, i.e. the interval lies inside the tolerance band,
  Schuirmann 1987);
- ``fails``: the hypothesis "the claim is true" is rejected (the interval lies on the other side
  of the boundary, or outside the band);
- ``inconclusive``: neither (the interval straddles the boundary or a band edge).

With one-sided tests at ``alpha`` the matching two-sided interval has coverage ``1 - 2 alpha``
(the default ``alpha = 0.025`` gives the usual 95% interval; TOST at 0.025 is the conservative
choice, the textbook TOST uses 0.05 with a 90% interval). The p values of all claim cells are
corrected for multiplicity (:func:`adjust_p`: Holm 1979 by default, Benjamini & Hochberg 1995 on
request), separately for the "holds" and the "fails" family, and the verdict uses the corrected
values. docs/claim_statistics.md gives the reasoning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats

#: The verdict of one claim cell.
VERDICTS = ("holds", "fails", "inconclusive")
#: A verdict in the paper table's words (``status`` of paper_vs_reproduced.csv).
PAPER_WORDS = {"holds": "pass", "fails": "fail", "inconclusive": "inconclusive"}
#: How the claim's value is read from the arms: one arm's accuracy, or the step along the arms
#: (``increasing``: the smallest step per seed, which must be > 0; ``decreasing``: the largest,
#: which must be < 0).
Kind = Literal["level", "increasing", "decreasing"]
#: The comparisons of config/paper_targets.yaml that :func:`claim_test` judges.
COMPARISONS = ("equal", "greater", "less", "increasing", "decreasing")


def _per_seed_value(accuracy: np.ndarray, kind: str) -> np.ndarray:
    """Claim value per seed from accuracies ``(..., arms, seeds)`` -> ``(..., seeds)``."""
    if kind == "level":
        if accuracy.shape[-2] != 1:
            raise ValueError(f"a 'level' claim reads one arm, got {accuracy.shape[-2]}")
        return accuracy[..., 0, :]
    if accuracy.shape[-2] < 2:
        raise ValueError(f"an ordering claim ({kind}) needs two or more arms")
    steps = np.diff(accuracy, axis=-2)
    if kind == "increasing":
        return steps.min(axis=-2)
    if kind == "decreasing":
        return steps.max(axis=-2)
    raise ValueError(f"kind must be 'level', 'increasing' or 'decreasing', got {kind!r}")


def crossed_bootstrap(
    correct: np.ndarray, kind: Kind, n_boot: int, seed: int
) -> tuple[float, np.ndarray]:
    """Point estimate and bootstrap replicates of a claim value, resampling seeds and images.

    Parameters
    ----------
    correct
        ``(arms, seeds, images)``: 1 where the network of that arm and seed classified that
        test image correctly. Arms are paired: the same seeds and the same test images.
    kind
        ``"level"`` (one arm: its accuracy), ``"increasing"`` / ``"decreasing"`` (the step
        along the arms, in order).
    n_boot
        Bootstrap replicates.
    seed
        Seed of the resampling.

    Returns
    -------
    estimate, replicates
        The claim value (mean over seeds of the per-seed value) and ``n_boot`` replicates, each
        with seeds and images drawn with replacement (one image draw for every arm and seed, so
        the pairing is kept).
    """
    correct = np.asarray(correct, dtype=float)
    if correct.ndim != 3 or 0 in correct.shape:
        raise ValueError(
            f"correct must be (arms, seeds, images) and non-empty, got {correct.shape}"
        )
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    _, n_seeds, n_images = correct.shape
    estimate = float(_per_seed_value(correct.mean(axis=2), kind).mean())
    rng = np.random.default_rng(seed)
    # multinomial counts = how often each image / seed is drawn: the resampled accuracy is then
    # a weighted mean, vectorised over the replicates
    image_w = rng.multinomial(n_images, np.full(n_images, 1 / n_images), size=n_boot) / n_images
    seed_w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot) / n_seeds
    accuracy = np.einsum("asi,bi->bas", correct, image_w)  # (boot, arms, seeds)
    per_seed = _per_seed_value(accuracy, kind)  # (boot, seeds)
    return estimate, (per_seed * seed_w).sum(axis=1)


def t_replicates(values: Sequence[float], n_draws: int = 20001) -> tuple[float, np.ndarray]:
    """Point estimate and quantile draws of the Student-t sampling distribution of a mean over
    seeds, for claims known only per seed (no per-image outcomes): :func:`claim_test` then gives
    the one-sided t tests. Fewer than two finite values give NaN draws (no test)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return math.nan, np.full(n_draws, np.nan)
    if v.size < 2 or v.std(ddof=1) == 0:
        # no spread to judge by (one seed, or identical values): no test
        return float(v.mean()), np.full(n_draws, np.nan)
    q = (np.arange(n_draws) + 0.5) / n_draws  # evenly spaced quantiles: deterministic
    draws = v.mean() + stats.t.ppf(q, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), draws


def _tail(replicates: np.ndarray, boundary: float, below: bool) -> float:
    """One-sided achieved significance level: the share of replicates at or beyond ``boundary``
    (with the +1 of a Monte Carlo p value, so never 0)."""
    hits = replicates <= boundary if below else replicates >= boundary
    return float((1 + hits.sum()) / (1 + replicates.size))


def claim_band(comparison: str, value: float = math.nan, tolerance_rel: float = math.nan):
    """The boundary a claim is judged against: ``(low, high)`` of the values where it holds
    (``equal``: ``value * (1 -+ tolerance_rel)``; ``greater``: above ``value``; ``increasing``:
    above 0; ...)."""
    if comparison == "equal":
        if not (np.isfinite(value) and np.isfinite(tolerance_rel) and tolerance_rel > 0):
            raise ValueError(
                f"an 'equal' claim needs a value and tolerance_rel > 0, got {value}, {tolerance_rel}"
            )
        half = abs(value) * tolerance_rel
        return value - half, value + half
    if comparison == "greater":
        return value, math.inf
    if comparison == "less":
        return -math.inf, value
    if comparison == "increasing":
        return 0.0, math.inf
    if comparison == "decreasing":
        return -math.inf, 0.0
    raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")


def claim_test(
    estimate: float, replicates: np.ndarray, band: tuple[float, float], alpha: float
) -> dict[str, float]:
    """Interval and one-sided p values of a claim "the value lies in ``band``".

    ``replicates``: the sampling distribution of the estimate (:func:`crossed_bootstrap` or
    :func:`t_replicates`). ``p_holds`` tests "the value is outside the band" (for a two-sided
    band the larger of the two one-sided p values: TOST, Schuirmann 1987); ``p_fails`` tests
    "the value is inside the band" (the one-sided test beyond the nearer edge). The interval is
    the percentile interval of coverage ``1 - 2 alpha``. All NaN without replicates.
    """
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    r = np.asarray(replicates, dtype=float)
    nan = {"ci_low": math.nan, "ci_high": math.nan, "p_holds": math.nan, "p_fails": math.nan}
    if not np.isfinite(estimate) or r.size == 0 or not np.isfinite(r).all():
        return nan
    low, high = band
    ci_low, ci_high = np.quantile(r, [alpha, 1 - alpha])
    p_below = _tail(r, low, below=True) if np.isfinite(low) else 0.0  # H0: value <= low
    p_above = _tail(r, high, below=False) if np.isfinite(high) else 0.0  # H0: value >= high
    p_holds = max(p_below, p_above)
    # "fails": the value is below low (H0: value >= low) or above high (H0: value <= high)
    p_fail_low = _tail(r, low, below=False) if np.isfinite(low) else 1.0
    p_fail_high = _tail(r, high, below=True) if np.isfinite(high) else 1.0
    return {
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_holds": float(p_holds),
        "p_fails": float(min(p_fail_low, p_fail_high)),
    }


def adjust_p(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p values over a family of tests (NaN stays NaN and is not counted).

    ``holm``: Holm's step-down (1979), controls the family-wise error rate; ``bh``: Benjamini &
    Hochberg's step-up (1995), controls the false discovery rate; ``none``: unadjusted.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    values = p[finite]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adjusted = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    elif method == "none":
        adjusted = ranked
    else:
        raise ValueError(f"multiplicity method must be 'holm', 'bh' or 'none', got {method!r}")
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[finite] = result
    return out


def verdict(p_holds_adjusted: float, p_fails_adjusted: float, alpha: float) -> str:
    """``holds`` / ``fails`` / ``inconclusive`` from the corrected one-sided p values."""
    if np.isfinite(p_holds_adjusted) and p_holds_adjusted < alpha:
        return "holds"
    if np.isfinite(p_fails_adjusted) and p_fails_adjusted < alpha:
        return "fails"
    return "inconclusive"


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Two-sided exact McNemar p value (McNemar 1947) of two classifiers on the same images:
    a binomial test on the discordant pairs. For one seed; the crossed bootstrap is the test
    over seeds and images."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes must have one shape, got {a.shape} and {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
