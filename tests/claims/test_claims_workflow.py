"""The tiny DAG run writes the claim-robustness, learning-rate and landscape outputs."""

import pandas as pd
import pytest

from fmes.core.io import read_table

pytestmark = pytest.mark.slow  # runs Snakemake (deselect locally with -m 'not slow'; CI runs it)


def test_tiny_run_tests_the_network_claims_under_every_variant(tiny_run):
    tables = tiny_run / "results/tables"
    robust = read_table(tables / "claims_robustness.csv")
    assert set(robust["variant"]) == {
        f"{m}-{r}" for m in ("per_state", "shared") for r in ("proportional", "sign", "stochastic")
    }
    assert {"accuracy_8000_above_open", "accuracy_headline", "adaptation_dataset2_after"} <= set(
        robust["claim"]
    )
    assert (robust["n_seeds"] == 2).all()  # .test/config/tiny.yaml: networks.robustness.seeds
    per_claim = robust.groupby("claim")["verdict"].nunique()
    assert (per_claim == 1).all()  # one verdict per claim
    # (its status is pass/fail, not a row status: read as plain text)
    paper = pd.read_csv(
        tables / "paper_vs_reproduced.csv", dtype=str, keep_default_na=False
    ).set_index("target_id")
    counts = robust.drop_duplicates("claim").set_index("claim")["n_variants_holding"]
    assert paper.loc["accuracy_headline", "holds_under_variants"] == counts["accuracy_headline"]
    assert paper.loc["iv_current_0p6V_500ohm", "holds_under_variants"] == ""

    search = read_table(tables / "learning_rate_search.csv")
    chosen = search[search["chosen"]]
    assert len(chosen) == len(search.groupby(["net", "state"]))  # one rate per net and state
    assert (
        chosen["test_accuracy"].notna().all()
        and search.loc[~search["chosen"], "test_accuracy"].isna().all()
    )

    # the learning rate searched inside each seed: one chosen rate per variant, state and seed
    curves = read_table(tables / "claims_robustness_learning_rates.csv")
    assert {"variant", "state", "seed", "learning_rate", "validation_accuracy", "chosen"} <= set(
        curves
    )
    assert (curves.groupby(["variant", "state", "seed"])["chosen"].sum() == 1).all()
    assert set(curves["seed"]) == {0, 1} and (curves.groupby("seed").size() >= 2).all()

    landscape = read_table(tables / "device_landscape.csv")
    assert set(landscape["plane"]) == {"nonlinearity", "levels_noise"}
    for name in ("claims_robustness", "claims_learning_rates", "device_landscape"):
        assert (tiny_run / f"results/figures/{name}.png").stat().st_size > 10_000
