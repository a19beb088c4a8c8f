"""The ``fmes`` console command (installed by the package): small tools around the pipeline.

Each subcommand is one function ``_cmd_<name>(args)``, declared with its options in
:data:`COMMANDS`; the logic lives in the library, the command only reads options and the config
and prints results.

    fmes manifest raw/eu --pattern "{protocol}_{resistance_ohm}ohm_{device_id}_c{cycle}.csv"
    fmes device-params raw/manifest.csv --output device_params.csv
    fmes export device_params.csv --outdir exports
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from fmes.data.build_manifest import ManifestBuildError, build_manifest, write_manifest
from fmes.data.instruments import ExportFormat, export_format_for_row
from fmes.data.traces import TraceContractError, read_trace

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CONFIG = "config/config.yaml"
DEFAULT_SCHEMA = "workflow/schemas/config.schema.yaml"


def load_config(configfiles: Sequence[str], schema: str) -> dict:
    """The project config (``config/config.yaml``) with ``configfiles`` merged over it, validated
    against the schema (which also fills the defaults). Merged as Snakemake merges --configfile
    over the default config (:func:`snakemake.utils.update_config`, nested keys included)."""
    from snakemake.utils import update_config

    from fmes.workflow.config import validate_config

    config: dict = {}
    for path in [DEFAULT_CONFIG, *configfiles]:
        if path == DEFAULT_CONFIG and not Path(path).is_file() and configfiles:
            continue  # outside the project folder: the given files must be complete
        if not Path(path).is_file():
            raise SystemExit(
                f"fmes: config file {path} not found (run from the project folder or pass --configfile)"
            )
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    if not Path(schema).is_file():
        raise SystemExit(
            f"fmes: config schema {schema} not found (run from the project folder or pass --schema)"
        )
    return validate_config(config, schema)


def _cmd_manifest(args: argparse.Namespace) -> int:
    config = load_config(args.configfile, args.schema)
    builder = config["traces"]["manifest_builder"]
    folder = Path(args.folder)
    output = Path(args.output) if args.output else folder / "manifest.csv"
    pattern = args.pattern or builder["pattern"]
    try:
        frame = build_manifest(
            folder,
            pattern,
            builder["parameters"],
            glob=args.glob or builder["glob"],
            export_format=args.export_format,
            exclude=(output.name,),
        )
        frame["path"] = [
            os.path.relpath(folder / p, output.resolve().parent) for p in frame["path"]
        ]
        manifest = write_manifest(frame, output)
    except ManifestBuildError as err:
        print(f"fmes manifest: {err}", file=sys.stderr)
        return 1
    print(f"wrote {output}: {len(manifest)} traces, protocols {sorted(set(manifest['protocol']))}")
    if args.check_traces:
        records = manifest.to_dict("records")
        read_row = _trace_loader(config, {row["trace_path"]: row for row in records})
        try:
            for row in records:
                read_row(row["trace_path"])
        except TraceContractError as err:
            print(f"fmes manifest: {err}", file=sys.stderr)
            return 1
        print(f"read all {len(manifest)} traces with the configured export format")
    return 0


def _trace_loader(config: dict, rows: dict[str, dict]) -> Callable[[str], pd.DataFrame]:
    """read_trace with each row's configured export format, keyed by the row's trace path."""
    default = ExportFormat.from_config(config["traces"]["export"])
    named = {k: ExportFormat.from_config(v) for k, v in config["traces"]["export_formats"].items()}
    return lambda path: read_trace(path, export_format_for_row(rows[path], default, named))


def _cmd_device_params(args: argparse.Namespace) -> int:
    from fmes.analysis.pipeline import device_params_from_manifest
    from fmes.core.io import write_csv
    from fmes.data.traces import read_manifest

    config = load_config(args.configfile, args.schema)
    analysis = config["analysis"]
    try:
        manifest = read_manifest(args.manifest)
        rows = {row["trace_path"]: row for row in manifest.to_dict("records")}
        params, provenance, fits = device_params_from_manifest(
            manifest,
            _trace_loader(config, rows),
            pulse_kw=analysis["pulses"],
            fit_kw=analysis["ltp_ltd"],
            quality=analysis["fit_quality"],
            nominal_device=args.nominal_device or analysis["nominal_device"],
        )
    except (TraceContractError, ValueError) as err:
        print(f"fmes device-params: {err}", file=sys.stderr)
        return 1
    write_csv(params, args.output)
    print(
        f"wrote {args.output}: {len(params)} states from {len(fits)} ltp_ltd traces "
        f"({int(fits['converged'].sum())} fits converged)"
    )
    if args.fits:
        write_csv(fits, args.fits)
        print(f"wrote {args.fits}")
    for row in provenance.to_dict("records"):
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from fmes.claims.export import aihwkit_devices, neurosim_file, roundtrip_error
    from fmes.core.io import read_table, write_json, write_text

    params = read_table(args.device_params)
    outdir = Path(args.outdir)
    write_text(neurosim_file(params), outdir / "neurosim_device_params.txt")
    write_json(
        aihwkit_devices(params, source=str(args.device_params)),
        outdir / "aihwkit_softbounds_devices.json",
    )
    print(
        f"wrote {outdir / 'neurosim_device_params.txt'} and {outdir / 'aihwkit_softbounds_devices.json'}"
    )
    for row in params.to_dict("records"):
        errors = {tool: roundtrip_error(row, tool) for tool in ("neurosim", "aihwkit")}
        print(
            f"  {row['resistance_label']}: largest curve deviation of the exported model "
            + ", ".join(f"{tool} {error:.2e}" for tool, error in errors.items())
            + " of the range"
        )
    return 0


def _option(*names: str, **settings) -> tuple[tuple[str, ...], dict]:
    """One ``add_argument(*names, **settings)`` of a subcommand."""
    return names, settings


# the options every command that reads the project config takes
_CONFIG_OPTIONS = (
    _option(
        "--configfile",
        action="append",
        default=[],
        help=f"config merged over {DEFAULT_CONFIG} (repeatable, as in snakemake)",
    ),
    _option("--schema", default=DEFAULT_SCHEMA, help="config schema (default: %(default)s)"),
)


@dataclass(frozen=True)
class _Command:
    """A subcommand: ``fmes <name>`` runs ``run(args)``; ``fmes <name> --help`` prints
    ``description`` and the options."""

    name: str
    run: Callable[[argparse.Namespace], int]
    summary: str
    description: str
    options: tuple[tuple[tuple[str, ...], dict], ...]


COMMANDS = (
    _Command(
        "manifest",
        _cmd_manifest,
        "write manifest.csv for a folder of trace files named by a pattern",
        "Write manifest.csv (the raw-trace contract) for the files of FOLDER whose names follow "
        "PATTERN, e.g. '{protocol}_{resistance_ohm}ohm_{device_id}_c{cycle}.csv'. Protocol "
        "parameters that the names do not carry come from traces.manifest_builder.parameters "
        "in the config. Every file that does not match is reported.",
        (
            _option("folder", help="folder holding the trace files (searched recursively)"),
            _option(
                "--pattern",
                help="filename pattern with {field}s (default: traces.manifest_builder.pattern)",
            ),
            _option(
                "--glob", help="which files to consider (default: traces.manifest_builder.glob)"
            ),
            _option("--output", help="manifest to write (default: FOLDER/manifest.csv)"),
            _option(
                "--export-format",
                help="name in traces.export_formats written to every row's export_format",
            ),
            *_CONFIG_OPTIONS,
            _option(
                "--no-check-traces",
                dest="check_traces",
                action="store_false",
                help="do not read every trace with the configured export format",
            ),
        ),
    ),
    _Command(
        "device-params",
        _cmd_device_params,
        "fit the ltp_ltd traces of a manifest and write the device_params table",
        "Analyse the ltp_ltd traces listed in MANIFEST (the raw-trace contract, raw/README.md) "
        "as the pipeline does, without a run folder or config of your own: per-trace LTP/LTD "
        "NeuroSim fits (analysis.pulses, analysis.ltp_ltd, analysis.fit_quality of the config), "
        "device-to-device spreads, then one row per resistance state (docs/interfaces.md, "
        "device_params). The pulse-energy columns stay empty.",
        (
            _option("manifest", metavar="MANIFEST", help="manifest.csv listing the traces"),
            _option(
                "--output",
                default="device_params.csv",
                help="table to write (default: %(default)s)",
            ),
            _option("--fits", help="also write the per-trace fit rows to this CSV"),
            _option(
                "--nominal-device",
                help="device_id of the reference device (default: analysis.nominal_device)",
            ),
            *_CONFIG_OPTIONS,
        ),
    ),
    _Command(
        "export",
        _cmd_export,
        "export a device_params table for MLP+NeuroSim and IBM aihwkit",
        "Write OUTDIR/neurosim_device_params.txt (MLP+NeuroSim RealDevice blocks) and "
        "OUTDIR/aihwkit_softbounds_devices.json (aihwkit SoftBoundsDevice settings) from "
        "DEVICE_PARAMS, and print how far each exported curve lies from the fitted one "
        "(docs/exports.md).",
        (
            _option(
                "device_params",
                metavar="DEVICE_PARAMS",
                help="device_params.csv (pipeline or fmes device-params)",
            ),
            _option("--outdir", default=".", help="folder to write into (default: %(default)s)"),
        ),
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The ``fmes`` parser: one subcommand per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="fmes", description="Tools around the fmes-repro pipeline."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, help=command.summary, description=command.description
        )
        for names, settings in command.options:
            sub.add_argument(*names, **settings)
        sub.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from snakemake.exceptions import WorkflowError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except WorkflowError as err:  # an invalid config: the schema's message names the key
        print(f"fmes {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
