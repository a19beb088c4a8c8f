"""Batched LTP/LTD fits (one vectorised start grid, the branch fits solved together as stacked
arrays or by lmfit per branch) agree with per-cycle fits and with a plain lmfit Model fit; the drift test of the read-out is a t test."""

import lmfit
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fmes.analysis.ltp_ltd import fit_ltp_ltd, fit_ltp_ltd_batch, relaxation_curve
from fmes.analysis.pulses import clean_voltage
from fmes.core.status import Status

N = 60
NOISE_V = 2e-4


def _cycle(a_p, a_d, rng, *, lo=0.0, hi=0.01, n=N):
    """Weights of one cycle: LTP lo -> hi with A = a_p, LTD hi -> lo with A = a_d, read noise."""
    x = np.arange(1, n + 1, dtype=float)
    w_p = relaxation_curve(x, lo, hi, a_p, n) + NOISE_V * rng.standard_normal(n)
    w_d = relaxation_curve(x, hi, lo, a_d, n) + NOISE_V * rng.standard_normal(n)
    return pd.DataFrame(
        {
            "phase": ["ltp"] * n + ["ltd"] * n,
            "pulse_number": np.r_[x, x],
            "weight_V": np.r_[w_p, w_d],
        }
    )


@pytest.fixture(scope="module")
def cycles():
    rng = np.random.default_rng(7)
    return {
        "saturating": _cycle(15.0, 25.0, rng),
        "saturating_2": _cycle(8.0, 12.0, rng, lo=0.002, hi=0.02),
        "convex_ltd": _cycle(15.0, -10.0, rng),  # LTD accelerates: poor_fit without signed_nl
        "near_linear": _cycle(1e6, 20.0, rng),  # LTP a straight line: A on its bound, flagged
        "nan_padded": _cycle(10.0, 20.0, rng).assign(
            weight_V=lambda f: f["weight_V"].where(f.index % 17 != 3)
        ),
        "too_short": _cycle(10.0, 20.0, rng).iloc[[0, 1, 2, N, N + 1]],
    }


@pytest.mark.parametrize("signed_nl", [False, True])
def test_batched_fits_equal_per_cycle_fits(cycles, signed_nl):
    names = list(cycles)
    batch = fit_ltp_ltd_batch(
        [cycles[k] for k in names],
        [N] * len(names),
        noise_V=[NOISE_V] * len(names),
        signed_nl=signed_nl,
    )
    single = [fit_ltp_ltd(cycles[k], N, noise_V=NOISE_V, signed_nl=signed_nl) for k in names]
    statuses = {k: Status(row["status"]) for k, row in zip(names, batch, strict=True)}
    assert statuses == {k: Status(row["status"]) for k, row in zip(names, single, strict=True)}
    assert statuses["saturating"] == statuses["saturating_2"] == statuses["nan_padded"] == Status.OK
    assert statuses["too_short"] == Status.FAILED
    assert statuses["convex_ltd"] == (Status.OK if signed_nl else Status.POOR_FIT)
    assert statuses["near_linear"] == Status.FLAGGED
    for b, s in zip(batch, single, strict=True):
        keys = ["a_p_pulses", "a_d_pulses", "g_min_V", "g_max_V", "n_states"]
        if s["status"] == Status.OK:  # a standard error means nothing for a value on its bound
            keys += ["a_p_stderr_pulses", "a_d_stderr_pulses"]
        for key in keys:
            if key in s:
                assert b[key] == pytest.approx(s[key], rel=1e-6, nan_ok=True), key


@pytest.mark.parametrize("batched", [True, False])
def test_branch_fit_matches_a_plain_lmfit_model_fit(cycles, batched):
    """Parameters, standard errors and the 95 % interval agree with lmfit.Model.fit of the
    same curve from a generic start (the engine the per-trace fits used before), for the
    batched solver and for lmfit's per branch."""
    for name in ("saturating", "saturating_2", "nan_padded"):
        weights = cycles[name]
        row = fit_ltp_ltd_batch([weights], [N], noise_V=[NOISE_V], batched=batched)[0]
        ltd = weights[weights["phase"] == "ltd"]
        ok = np.isfinite(ltd["weight_V"].to_numpy())
        model = lmfit.Model(relaxation_curve)
        params = model.make_params(start=0.01, end=0.0, a=0.3 * N, n_total=N)
        params["n_total"].set(vary=False)
        params["a"].set(min=1e-3 * N, max=1e3 * N)
        ref = model.fit(
            ltd["weight_V"].to_numpy()[ok], params, x=ltd["pulse_number"].to_numpy(float)[ok]
        )
        assert row["a_d_pulses"] == pytest.approx(ref.params["a"].value, rel=1e-5)
        assert row["a_d_stderr_pulses"] == pytest.approx(ref.params["a"].stderr, rel=1e-3)
        t = stats.t.ppf(0.975, ok.sum() - 3)
        # the interval agrees as its standard error does (lmfit's Jacobian is a forward
        # difference at lmfit's optimum)
        assert row["a_d_ci95_hi_pulses"] == pytest.approx(
            ref.params["a"].value + t * ref.params["a"].stderr,
            rel=1e-5,
            abs=1e-3 * t * ref.params["a"].stderr,
        )


@pytest.mark.parametrize("signed_nl", [False, True])
def test_batched_solver_agrees_with_lmfit_per_branch(cycles, signed_nl):
    """The stacked Levenberg-Marquardt solve gives lmfit's rows: the same statuses and
    reasons (a branch on a bound is refitted by lmfit), values within 1e-2 standard errors,
    standard errors within 1e-3."""
    names = list(cycles)
    args = dict(noise_V=[NOISE_V] * len(names), signed_nl=signed_nl)
    fast = fit_ltp_ltd_batch([cycles[k] for k in names], [N] * len(names), **args)
    ref = fit_ltp_ltd_batch([cycles[k] for k in names], [N] * len(names), batched=False, **args)
    for name, f, r in zip(names, fast, ref, strict=True):
        assert (f["status"], f["reason"]) == (r["status"], r["reason"]), name
        if r["status"] != Status.OK:
            continue
        for key in ("a_p", "a_d", "g_min", "g_max"):
            unit = "pulses" if key.startswith("a_") else "V"
            se = r[f"{key}_stderr_{unit}"]
            assert abs(f[f"{key}_{unit}"] - r[f"{key}_{unit}"]) < 1e-2 * se, (name, key)
            assert f[f"{key}_stderr_{unit}"] == pytest.approx(se, rel=1e-3), (name, key)


def _rest_then_pulses(rest_V: np.ndarray, dt_s: float = 2.5e-3):
    """A trace: the given pre-stimulus rest, then 20 pulses of 3 samples with 4-sample gaps
    (flat at 0 V: no real drift after the rest)."""
    n_rest, period = rest_V.size, 7
    state = np.r_[np.zeros(n_rest), np.tile([1, 1, 1, 0, 0, 0, 0], 20)]
    v = np.r_[rest_V, np.tile([0.02, 0.05, 0.08, 0.06, 0.03, 1e-3, 0.0], 20)]
    t = dt_s * np.arange(state.size)
    assert state.size == n_rest + 20 * period
    return t, v, state.astype(int)


def test_drift_needs_a_t_test_significant_slope_on_a_short_rest():
    # 4 quantised rest samples (a read resolution of 10 uV): slope / stderr = 4.2 with 2
    # degrees of freedom, which chance gives about 1 trace in 20; 3 normal sigmas are t > 19
    t, v, state = _rest_then_pulses(np.array([1e-5, 0.0, 0.0, -1e-5]))
    _v, qc = clean_voltage(t, v, state, mains_frequency_Hz=None, max_skew_samples=0)
    assert abs(qc["drift_V_per_s"]) > 3 * qc["drift_stderr_V_per_s"]  # the old 3-sigma test fired
    assert not qc["drift_removed"]
    # a real drift on a long rest is still removed
    rng = np.random.default_rng(3)
    rest = 0.05 * np.arange(40) * 2.5e-3 + 1e-5 * rng.standard_normal(40)
    t, v, state = _rest_then_pulses(rest)
    cleaned, qc = clean_voltage(t, v, state, mains_frequency_Hz=None, max_skew_samples=0)
    assert qc["drift_removed"]
    assert qc["drift_V_per_s"] == pytest.approx(0.05, rel=0.05)


@pytest.mark.parametrize("window", [1, 8, 9, 30])
def test_centred_moving_mean_is_pandas_rolling(window):
    from fmes.analysis.ltp_ltd import _centred_nanmean

    values = np.random.default_rng(0).normal(size=(3, 25))
    values[0, [3, 4, 20]] = np.nan
    values[1] = np.nan
    expected = (
        pd.DataFrame(values.T).rolling(window, center=True, min_periods=1).mean().to_numpy().T
    )
    np.testing.assert_allclose(_centred_nanmean(values, window), expected, rtol=0, atol=1e-14)


def test_batched_solver_settles_interior_optima_and_leaves_bounds_to_lmfit(cycles):
    from fmes.analysis.ltp_ltd import _batch_branch_fits, _profile_starts

    def ltp_branch(name):
        w = cycles[name][cycles[name]["phase"] == "ltp"]
        return w["pulse_number"].to_numpy(float), w["weight_V"].to_numpy(float), N

    branches = [ltp_branch(k) for k in ("saturating", "saturating_2", "near_linear")]
    outcomes = _batch_branch_fits(branches, _profile_starts(branches))
    assert outcomes[0] is not None and outcomes[1] is not None
    assert outcomes[0].converged and outcomes[0].values["a"] == pytest.approx(15.0, rel=0.2)
    assert outcomes[2] is None  # A at its upper bound: lmfit says so


def test_batched_solver_leaves_a_degenerate_branch_to_lmfit_without_raising(cycles):
    """A flat branch (start = end: A undetermined, JᵀJ singular) beside a normal one: the
    stacked solve settles the normal branch and hands the flat one to lmfit, whose row says why."""
    from fmes.analysis.ltp_ltd import _batch_branch_fits, _profile_starts

    w = cycles["saturating"][cycles["saturating"]["phase"] == "ltp"]
    m = w["pulse_number"].to_numpy(float)
    branches = [(m, w["weight_V"].to_numpy(float), N), (m, np.full(N, 0.004), N)]
    outcomes = _batch_branch_fits(branches, _profile_starts(branches))
    assert outcomes[0] is not None and outcomes[0].converged
    assert outcomes[1] is None
    flat = cycles["saturating"].assign(weight_V=0.004)
    row = fit_ltp_ltd_batch([cycles["saturating"], flat], [N, N], noise_V=[NOISE_V] * 2)[1]
    assert row["status"] != Status.OK


def test_batched_solver_inverts_only_what_it_settles(cycles, monkeypatch):
    """Branches that did not converge are not inverted (one singular matrix in a stacked
    inverse would raise for the whole batch): with no iterations allowed, nothing is settled
    and lmfit fits every branch, the flat one included."""
    import fmes.analysis.ltp_ltd as ltp_ltd

    monkeypatch.setattr(ltp_ltd, "_LM_MAX_ITER", 0)
    w = cycles["saturating"][cycles["saturating"]["phase"] == "ltp"]
    m = w["pulse_number"].to_numpy(float)
    branches = [(m, w["weight_V"].to_numpy(float), N), (m, np.full(N, 0.004), N)]
    starts = ltp_ltd._profile_starts(branches)
    assert ltp_ltd._batch_branch_fits(branches, starts) == [None, None]
    flat = cycles["saturating"].assign(weight_V=0.004)
    rows = fit_ltp_ltd_batch([cycles["saturating"], flat], [N, N], noise_V=[NOISE_V] * 2)
    assert rows[0]["status"] == Status.OK and rows[1]["status"] != Status.OK
