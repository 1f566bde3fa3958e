//! Interrupt requests: SIGINT and SIGTERM (Ctrl-C, `kill`, a Slurm
//! preemption) ask a long command to stop at the next safe point, keep its
//! work and say how to continue. A second signal exits at once (after
//! removing the temporary files in flight, so no final name is ever
//! half-written).
//!
//! Only commands that can keep their work install the handler
//! ([`install`]); the others keep the default behaviour (the signal ends the
//! process).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{OnceLock, RwLock};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// What the first signal prints (after the signal's name).
const KEEP_WORK: &str = "stopping at the next safe point and keeping the work done (again to exit at once)";
static NOTICE: RwLock<&'static str> = RwLock::new(KEEP_WORK);

/// SIGINT.
pub const SIGINT: i32 = signal_hook::consts::SIGINT;
/// SIGTERM.
pub const SIGTERM: i32 = signal_hook::consts::SIGTERM;

/// Catch SIGINT and SIGTERM from now on: the first sets the request flag,
/// the second exits at once with status 128 + signal. Idempotent.
pub fn install() -> anyhow::Result<()> {
    let r = INSTALLED.get_or_init(|| {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if REQUESTED.swap(true, Ordering::SeqCst) {
                        crate::engine::atomic::remove_in_flight();
                        let _ = std::io::Write::write_all(
                            &mut std::io::stderr(),
                            format!("\n{}: second interrupt, exiting now\n", name(sig)).as_bytes(),
                        );
                        std::process::exit(128 + sig);
                    }
                    SIGNAL.store(sig, Ordering::SeqCst);
                    let notice = *NOTICE.read().unwrap_or_else(|e| e.into_inner());
                    let _ = std::io::Write::write_all(
                        &mut std::io::stderr(),
                        format!("\n{}: {notice}\n", name(sig)).as_bytes(),
                    );
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(())
    });
    r.clone().map_err(|e| anyhow::anyhow!("cannot catch interrupt signals: {e}"))
}

/// Whether an interrupt was requested.
#[inline]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Forget an interrupt request that was dealt with, so that the next one
/// is again a request and not the second signal that exits at once: for a
/// command that returns to a prompt after an interrupt (`step`).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
    SIGNAL.store(0, Ordering::SeqCst);
}

/// Set what the first signal prints after its name (by default that the
/// command stops at the next safe point and keeps its work).
pub fn set_notice(text: &'static str) {
    *NOTICE.write().unwrap_or_else(|e| e.into_inner()) = text;
}

/// Ask for an interrupt as a signal would (tests, embedding programs).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// The signal that asked for the interrupt (0 if none, or a call to [`request`]).
pub fn signal() -> i32 {
    SIGNAL.load(Ordering::SeqCst)
}

/// Exit status of a command that stopped on an interrupt: 128 + signal
/// (130 for SIGINT), as shells report a process ended by that signal.
pub fn exit_status() -> u8 {
    match signal() {
        0 => 130,
        s => (128 + s).clamp(0, 255) as u8,
    }
}

/// A signal's name.
pub fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}
