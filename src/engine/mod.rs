//! The model-agnostic discrete-event core. It knows nothing of markets,
//! ledgers or trust.
//!
//! - [`time`]: integer simulation time (1 tick = 1 ms).
//! - [`queue`]: the event queue, (time, seq) order, FIFO among equal times.
//! - [`rng`]: named, seeded PCG streams.
//! - [`sim`]: `Simulation<M: Model>` with `step()`, `run_until()` and counters.
//! - [`snapshot`]: the versioned snapshot container (the only file that names bincode).
//! - [`atomic`]: files written under a temporary name, then renamed.
//! - [`interrupt`]: SIGINT/SIGTERM turned into a stop request.
//! - [`progress`]: progress bar or log lines.
//! - [`trace`]: what an event did, and the trajectory fingerprint.
//! - [`check`]: helpers for validating a state read from a snapshot.
//! - [`idmap`]: fixed-seed hash maps keyed by ids, serialized in key order.

pub mod atomic;
pub mod check;
pub mod idmap;
pub mod interrupt;
pub mod progress;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod snapshot;
pub mod time;
pub mod trace;

pub use queue::{EventId, EventQueue};
pub use rng::{RngStreams, StreamId, StreamRng};
pub use sim::{Audit, Counters, Ctx, EventInfo, Model, PendingEvent, Simulation, with_scratch_ctx};
pub use time::{SimTime, TICKS_PER_DAY, TICKS_PER_HOUR, TimeUnit};
pub use trace::{AgentRef, Change, StepInfo};
