//! Slurm through the binary: `run --shard slurm` in array tasks with an
//! offset or a step merged equals the unsharded run; arrays that are lists
//! and runs outside an array are refused; `--jobs` defaults to
//! SLURM_CPUS_PER_TASK; `merge` names the missing and unfinished shards;
//! scripts/slurm/submit.sh against stand-in sbatch and scontrol commands.

use super::{bin, root, text};
use std::path::Path;
use std::process::{Command, Output};

/// The binary with no SLURM_* variable of the test's own environment, and
/// these set.
fn slurm_bin(env: &[(&str, String)], args: &[&str]) -> Output {
    let mut c = bin();
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SLURM_") {
            c.env_remove(k);
        }
    }
    c.envs(env.iter().map(|(k, v)| (*k, v.as_str()))).args(args).output().expect("the binary starts")
}

/// The environment Slurm gives array task `id` of `--array=min-max:step`.
fn task_env(id: u64, min: u64, max: u64, step: u64) -> Vec<(&'static str, String)> {
    vec![
        ("SLURM_JOB_ID", (100 + id).to_string()),
        ("SLURM_ARRAY_JOB_ID", "99".into()),
        ("SLURM_ARRAY_TASK_ID", id.to_string()),
        ("SLURM_ARRAY_TASK_MIN", min.to_string()),
        ("SLURM_ARRAY_TASK_MAX", max.to_string()),
        ("SLURM_ARRAY_TASK_STEP", step.to_string()),
        ("SLURM_ARRAY_TASK_COUNT", ((max - min) / step + 1).to_string()),
    ]
}

const MM1: [&str; 6] = ["models/mm1.toml", "--seeds", "7", "--set", "hours=2000", "--progress"];

fn run_args<'a>(out: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["run"];
    v.extend(MM1);
    v.extend(["none", "--out", out]);
    v.extend(more);
    v
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{:?}", text(o));
    text(o).1
}

#[test]
fn shard_slurm_with_offset_or_step_merges_to_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    ok(&slurm_bin(&[], &run_args(whole.to_str().unwrap(), &[])));
    let expected = std::fs::read(whole.join("results.json")).unwrap();
    // --array=1-4 (the README recipe ran shard 4/4 and never 0/4), 0-6:2, 5-14:3.
    for (min, max, step) in [(1, 4, 1), (0, 6, 2), (5, 14, 3)] {
        let out = dir.path().join(format!("a{min}-{max}-{step}"));
        let o = out.to_str().unwrap();
        for (k, id) in (min..=max).step_by(step as usize).enumerate() {
            let err = ok(&slurm_bin(&task_env(id, min, max, step), &run_args(o, &["--shard", "slurm"])));
            let range = if step == 1 { format!("{min}-{max}") } else { format!("{min}-{max}:{step}") };
            assert!(err.contains(&format!("--shard slurm: array task {id} of {range} is shard {k}/4")), "{err}");
            assert!(out.join(format!("shards/{k}-of-4/shard.json")).exists());
        }
        ok(&slurm_bin(&[], &["merge", o]));
        assert!(std::fs::read(out.join("results.json")).unwrap() == expected, "--array={min}-{max}:{step}");
    }
}

#[test]
fn shard_slurm_refuses_lists_and_runs_outside_an_array() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x");
    let args = run_args(o.to_str().unwrap(), &["--shard", "slurm"]);
    // --array=1,3,7 as Slurm 22.05 describes it to task 3.
    let mut env = task_env(3, 1, 7, 1);
    env.retain(|(k, _)| *k != "SLURM_ARRAY_TASK_COUNT");
    env.push(("SLURM_ARRAY_TASK_COUNT", "3".into()));
    let out = slurm_bin(&env, &args);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out).1;
    assert!(err.contains("the array is not a range") && err.contains("--array=a-b:s"), "{err}");
    // Outside Slurm; in a job that is not an array.
    let out = slurm_bin(&[], &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("not inside a Slurm array job (SLURM_ARRAY_TASK_ID is not set)"));
    let out = slurm_bin(&[("SLURM_JOB_ID", "12".into())], &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("Slurm job 12 is not an array job"));
    assert!(!o.exists(), "a refused shard writes nothing");
    // Another word is a usage error that names both forms.
    let out = slurm_bin(&[], &run_args(o.to_str().unwrap(), &["--shard", "auto"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("or `slurm`"), "{:?}", text(&out));
    // The help names it.
    let help = text(&slurm_bin(&[], &["run", "--help"])).0;
    assert!(help.contains("--shard <i/N|slurm>") && help.contains("SLURM_CPUS_PER_TASK"), "{help}");
}

#[test]
fn jobs_default_to_slurm_cpus_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let d = |s: &str| dir.path().join(s).to_str().unwrap().to_string();
    let one = [("SLURM_JOB_ID", "7".to_string()), ("SLURM_CPUS_PER_TASK", "1".to_string())];
    let err = ok(&slurm_bin(&one, &run_args(&d("a"), &[])));
    assert!(err.contains("worker threads: 1 (SLURM_CPUS_PER_TASK=1)"), "{err}");
    let err = ok(&slurm_bin(&one, &run_args(&d("b"), &["--jobs", "2"])));
    assert!(err.contains("worker threads: 2 (--jobs; SLURM_CPUS_PER_TASK=1 not used)"), "{err}");
    // In a job without it: one per core, said so.
    let err = ok(&slurm_bin(&one[..1], &run_args(&d("c"), &[])));
    assert!(err.contains("(one per core; SLURM_CPUS_PER_TASK is not set)"), "{err}");
    // Outside Slurm nothing changes.
    let err = ok(&slurm_bin(&[], &run_args(&d("e"), &[])));
    assert!(!err.contains("worker threads"), "{err}");
    for bad in ["0", "two", "2000"] {
        let out = slurm_bin(&[("SLURM_CPUS_PER_TASK", bad.into())], &run_args(&d("f"), &[]));
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(text(&out).1.contains(&format!("SLURM_CPUS_PER_TASK=`{bad}` is not a whole number")), "{bad}");
        // --jobs given: not read.
        ok(&slurm_bin(&[("SLURM_CPUS_PER_TASK", bad.into())], &run_args(&d(&format!("g{bad}")), &["--jobs", "1"])));
    }
    // resume reads it too.
    let err = ok(&slurm_bin(&one, &["resume", &d("a"), "--progress", "none"]));
    assert!(err.contains("worker threads: 1 (SLURM_CPUS_PER_TASK=1)"), "{err}");
    // The results do not depend on it.
    let a = std::fs::read(dir.path().join("a/results.json")).unwrap();
    assert!(a == std::fs::read(dir.path().join("e/results.json")).unwrap());
}

/// A task that failed before it started and one killed mid-run: `merge`
/// names both, with their seeds and what to do.
#[test]
fn merge_names_missing_and_unfinished_shards() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    for i in [0, 1, 2] {
        ok(&slurm_bin(&[], &run_args(o, &["--shard", &format!("{i}/4")])));
    }
    // Shard 1 as a killed task leaves it: run.json `running`, no shard.json.
    let s1 = out.join("shards/1-of-4");
    std::fs::remove_file(s1.join("shard.json")).unwrap();
    std::fs::remove_file(s1.join("outputs.jsonl")).unwrap();
    let manifest = std::fs::read_to_string(s1.join("run.json")).unwrap();
    assert!(manifest.contains("\"state\": \"finished\""), "{manifest}");
    std::fs::write(s1.join("run.json"), manifest.replace("\"state\": \"finished\"", "\"state\": \"running\"")).unwrap();
    let r = slurm_bin(&[], &["merge", o]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r).1;
    assert!(
        err.contains("cannot merge: 2 of 4 shards are missing (1/4, 3/4), so 3 of 7 seeds have no output"),
        "{err}"
    );
    assert!(err.contains("shard 1/4 (seeds 2, 6): unfinished (its run is `running`"), "{err}");
    assert!(err.contains(&format!("omerta-sim resume {}", s1.display())), "{err}");
    assert!(err.contains("e.g. --shard 1/4), then merge again"), "{err}");
    let s3 = Path::new(o).join("shards/3-of-4/shard.json");
    assert!(err.contains(&format!("shard 3/4 (seed 4): never ran, or failed before it started (no {})", s3.display())));
    // Finished as the message says: resume the unfinished one (given as its
    // own folder, it names OUT for the merge), run the missing one.
    let err = ok(&slurm_bin(&[], &["resume", s1.to_str().unwrap(), "--progress", "none"]));
    assert!(err.contains(&format!("combine the shards with `omerta-sim merge {o}`")), "{err}");
    ok(&slurm_bin(&[], &run_args(o, &["--shard", "3/4"])));
    ok(&slurm_bin(&[], &["merge", o]));
    let whole = dir.path().join("whole");
    ok(&slurm_bin(&[], &run_args(whole.to_str().unwrap(), &[])));
    assert!(std::fs::read(out.join("results.json")).unwrap() == std::fs::read(whole.join("results.json")).unwrap());
    // Every shard failed before starting.
    let out = dir.path().join("none");
    std::fs::create_dir_all(out.join("shards")).unwrap();
    let err = text(&slurm_bin(&[], &["merge", out.to_str().unwrap()])).1;
    assert!(err.contains("no shards found") && err.contains("did every task of the run fail"), "{err}");
}

/// Stand-ins for sbatch, scontrol and squeue: sbatch runs a job at once (an
/// array's tasks with the environment Slurm gives them; a job whose
/// dependency is `afterany` after them), records its state, and scontrol
/// reports it.
const FAKE_SBATCH: &str = r#"#!/usr/bin/env bash
set -u
state=$FAKE_SLURM
n=$(( $(cat "$state/next" 2>/dev/null || echo 10) + 1 )); echo "$n" > "$state/next"
array="" cpus="" output="" script=""
for a in "$@"; do
  case $a in
    --array=*) array=${a#*=} ;;
    --cpus-per-task=*) cpus=${a#*=} ;;
    --output=*) output=${a#*=} ;;
    --*) ;;
    *) script=$a ;;
  esac
done
echo "$*" >> "$state/sbatch.log"
if [[ -n $array ]]; then
  [[ $array =~ ^([0-9]+)-([0-9]+)(:([0-9]+))?$ ]] || exit 1
  min=${BASH_REMATCH[1]} max=${BASH_REMATCH[2]} step=${BASH_REMATCH[4]:-1}
  count=$(( (max - min) / step + 1 ))
  for ((id = min; id <= max; id += step)); do
    log=${output//%A/$n}; log=${log//%a/$id}
    SLURM_JOB_ID=$n SLURM_ARRAY_JOB_ID=$n SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=$min \
      SLURM_ARRAY_TASK_MAX=$max SLURM_ARRAY_TASK_STEP=$step SLURM_ARRAY_TASK_COUNT=$count \
      SLURM_CPUS_PER_TASK=$cpus bash "$script" > "$log" 2>&1
    rc=$?
    if [[ $rc == 0 ]]; then st=COMPLETED; else st=FAILED; fi
    echo "JobId=$n ArrayJobId=$n ArrayTaskId=$id JobName=x JobState=$st Reason=None ExitCode=$rc:0" >> "$state/jobs"
  done
else
  log=${output//%j/$n}
  if [[ -n ${FAKE_CANCEL_MERGE:-} ]]; then
    echo "JobId=$n JobName=x JobState=CANCELLED Reason=None ExitCode=0:0" >> "$state/jobs"
  else
    SLURM_JOB_ID=$n bash "$script" > "$log" 2>&1
    rc=$?
    if [[ $rc == 0 ]]; then st=COMPLETED; else st=FAILED; fi
    echo "JobId=$n JobName=x JobState=$st Reason=None ExitCode=$rc:0" >> "$state/jobs"
  fi
fi
echo "$n"
"#;

const FAKE_SCONTROL: &str = r#"#!/usr/bin/env bash
# scontrol show job -o ID
grep "^JobId=$4 \|ArrayJobId=$4 " "$FAKE_SLURM/jobs"
"#;

fn fake_slurm(dir: &Path) -> std::path::PathBuf {
    let bin_dir = dir.join("fakebin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    for (name, body) in
        [("sbatch", FAKE_SBATCH), ("scontrol", FAKE_SCONTROL), ("squeue", "#!/bin/sh\n"), ("scancel", "#!/bin/sh\n")]
    {
        let p = bin_dir.join(name);
        std::fs::write(&p, body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin_dir
}

fn submit(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let fake = fake_slurm(dir);
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/slurm/submit.sh"))
        .args(args)
        .env("PATH", path)
        .env("FAKE_SLURM", &state)
        .env("OMERTA_SIM", env!("CARGO_BIN_EXE_omerta-sim"))
        .current_dir(root());
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn submit_script_merges_or_says_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    ok(&slurm_bin(&[], &run_args(whole.to_str().unwrap(), &[])));
    let expected = std::fs::read(whole.join("results.json")).unwrap();
    let common = ["--seeds", "7", "--poll", "1", "models/mm1.toml"];
    // An array with an offset, one CPU per task.
    let out = dir.path().join("ok");
    let mut args = vec!["--array", "1-4", "--cpus-per-task", "1"];
    args.extend(common);
    args.extend([out.to_str().unwrap(), "--", "--set", "hours=2000"]);
    let o = submit(dir.path(), &args, &[]);
    let (so, se) = text(&o);
    assert!(o.status.success(), "{so}\n{se}");
    assert!(so.contains("COMPLETED") && so.contains("merged:"), "{so}");
    assert!(std::fs::read(out.join("results.json")).unwrap() == expected);
    let task = std::fs::read_to_string(out.join("slurm/array.sh")).unwrap();
    assert!(task.contains(&format!("exec {} run", env!("CARGO_BIN_EXE_omerta-sim"))), "absolute binary: {task}");
    let sbatch = std::fs::read_to_string(dir.path().join("state/sbatch.log")).unwrap();
    assert!(sbatch.contains("--dependency=afterany:"), "{sbatch}");
    let logs: Vec<String> =
        (1..=4).map(|t| std::fs::read_to_string(out.join(format!("slurm/task-11_{t}.out"))).unwrap()).collect();
    assert!(logs[3].contains("array task 4 of 1-4 is shard 3/4") && logs[3].contains("worker threads: 1"));
    // A task that fails: the merge job runs, fails naming the shard, and the
    // script exits 1 showing both.
    let out = dir.path().join("bad");
    std::fs::create_dir_all(out.join("shards")).unwrap();
    std::fs::write(out.join("shards/2-of-4"), "in the way").unwrap();
    let mut args = vec!["--tasks", "4"];
    args.extend(common);
    args.extend([out.to_str().unwrap(), "--", "--set", "hours=2000"]);
    let o = submit(dir.path(), &args, &[]);
    let (so, se) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{so}\n{se}");
    assert!(so.contains("FAILED"), "{so}");
    assert!(se.contains("task 2: FAILED 1:0") && se.contains("is a file, not a folder"), "{se}");
    assert!(se.contains("1 of 4 shards is missing (2/4)"), "{se}");
    assert!(!out.join("results.json").exists());
    // A merge job cancelled without running: exit 1, though a results.json
    // of an earlier merge is there.
    let out = dir.path().join("ok");
    let mut args = vec!["--array", "1-4"];
    args.extend(common);
    args.extend([out.to_str().unwrap(), "--", "--set", "hours=2000", "--force"]);
    let o = submit(dir.path(), &args, &[("FAKE_CANCEL_MERGE", "1")]);
    let (so, se) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{so}\n{se}");
    assert!(so.contains("CANCELLED") && se.contains("it did not run"), "{so}\n{se}");
    // Usage errors.
    for (bad, msg) in [
        (&["--array", "1,3,7", "models/mm1.toml", "x"][..], "is not a range"),
        (&["--tasks", "0", "models/mm1.toml", "x"][..], "--tasks must be"),
        (&["models/mm1.toml"][..], "expected <scenario.toml> <out dir>"),
    ] {
        let o = submit(dir.path(), bad, &[]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(text(&o).1.contains(msg), "{bad:?}: {:?}", text(&o));
    }
    let o = submit(dir.path(), &["--help"], &[]);
    assert!(o.status.success() && text(&o).0.contains("--cpus-per-task"));
}

/// The cluster test script: its help, a usage error, and a skip (exit 77)
/// without root, before it installs or starts anything. Its real run (it
/// sets up a cluster) is in `.ci/run`.
#[test]
fn cluster_test_script_explains_itself_and_skips_without_root() {
    let script = root().join("scripts/slurm/cluster_test.sh");
    let run = |args: &[&str]| Command::new("bash").arg(&script).args(args).current_dir(root()).output().unwrap();
    let o = run(&["--help"]);
    let (so, _) = text(&o);
    assert!(o.status.success(), "{so}");
    for opt in ["--bin", "--keep", "--no-install", "77 skipped"] {
        assert!(so.contains(opt), "--help names {opt}: {so}");
    }
    let o = run(&["--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("unknown argument --frobnicate"), "{:?}", text(&o));
    let uid = Command::new("id").arg("-u").output().unwrap();
    let root_user = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let o = if root_user {
        let has_runuser = Command::new("sh").args(["-c", "command -v runuser"]).output().unwrap().status.success();
        if !has_runuser {
            return;
        }
        Command::new("runuser").args(["-u", "nobody", "--", "bash"]).arg(&script).current_dir(root()).output().unwrap()
    } else {
        run(&[])
    };
    assert_eq!(o.status.code(), Some(77), "{:?}", text(&o));
    assert!(text(&o).0.contains("skipped: needs root"), "{:?}", text(&o));
}
