"""The binary trace store and the chunked array campaign."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from fmes.analysis.validation import TraceKeeper
from fmes.data.store import (
    check_trace_samples,
    chunk_bounds,
    iter_part,
    iter_traces,
    read_part,
    write_part,
)
from fmes.data.traces import TraceContractError, write_dataset
from fmes.device import circuit as device
from fmes.device import synthetic

VARIABILITY = {
    "rows": 2,
    "cols": 3,
    "cycles": 2,
    "resistances": ["500", "open"],
    "device_to_device_cv": 0.05,
    "cycle_to_cycle_cv": 0.015,
    "sampling": {"samples_per_pulse": 2, "samples_per_gap": 3},
}
LTP = {
    "amplitude_A": 1e-3,
    "width_s": 1e-3,
    "frequency_Hz": 2.0,
    "n_pulses": 6,
    "delay_s": 0.01,
    "tail_s": 0.2,
}
NOISE = synthetic.Noise(voltage_V=1e-5, current_A=1e-7)
CELL = device.CellParams(20.0, 1.2e-5, 600.0, 1.0e-2, 1.0e6)


def _campaign(chunk_traces):
    chunks = synthetic.array_chunks(VARIABILITY, chunk_traces)
    parts = [
        synthetic.array_chunk(CELL, VARIABILITY, LTP, NOISE, 7, chunk_traces, k)
        for k in range(len(chunks))
    ]
    ids = [i for p in parts for i in p[0]]
    return ids, np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts])


def test_part_round_trip_and_identical_bytes(tmp_path):
    rng = np.random.default_rng(0)
    times = [np.arange(5.0), np.arange(3.0) * 0.1]
    currents = [rng.normal(size=5), rng.normal(size=3)]
    voltages = [rng.normal(size=5), rng.normal(size=3)]
    a = write_part(
        [
            (["t1"], times[:1], currents[:1], voltages[:1]),
            (["t0"], times[1:], currents[1:], voltages[1:]),
        ],
        tmp_path / "a.parquet",
    )
    b = write_part(
        [
            (["t1"], times[:1], currents[:1], voltages[:1]),
            (["t0"], times[1:], currents[1:], voltages[1:]),
        ],
        tmp_path / "b.parquet",
    )
    assert a.read_bytes() == b.read_bytes()
    assert pq.ParquetFile(a).num_row_groups == 2  # one row group per batch
    traces = read_part(a)
    assert list(traces) == ["t1", "t0"]
    np.testing.assert_array_equal(traces["t0"]["voltage_V"], voltages[1])
    np.testing.assert_array_equal(traces["t1"]["time_s"], times[0])


def test_chunked_array_is_independent_of_chunk_and_batch_size():
    ids_small, current_small, voltage_small = _campaign(chunk_traces=2)  # one device per chunk
    ids_big, current_big, voltage_big = _campaign(chunk_traces=1000)  # one chunk per state
    assert ids_small == ids_big and len(ids_big) == 2 * 6 * 2
    np.testing.assert_array_equal(voltage_small, voltage_big)
    np.testing.assert_array_equal(current_small, current_big)
    batches = list(
        synthetic.iter_array_chunk(CELL, VARIABILITY, LTP, NOISE, 7, 1000, 0, batch_traces=4)
    )
    assert [len(b[0]) for b in batches] == [4, 4, 4]  # 2 devices x 2 cycles per batch
    np.testing.assert_array_equal(np.concatenate([b[3] for b in batches]), voltage_big[:12])


def test_chunked_array_has_the_device_parameters_of_the_in_memory_campaign():
    quiet = synthetic.Noise(0.0, 0.0)
    reference = synthetic.array_campaign(CELL, VARIABILITY, LTP, quiet, 7)
    chunks = synthetic.array_chunks(VARIABILITY, 4)
    parts = [
        synthetic.array_chunk(CELL, VARIABILITY, LTP, quiet, 7, 4, k) for k in range(len(chunks))
    ]
    for ids, _, _, voltage in parts:
        for trace_id, v in zip(ids, voltage, strict=True):
            np.testing.assert_allclose(v, reference.traces[trace_id]["voltage_V"], rtol=1e-12)
    manifest = synthetic.array_store_manifest(VARIABILITY, LTP, 4)
    pd.testing.assert_frame_equal(
        manifest.drop(columns="path"), reference.manifest.drop(columns="path")
    )
    assert manifest["path"].iloc[-1] == f"store/part-{len(chunks) - 1:05d}.parquet"


def test_iter_traces_reads_each_file_once_grouped_by_file(tmp_path):
    frame = pd.DataFrame({"time_s": [0.0, 1.0], "current_A": [0.0, 1e-3], "voltage_V": [0.1, 0.2]})
    manifest = pd.DataFrame(
        {
            "trace_id": ["c"],
            "path": ["traces/c.csv"],
            "device_id": ["d"],
            "protocol": ["pulse"],
            "resistance_ohm": ["500"],
        }
    )
    write_dataset(manifest, {"c": frame}, tmp_path)
    write_part(
        [(["s0", "s1"], [np.arange(3.0)] * 2, [np.zeros(3)] * 2, [np.ones(3), 2 * np.ones(3)])],
        tmp_path / "p.parquet",
    )
    rows = pd.DataFrame(
        {
            "trace_id": ["s1", "c", "s0"],
            "trace_path": [
                str(tmp_path / "p.parquet"),
                str(tmp_path / "traces/c.csv"),
                str(tmp_path / "p.parquet"),
            ],
        }
    )
    got = list(iter_traces(rows))
    assert [r["trace_id"] for r, _ in got] == [
        "c",
        "s0",
        "s1",
    ]  # CSV rows, then parts in stored order
    assert got[2][1]["voltage_V"].tolist() == [2.0, 2.0, 2.0]
    assert got[0][1]["current_A"].tolist() == [0.0, 1e-3]
    missing = pd.DataFrame({"trace_id": ["nope"], "trace_path": [str(tmp_path / "p.parquet")]})
    with pytest.raises(TraceContractError, match="'nope'.*not in this store part"):
        list(iter_traces(missing))


def test_trace_keeper_stores_raw_ltp_ltd_and_converts_exports(tmp_path):
    from types import SimpleNamespace

    from fmes.data.store import PartWriter

    trace = pd.DataFrame(
        {"time_s": [0.0, 1.0], "voltage_V": [0.1, 0.2], "current_A": [0.0, 1e-3], "extra": 1}
    )
    export = SimpleNamespace(is_contract=False)  # an instrument export (read by its format)
    formats = {"e": export, "c": SimpleNamespace(is_contract=True)}
    store = PartWriter(tmp_path / "store", chunk_traces=10, batch_traces=10)
    keep = TraceKeeper(lambda row: formats.get(row.get("fmt")), store, tmp_path / "conv", True)
    rows = [
        {"trace_id": "l1", "protocol": "ltp_ltd", "trace_path": "lab/l1.csv", "fmt": "c"},
        {"trace_id": "l2", "protocol": "ltp_ltd", "trace_path": "store/part-00000.parquet"},
        {"trace_id": "p1", "protocol": "pulse", "trace_path": "lab/p1.txt", "fmt": "e"},
        {"trace_id": "p2", "protocol": "pulse", "trace_path": "lab/p2.csv", "fmt": "c"},
        {"trace_id": "p3", "protocol": "pulse", "trace_path": "lab/p3.csv", "fmt": None},
    ]
    for row in rows:
        keep(row, trace)
    store.close()
    assert keep.counts == {"samples": 10, "converted": 1, "stored": 1}
    paths = keep.paths(pd.DataFrame(rows))
    assert paths[0] == str((tmp_path / "store/part-00000.parquet").resolve())
    assert paths[1:] == [
        "store/part-00000.parquet",
        str((tmp_path / "conv/p1.csv").resolve()),
        "lab/p2.csv",
        "lab/p3.csv",
    ]
    converted = pd.read_csv(paths[2])
    assert list(converted.columns) == ["time_s", "current_A", "voltage_V"]  # the contract's
    assert list(read_part(paths[0])) == ["l1"]
    # without convert_to_store an LTP/LTD trace stays where it is
    plain = TraceKeeper(lambda row: None, store, tmp_path / "conv", False)
    plain(rows[0], trace)
    assert plain.moved == {} and plain.counts["stored"] == 0


@pytest.mark.parametrize(
    "time, voltage, message",
    [
        ([0.0], [0.0], "at least two samples"),
        ([0.0, 1.0], [0.0, np.nan], "finite"),
        ([1.0, 1.0], [0.0, 0.0], "strictly increasing"),
    ],
)
def test_binary_samples_are_checked(time, voltage, message):
    trace = pd.DataFrame({"time_s": time, "current_A": np.zeros(len(time)), "voltage_V": voltage})
    with pytest.raises(TraceContractError, match=message):
        check_trace_samples(trace, "part-00000.parquet [x]")


def test_part_checks_each_trace_of_a_row_group_as_alone(tmp_path):
    # one row group of good and broken traces: each broken one fails with its own message (the
    # check runs on the whole row group at once), and only when reached; the good ones pass
    ids = ["good", "one", "nan", "back", "good2"]
    times = [[0.0, 1.0, 2.0], [5.0], [0.0, 1.0, 2.0], [0.0, 2.0, 1.0], [-1.0, 0.0]]
    voltages = [[0.0, 1.0, 2.0], [0.0], [0.0, np.inf, 1.0], [0.0, 0.0, 0.0], [1.0, 2.0]]
    path = write_part(
        [
            (
                ids,
                [np.array(t) for t in times],
                [np.zeros(len(t)) for t in times],
                [np.array(v) for v in voltages],
            )
        ],
        tmp_path / "part-00000.parquet",
    )
    for trace_id, message in [
        ("one", "at least two"),
        ("nan", "sample 2, column 'voltage_V'"),
        ("back", "sample 3, column 'time_s'"),
    ]:
        with pytest.raises(TraceContractError, match=rf"\[{trace_id}\]: .*{message}"):
            list(iter_part(path, {"good", trace_id}, check=True))
    assert [t for t, _ in iter_part(path, {"good", "good2"}, check=True)] == ["good", "good2"]
    # without the check every trace is yielded as stored
    assert len(list(iter_part(path))) == 5


def test_chunk_bounds_cover_every_item_once():
    assert chunk_bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert chunk_bounds(0, 3) == [(0, 0)]


def test_scattered_store_run_gives_the_single_job_tables(tmp_path):
    """A raw campaign analysed in one job from CSV, and converted to the store and analysed in
    several scattered chunks, give byte-identical fit tables."""
    from conftest import run_snakemake

    campaign = synthetic.array_campaign(CELL, VARIABILITY, LTP, NOISE, 7)
    write_dataset(campaign.manifest, campaign.traces, tmp_path / "lab")
    tables = {}
    for name, store in (
        ("single", "{min_traces: 100000, chunk_traces: 100000}"),
        ("chunks", "{min_traces: 1, chunk_traces: 5, batch_traces: 2}"),
    ):
        work = tmp_path / name
        work.mkdir()
        (work / "c.yaml").write_text(
            f"traces: {{source: raw, raw_manifest: {tmp_path / 'lab/manifest.csv'}, store: {store}}}\n"
        )
        run_snakemake(
            work,
            "results/tables/ltp_ltd_fits.csv",
            "results/tables/ltp_ltd_weights.csv",
            "--configfile",
            "c.yaml",
        )
        tables[name] = work / "results/tables"
    assert (
        len(list((tmp_path / "chunks/results/chunks/ltp_ltd_fits").iterdir())) == 5
    )  # 24 rows / 5
    assert (
        len(list((tmp_path / "chunks/results/traces/store").glob("part-*.parquet"))) == 5
    )  # converted once
    assert not list((tmp_path / "single/results/traces/store").glob("part-*"))  # small: stays CSV
    for table in ("ltp_ltd_fits.csv", "ltp_ltd_weights.csv"):
        assert (tables["single"] / table).read_bytes() == (tables["chunks"] / table).read_bytes()
    fits = pd.read_csv(tables["chunks"] / "ltp_ltd_fits.csv")
    assert len(fits) == 24 and fits["converged"].all()


def test_array_config_plans_scattered_chunk_jobs(tmp_path):
    """config/array.yaml (32 x 32 x 20 at 4 states) plans one job per store part and per fit chunk."""
    from conftest import ROOT, run_snakemake

    proc = run_snakemake(
        tmp_path,
        "results/tables/array_yield.csv",
        "--configfile",
        str(ROOT / "config/array.yaml"),
        "--dry-run",
    )
    out = proc.stdout + proc.stderr
    jobs = dict(
        line.split()[:2]
        for line in out.splitlines()
        if line.strip().startswith(
            ("synthesize_array_chunk", "validate_store_part", "analyse_ltp_ltd_chunk")
        )
    )
    # 4096 // 20 = 204 devices per part: 6 parts per state, each validated in its own job;
    # 81,920 + 7 nominal rows / 4096: 21 fit chunks
    assert jobs == {
        "synthesize_array_chunk": "24",
        "validate_store_part": "24",
        "analyse_ltp_ltd_chunk": "21",
    }


def _stored_campaign(folder, chunk_traces=4):
    """The VARIABILITY campaign as a synthetic store: parts of whole devices + one manifest."""
    from fmes.core.io import write_csv
    from fmes.data.store import part_name

    for k in range(len(synthetic.array_chunks(VARIABILITY, chunk_traces))):
        batches = synthetic.iter_array_chunk(CELL, VARIABILITY, LTP, NOISE, 7, chunk_traces, k, 4)
        write_part(
            ((ids, [t] * len(ids), i, v) for ids, t, i, v in batches),
            folder / "store" / part_name(k),
        )
    manifest = synthetic.array_store_manifest(VARIABILITY, LTP, chunk_traces)
    write_csv(manifest, folder / "manifest.csv")
    return folder / "manifest.csv", sorted((folder / "store").glob("part-*.parquet"))


def _scattered_checks(manifest_path, parts, plausible, tolerance, tmp_path):
    """validate_store_part's work on every part, written and gathered as the workflow does."""
    from fmes.analysis.validation import check_stored_part
    from fmes.data.store import read_results, write_results
    from fmes.data.traces import read_manifest

    manifest = read_manifest(manifest_path, check_files=False)
    files = [
        write_results(
            check_stored_part(manifest, part, plausible=plausible, tolerance=tolerance),
            tmp_path / f"checked-{k}.parquet",
        )
        for k, part in enumerate(parts)
    ]
    return read_results(files)


def test_scattered_validation_of_store_parts_gives_the_single_job_result(tmp_path):
    """Checking each store part in its own job and gathering the results gives the single job's
    manifest, and its error (same disagreements, same order) when traces contradict the
    manifest; the gather reads no stored trace again, and refuses results of another manifest."""
    import yaml
    from conftest import ROOT

    from fmes.analysis.validation import validate_dataset

    traces_config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["traces"]
    kw = dict(plausible=traces_config["plausible"], tolerance=traces_config["manifest_tolerance"])
    manifest_path, parts = _stored_campaign(tmp_path / "campaign")
    assert len(parts) == 6  # 2 devices x 2 cycles per part: 3 parts per state, 2 states

    read_again = []

    def no_traces(rows):
        read_again.extend(rows["trace_id"])
        return iter(())

    single = validate_dataset(manifest_path, **kw, traces=iter_traces)
    checked = _scattered_checks(manifest_path, parts, **kw, tmp_path=tmp_path)
    assert len(checked) == 24 and checked["n_samples"].gt(0).all()
    gathered = validate_dataset(manifest_path, **kw, traces=no_traces, checked=checked)
    pd.testing.assert_frame_equal(gathered, single)
    assert read_again == []

    # two rows (in different parts) whose manifest contradicts the trace
    broken = pd.read_csv(manifest_path, dtype=str)
    broken.loc[[3, 20], "n_pulses"] = "5"
    broken.to_csv(manifest_path, index=False)
    with pytest.raises(TraceContractError) as single_error:
        validate_dataset(manifest_path, **kw, traces=iter_traces)
    checked = _scattered_checks(manifest_path, parts, **kw, tmp_path=tmp_path)
    with pytest.raises(TraceContractError) as gathered_error:
        validate_dataset(manifest_path, **kw, traces=no_traces, checked=checked)
    assert "2 manifest/trace disagreement(s)" in str(single_error.value)
    assert str(gathered_error.value) == str(single_error.value)

    stale = checked.assign(trace_id=checked["trace_id"].iloc[::-1].to_numpy())
    with pytest.raises(TraceContractError, match="do not match this manifest"):
        validate_dataset(manifest_path, **kw, traces=no_traces, checked=stale)


def test_fit_chunk_keeps_row_order_and_the_nominal_weights_only(tmp_path):
    """A chunk's fits come back in the rows' order although the store is read part by part, and
    only the nominal device's weight tables are kept."""
    import yaml
    from conftest import ROOT

    from fmes.analysis.ltp_ltd_chunk import fit_chunk
    from fmes.data.traces import read_manifest

    analysis = yaml.safe_load((ROOT / "config/config.yaml").read_text())["analysis"]
    manifest_path, _ = _stored_campaign(tmp_path)
    rows = read_manifest(manifest_path).iloc[::-3]  # against the stored order, several parts
    rows = rows.assign(position=range(len(rows)))
    fits, weights = fit_chunk(
        rows,
        nominal_device="r0c1",
        pulse_kw=dict(analysis["pulses"]),
        fit_kw=dict(analysis["ltp_ltd"]),
        quality=dict(analysis["fit_quality"]),
        n_workers=1,
        batch_traces=4,
        group_traces=3,
    )
    assert list(fits["trace_id"]) == list(rows["trace_id"])
    nominal = rows.loc[rows["device_id"] == "r0c1", "trace_id"]
    assert len(nominal) and set(weights["trace_id"]) == set(nominal)
