"""Instrument exports in: column mapping, units, separators, decimal comma, metadata headers, and
the manifest builder (`fmes manifest`), end to end through read_manifest/read_trace."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from fmes.cli import main
from fmes.data.build_manifest import ManifestBuildError, build_manifest, pattern_regex
from fmes.data.instruments import ExportFormat, export_format_for_row, read_export
from fmes.data.traces import TraceContractError, read_manifest, read_trace, read_working_manifest

CONTRACT = ExportFormat(
    columns={"time": "time_s", "current": "current_A", "voltage": "voltage_V"},
    units={"time": "s", "current": "A", "voltage": "V"},
)
# Three export styles seen in practice; each file is written from the same SI trace.
EUROPEAN = ExportFormat(  # metadata lines above the header, ';' separator, decimal comma
    columns={"time": "Zeit", "current": "Strom", "voltage": "Spannung"},
    units={"time": "s", "current": "A", "voltage": "V"},
    header_line=4,
    separator=";",
    decimal=",",
)
SCALED = ExportFormat(  # mA / ms / mV units
    columns={"time": "t (ms)", "current": "I (mA)", "voltage": "V (mV)"},
    units={"time": "ms", "current": "mA", "voltage": "mV"},
)
REORDERED = ExportFormat(  # extra columns, voltage before time, current in uA
    columns={"time": "Time", "current": "Source current", "voltage": "Vsense"},
    units={"time": "s", "current": "uA", "voltage": "V"},
    separator="\t",
)


def _trace(n=40, seed=0, pulses=4):
    """A closed-form pulse response: 1 mA pulses with an exponential PSV rise and decay."""
    t = np.cumsum(np.full(n, 1e-3)) + 0.5
    current = np.where(((np.arange(n) % 10) < 3) & (np.arange(n) < 10 * pulses), 1e-3, 0.0)
    voltage = 0.05 * (1 - np.exp(-np.cumsum(current) / 3e-3)) + 1e-4 * np.random.default_rng(
        seed
    ).standard_normal(n)
    return pd.DataFrame({"time_s": t, "current_A": current, "voltage_V": voltage})


def _replace_after_time(path, index, cells):
    """Line ``index`` of a ';'-separated export keeps its time cell, then reads ``cells``."""
    lines = path.read_text().splitlines()
    lines[index] = lines[index].split(";")[0] + cells
    path.write_text("\n".join(lines) + "\n")


def _write(trace, path, style):
    t, i, v = trace["time_s"], trace["current_A"], trace["voltage_V"]
    if style == "european":
        lines = ["Instrument: SMU-2450;S/N 0042", "Datum;29.11.2026", ""]
        lines.append("Zeit;Strom;Spannung")
        lines += [
            f"{a:.9g};{b:.9g};{c:.9g}".replace(".", ",") for a, b, c in zip(t, i, v, strict=True)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif style == "scaled":
        pd.DataFrame({"t (ms)": t * 1e3, "I (mA)": i * 1e3, "V (mV)": v * 1e3}).to_csv(
            path, index=False, float_format="%.9g"
        )
    elif style == "reordered":
        frame = pd.DataFrame(
            {
                "Vsense": v,
                "Index": np.arange(len(t)),
                "Time": t,
                "Range": "auto",
                "Source current": i * 1e6,
            }
        )
        frame.to_csv(path, index=False, sep="\t", float_format="%.9g")
    else:
        trace.to_csv(path, index=False, float_format="%.9g")


@pytest.mark.parametrize(
    ("style", "fmt"), [("european", EUROPEAN), ("scaled", SCALED), ("reordered", REORDERED)]
)
def test_each_export_style_reads_back_to_the_si_trace(tmp_path, style, fmt):
    truth = _trace()
    _write(truth, tmp_path / "x.csv", style)
    got = read_trace(tmp_path / "x.csv", fmt)
    assert list(got.columns) == ["time_s", "current_A", "voltage_V"]
    for column in truth:
        np.testing.assert_allclose(got[column], truth[column], rtol=1e-8, atol=1e-15)
    # ...and the contract reader alone cannot read it (the mapping is what makes it work)
    with pytest.raises(TraceContractError):
        read_trace(tmp_path / "x.csv")


def test_default_format_is_the_contract_and_reads_exactly_as_before(tmp_path):
    _write(_trace(), tmp_path / "x.csv", "contract")
    assert CONTRACT.is_contract and not EUROPEAN.is_contract
    pd.testing.assert_frame_equal(
        read_trace(tmp_path / "x.csv", CONTRACT), read_trace(tmp_path / "x.csv")
    )


def test_a_bad_cell_names_file_line_and_column(tmp_path):
    _write(_trace(), tmp_path / "x.csv", "european")
    _replace_after_time(tmp_path / "x.csv", 9, ";1.5e-3;0,1")  # a decimal point, not a comma
    with pytest.raises(
        TraceContractError,
        match=r"x\.csv: row 6 \(line 10\), column 'Strom': expected a number with decimal mark ','",
    ):
        read_export(tmp_path / "x.csv", EUROPEAN)


def test_a_missing_column_names_the_header_line_and_what_is_there(tmp_path):
    _write(_trace(), tmp_path / "x.csv", "european")
    wrong = ExportFormat(
        columns={"time": "Zeit", "current": "Current", "voltage": "Spannung"},
        units=EUROPEAN.units,
        header_line=4,
        separator=";",
        decimal=",",
    )
    with pytest.raises(
        TraceContractError,
        match=r"line 4 \(header\), columns \['Current'\]: not found; the header has \['Zeit', 'Strom', 'Spannung'\]",
    ):
        read_export(tmp_path / "x.csv", wrong)


def test_an_empty_cell_and_time_order_are_checked_with_export_line_numbers(tmp_path):
    _write(_trace(), tmp_path / "x.csv", "european")
    _replace_after_time(tmp_path / "x.csv", 6, ";;0,1")
    with pytest.raises(TraceContractError, match=r"row 3 \(line 7\), column 'current_A'.*empty"):
        read_trace(tmp_path / "x.csv", EUROPEAN)


def test_unknown_units_and_row_formats_are_refused():
    with pytest.raises(ValueError, match="unit of 'current' is 'kA'"):
        ExportFormat(columns=CONTRACT.columns, units={"time": "s", "current": "kA", "voltage": "V"})
    with pytest.raises(TraceContractError, match="unknown format 'eu'.*traces.export_formats"):
        export_format_for_row(
            {"trace_id": "a", "export_format": "eu"}, CONTRACT, {"scaled": SCALED}
        )
    assert (
        export_format_for_row(
            {"trace_id": "a", "export_format": "scaled"}, CONTRACT, {"scaled": SCALED}
        )
        is SCALED
    )
    assert export_format_for_row({"trace_id": "a", "export_format": ""}, CONTRACT, {}) is CONTRACT


def test_pattern_fields_match_only_what_their_column_can_hold():
    regex = pattern_regex("{protocol}_{resistance_ohm}ohm_{device_id}_c{cycle}.csv")
    m = regex.fullmatch("ltp_ltd_8kohm_r1c2_c07.csv")
    assert m.groupdict() == {
        "protocol": "ltp_ltd",
        "resistance_ohm": "8k",
        "device_id": "r1c2",
        "cycle": "07",
    }
    assert regex.fullmatch("ltp_ltd_8000ohm_r1c2_cX.csv") is None


LTP = {"amplitude_A": 1e-3, "width_s": 1e-3, "n_pulses": 3, "frequency_Hz": 100.0}
PULSE = {"amplitude_A": 1e-3, "width_s": 3e-3}


@pytest.mark.parametrize(
    ("style", "fmt"), [("european", EUROPEAN), ("scaled", SCALED), ("reordered", REORDERED)]
)
def test_fmes_manifest_builds_a_contract_manifest_end_to_end(tmp_path, style, fmt):
    folder = tmp_path / "exports"
    folder.mkdir()
    names = [
        "pulse_500ohm_r1c1_c0.csv",
        "pulse_8kohm_r1c1_c1.csv",
        "ltp_ltd_openohm_nominal_c2.csv",
    ]
    truth = {name: _trace(seed=k) for k, name in enumerate(names)}
    for name, trace in truth.items():
        _write(trace, folder / name, style)
    channel = lambda ch: {"column": fmt.columns[ch], "unit": fmt.units[ch]}  # noqa: E731
    config = tmp_path / "user.yaml"
    fmt_yaml = {ch: channel(ch) for ch in ("time", "current", "voltage")} | {
        "header_line": fmt.header_line,
        "separator": fmt.separator,
        "decimal": fmt.decimal,
    }
    import yaml

    config.write_text(
        yaml.safe_dump(
            {
                "traces": {
                    "export_formats": {style: fmt_yaml},
                    "manifest_builder": {"parameters": {"ltp_ltd": LTP, "pulse": PULSE}},
                }
            }
        )
    )
    assert (
        main(["manifest", str(folder), "--configfile", str(config), "--export-format", style]) == 0
    )
    manifest = read_manifest(folder / "manifest.csv")
    assert sorted(manifest["resistance_label"]) == ["500", "8000", "open"]
    assert manifest.set_index("trace_id").loc[
        "ltp_ltd_openohm_nominal_c2", ["cycle", "n_pulses"]
    ].tolist() == [2, 3]
    assert set(manifest["export_format"]) == {style}
    named = {style: fmt}
    for row in manifest.to_dict("records"):
        got = read_trace(row["trace_path"], export_format_for_row(row, CONTRACT, named))
        np.testing.assert_allclose(
            got["voltage_V"], truth[row["path"]]["voltage_V"], rtol=1e-8, atol=1e-15
        )


def test_every_file_that_does_not_match_is_named(tmp_path):
    for name in ("pulse_500ohm_d1_c0.csv", "notes.csv", "pulse_500_d1_c0.csv"):
        _write(_trace(), tmp_path / name, "contract")
    with pytest.raises(
        ManifestBuildError,
        match=r"2 of 3 file\(s\) do not match.*\n  notes\.csv\n  pulse_500_d1_c0\.csv",
    ):
        build_manifest(
            tmp_path, "{protocol}_{resistance_ohm}ohm_{device_id}_c{cycle}.csv", {"pulse": PULSE}
        )


def test_a_protocol_parameter_missing_everywhere_stops_with_the_row(tmp_path, capsys):
    _write(_trace(), tmp_path / "ppf_500ohm_d1_c0.csv", "contract")
    assert main(["manifest", str(tmp_path), "--no-check-traces"]) == 1
    assert "column 'amplitude_A': protocol 'ppf' needs a non-zero number" in capsys.readouterr().err
    assert not (tmp_path / "manifest.csv").exists()


def test_the_console_command_has_help():
    out = subprocess.run(
        [sys.executable, "-m", "fmes.cli", "manifest", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "PATTERN" in out.stdout and "--configfile" in out.stdout


@pytest.mark.slow
def test_validate_traces_converts_exports_for_the_analyses(tmp_path):
    """The pipeline on a folder of exports: `fmes manifest`, then validate_traces converts them."""
    import yaml
    from conftest import ROOT, run_snakemake

    data = tmp_path / "data"
    data.mkdir()
    # one pulse per file, as the manifest's protocol `pulse` says (validate_traces checks the count)
    truth = {
        name: _trace(seed=k, pulses=1)
        for k, name in enumerate(["pulse_500ohm_nominal_c0.csv", "pulse_8kohm_nominal_c0.csv"])
    }
    for name, trace in truth.items():
        _write(trace, data / name, "european")
    channels = {
        ch: {"column": EUROPEAN.columns[ch], "unit": EUROPEAN.units[ch]}
        for ch in ("time", "current", "voltage")
    }
    user = {
        "traces": {
            "source": "raw",
            "raw_manifest": str(data / "manifest.csv"),
            "export": channels | {"header_line": 4, "separator": ";", "decimal": ","},
            "manifest_builder": {"parameters": {"pulse": PULSE}},
        }
    }
    (tmp_path / "user.yaml").write_text(yaml.safe_dump(user))
    assert main(["manifest", str(data), "--configfile", str(tmp_path / "user.yaml")]) == 0
    work = tmp_path / "work"
    work.mkdir()
    run_snakemake(
        work,
        "results/traces/manifest.csv",
        "--configfile",
        str(ROOT / ".test/config/tiny.yaml"),
        str(tmp_path / "user.yaml"),
    )
    working = read_working_manifest(work / "results/traces/manifest.csv")
    for row in working.to_dict("records"):
        assert "results/traces/converted" in row["trace_path"]
        got = read_trace(row["trace_path"])  # plain contract now
        np.testing.assert_allclose(
            got["voltage_V"], truth[row["trace_id"] + ".csv"]["voltage_V"], rtol=1e-8
        )


def test_an_invalid_config_names_the_key(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("traces:\n  export:\n    decimal: ';'\n")
    assert main(["manifest", str(tmp_path), "--configfile", str(tmp_path / "bad.yaml")]) == 2
    assert "';' is not one of ['.', ',']" in capsys.readouterr().err
