"""Truth vs recovered on clean and messy closed-form traces (tests/messy.py).

Usage: .venv/bin/python tools/messy_recovery_table.py [--seed N] [--coverage DRAWS]
Prints a Markdown table: each parameter's truth, the value recovered from clean traces and from
traces with the default artifact levels (skew +1 sample, 0.05 % glitches of +-15 mV, 13 mV
offset, 10 uV/s drift, 1 mV 50 Hz mains, 0.2 mV noise), with 1-sigma errors, relative errors and
the row status; and, for comparison, the messy traces read with every robust step switched off.
With ``--coverage DRAWS``: the fraction of 95 % intervals containing the truth over DRAWS messy
draws (LTP/LTD and retention; PPF over DRAWS // 4 draws) and the fraction of ``ok`` rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from messy import CLEAN, DEFAULT, LTPLTDTruth, PPFTruth, RetentionTruth  # noqa: E402
from test_messy_recovery import CORRECTIONS_OFF, INTERVALS_S, ltp_fit, ppf_fit, retention_fit  # noqa: E402


def recovered(art, seed: int, read_kw=None) -> dict[str, tuple[float, float, str]]:
    """name -> (value, stderr, status) for one set of traces with artifacts ``art``."""
    out = {}
    rows, fit = ppf_fit(PPFTruth(), art, seed=seed, read_kw=read_kw)
    at10 = rows[INTERVALS_S.index(0.01)]
    noise = at10["ppf_noise"] * at10["a1_V"] / max(at10["ppf"], 1e-12)
    out["A1 (V), Δt = 10 ms"] = (at10["a1_V"], noise, at10["status"])
    out["A2 (V), Δt = 10 ms"] = (at10["a2_V"], noise, at10["status"])
    for name, key in (
        ("PPF C1", "c1"),
        ("PPF τ1 (s)", "tau1_s"),
        ("PPF C2", "c2"),
        ("PPF τ2 (s)", "tau2_s"),
    ):
        stderr_key = key.replace("_s", "_stderr_s") if key.endswith("_s") else f"{key}_stderr"
        out[name] = (fit[key], fit[stderr_key], fit["status"])
    _, lfit = ltp_fit(LTPLTDTruth(), art, seed=seed, read_kw=read_kw)
    out["LTP/LTD A_P (pulses)"] = (lfit["a_p_pulses"], lfit["a_p_stderr_pulses"], lfit["status"])
    out["LTP/LTD A_D (pulses)"] = (lfit["a_d_pulses"], lfit["a_d_stderr_pulses"], lfit["status"])
    _, rfit = retention_fit(RetentionTruth(), art, seed=seed, read_kw=read_kw)
    out["retention τ (s)"] = (rfit["kww_tau_s"], rfit["kww_tau_stderr_s"], rfit["kww_status"])
    out["retention β"] = (rfit["kww_beta"], rfit["kww_beta_stderr"], rfit["kww_status"])
    return out


def truths() -> dict[str, float]:
    p, lt, rt = PPFTruth(), LTPLTDTruth(), RetentionTruth()
    return {
        "A1 (V), Δt = 10 ms": p.a1_V,
        "A2 (V), Δt = 10 ms": p.a1_V * float(p.ppf(0.01)),
        "PPF C1": p.c1,
        "PPF τ1 (s)": p.tau1_s,
        "PPF C2": p.c2,
        "PPF τ2 (s)": p.tau2_s,
        "LTP/LTD A_P (pulses)": lt.a_p,
        "LTP/LTD A_D (pulses)": lt.a_d,
        "retention τ (s)": rt.tau_s,
        "retention β": rt.beta,
    }


def coverage(draws: int) -> None:
    """Fraction of 95 % intervals containing the truth, and of ok rows, over messy draws."""
    checks = [
        (
            "LTP/LTD",
            draws,
            lambda s: ltp_fit(LTPLTDTruth(), DEFAULT, seed=500 + s)[1],
            "status",
            [
                ("A_P", "a_p_ci95_lo_pulses", "a_p_ci95_hi_pulses", LTPLTDTruth().a_p),
                ("A_D", "a_d_ci95_lo_pulses", "a_d_ci95_hi_pulses", LTPLTDTruth().a_d),
            ],
        ),
        (
            "retention",
            draws,
            lambda s: retention_fit(RetentionTruth(), DEFAULT, seed=700 + s)[1],
            "kww_status",
            [
                ("τ", "kww_tau_ci95_lo_s", "kww_tau_ci95_hi_s", RetentionTruth().tau_s),
                ("β", "kww_beta_ci95_lo", "kww_beta_ci95_hi", RetentionTruth().beta),
            ],
        ),
        (
            "PPF",
            max(draws // 4, 1),
            lambda s: ppf_fit(PPFTruth(), DEFAULT, seed=900 + s)[1],
            "status",
            [
                ("C1", "c1_ci95_lo", "c1_ci95_hi", PPFTruth().c1),
                ("τ1", "tau1_ci95_lo_s", "tau1_ci95_hi_s", PPFTruth().tau1_s),
                ("C2", "c2_ci95_lo", "c2_ci95_hi", PPFTruth().c2),
                ("τ2", "tau2_ci95_lo_s", "tau2_ci95_hi_s", PPFTruth().tau2_s),
            ],
        ),
    ]
    print(
        "\n| analysis | draws | parameter | 95 % interval contains truth | ok rows |\n|---|---|---|---|---|"
    )
    for name, n, run, status_key, params in checks:
        fits = [run(s) for s in range(n)]
        ok = np.mean([f[status_key] == "ok" for f in fits])
        for label, lo, hi, truth in params:
            inside = np.mean([f[lo] <= truth <= f[hi] for f in fits])
            print(f"| {name} | {n} | {label} | {inside:.2f} | {ok:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--coverage", type=int, default=0, help="messy draws for the coverage table"
    )
    args = parser.parse_args()
    clean, messy = recovered(CLEAN, args.seed), recovered(DEFAULT, args.seed)
    naive = recovered(DEFAULT, args.seed, read_kw=CORRECTIONS_OFF)
    print(
        "| parameter | truth | clean (± 1σ) | clean err | messy (± 1σ) | messy err | messy status "
        "| messy, corrections off | err | status |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, truth in truths().items():
        c, m, o = clean[name], messy[name], naive[name]
        print(
            f"| {name} | {truth:.4g} | {c[0]:.4g} ± {c[1]:.2g} | {100 * (c[0] / truth - 1):+.2f} % "
            f"| {m[0]:.4g} ± {m[1]:.2g} | {100 * (m[0] / truth - 1):+.2f} % | {m[2]} "
            f"| {o[0]:.4g} | {100 * (o[0] / truth - 1):+.2f} % | {o[2]} |"
        )
    if args.coverage:
        coverage(args.coverage)


if __name__ == "__main__":
    main()
