//! Reading a Slurm job's environment: which shard an array task runs
//! (`run --shard slurm`) and how many worker threads a task may start
//! (`SLURM_CPUS_PER_TASK` when `--jobs` is not given).
//!
//! Both are pure functions over a map of environment values, so they are
//! tested without a cluster; [`slurm_env`] reads the process environment.

use super::shard::ShardSpec;
use std::collections::BTreeMap;

/// The `SLURM_*` variables of the process environment (those that are valid
/// UTF-8).
pub fn slurm_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("SLURM_"))
        .collect()
}

/// `--shard`: a fixed `i/N`, or `slurm` (read from the array task's
/// environment when the run starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    /// `i/N`.
    Fixed(ShardSpec),
    /// `slurm`: see [`shard_from_env`].
    Slurm,
}

impl std::str::FromStr for ShardArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "slurm" {
            return Ok(ShardArg::Slurm);
        }
        s.parse::<ShardSpec>()
            .map(ShardArg::Fixed)
            .map_err(|_| format!("`{s}` is not a shard: expected i/N with 0 <= i < N (e.g. 3/16), or `slurm`"))
    }
}

/// The shard an array task runs, with a line saying how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmShard {
    /// The shard.
    pub spec: ShardSpec,
    /// E.g. `array task 3 of 1-4 (step 1) is shard 2/4`.
    pub note: String,
}

const ARRAY_VARS: [&str; 4] =
    ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"];

/// The shard of the array task whose environment is `env`: index
/// `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP`
/// of `SLURM_ARRAY_TASK_COUNT` shards. The array must be an arithmetic range
/// (`--array=a-b` or `a-b:s`, with or without a `%` throttle); a list such
/// as `1,3,7` is refused, as is an environment that is not an array task's.
pub fn shard_from_env(env: &BTreeMap<String, String>) -> Result<SlurmShard, String> {
    let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if get("SLURM_ARRAY_TASK_ID").is_none() {
        return Err(match get("SLURM_JOB_ID") {
            Some(job) => format!(
                "--shard slurm: Slurm job {job} is not an array job (SLURM_ARRAY_TASK_ID is not set); \
                 submit it with sbatch --array=0-N (or give --shard i/N)"
            ),
            None => "--shard slurm: not inside a Slurm array job (SLURM_ARRAY_TASK_ID is not set); \
                     submit with sbatch --array=0-N (scripts/slurm/submit.sh does), or give --shard i/N"
                .to_string(),
        });
    }
    let num = |k: &str| -> Result<u64, String> {
        let v = get(k).ok_or_else(|| {
            format!(
                "--shard slurm: {k} is not set (SLURM_ARRAY_TASK_ID is); Slurm sets {} in every array task",
                ARRAY_VARS.join(", ")
            )
        })?;
        v.parse::<u64>().map_err(|_| format!("--shard slurm: {k}=`{v}` is not a whole number"))
    };
    let id = num("SLURM_ARRAY_TASK_ID")?;
    let min = num("SLURM_ARRAY_TASK_MIN")?;
    let max = num("SLURM_ARRAY_TASK_MAX")?;
    let count = num("SLURM_ARRAY_TASK_COUNT")?;
    // Slurm sets the step in every array task; an absent one is a step of 1.
    let step = if get("SLURM_ARRAY_TASK_STEP").is_some() { num("SLURM_ARRAY_TASK_STEP")? } else { 1 };
    let range = if step == 1 { format!("{min}-{max}") } else { format!("{min}-{max}:{step}") };
    if step == 0 || max < min || !(min..=max).contains(&id) || count == 0 {
        return Err(format!(
            "--shard slurm: inconsistent array environment: SLURM_ARRAY_TASK_ID={id}, _MIN={min}, _MAX={max}, \
             _STEP={step}, _COUNT={count}"
        ));
    }
    let span = (max - min) / step + 1;
    if (max - min) % step != 0 || span != count || (id - min) % step != 0 {
        return Err(format!(
            "--shard slurm: the array is not a range: Slurm reports {count} tasks with ids from {min} to {max} and \
             step {step}, where a range has {span}; shards need task ids a, a+s, a+2s, ..., b: submit with \
             --array=a-b or --array=a-b:s (a `%` limit is fine), not a list such as --array=1,3,7"
        ));
    }
    let count = u32::try_from(count).map_err(|_| format!("--shard slurm: {count} array tasks is too many"))?;
    let index = u32::try_from((id - min) / step).expect("index < count");
    let spec = ShardSpec { index, count };
    Ok(SlurmShard { spec, note: format!("array task {id} of {range} is shard {index}/{count}") })
}

/// Worker threads for a run given `--jobs jobs` (0: not given) and the
/// environment: `--jobs` when given; else `SLURM_CPUS_PER_TASK` when set
/// (a whole number from 1 to `max`); else 0, one per core. The note says
/// which was chosen (none outside Slurm with no `--jobs`).
pub fn jobs_from_env(jobs: usize, env: &BTreeMap<String, String>, max: u64) -> Result<(usize, Option<String>), String> {
    let cpus = env.get("SLURM_CPUS_PER_TASK").map(|v| v.trim());
    if jobs > 0 {
        let note = match cpus {
            Some(c) if !c.is_empty() => format!("worker threads: {jobs} (--jobs; SLURM_CPUS_PER_TASK={c} not used)"),
            _ => format!("worker threads: {jobs} (--jobs)"),
        };
        // Outside Slurm a given --jobs needs no line.
        let in_slurm = cpus.is_some() || env.contains_key("SLURM_JOB_ID");
        return Ok((jobs, in_slurm.then_some(note)));
    }
    match cpus {
        Some(c) => match c.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                Ok((n, Some(format!("worker threads: {n} (SLURM_CPUS_PER_TASK={c})"))))
            }
            _ => Err(format!(
                "SLURM_CPUS_PER_TASK=`{c}` is not a whole number from 1 to {max}; it sets the worker threads when \
                 --jobs is not given: fix or unset it, or give --jobs"
            )),
        },
        None if env.contains_key("SLURM_JOB_ID") => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Ok((0, Some(format!("worker threads: {cores} (one per core; SLURM_CPUS_PER_TASK is not set)"))))
        }
        None => Ok((0, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn array(id: u64, min: u64, max: u64, step: u64, count: u64) -> BTreeMap<String, String> {
        let s = |n: u64| n.to_string();
        env(&[
            ("SLURM_JOB_ID", "17"),
            ("SLURM_ARRAY_JOB_ID", "17"),
            ("SLURM_ARRAY_TASK_ID", &s(id)),
            ("SLURM_ARRAY_TASK_MIN", &s(min)),
            ("SLURM_ARRAY_TASK_MAX", &s(max)),
            ("SLURM_ARRAY_TASK_STEP", &s(step)),
            ("SLURM_ARRAY_TASK_COUNT", &s(count)),
        ])
    }

    fn shard(e: &BTreeMap<String, String>) -> (u32, u32) {
        let s = shard_from_env(e).unwrap();
        (s.spec.index, s.spec.count)
    }

    #[test]
    fn zero_based_offset_and_stepped_ranges() {
        // --array=0-3
        for id in 0..4 {
            assert_eq!(shard(&array(id, 0, 3, 1, 4)), (id as u32, 4));
        }
        // --array=1-4: task 4 is shard 3/4, task 1 shard 0/4.
        assert_eq!(shard(&array(1, 1, 4, 1, 4)), (0, 4));
        assert_eq!(shard(&array(4, 1, 4, 1, 4)), (3, 4));
        // --array=0-6:2 (tasks 0, 2, 4, 6)
        let got: Vec<_> = [0, 2, 4, 6].iter().map(|&id| shard(&array(id, 0, 6, 2, 4))).collect();
        assert_eq!(got, vec![(0, 4), (1, 4), (2, 4), (3, 4)]);
        // --array=5-14:3 (5, 8, 11, 14)
        assert_eq!(shard(&array(11, 5, 14, 3, 4)), (2, 4));
        // --array=0-7:3 makes 0, 3, 6: Slurm reports max 6.
        assert_eq!(shard(&array(6, 0, 6, 3, 3)), (2, 3));
        // A one-task array.
        assert_eq!(shard(&array(9, 9, 9, 1, 1)), (0, 1));
        let note = shard_from_env(&array(6, 0, 6, 2, 4)).unwrap().note;
        assert_eq!(note, "array task 6 of 0-6:2 is shard 3/4");
    }

    #[test]
    fn missing_step_is_one() {
        let mut e = array(2, 1, 4, 1, 4);
        e.remove("SLURM_ARRAY_TASK_STEP");
        assert_eq!(shard(&e), (1, 4));
    }

    #[test]
    fn irregular_lists_are_refused() {
        // --array=1,3,7 as Slurm 22.05 describes it: min 1, max 7, step 1, count 3.
        let err = shard_from_env(&array(3, 1, 7, 1, 3)).unwrap_err();
        assert!(err.contains("not a range") && err.contains("--array=a-b:s"), "{err}");
        // --array=0,2,4 is also described with step 1.
        assert!(shard_from_env(&array(2, 0, 4, 1, 3)).unwrap_err().contains("not a range"));
        // An id off the step.
        assert!(shard_from_env(&array(3, 0, 6, 2, 4)).unwrap_err().contains("not a range"));
        // max - min not a multiple of the step.
        assert!(shard_from_env(&array(0, 0, 7, 2, 4)).unwrap_err().contains("not a range"));
    }

    #[test]
    fn missing_or_bad_environment() {
        let err = shard_from_env(&env(&[])).unwrap_err();
        assert!(err.contains("not inside a Slurm array job"), "{err}");
        let err = shard_from_env(&env(&[("SLURM_JOB_ID", "5")])).unwrap_err();
        assert!(err.contains("Slurm job 5 is not an array job"), "{err}");
        let mut e = array(1, 1, 4, 1, 4);
        e.remove("SLURM_ARRAY_TASK_COUNT");
        assert!(shard_from_env(&e).unwrap_err().contains("SLURM_ARRAY_TASK_COUNT is not set"));
        let mut e = array(1, 1, 4, 1, 4);
        e.insert("SLURM_ARRAY_TASK_MIN".into(), "one".into());
        assert!(shard_from_env(&e).unwrap_err().contains("SLURM_ARRAY_TASK_MIN=`one` is not a whole number"));
        for bad in [array(5, 1, 4, 1, 4), array(1, 1, 4, 0, 4), array(1, 4, 1, 1, 4), array(1, 1, 4, 1, 0)] {
            assert!(shard_from_env(&bad).unwrap_err().contains("inconsistent"), "{bad:?}");
        }
    }

    #[test]
    fn shard_arg_parses() {
        assert_eq!("slurm".parse::<ShardArg>(), Ok(ShardArg::Slurm));
        assert_eq!("2/5".parse::<ShardArg>(), Ok(ShardArg::Fixed(ShardSpec { index: 2, count: 5 })));
        assert!("5/5".parse::<ShardArg>().unwrap_err().contains("or `slurm`"));
        assert!("auto".parse::<ShardArg>().is_err());
    }

    #[test]
    fn jobs_from_slurm_cpus() {
        let none = env(&[]);
        assert_eq!(jobs_from_env(0, &none, 1024), Ok((0, None)));
        assert_eq!(jobs_from_env(3, &none, 1024), Ok((3, None)));
        let two = env(&[("SLURM_JOB_ID", "4"), ("SLURM_CPUS_PER_TASK", "2")]);
        assert_eq!(jobs_from_env(0, &two, 1024), Ok((2, Some("worker threads: 2 (SLURM_CPUS_PER_TASK=2)".into()))));
        let (n, note) = jobs_from_env(5, &two, 1024).unwrap();
        assert_eq!(n, 5);
        assert!(note.unwrap().contains("--jobs; SLURM_CPUS_PER_TASK=2 not used"));
        for bad in ["0", "-1", "two", "", "1025"] {
            let e = env(&[("SLURM_CPUS_PER_TASK", bad)]);
            let err = jobs_from_env(0, &e, 1024).unwrap_err();
            assert!(err.contains(&format!("SLURM_CPUS_PER_TASK=`{bad}`")) && err.contains("--jobs"), "{err}");
            // A given --jobs does not read it.
            assert_eq!(jobs_from_env(2, &e, 1024).unwrap().0, 2);
        }
        let job = env(&[("SLURM_JOB_ID", "4")]);
        let (n, note) = jobs_from_env(0, &job, 1024).unwrap();
        assert_eq!(n, 0);
        assert!(note.unwrap().contains("one per core; SLURM_CPUS_PER_TASK is not set"));
    }
}
