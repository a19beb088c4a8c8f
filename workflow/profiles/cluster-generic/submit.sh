#!/usr/bin/env bash
# "Submit" a Snakemake jobscript as a separate local process (a stand-in for sbatch/qsub).
# Snakemake calls:  submit.sh <jobscript>
# and reads the job id from the first line of stdout. The job runs in its own session
# (setsid), so cancel.sh can stop it and all its children by process group.
set -euo pipefail
jobscript="${*: -1}"
logdir="${FMES_CLUSTER_LOGDIR:-results/logs/cluster}"
mkdir -p "$logdir"
setsid bash "$jobscript" >"$logdir/$(basename "$jobscript").log" 2>&1 </dev/null &
echo "$!"
