//! Progress of long runs: an indicatif bar on a terminal, plain periodic log
//! lines elsewhere (CI, batch jobs, pipes), or nothing.
//!
//! Workers report simulated time and events through a cheap, cloneable
//! [`Tracker`]; a background thread draws the bar or writes the lines, so the
//! event loop never does I/O.

use super::time::TimeUnit;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Always a bar.
    Bar,
    /// Always log lines.
    Log,
    /// Nothing.
    None,
}

impl ProgressMode {
    /// Resolve `Auto` by looking at stderr.
    pub fn resolve(self) -> ProgressMode {
        match self {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Log,
            m => m,
        }
    }
}

#[derive(Default)]
struct Shared {
    ticks: AtomicU64,
    events: AtomicU64,
    runs: AtomicU64,
    stop: AtomicBool,
}

/// A handle workers use to report progress.
#[derive(Clone)]
pub struct Tracker(Arc<Shared>);

impl Tracker {
    /// A tracker nobody watches.
    pub fn detached() -> Tracker {
        Tracker(Arc::new(Shared::default()))
    }
    /// Add simulated ticks and events handled.
    #[inline]
    pub fn advance(&self, ticks: u64, events: u64) {
        self.0.ticks.fetch_add(ticks, Ordering::Relaxed);
        self.0.events.fetch_add(events, Ordering::Relaxed);
    }
    /// One run (seed) finished.
    pub fn run_done(&self) {
        self.0.runs.fetch_add(1, Ordering::Relaxed);
    }
}

/// A progress display running in a background thread.
pub struct Progress {
    tracker: Tracker,
    thread: Option<JoinHandle<()>>,
}

fn fmt_count(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

impl Progress {
    /// Start showing progress of `total_runs` runs that together simulate
    /// `total_ticks` ticks.
    pub fn start(mode: ProgressMode, label: &str, total_ticks: u64, total_runs: u64, unit: TimeUnit) -> Progress {
        let shared = Arc::new(Shared::default());
        let tracker = Tracker(shared.clone());
        let mode = mode.resolve();
        let label = label.to_string();
        let thread = match mode {
            ProgressMode::None | ProgressMode::Auto => None,
            ProgressMode::Bar => Some(std::thread::spawn(move || {
                let bar = ProgressBar::with_draw_target(Some(total_ticks.max(1)), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{elapsed_precise}] {bar:30.cyan/blue} {percent:>3}% {msg} ETA {eta}",
                    )
                    .expect("valid template"),
                );
                bar.set_prefix(label);
                let t0 = Instant::now();
                loop {
                    let stop = shared.stop.load(Ordering::Relaxed);
                    let ev = shared.events.load(Ordering::Relaxed) as f64;
                    let rate = ev / t0.elapsed().as_secs_f64().max(1e-9);
                    bar.set_position(shared.ticks.load(Ordering::Relaxed).min(total_ticks));
                    bar.set_message(format!(
                        "runs {}/{} events {} ({}/s)",
                        shared.runs.load(Ordering::Relaxed),
                        total_runs,
                        fmt_count(ev),
                        fmt_count(rate)
                    ));
                    if stop {
                        bar.finish();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })),
            ProgressMode::Log => Some(std::thread::spawn(move || {
                let t0 = Instant::now();
                let mut last = Instant::now();
                let period = Duration::from_secs(2);
                loop {
                    let stop = shared.stop.load(Ordering::Relaxed);
                    if stop || last.elapsed() >= period {
                        last = Instant::now();
                        let ticks = shared.ticks.load(Ordering::Relaxed).min(total_ticks);
                        let ev = shared.events.load(Ordering::Relaxed) as f64;
                        let secs = t0.elapsed().as_secs_f64().max(1e-9);
                        let frac = ticks as f64 / total_ticks.max(1) as f64;
                        let eta = if frac > 0.0 { secs * (1.0 - frac) / frac } else { f64::NAN };
                        // Never panic on a closed or full stderr.
                        let _ = writeln!(
                            std::io::stderr(),
                            "[{label}] {:5.1}% sim time {:.1}{u} of {:.1}{u}, runs {}/{}, events {}, {}/s, elapsed {:.1}s, ETA {}",
                            100.0 * frac,
                            ticks as f64 / unit.ticks() as f64,
                            total_ticks as f64 / unit.ticks() as f64,
                            shared.runs.load(Ordering::Relaxed),
                            total_runs,
                            fmt_count(ev),
                            fmt_count(ev / secs),
                            secs,
                            if eta.is_finite() { format!("{eta:.1}s") } else { "?".into() },
                            u = unit.suffix(),
                        );
                    }
                    if stop {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })),
        };
        Progress { tracker, thread }
    }

    /// The handle workers report to.
    pub fn tracker(&self) -> Tracker {
        self.tracker.clone()
    }

    /// Stop the display (draws a last line).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.tracker.0.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}
