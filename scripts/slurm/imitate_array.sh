#!/usr/bin/env bash
# Imitate a Slurm job array on one machine: run study_array.sbatch once per
# task with SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP and _COUNT set as Slurm
# sets them, then merge, as the dependent job would.
#
#   scripts/slurm/imitate_array.sh <tasks | a-b | a-b:step> <scenario.toml> <out dir> [run arguments...]
#
# `4` imitates --array=0-3; `1-4` and `0-6:2` imitate those arrays. Used by
# the test suite (tests/it/shards.rs) to check that the array and the merge
# give the same results.json as an unsharded run.
set -euo pipefail
usage="usage: imitate_array.sh <tasks | a-b | a-b:step> <scenario.toml> <out dir> [run arguments...]"
spec=${1:?$usage}
scenario=${2:?$usage}
out=${3:?$usage}
shift 3
if [[ $spec =~ ^[0-9]+$ ]]; then
  min=0 max=$((spec - 1)) step=1
elif [[ $spec =~ ^([0-9]+)-([0-9]+)(:([0-9]+))?$ ]]; then
  min=${BASH_REMATCH[1]} max=${BASH_REMATCH[2]} step=${BASH_REMATCH[4]:-1}
else
  echo "$usage" >&2
  exit 2
fi
# Slurm reports the highest task id as the maximum (0-7:3 runs 0, 3, 6).
max=$((min + (max - min) / step * step))
count=$(((max - min) / step + 1))
here=$(cd "$(dirname "$0")" && pwd)
bin=${OMERTA_SIM:-omerta-sim}
for ((id = min; id <= max; id += step)); do
  SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=$min SLURM_ARRAY_TASK_MAX=$max \
    SLURM_ARRAY_TASK_STEP=$step SLURM_ARRAY_TASK_COUNT=$count OMERTA_SIM=$bin \
    bash "$here/study_array.sbatch" "$scenario" "$out" "$@"
done
"$bin" merge "$out"
