"""Truth vs recovered on clean and messy closed-form traces (tests/messy.py).

Usage: .venv/bin/python tools/messy_recovery_table.py [--seed N]
Prints a Markdown table: each parameter's truth, the value recovered from clean traces and from
traces with the default artifact levels (skew +1 sample, 0.05 % glitches of +-15 mV, 13 mV
offset, 10 uV/s drift, 1 mV 50 Hz mains, 0.2 mV noise), with 1-sigma errors, relative errors and
the row status; and, for comparison, the messy traces read with every robust step switched off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    for name, key in (("PPF C1", "c1"), ("PPF τ1 (s)", "tau1_s"), ("PPF C2", "c2"), ("PPF τ2 (s)", "tau2_s")):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
