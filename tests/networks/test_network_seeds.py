"""networks_train trains all seeds in one process; each seed's files equal a one-seed job's."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from fmes.networks.mnist import MnistSplit, save_split

SCRIPT = Path(__file__).resolve().parents[2] / "workflow" / "scripts" / "train_network.py"
SUFFIXES = {
    "curves": ".csv",
    "weights": ".npz",
    "pulses": "_pulses.csv",
    "inference": "_inference.csv",
}


def _inputs(folder: Path) -> SimpleNamespace:
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300]
    split = save_split(
        MnistSplit(X[:240], y[:240], X[240:], y[240:], "digits"), folder / "split.npz"
    )
    params = pd.DataFrame(
        [
            {
                "resistance_label": "8000",
                "g_min_V": 0.12,
                "g_max_V": 0.8,
                "n_pulses": 150,
                "a_p_pulses": 120.0,
                "a_d_pulses": 100.0,
                "c2c_sigma_frac": 0.005,
                "d2d_a_cv": 0.05,
                "d2d_range_cv": 0.03,
                "status": "ok",
                "reason": "",
            }
        ]
    )
    params.to_csv(folder / "device_params.csv", index=False)
    pd.DataFrame(
        [
            {
                "resistance_label": "8000",
                "protocol": "pulse_train",
                "exp2_converged": True,
                "exp2_tau2_s": 300.0,
                "status": "ok",
                "reason": "",
            }
        ]
    ).to_csv(folder / "retention_fits.csv", index=False)
    pd.DataFrame(
        [
            {
                "resistance_label": "8000",
                "device_id": "D0",
                "read_noise_V": 0.002,
                "status": "ok",
                "reason": "",
            }
        ]
    ).to_csv(folder / "ltp_ltd_fits.csv", index=False)
    pd.DataFrame(
        {
            "bound": ["lower", "nominal", "upper"],
            "resistance_label": ["8000"] * 3,
            "tau_scale": [0.9, 1.0, 1.01],
        }
    ).to_csv(folder / "leakage_bracket.csv", index=False)
    return SimpleNamespace(
        split=str(split),
        device_params=[str(folder / "device_params.csv")],
        retention_fits=[str(folder / "retention_fits.csv")],
        ltp_ltd_fits=[str(folder / "ltp_ltd_fits.csv")],
        leakage_bracket=[str(folder / "leakage_bracket.csv")],
    )


def _run(folder: Path, inputs: SimpleNamespace, seeds: list[int], state: str) -> SimpleNamespace:
    out = folder / "out"
    out.mkdir(parents=True)
    outputs = SimpleNamespace(
        **{key: [str(out / f"seed{s}{suffix}") for s in seeds] for key, suffix in SUFFIXES.items()}
    )
    params = SimpleNamespace(
        seed=7,
        seeds=seeds,
        net={
            "hidden_layer_sizes": [16],
            "activation": "sigmoid",
            "learning_rate": 1.0,
            "dtype": "float64",
        },
        epochs=2,
        batch_size=32,
        w_max=1.0,
        digit=3,
        nominal_device="D0",
        allow_non_ok=False,
        update_scheme={
            "mapping": "per_state",
            "pulse_rule": "stochastic",
            "reference_state": "8000",
            "sign_threshold_pulses": 0.5,
            "stochastic_length": 10,
        },
        inference={
            "time_grid": {"first_s": 1.0, "last_s": 100.0, "n": 2},
            "read_noise": True,
            "reference": "differential",
            "adc_bits": [4],
            "n_noise_draws": 1,
        },
    )
    job = SimpleNamespace(
        input=inputs,
        output=outputs,
        params=params,
        threads=1,
        wildcards=SimpleNamespace(net="mlp", state=state),
        log=[str(folder / "job.log")],
    )
    spec = importlib.util.spec_from_file_location("train_network_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(job)
    return outputs


def test_seeds_in_one_job_give_the_files_of_one_seed_jobs(tmp_path):
    inputs = _inputs(tmp_path)
    for state in ("8000", "ideal"):
        both = _run(tmp_path / state / "both", inputs, [0, 1], state)
        alone = _run(tmp_path / state / "alone", inputs, [1], state)
        for key in SUFFIXES:
            two, one = getattr(both, key), getattr(alone, key)
            assert Path(two[1]).read_bytes() == Path(one[0]).read_bytes(), (state, key)
        for key in ("curves", "weights"):  # the seeds really differ
            assert (
                Path(getattr(both, key)[0]).read_bytes() != Path(getattr(both, key)[1]).read_bytes()
            )
        curve = pd.read_csv(both.curves[1])
        assert set(curve["seed"]) == {1} and list(curve["epoch"]) == [0, 1, 2]
        with np.load(both.weights[0]) as arrays:
            assert ("states_final_V" in arrays) == (state != "ideal")
