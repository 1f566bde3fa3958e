#!/usr/bin/env bash
# Run an omerta-sim study as a Slurm job array, merge it, and wait for the
# merge: one shard per array task (`--shard slurm`), then one merge job that
# runs whatever happened to the tasks (--dependency=afterany) and fails,
# naming the missing shards, unless every shard finished.
#
#   scripts/slurm/submit.sh [options] <scenario.toml> <out dir> [-- <command arguments>...]
#
# Exits 0 only when the merge job ended COMPLETED (as scontrol or sacct
# report it) and wrote <out dir>/results.json after this submission; 1
# otherwise (the tasks' states and the merge's error are printed); 2 for a
# usage error. See docs/slurm.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/slurm/submit.sh [options] <scenario.toml> <out dir> [-- <command arguments>...]

  -n, --tasks N          array tasks, one shard each (default 4): --array=0-(N-1)
      --array SPEC       the array as sbatch takes it, a range instead of --tasks:
                         a-b or a-b:step, optionally %limit (e.g. 1-4, 0-6:2, 0-15%4)
  -c, --cpus-per-task C  CPUs per task (default 2); each task runs C worker threads
  -s, --seeds S          seeds of the study (passed on as --seeds S)
      --command CMD      subcommand each task runs with --shard slurm (default: run)
      --merge-command M  subcommand of the merge job (default: merge)
      --bin PATH         the omerta-sim binary (default: $OMERTA_SIM, else omerta-sim
                         on PATH, else ./target/release/omerta-sim); the jobs run it
                         by its absolute path, resolved now
      --sbatch OPT       an sbatch option for both jobs, repeatable
                         (e.g. --sbatch=--partition=short --sbatch=--time=02:00:00)
      --poll SECONDS     how often to look at the merge job (default 10)
      --no-wait          submit both jobs, print their ids and exit
  -h, --help             this text

Arguments after -- go to the command of every task (e.g. -- --set rounds=3).
Job scripts and logs go to <out dir>/slurm/. Exit status: 0 merged (the merge
job COMPLETED and wrote <out dir>/results.json); 1 not merged; 2 usage error.
EOF
}

die() {
  echo "submit.sh: $*" >&2
  exit 1
}
usage_error() {
  echo "submit.sh: $*" >&2
  echo "run scripts/slurm/submit.sh --help for the options" >&2
  exit 2
}

tasks=4
array=""
cpus=2
seeds=""
command_name=run
merge_command=merge
bin=${OMERTA_SIM:-}
sbatch_opts=()
poll=10
wait_for_merge=1
positional=()
extra=()

need_value() {
  [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
}
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    -n | --tasks) need_value "$@"; tasks=$2; shift 2 ;;
    --tasks=*) tasks=${1#*=}; shift ;;
    --array) need_value "$@"; array=$2; shift 2 ;;
    --array=*) array=${1#*=}; shift ;;
    -c | --cpus-per-task) need_value "$@"; cpus=$2; shift 2 ;;
    --cpus-per-task=*) cpus=${1#*=}; shift ;;
    -s | --seeds) need_value "$@"; seeds=$2; shift 2 ;;
    --seeds=*) seeds=${1#*=}; shift ;;
    --command) need_value "$@"; command_name=$2; shift 2 ;;
    --command=*) command_name=${1#*=}; shift ;;
    --merge-command) need_value "$@"; merge_command=$2; shift 2 ;;
    --merge-command=*) merge_command=${1#*=}; shift ;;
    --bin) need_value "$@"; bin=$2; shift 2 ;;
    --bin=*) bin=${1#*=}; shift ;;
    --sbatch) need_value "$@"; sbatch_opts+=("$2"); shift 2 ;;
    --sbatch=*) sbatch_opts+=("${1#*=}"); shift ;;
    --poll) need_value "$@"; poll=$2; shift 2 ;;
    --poll=*) poll=${1#*=}; shift ;;
    --no-wait) wait_for_merge=0; shift ;;
    --)
      shift
      extra=("$@")
      break
      ;;
    -*) usage_error "unknown option $1" ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done
[[ ${#positional[@]} -eq 2 ]] || usage_error "expected <scenario.toml> <out dir> (got ${#positional[@]} arguments)"
scenario=${positional[0]}
out=${positional[1]}

whole() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= $2)); }
whole "$tasks" 1 || usage_error "--tasks must be a whole number >= 1 (got $tasks)"
whole "$cpus" 1 || usage_error "--cpus-per-task must be a whole number >= 1 (got $cpus)"
whole "$poll" 1 || usage_error "--poll must be a whole number of seconds >= 1 (got $poll)"
[[ -z $seeds ]] || whole "$seeds" 1 || usage_error "--seeds must be a whole number >= 1 (got $seeds)"
if [[ -z $array ]]; then
  array="0-$((10#$tasks - 1))"
elif ! [[ $array =~ ^[0-9]+(-[0-9]+(:[0-9]+)?)?(%[0-9]+)?$ ]]; then
  usage_error "--array $array is not a range: give a-b or a-b:step (optionally %limit), e.g. 1-4 or 0-6:2; a list such as 1,3,7 cannot be mapped to shards"
fi
[[ -f $scenario ]] || die "$scenario: no such scenario file"

# The binary, by absolute path: the jobs must not depend on the nodes' PATH.
if [[ -z $bin ]]; then
  if command -v omerta-sim >/dev/null 2>&1; then
    bin=omerta-sim
  elif [[ -x target/release/omerta-sim ]]; then
    bin=target/release/omerta-sim
  else
    die "no omerta-sim binary: give --bin PATH or set OMERTA_SIM (cargo build --release makes target/release/omerta-sim)"
  fi
fi
if [[ $bin != */* ]]; then
  resolved=$(command -v "$bin" 2>/dev/null) || die "--bin $bin: not found on PATH"
  bin=$resolved
fi
bin=$(realpath -- "$bin") || die "--bin $bin: cannot resolve its path"
[[ -f $bin && -x $bin ]] || die "--bin $bin: not an executable file"
"$bin" --version >/dev/null 2>&1 || die "$bin --version fails: not a working omerta-sim binary"
for tool in sbatch scontrol; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run this on a Slurm login node"
done

mkdir -p -- "$out/slurm"
out=$(realpath -- "$out")
logs=$out/slurm
workdir=$(pwd -P)

# The job scripts, written out so that they can be read and rerun by hand.
args=("$bin" "$command_name" "$scenario" --out "$out" --shard slurm --progress log)
[[ -z $seeds ]] || args+=(--seeds "$seeds")
args+=("${extra[@]}")
{
  echo '#!/usr/bin/env bash'
  echo "# One shard of $scenario per array task (written by scripts/slurm/submit.sh)."
  echo 'set -euo pipefail'
  printf 'exec'
  printf ' %q' "${args[@]}"
  printf '\n'
} >"$logs/array.sh"
{
  echo '#!/usr/bin/env bash'
  echo "# Merge the shards of $out (written by scripts/slurm/submit.sh)."
  echo 'set -euo pipefail'
  printf 'exec'
  printf ' %q' "$bin" "$merge_command" "$out"
  printf '\n'
} >"$logs/merge.sh"

marker=$logs/.submitted
touch -- "$marker"
sleep 1 # results.json must be newer than the marker by the clock's resolution

common=(--chdir="$workdir" --job-name="omerta-sim-$(basename -- "$out")")
common+=("${sbatch_opts[@]}")
array_id=$(sbatch --parsable "${common[@]}" --array="$array" --cpus-per-task="$cpus" \
  --output="$logs/task-%A_%a.out" "$logs/array.sh") || die "sbatch of the array failed"
array_id=${array_id%%;*}
merge_id=$(sbatch --parsable "${common[@]}" --cpus-per-task=1 --dependency="afterany:$array_id" \
  --kill-on-invalid-dep=yes --output="$logs/merge-%j.out" "$logs/merge.sh") || {
  scancel "$array_id" 2>/dev/null || true
  die "sbatch of the merge job failed (the array $array_id was cancelled)"
}
merge_id=${merge_id%%;*}
echo "submitted array job $array_id (--array=$array, --cpus-per-task=$cpus) and merge job $merge_id"
echo "  task:  $(tail -n 1 "$logs/array.sh")"
echo "  merge: $(tail -n 1 "$logs/merge.sh")"
echo "  logs:  $logs/task-${array_id}_<task>.out, $logs/merge-$merge_id.out"
if ((wait_for_merge == 0)); then
  exit 0
fi

# A job's state: scontrol while Slurm remembers the job, else sacct; empty
# when neither knows it.
job_state() {
  local s
  s=$(scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1) || true
  if [[ -n $s ]]; then
    echo "${s#JobState=}"
    return
  fi
  s=$(sacct -n -X -P -j "$1" -o State 2>/dev/null | head -n 1) || true
  echo "${s%% *}"
}

# Each array task's id, state and exit code, as scontrol or sacct report them.
task_states() {
  local lines
  lines=$(scontrol show job -o "$array_id" 2>/dev/null |
    sed -n 's/.*ArrayTaskId=\([^ ]*\) .*JobState=\([A-Z_]*\) .*ExitCode=\([^ ]*\).*/\1 \2 \3/p') || true
  if [[ -z $lines ]]; then
    lines=$(sacct -n -X -P -j "$array_id" -o JobID,State,ExitCode 2>/dev/null |
      sed 's/^[0-9]*_\([^|]*\)|\([^|]*\)|\(.*\)$/\1 \2 \3/') || true
  fi
  echo "$lines" | sort -n
}

state=""
while :; do
  state=$(job_state "$merge_id")
  case $state in
    PENDING | RUNNING | CONFIGURING | COMPLETING | REQUEUED | RESIZING | SUSPENDED | "") ;;
    *) break ;;
  esac
  if [[ -z $state ]] && ! squeue -h -j "$merge_id" 2>/dev/null | grep -q .; then
    # Neither scontrol nor sacct nor squeue knows it: gone.
    break
  fi
  sleep "$poll"
done

merge_log=$logs/merge-$merge_id.out
fresh=0
if [[ -f $out/results.json && $out/results.json -nt $marker ]]; then
  fresh=1
fi
echo "merge job $merge_id: ${state:-UNKNOWN (no longer known to scontrol or sacct)}"
if [[ (${state} == COMPLETED || -z $state) && $fresh == 1 ]]; then
  echo "merged: $out/results.json"
  exit 0
fi

echo "submit.sh: the study was not merged" >&2
states=$(task_states)
if [[ -n $states ]]; then
  echo "array job $array_id tasks (task state exit-code):" >&2
  while read -r task tstate code; do
    [[ -n $task ]] || continue
    echo "  task $task: $tstate $code" >&2
    task_log=$logs/task-${array_id}_$task.out
    if [[ $tstate != COMPLETED && -f $task_log ]]; then
      echo "    last lines of $task_log:" >&2
      tail -n 3 -- "$task_log" | sed 's/^/      /' >&2
    fi
  done <<<"$states"
fi
if [[ -f $merge_log ]]; then
  echo "merge log ($merge_log):" >&2
  sed 's/^/  /' "$merge_log" >&2
else
  echo "the merge job wrote no log ($merge_log): it did not run (state ${state:-unknown})" >&2
fi
if [[ $fresh == 0 ]]; then
  echo "no $out/results.json written by this submission" >&2
fi
if [[ $states =~ (PENDING|RUNNING) ]]; then
  echo "tasks of array job $array_id are still pending or running; scancel $array_id stops them" >&2
fi
exit 1
