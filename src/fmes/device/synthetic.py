"""Synthetic measurement campaigns from the device model, written in the raw-trace contract.

Every trace a lab would record for the study (the protocols of raw/README.md) is simulated with the
exact circuit solver, then seeded measurement noise is added. Device-to-device and
cycle-to-cycle variability are explicit multiplicative log-normal spreads of the circuit
parameters (each parameter independently), the usual way process spread is modelled.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmes.core.io import write_csv
from fmes.core.rng import child_rng
from fmes.data.traces import manifest_columns, parse_resistance, resistance_label, write_dataset
from fmes.device import circuit as dev
from fmes.workflow.planning import array_chunks, part_name


@dataclass(frozen=True)
class Noise:
    voltage_V: float
    current_A: float


@dataclass
class Campaign:
    """A manifest (contract columns, ``path`` relative to the data folder) and its traces."""

    manifest: pd.DataFrame
    traces: dict[str, pd.DataFrame]

    def extend(self, other: Campaign) -> None:
        self.manifest = pd.concat([self.manifest, other.manifest], ignore_index=True)
        self.traces.update(other.traces)


def write_campaign(campaign: Campaign, folder: str | os.PathLike) -> Path:
    """Write the campaign in the raw contract into ``folder``: a CSV per trace it holds and the
    manifest of ALL its rows (rows already in the trace store, with no trace here, keep their
    ``path`` to their part). Returns the manifest path."""
    on_csv = campaign.manifest["trace_id"].isin(list(campaign.traces))
    path = write_dataset(campaign.manifest[on_csv], campaign.traces, folder)
    if not on_csv.all():
        path = write_csv(
            campaign.manifest[manifest_columns(campaign.manifest)], Path(folder) / "manifest.csv"
        )
    return path


def _frames(
    stimulus: dev.Stimulus,
    response: np.ndarray,
    trace_ids: list[str],
    noise: Noise,
    rng: np.random.Generator,
) -> dict[str, pd.DataFrame]:
    """Noisy measured traces for a batch of responses sharing one stimulus (batch x time)."""
    response = response.reshape(len(trace_ids), -1)
    drive = np.broadcast_to(stimulus.drive.value(stimulus.time_s), response.shape)
    if stimulus.driven == "current":
        current = drive + rng.normal(0.0, noise.current_A, response.shape)
        voltage = response + rng.normal(0.0, noise.voltage_V, response.shape)
    else:
        voltage = drive + rng.normal(0.0, noise.voltage_V, response.shape)
        current = response + rng.normal(0.0, noise.current_A, response.shape)
    return {
        tid: pd.DataFrame(
            {"time_s": stimulus.time_s, "current_A": current[i], "voltage_V": voltage[i]}
        )
        for i, tid in enumerate(trace_ids)
    }


def _rows(
    trace_ids: list[str],
    device_ids: list[str],
    cycles: list[int],
    labels: list[str],
    protocol: str,
    **params: Any,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "trace_id": trace_ids,
            "path": [f"traces/{t}.csv" for t in trace_ids],
            "device_id": device_ids,
            "protocol": protocol,
            "resistance_ohm": labels,
            "cycle": cycles,
        }
    )
    for key, value in params.items():
        frame[key] = value
    return frame


@dataclass(frozen=True)
class _Measurement:
    """One protocol setting of the characterisation set: its stimulus, the protocol, the tag
    in its trace ids and the protocol parameters its manifest rows declare."""

    stimulus: dev.Stimulus
    protocol: str
    tag: str
    manifest_params: dict[str, Any]


def _iv_sweeps(protocols: dict) -> Iterator[_Measurement]:
    """One I-V sweep per configured sweep rate."""
    iv = protocols["iv_sweep"]
    for rate in iv["sweep_rates_V_per_s"]:
        yield _Measurement(
            dev.iv_sweep_stimulus(iv["v_max_V"], rate, iv["samples"]),
            "iv_sweep",
            f"{rate * 1e3:g}mVps",
            {"sweep_rate_V_per_s": rate, "v_max_V": iv["v_max_V"]},
        )


def _single_pulses(protocols: dict) -> Iterator[_Measurement]:
    """The single-pulse amplitude series at the nominal width, then the width series at the
    nominal amplitude (less the setting the amplitude series already holds)."""
    pulse = protocols["pulse"]
    sampling = protocols["sampling"]
    for amp in pulse["amplitudes_A"]:
        yield _Measurement(
            dev.pulse_stimulus(
                amp, pulse["width_s"], pulse["delay_s"], pulse["tail_s"], **sampling
            ),
            "pulse",
            f"amp{amp * 1e3:g}mA_w{pulse['width_s'] * 1e3:g}ms",
            {"amplitude_A": amp, "width_s": pulse["width_s"]},
        )
    for width in pulse["widths_s"]:
        if width == pulse["width_s"] and pulse["amplitude_A"] in pulse["amplitudes_A"]:
            continue  # already in the amplitude series
        yield _Measurement(
            dev.pulse_stimulus(
                pulse["amplitude_A"], width, pulse["delay_s"], pulse["tail_s"], **sampling
            ),
            "pulse",
            f"amp{pulse['amplitude_A'] * 1e3:g}mA_w{width * 1e3:g}ms",
            {"amplitude_A": pulse["amplitude_A"], "width_s": width},
        )


def _ppf_pairs(protocols: dict) -> Iterator[_Measurement]:
    """One paired-pulse trace per configured interval."""
    ppf = protocols["ppf"]
    for interval in ppf["intervals_s"]:
        yield _Measurement(
            dev.ppf_stimulus(
                ppf["amplitude_A"],
                ppf["width_s"],
                interval,
                ppf["delay_s"],
                ppf["tail_s"],
                **protocols["sampling"],
            ),
            "ppf",
            f"dt{interval * 1e3:g}ms",
            {"amplitude_A": ppf["amplitude_A"], "width_s": ppf["width_s"], "interval_s": interval},
        )


def _trains(protocols: dict) -> Iterator[_Measurement]:
    """The pulse train, then the LTP/LTD cycle."""
    train = protocols["pulse_train"]
    yield _Measurement(
        dev.train_stimulus(
            np.full(train["n_pulses"], train["amplitude_A"]),
            train["width_s"],
            train["frequency_Hz"],
            train["delay_s"],
            train["tail_s"],
            **protocols["sampling"],
        ),
        "pulse_train",
        f"{train['frequency_Hz']:g}Hz",
        {
            "amplitude_A": train["amplitude_A"],
            "width_s": train["width_s"],
            "n_pulses": train["n_pulses"],
            "frequency_Hz": train["frequency_Hz"],
        },
    )
    yield _Measurement(
        ltp_ltd_stimulus(protocols["ltp_ltd"], protocols["sampling"]),
        "ltp_ltd",
        "cycle",
        ltp_ltd_manifest_params(protocols["ltp_ltd"]),
    )


def nominal_campaign(
    params: dev.CellParams, labels: list[str], protocols: dict, noise: Noise, seed: int
) -> Campaign:
    """The characterisation set of one (nominal) device at every resistance state: each
    protocol setting simulated at all states at once (one batch), then made noisy."""
    ohm = np.array([parse_resistance(label) for label in labels])
    labels = [resistance_label(r) for r in ohm]
    n = len(labels)
    campaign = Campaign(pd.DataFrame(), {})
    for m in itertools.chain(
        _iv_sweeps(protocols), _single_pulses(protocols), _ppf_pairs(protocols), _trains(protocols)
    ):
        ids = [f"{m.protocol}_{m.tag}_R{label}" for label in labels]
        response = dev.respond(params, ohm, m.stimulus)
        rng = child_rng(seed, "nominal", m.protocol, m.tag)
        campaign.extend(
            Campaign(
                _rows(ids, ["nominal"] * n, [0] * n, labels, m.protocol, **m.manifest_params),
                _frames(m.stimulus, response, ids, noise, rng),
            )
        )
    return campaign


def ltp_ltd_stimulus(ltp: dict, sampling: dict) -> dev.Stimulus:
    """The 150 + 150 pulse potentiation/depression protocol (Fig 1e)."""
    amps = dev.ltp_ltd_amplitudes(ltp["amplitude_A"], ltp["n_pulses"])
    return dev.train_stimulus(
        amps, ltp["width_s"], ltp["frequency_Hz"], ltp["delay_s"], ltp["tail_s"], **sampling
    )


def ltp_ltd_manifest_params(ltp: dict) -> dict[str, Any]:
    return {
        "amplitude_A": ltp["amplitude_A"],
        "width_s": ltp["width_s"],
        "n_pulses": ltp["n_pulses"],
        "frequency_Hz": ltp["frequency_Hz"],
    }


def _device_ids(variability: dict) -> list[str]:
    return [f"r{i}c{j}" for i in range(variability["rows"]) for j in range(variability["cols"])]


def _spread_factors(
    params: dev.CellParams, variability: dict, seed: int, label: str
) -> dict[str, np.ndarray]:
    """Per-parameter factors (devices x cycles) of the array at state ``label``: the device's own
    spread (the same at every state) times a fresh cycle-to-cycle spread."""
    n_dev, cycles = variability["rows"] * variability["cols"], variability["cycles"]
    names = list(params.as_dict())
    dev_rng = child_rng(seed, "array", "device_spread")
    d2d = {k: dev_rng.lognormal(0.0, variability["device_to_device_cv"], n_dev) for k in names}
    cyc_rng = child_rng(seed, "array", "cycle_spread", label)
    return {
        k: d2d[k][:, None]
        * cyc_rng.lognormal(0.0, variability["cycle_to_cycle_cv"], (n_dev, cycles))
        for k in names
    }


def _array_trace_ids(devices: list[str], cycles: int, label: str) -> list[str]:
    return [f"ltp_ltd_{d}_c{c:02d}_R{label}" for d in devices for c in range(cycles)]


def _array_rows(devices: list[str], cycles: int, label: str, ltp: dict) -> pd.DataFrame:
    """Manifest rows of the LTP/LTD cycles of ``devices`` at state ``label``, device-major."""
    ids = _array_trace_ids(devices, cycles, label)
    return _rows(
        ids,
        [d for d in devices for _ in range(cycles)],
        [c for _ in devices for c in range(cycles)],
        [label] * len(ids),
        "ltp_ltd",
        **ltp_ltd_manifest_params(ltp),
    )


def array_campaign(
    params: dev.CellParams, variability: dict, ltp: dict, noise: Noise, seed: int
) -> Campaign:
    """LTP/LTD cycles on a rows x cols device array at each configured resistance state.

    Device ``r{i}c{j}`` has its own parameters (device-to-device spread); every cycle perturbs
    them again (cycle-to-cycle spread). Each cycle starts from a discharged device.
    """
    device_ids, cycles = _device_ids(variability), variability["cycles"]
    stim = ltp_ltd_stimulus(ltp, variability["sampling"])
    campaign = Campaign(pd.DataFrame(), {})
    for label in variability["resistances"]:
        ohm = parse_resistance(label)
        label = resistance_label(ohm)
        factors = _spread_factors(params, variability, seed, label)
        response = dev.respond(params.scaled(factors), ohm, stim)  # (devices, cycles, time)
        rows_frame = _array_rows(device_ids, cycles, label, ltp)
        ids = rows_frame["trace_id"].tolist()
        campaign.extend(
            Campaign(
                rows_frame,
                _frames(stim, response, ids, noise, child_rng(seed, "array", "noise", label)),
            )
        )
    return campaign


# --- large campaigns: the array in chunks of whole devices, straight to the trace store ---


def array_store_manifest(
    variability: dict, ltp: dict, chunk_traces: int, store_folder: str = "store"
) -> pd.DataFrame:
    """Manifest rows of the stored array campaign (``path`` = the part holding each trace, relative
    to the manifest's folder), in the order :func:`array_campaign` lists them."""
    device_ids, cycles = _device_ids(variability), variability["cycles"]
    frames = []
    for index, (label, lo, hi) in enumerate(array_chunks(variability, chunk_traces)):
        devices = device_ids[lo:hi]
        frame = _array_rows(devices, cycles, label, ltp)
        frame["path"] = f"{store_folder}/{part_name(index)}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def iter_array_chunk(
    params: dev.CellParams,
    variability: dict,
    ltp: dict,
    noise: Noise,
    seed: int,
    chunk_traces: int,
    index: int,
    batch_traces: int,
) -> Iterator[tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """Chunk ``index`` of the array campaign in batches of whole devices (at most
    ``batch_traces`` traces, at least one device): (trace ids, time_s, current_A, voltage_V),
    the sample arrays traces x time. Memory holds one batch.

    Device and cycle spreads are drawn exactly as :func:`array_campaign` draws them (for all
    devices, cheap), so a device has the same parameters in any chunking. Measurement noise is
    drawn per device (``child_rng(seed, "array", "noise", state, device)``), which makes every
    trace independent of the chunk and batch sizes and of which job computes it; only the noise
    realisation differs from :func:`array_campaign`'s single per-state stream (same
    distribution).
    """
    label, lo, hi = array_chunks(variability, chunk_traces)[index]
    cycles = variability["cycles"]
    factors = {k: f[lo:hi] for k, f in _spread_factors(params, variability, seed, label).items()}
    stim = ltp_ltd_stimulus(ltp, variability["sampling"])
    drive = stim.drive.value(stim.time_s)
    device_ids = _device_ids(variability)[lo:hi]
    per_batch = max(1, batch_traces // cycles)
    for b_lo in range(0, hi - lo, per_batch):
        b_hi = min(hi - lo, b_lo + per_batch)
        batch = {k: f[b_lo:b_hi] for k, f in factors.items()}
        response = dev.respond(params.scaled(batch), parse_resistance(label), stim).reshape(
            (b_hi - b_lo) * cycles, -1
        )
        current = np.empty_like(response)
        voltage = np.empty_like(response)
        devices = device_ids[b_lo:b_hi]
        for k, device_id in enumerate(devices):
            rng = child_rng(seed, "array", "noise", label, device_id)
            block = slice(k * cycles, (k + 1) * cycles)
            current[block] = drive + rng.normal(0.0, noise.current_A, (cycles, drive.size))
            voltage[block] = response[block] + rng.normal(
                0.0, noise.voltage_V, (cycles, drive.size)
            )
        yield _array_trace_ids(devices, cycles, label), stim.time_s, current, voltage


def array_chunk(
    params: dev.CellParams,
    variability: dict,
    ltp: dict,
    noise: Noise,
    seed: int,
    chunk_traces: int,
    index: int,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Chunk ``index`` of the array campaign at once (see :func:`iter_array_chunk`)."""
    batches = list(
        iter_array_chunk(params, variability, ltp, noise, seed, chunk_traces, index, chunk_traces)
    )
    return (
        [i for b in batches for i in b[0]],
        batches[0][1],
        np.concatenate([b[2] for b in batches]),
        np.concatenate([b[3] for b in batches]),
    )
