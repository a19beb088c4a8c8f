"""Benchmark: array campaigns through synthesis, validation, LTP/LTD fits and the variability and
array analyses, on the CSV path and on the trace store, at two sizes.

    python benchmarks/bench_array.py [--small 5x5x20] [--large 32x32x10] [--cores 2] [--full]
                                     [--baseline-root DIR]

Each case runs the real workflow (Snakemake, ``--cores``) in a temporary folder on the default
config with the array size changed (4 states, as config/config.yaml), after the device
calibration, so only the campaign's own work is timed. Per step it reports the summed job
time per trace (the sequential cost: what a cluster spreads), the summed CPU time per trace
(user + system, robust to a loaded machine) and the peak resident memory of the largest job
(Snakemake's ``benchmark:`` files, ``max_rss``, summed over a job's processes), plus the run's
wall time. Cases: the CSV path at the small size (``traces.store.min_traces`` above the
campaign), the store at the small and the large size, and with ``--full`` config/array.yaml
(32 x 32 x 20, 81,920 traces). ``--baseline-root`` adds, at every size run here, the store
path of another checkout of this repository (its own Snakefile and ``src``, same overrides) as
``baseline_store_<size>`` cases, and prints per size the ratio of its time per trace to this
checkout's (``baseline / store``: how many times less time per trace this code takes). The
first version of the array chain (the commit that brought the 32 x 32 campaign, the store and
this benchmark) is compared so:

    git worktree add --detach /tmp/first 8f94f11
    python benchmarks/bench_array.py --small 5x5x20 --large 10x10x20 --cores 1 \
        --baseline-root /tmp/first

``--baseline-csv`` also runs the baseline's CSV path at the small size (``baseline_csv_<size>``).
With ``--cores 1`` every job runs in one process (no fit pool), so the CPU times count all the
work. Writes benchmarks/out/array.csv and prints the table and the ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TARGETS = ["results/tables/variability_summary.csv", "results/tables/array_yield.csv"]
# benchmark-file folder/name prefix -> step
STEPS = {
    "synthesize_array_chunk": "synthesis",
    "synthesize_traces": "synthesis",
    "validate_store_part": "validation",
    "validate_traces": "validation",
    "analyse_ltp_ltd_chunk": "ltp_ltd",
    "analyse_ltp_ltd": "ltp_ltd",
    "analyse_variability": "variability+array",
    "analyse_array": "variability+array",
}


def _size(text: str) -> tuple[int, int, int]:
    rows, cols, cycles = (int(x) for x in text.lower().split("x"))
    return rows, cols, cycles


def _snakemake(work: Path, cores: int, root: Path, *args: str) -> float:
    command = [
        SNAKEMAKE,
        "-s",
        str(root / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        str(cores),
        *args,
    ]
    t0 = time.perf_counter()
    # the checkout's own package first (ahead of the editable install of this one)
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(root / "src")}
    proc = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {work}:\n{proc.stderr[-4000:]}")
    return time.perf_counter() - t0


def _step_row(
    case: str,
    n_traces: int,
    step: str,
    jobs: int,
    job_seconds: float,
    cpu_s: float,
    peak_rss_MB: float,
) -> dict:
    """One row of the table: a step's summed times, also per ltp_ltd trace."""
    return {
        "case": case,
        "ltp_ltd_traces": n_traces,
        "step": step,
        "jobs": jobs,
        "job_seconds": job_seconds,
        "ms_per_trace": 1e3 * job_seconds / n_traces,
        "cpu_s": cpu_s,
        "cpu_ms_per_trace": 1e3 * cpu_s / n_traces,
        "peak_rss_MB": peak_rss_MB,
    }


def _summed_row(case: str, n_traces: int, step: str, jobs: pd.DataFrame) -> dict:
    """The row of a group of jobs: times summed, the largest job's memory."""
    return _step_row(
        case,
        n_traces,
        step,
        len(jobs),
        jobs["seconds"].sum(),
        jobs["cpu_seconds"].sum(),
        jobs["max_rss_MB"].max(),
    )


def run_case(name: str, overrides: dict, cores: int, base: Path, root: Path = ROOT) -> list[dict]:
    work = base / name
    work.mkdir()
    (work / "case.yaml").write_text(yaml.safe_dump(overrides))
    calibration_s = _snakemake(
        work, cores, root, "results/calibration/cell_params.json", "--configfile", "case.yaml"
    )
    wall_s = _snakemake(work, cores, root, *TARGETS, "--configfile", "case.yaml")
    manifest = pd.read_csv(work / "results/traces/manifest.csv", usecols=["protocol"])
    n_traces = int((manifest["protocol"] == "ltp_ltd").sum())
    jobs = []
    for tsv in (work / "results/benchmarks").rglob("*.tsv"):
        rule = tsv.parent.name if tsv.parent.name in STEPS else tsv.stem
        if rule in STEPS:
            t = pd.read_csv(tsv, sep="\t").iloc[-1]
            jobs.append(
                {
                    "step": STEPS[rule],
                    "seconds": float(t["s"]),
                    "cpu_seconds": float(t["cpu_time"]),
                    "max_rss_MB": float(t["max_rss"]),
                }
            )
    jobs = pd.DataFrame(jobs)
    nan = float("nan")
    out = [_summed_row(name, n_traces, step, g) for step, g in jobs.groupby("step", sort=False)]
    out.append(_summed_row(name, n_traces, "chain (sum)", jobs))
    out.append(_step_row(name, n_traces, f"wall ({cores} cores)", len(jobs), wall_s, nan, nan))
    calibration_row = _step_row(
        name, n_traces, "wall, calibration before", 1, calibration_s, nan, nan
    )
    calibration_row["ms_per_trace"] = nan  # the calibration does not scale with the campaign
    out.append(calibration_row)
    disk = sum(p.stat().st_size for p in (work / "results/traces").rglob("*") if p.is_file())
    for row in out:
        row["traces_on_disk_MB"] = disk / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--small", default="5x5x20", help="rows x cols x cycles of the small campaign"
    )
    parser.add_argument(
        "--large", default="32x32x10", help="rows x cols x cycles of the large campaign ('' = none)"
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="also config/array.yaml (32 x 32 x 20)")
    parser.add_argument(
        "--no-small", action="store_true", help="skip the small cases (measured by an earlier run)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run folders (printed)")
    parser.add_argument(
        "--baseline-root", type=Path, help="another checkout: its store path at each size too"
    )
    parser.add_argument(
        "--baseline-csv", action="store_true", help="and the baseline's CSV path (small size)"
    )
    args = parser.parse_args()
    array_config = yaml.safe_load((ROOT / "config/array.yaml").read_text())
    chunk_traces = array_config["traces"]["store"]["chunk_traces"]

    def overrides(size: str, store: bool) -> dict:
        rows, cols, cycles = _size(size)
        return {
            "variability": {"rows": rows, "cols": cols, "cycles": cycles},
            "traces": {
                "store": {"min_traces": 1 if store else 10**9, "chunk_traces": chunk_traces}
            },
            "analysis": array_config["analysis"],
        }

    cases, roots = [], {}
    if not args.no_small:
        cases += [
            ("csv_" + args.small, overrides(args.small, False)),
            ("store_" + args.small, overrides(args.small, True)),
        ]
        if args.baseline_root:
            cases.append(("baseline_store_" + args.small, overrides(args.small, True)))
            roots[cases[-1][0]] = args.baseline_root.resolve()
        if args.baseline_root and args.baseline_csv:
            cases.append(("baseline_csv_" + args.small, overrides(args.small, False)))
            roots[cases[-1][0]] = args.baseline_root.resolve()
    if args.large:
        cases.append(("store_" + args.large, overrides(args.large, True)))
        if args.baseline_root:
            cases.append(("baseline_store_" + args.large, overrides(args.large, True)))
            roots[cases[-1][0]] = args.baseline_root.resolve()
    if args.full:
        cases.append(("store_array.yaml", array_config))
    base = Path(tempfile.mkdtemp(prefix="bench_array_"))
    rows = []
    for name, case in cases:
        print(f"--- {name} ({roots.get(name, ROOT)})", flush=True)
        rows += run_case(name, case, args.cores, base, roots.get(name, ROOT))
    # the cases of earlier runs stay in the table (big cases may be run separately, later)
    out_dir = ROOT / "benchmarks/out"
    out_dir.mkdir(exist_ok=True)
    table = pd.DataFrame(rows)
    if (out_dir / "array.csv").exists():
        earlier = pd.read_csv(out_dir / "array.csv")
        table = pd.concat([earlier[~earlier["case"].isin(table["case"])], table], ignore_index=True)
    table.to_csv(out_dir / "array.csv", index=False, float_format="%.4g")
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    chain = table[table["step"] == "chain (sum)"].set_index("case")
    store_cases = [c for c in chain.index if c.startswith("store_")]
    small_case = "store_" + args.small
    for base_case in [c for c in chain.index if c.startswith("baseline_store_")]:
        case = base_case.removeprefix("baseline_")
        if case in chain.index:
            print(
                f"{case}: {chain.loc[case, 'ms_per_trace']:.3g} ms job time and "
                f"{chain.loc[case, 'cpu_ms_per_trace']:.3g} ms CPU per trace; the baseline "
                f"takes {chain.loc[base_case, 'ms_per_trace'] / chain.loc[case, 'ms_per_trace']:.2f}x "
                f"the job time, {chain.loc[base_case, 'cpu_ms_per_trace'] / chain.loc[case, 'cpu_ms_per_trace']:.2f}x the CPU time"
            )
    for csv in [c for c in chain.index if "csv_" in c]:
        for what in ("ms_per_trace", "cpu_ms_per_trace"):
            ratios = ", ".join(
                f"{c} {chain.loc[csv, what] / chain.loc[c, what]:.2f}x" for c in store_cases
            )
            print(f"chain {what}, {csv} / {ratios}")
    steps = table[~table["step"].str.startswith(("chain", "wall"))].pivot(
        index="step", columns="case", values="peak_rss_MB"
    )
    for c in store_cases:
        if c != small_case and small_case in steps:
            print(
                f"peak memory per step, {c} / {small_case}:\n{(steps[c] / steps[small_case]).round(2).to_string()}"
            )
    if args.keep:
        print(f"run folders kept in {base}")
    else:
        import shutil

        shutil.rmtree(base)


if __name__ == "__main__":
    main()
