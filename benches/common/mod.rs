//! Helpers shared by the benches: `mod common;` in a bench finds this
//! folder, and cargo does not take a folder's `mod.rs` for a bench target.

#![allow(dead_code)] // each bench uses a part

use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use std::time::{Duration, Instant};

/// `VmHWM` (peak resident set) of this process, as the kernel prints it.
pub fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_string()))
        .unwrap_or_else(|| "unknown (no /proc/self/status)".into())
}

/// Criterion for long runs: ten samples of one run each after a short
/// warm-up, no plots (criterion's plotting backend needs system fonts).
pub fn long_runs() -> Criterion {
    Criterion::default()
        .without_plots()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(1))
}

/// Criterion's measurement: wall time, or with `OMERTA_BENCH_CPU=1` the CPU
/// time of the whole process (every thread), for comparisons on a machine
/// other work shares: time spent waiting for a core is left out. Values are
/// nanoseconds either way and print like wall time.
pub struct Clock {
    cpu: bool,
    wall: WallTime,
}

impl Clock {
    /// Wall time, unless `OMERTA_BENCH_CPU=1`.
    pub fn from_env() -> Clock {
        let cpu = std::env::var("OMERTA_BENCH_CPU").is_ok_and(|v| v == "1");
        if cpu {
            eprintln!("measuring process CPU time (OMERTA_BENCH_CPU=1)");
        }
        Clock { cpu, wall: WallTime }
    }

    fn now(&self) -> Duration {
        if !self.cpu {
            return Duration::ZERO;
        }
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid timespec for clock_gettime to fill.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }
}

impl Measurement for Clock {
    type Intermediate = (Instant, Duration);
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        (Instant::now(), self.now())
    }
    fn end(&self, (wall, cpu): Self::Intermediate) -> Duration {
        if self.cpu { self.now() - cpu } else { wall.elapsed() }
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// Criterion with [`Clock::from_env`], no plots.
pub fn criterion() -> Criterion<Clock> {
    Criterion::default().without_plots().with_measurement(Clock::from_env())
}
