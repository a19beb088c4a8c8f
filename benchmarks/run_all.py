"""Run every benchmark in this folder (``make bench``); each writes benchmarks/out/<name>.csv."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = []
for bench in sorted(here.glob("bench_*.py")):
    print(f"=== {bench.name}", flush=True)
    if subprocess.run([sys.executable, str(bench)]).returncode != 0:
        failed.append(bench.name)
sys.exit(f"failed: {failed}" if failed else 0)
