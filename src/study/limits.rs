//! What a scenario may ask for: the longest simulated time, the most seeds,
//! the longest reference tick grid, and the memory a run would need.
//!
//! Every study estimates its memory from its scenario ([`Footprint`], via
//! [`Study::footprint`](super::Study::footprint)); before any seed runs,
//! [`check_memory`] compares the estimate for the seeds and workers of the
//! command with the memory this machine (or this job's cgroup, e.g. under
//! Slurm) has available, and refuses a run that cannot fit, naming the keys
//! that drive the estimate. On a system where the available memory cannot be
//! read (no `/proc/meminfo`), it assumes [`ASSUMED_AVAILABLE`].

use super::run::Study;
use super::scenario::ScenarioError;
use std::path::Path;

/// The longest simulated time any scenario value may describe: 2^60 engine
/// ticks of 1 ms (about 36.5 million years), so that sums of spans and gaps
/// stay far from the end of a `u64`.
pub const MAX_TICKS: u64 = 1 << 60;

/// The most seeds one command runs (the seed list alone is 8 bytes a seed).
pub const MAX_SEEDS: u64 = 1_000_000;

/// The most steps of a grid the reference fidelity builds by f64 addition
/// (ticks per round or leg, ticks per job): larger ones are refused instead
/// of iterated.
pub const MAX_GRID_STEPS: u64 = 100_000_000;

/// What the check assumes when the available memory cannot be read.
pub const ASSUMED_AVAILABLE: u64 = 8 << 30;

/// Memory of the process besides the seeds (code, thread stacks, buffers).
const BASE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// A study's memory estimate for its scenario, in bytes (f64, so that absurd
/// values cannot overflow).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Footprint {
    /// Peak bytes one running seed holds (agents, events, records).
    pub per_run: f64,
    /// Bytes one finished seed's output holds until the report is written
    /// (metrics, tables, series).
    pub per_output: f64,
    /// The scenario keys that drive the estimate, as `key = value`.
    pub drivers: Vec<String>,
}

impl Footprint {
    /// An estimate of `per_run` and `per_output` bytes.
    pub fn new(per_run: f64, per_output: f64) -> Footprint {
        Footprint { per_run, per_output, drivers: Vec::new() }
    }

    /// Name a key that drives the estimate.
    pub fn driver(mut self, key: &str, value: impl std::fmt::Display) -> Footprint {
        self.drivers.push(format!("{key} = {value}"));
        self
    }

    /// Bytes a command needs that keeps `seeds` outputs with `workers`
    /// seeds running at once (a running seed's output is part of
    /// `per_run`).
    pub fn need(&self, seeds: u64, workers: u64) -> f64 {
        let workers = workers.min(seeds);
        // Keeping a finished seed in its run folder reads a second copy of
        // its output back while the first still exists.
        BASE_BYTES
            + (self.per_run + self.per_output) * workers as f64
            + self.per_output * (seeds - workers) as f64
            + 8.0 * seeds as f64
    }
}

/// Where the available-memory figure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Available {
    /// Read from the system (the smaller of `MemAvailable` and the cgroup's
    /// free limit).
    Measured(u64),
    /// Could not be read: [`ASSUMED_AVAILABLE`].
    Assumed(u64),
}

impl Available {
    /// Bytes.
    pub fn bytes(self) -> u64 {
        match self {
            Available::Measured(b) | Available::Assumed(b) => b,
        }
    }
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn meminfo() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The free part of this process's cgroup memory limit (v2 `memory.max` -
/// `memory.current`, or v1 `memory.limit_in_bytes` - `memory.usage_in_bytes`),
/// when there is a limit.
fn cgroup_free() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<u64>().ok());
    let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    // cgroup v2: "0::/path".
    if let Some(path) = cg.lines().find_map(|l| l.strip_prefix("0::")) {
        for dir in [format!("/sys/fs/cgroup{}", path.trim_end_matches('/')), "/sys/fs/cgroup".to_string()] {
            if let Some(max) = read(&format!("{dir}/memory.max")) {
                let cur = read(&format!("{dir}/memory.current")).unwrap_or(0);
                return Some(max.saturating_sub(cur));
            }
        }
    }
    // cgroup v1 (no limit reads as a huge number).
    let max = read("/sys/fs/cgroup/memory/memory.limit_in_bytes")?;
    let cur = read("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0);
    (max < 1 << 60).then(|| max.saturating_sub(cur))
}

/// The memory available to this process.
pub fn available_memory() -> Available {
    match (meminfo(), cgroup_free()) {
        (Some(m), Some(c)) => Available::Measured(m.min(c)),
        (Some(m), None) => Available::Measured(m),
        (None, Some(c)) => Available::Measured(c),
        (None, None) => Available::Assumed(ASSUMED_AVAILABLE),
    }
}

/// Bytes for people: "320 GiB", "12.5 MiB".
pub fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if !b.is_finite() {
        return "more than any machine has".into();
    }
    let mut x = b;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{x:.0} bytes")
    } else if x < 10.0 {
        format!("{x:.1} {}", UNITS[u])
    } else {
        format!("{x:.0} {}", UNITS[u])
    }
}

/// Worker threads a command runs with (`--jobs 0`: one per core), never
/// more than its seeds.
pub fn workers(jobs: usize, seeds: u64) -> u64 {
    let cores = if jobs == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { jobs };
    (cores as u64).min(seeds).max(1)
}

/// Refuse a command that would need more memory than `available`: `seeds`
/// outputs kept, `workers` seeds running at once, with footprint `fp` of
/// the scenario at `path`.
pub fn check_footprint(
    path: &Path,
    fp: &Footprint,
    seeds: u64,
    workers: u64,
    available: Available,
) -> Result<(), ScenarioError> {
    let need = fp.need(seeds, workers);
    let have = available.bytes() as f64;
    if need <= have {
        return Ok(());
    }
    let keys = if fp.drivers.is_empty() { "this scenario".to_string() } else { fp.drivers.join(", ") };
    let have_text = match available {
        Available::Measured(_) => format!("this machine has {} available", human_bytes(have)),
        Available::Assumed(_) => {
            format!("the available memory could not be read, so {} is assumed", human_bytes(have))
        }
    };
    Err(ScenarioError::Invalid {
        path: path.to_path_buf(),
        message: format!(
            "{keys} would need about {} of memory ({} per running seed x {workers} at once, {} per finished seed's output x {seeds} seeds), {have_text}; reduce these keys, or run fewer seeds at once (--jobs) or per command (--seeds, --shard)",
            human_bytes(need),
            human_bytes(fp.per_run),
            human_bytes(fp.per_output),
        ),
    })
}

/// Refuse a run of `seeds` seeds of `study` with `jobs` workers (0 = one per
/// core) that cannot fit in this machine's available memory.
pub fn check_memory(study: &dyn Study, seeds: u64, jobs: usize) -> Result<(), ScenarioError> {
    check_footprint(&study.scenario().path, &study.footprint(), seeds, workers(jobs, seeds), available_memory())
}

/// Master seeds `base .. base + n`, refused when `n` is 0, more than
/// [`MAX_SEEDS`], or the last seed does not fit in a u64.
pub fn seed_range(base: u64, n: u64) -> anyhow::Result<Vec<u64>> {
    if n == 0 {
        anyhow::bail!("nothing to run: 0 seeds (--seeds and the key `seeds` must be at least 1)");
    }
    if n > MAX_SEEDS {
        anyhow::bail!("{n} seeds (--seeds or the key `seeds`): at most {MAX_SEEDS} per command");
    }
    let Some(end) = base.checked_add(n) else {
        anyhow::bail!("{n} seeds (--seeds) from seed_base {base}: the last seed does not fit in 64 bits");
    };
    Ok((base..end).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human() {
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(320.0 * (1u64 << 30) as f64), "320 GiB");
        assert_eq!(human_bytes(f64::INFINITY), "more than any machine has");
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let fp = Footprint::new(4e9 * 80.0, 1e3).driver("providers", 4_000_000_000u64);
        let p = Path::new("m.toml");
        let e = check_footprint(p, &fp, 1, 1, Available::Measured(23 << 30)).unwrap_err().to_string();
        assert!(e.starts_with("m.toml: providers = 4000000000 would need about 298 GiB"), "{e}");
        assert!(e.contains("this machine has 23 GiB available"), "{e}");
        let small = Footprint::new(1e6, 1e3);
        assert!(check_footprint(p, &small, 10, 2, Available::Measured(1 << 30)).is_ok());
        // Outputs add up over seeds; running seeds over workers.
        let out = Footprint::new(1e6, 1e6).driver("rounds", 50);
        assert!(check_footprint(p, &out, 10_000, 1, Available::Measured(1 << 30)).is_err());
        let e = check_footprint(p, &out, 10_000, 1, Available::Assumed(1 << 30)).unwrap_err().to_string();
        assert!(e.contains("could not be read"), "{e}");
        let inf = Footprint::new(f64::INFINITY, 0.0);
        assert!(check_footprint(p, &inf, 1, 1, Available::Measured(u64::MAX)).is_err());
    }

    #[test]
    fn seeds() {
        assert_eq!(seed_range(5, 3).unwrap(), vec![5, 6, 7]);
        assert!(seed_range(1, 0).is_err());
        assert!(seed_range(1, MAX_SEEDS + 1).is_err());
        assert!(seed_range(u64::MAX - 1, 5).is_err());
        assert_eq!(workers(4, 2), 2);
        assert_eq!(workers(1, 100), 1);
        assert!(workers(0, 100) >= 1);
    }

    #[test]
    fn reads_available_memory() {
        // On Linux this is measured; elsewhere assumed. Either way positive.
        assert!(available_memory().bytes() > 0);
    }
}
