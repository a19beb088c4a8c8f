"""The paper-versus-reproduction table: every quoted value and claim beside the pipeline's.

Each stage contributes *claims*: rows ``target_id, reproduced_value, reproduced_std, n_values,
note`` extracted from its own result tables by the ``claims_from_*`` functions below. They are
joined to ``config/paper_targets.yaml`` and judged with the same rule as the calibration
(:func:`fmes.calibration.evaluate_target`): ``equal`` within the target's ``tolerance_rel``,
``greater``/``less`` than the quoted bound, ``increasing``/``decreasing`` for trends.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fmes.calibration import evaluate_target

CLAIM_COLUMNS = ["target_id", "reproduced_value", "reproduced_std", "n_values", "note"]


def claim(target_id: str, value: float, std: float = math.nan, n: int = 1, note: str = "") -> dict:
    return {"target_id": target_id, "reproduced_value": float(value), "reproduced_std": float(std), "n_values": int(n), "note": note}


def trend_claim(target_id: str, labels: list[str], values: np.ndarray, increasing: bool) -> dict:
    """A monotone-trend claim: value 1 if ``values`` (ordered like ``labels``) is strictly monotone."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    d = np.diff(values[finite])
    holds = bool(d.size > 0 and (np.all(d > 0) if increasing else np.all(d < 0)))
    note = ", ".join(f"{lab}: {v:.4g}" for lab, v in zip(labels, values, strict=True))
    return claim(target_id, float(holds), n=int(finite.sum()), note=note)


def claims_from_calibration(calibration_table: pd.DataFrame) -> pd.DataFrame:
    """Calibration targets are evaluated on the fitted model (noise-free, one value each)."""
    rows = []
    for row in calibration_table.itertuples():
        note = "fitted target" if row.used_in_fit else "evaluated on the calibrated model"
        rows.append(claim(row.target_id, row.model_value, note=note))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def compare(targets: list[dict], claims: pd.DataFrame) -> pd.DataFrame:
    """One row per paper target: paper value, reproduced value +- std, relative difference,
    pass/fail against the stated tolerance, and the source sentence. A target no stage could
    evaluate keeps an explicit ``not evaluated`` status (never an empty reproduced value)."""
    by_id = claims.drop_duplicates("target_id", keep="last").set_index("target_id")
    rows = []
    for t in targets:
        base = {
            "target_id": t["id"],
            "stage": t["stage"],
            "quantity": t["quantity"],
            "unit": t.get("unit", ""),
            "comparison": t["comparison"],
            "paper_value": float(t["value"]) if "value" in t else math.nan,
            "tolerance_rel": float(t["tolerance_rel"]) if "tolerance_rel" in t else math.nan,
            "source": t["source"],
        }
        if t["id"] not in by_id.index:
            rows.append({**base, "reproduced_value": math.nan, "reproduced_std": math.nan, "n_values": 0,
                         "relative_difference": math.nan, "status": "not evaluated", "note": "no stage produced this value"})
            continue
        c = by_id.loc[t["id"]]
        value = float(c["reproduced_value"])
        if t["comparison"] in ("increasing", "decreasing"):
            passed = bool(value == 1.0)
            rel = math.nan
        else:
            _, rel, passed = evaluate_target(t, value)
        rows.append(
            {
                **base,
                "reproduced_value": value,
                "reproduced_std": float(c["reproduced_std"]),
                "n_values": int(c["n_values"]),
                "relative_difference": rel,
                "status": "pass" if passed else "fail",
                "note": c["note"],
            }
        )
    return pd.DataFrame(rows)
