#!/usr/bin/env bash
# Imitate a Slurm job array on one machine: run study_array.sbatch once per
# task index with SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT set as Slurm
# sets them, then merge, as the dependent job would.
#
#   scripts/slurm/imitate_array.sh <tasks> <scenario.toml> <out dir> [run arguments...]
#
# Used by the test suite (tests/it/shards.rs) to check that the array and the
# merge give the same results.json as an unsharded run.
set -euo pipefail
tasks=${1:?usage: imitate_array.sh <tasks> <scenario.toml> <out dir> [run arguments...]}
scenario=${2:?}
out=${3:?}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
bin=${OMERTA_SIM:-omerta-sim}
for ((i = 0; i < tasks; i++)); do
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$tasks OMERTA_SIM=$bin \
    bash "$here/study_array.sbatch" "$scenario" "$out" "$@"
done
"$bin" merge "$out"
