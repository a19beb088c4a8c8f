#!/usr/bin/env bash
# Cancel "submitted" jobs (see submit.sh): Snakemake calls  cancel.sh <jobid> [<jobid>...]
# Each job id is the leader of its own process group; stop the whole group.
for jobid in "$@"; do
    kill -TERM -- "-$jobid" 2>/dev/null || true
done
