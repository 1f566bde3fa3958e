#!/usr/bin/env bash
# End-to-end test of the Slurm recipe on a real one-node Slurm cluster that
# this script sets up and tears down itself.
#
#   scripts/slurm/cluster_test.sh [--bin PATH] [--keep] [--no-install]
#
# Needs root on a Debian-like machine. It
#   1. installs Debian's slurmctld, slurmd, slurm-client and munge if any of
#      them is missing (apt-get; skip with --no-install);
#   2. writes a one-node cluster under a temporary folder (its own munge key
#      and socket, slurm.conf with its own ports, spool, state, pid and log
#      files; SLURM_CONF points at it), so nothing under /etc is touched and a
#      cluster already running on the machine is left alone;
#   3. starts munged, slurmctld and slurmd and waits for the node to be idle;
#   4. runs scripts/slurm/submit.sh twice against it:
#        - an exploration (`explore models/mm1.toml models/explore/mm1_sobol.toml`)
#          as an array starting at 1 (--array 1-4) plus its merge job;
#        - a study (`run models/mm1.toml --seeds 8`) as a stepped array
#          (--array 0-6:2) plus its merge job;
#      and compares each merged output with the same command run unsharded
#      (results.json, and the exploration's points.csv, summary.csv and
#      sensitivity.csv, byte for byte);
#   5. stops the daemons it started by their process ids (also on failure or
#      Ctrl-C) and removes the folder (kept with --keep).
#
# Exit status: 0 passed; 1 failed (what differs or which step failed is
# printed, with the daemons' logs); 2 usage error; 77 skipped (not root, or
# Slurm missing with --no-install), the convention of automake and meson.
# See docs/slurm.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/slurm/cluster_test.sh [--bin PATH] [--keep] [--no-install]

Sets up a one-node Slurm cluster under a temporary folder, runs an
exploration and a study as Slurm job arrays plus merge jobs through
scripts/slurm/submit.sh, checks that the merged outputs equal unsharded
runs byte for byte, and stops the daemons it started. Needs root.

  --bin PATH     the omerta-sim binary (default: build target/release/omerta-sim
                 with cargo build --release)
  --keep         keep the temporary folder (configuration, logs, outputs)
  --no-install   do not install missing Slurm or munge packages: skip (exit 77)
  -h, --help     this text

Exit status: 0 passed, 1 failed, 2 usage error, 77 skipped.
EOF
}

bin=""
keep=0
install=1
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --bin) [[ $# -ge 2 && -n $2 ]] || { echo "cluster_test.sh: --bin needs a value" >&2; exit 2; }; bin=$2; shift 2 ;;
    --bin=*) bin=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    --no-install) install=0; shift ;;
    *) echo "cluster_test.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "cluster_test: $*"; }
skip() { say "skipped: $*"; exit 77; }

[[ $(id -u) -eq 0 ]] || skip "needs root (to start munged, slurmctld and slurmd)"
# --bin as given, from the folder the script was started in.
[[ -z $bin ]] || bin=$(realpath -m -- "$bin")
cd "$(dirname "$0")/../.."

daemons=(munged slurmctld slurmd)
missing=()
for d in "${daemons[@]}"; do
  [[ -x /usr/sbin/$d ]] || missing+=("$d")
done
for c in sbatch sinfo scontrol; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  ((install == 1)) || skip "missing ${missing[*]} (and --no-install)"
  command -v apt-get >/dev/null 2>&1 || skip "missing ${missing[*]} and no apt-get to install them"
  say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi

if [[ -z $bin ]]; then
  say "building target/release/omerta-sim"
  cargo build --release --quiet
  bin=target/release/omerta-sim
fi
bin=$(realpath -- "$bin")
[[ -x $bin ]] || { echo "cluster_test.sh: --bin $bin is not an executable" >&2; exit 2; }

dir=$(mktemp -d /tmp/omerta-slurm-test.XXXXXX)
chmod 0755 "$dir"
pids=()
stop_daemons() {
  local pid
  # slurmd and slurmctld first, munged last: they talk to it while stopping.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  local status=$?
  stop_daemons
  if ((keep == 1 || status != 0)); then
    say "kept $dir (configuration, daemon logs, outputs)"
  else
    rm -rf -- "$dir"
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

show_logs() {
  local f
  for f in "$dir"/log/*.log; do
    [[ -f $f ]] || continue
    echo "--- last lines of $f" >&2
    tail -n 15 -- "$f" >&2
  done
}
fail() {
  echo "cluster_test: FAILED: $*" >&2
  show_logs
  exit 1
}

# start NAME ARGS...: run the daemon /usr/sbin/NAME (it forks), wait for its
# pid file $dir/run/NAME.pid and remember the pid, to stop it by.
start() {
  local name=$1
  shift
  "/usr/sbin/$name" "$@" || fail "$name did not start"
  for _ in $(seq 50); do
    [[ -s $dir/run/$name.pid ]] && break
    sleep 0.1
  done
  [[ -s $dir/run/$name.pid ]] || fail "$name wrote no pid file"
  pids+=("$(cat "$dir/run/$name.pid")")
}

# --- munge, with its own key, socket, pid and log files ---------------------
mkdir -p "$dir"/{munge,log,run,spool/ctld,spool/d}
chmod 0700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$dir/munge/munge.key"
socket=$dir/munge/munge.socket
# --force: munged refuses some layouts (root-owned socket folder under /tmp,
# running as root) that are fine for a throw-away test cluster.
start munged --force --socket="$socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munged.seed"

# --- slurm.conf ---------------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
# Ports away from Slurm's defaults (6817, 6818), so a cluster already running
# on this machine is not disturbed.
base_port=$((17000 + $$ % 1000 * 2))
export SLURM_CONF=$dir/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=omertatest
SlurmctldHost=$host
SlurmctldPort=$base_port
SlurmdPort=$((base_port + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

start slurmctld -f "$SLURM_CONF" -i
start slurmd -f "$SLURM_CONF"

state=""
for _ in $(seq 60); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  [[ $state == idle ]] && break
  sleep 1
done
[[ $state == idle ]] || fail "node $host not idle after 60 s (state: ${state:-none})"
say "cluster up: node $host, $cpus CPUs, $(sinfo --version), SLURM_CONF=$SLURM_CONF"

# --- the runs -------------------------------------------------------------------
compare() { # what, files...
  local what=$1 f
  shift
  for f in "$@"; do
    cmp -- "$dir/$what-whole/$f" "$dir/$what-slurm/$f" >/dev/null ||
      fail "$what: $f of the Slurm array differs from the unsharded run ($dir/$what-whole/$f, $dir/$what-slurm/$f)"
  done
  say "$what: merged ${*} identical to the unsharded run"
}

plan=models/explore/mm1_sobol.toml
"$bin" explore models/mm1.toml "$plan" --out "$dir/explore-whole" --progress none >/dev/null ||
  fail "the unsharded exploration failed"
scripts/slurm/submit.sh --bin "$bin" --array 1-4 -c 1 --poll 1 --command explore \
  models/mm1.toml "$dir/explore-slurm" -- "$plan" || fail "submit.sh of the exploration did not merge"
compare explore results.json points.csv summary.csv sensitivity.csv

"$bin" run models/mm1.toml --seeds 8 --out "$dir/run-whole" --progress none >/dev/null ||
  fail "the unsharded run failed"
scripts/slurm/submit.sh --bin "$bin" --array 0-6:2 -c 1 --poll 1 --seeds 8 \
  models/mm1.toml "$dir/run-slurm" || fail "submit.sh of the study did not merge"
compare run results.json seeds.csv

grep -hq 'is shard 3/4' "$dir"/explore-slurm/slurm/task-*.out ||
  fail "no task of the exploration logged shard 3/4"
say "passed"
