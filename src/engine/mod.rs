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
//!
//! # Example
//!
//! A model is plain data and an event handler. This one counts customers
//! who arrive at random (exponential gaps with a mean of one hour, drawn
//! from its stream `arrivals`) and runs to its 10-hour horizon:
//!
//! ```
//! use omerta_sim::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, Simulation, TimeUnit};
//! use rand::RngExt;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Arrival;
//!
//! impl EventInfo for Arrival {
//!     fn kind(&self) -> &'static str {
//!         "Arrival"
//!     }
//! }
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Shop {
//!     customers: u32,
//! }
//!
//! /// Schedule the next arrival.
//! fn next_arrival(ctx: &mut Ctx<'_, Arrival>) {
//!     let gap_hours = -(1.0 - ctx.rng(0).random::<f64>()).ln();
//!     ctx.schedule_in(SimTime::from_hours(gap_hours).ticks(), Arrival);
//! }
//!
//! impl Model for Shop {
//!     type Event = Arrival;
//!     const STREAMS: &'static [&'static str] = &["arrivals"];
//!     const AGENT_CLASSES: &'static [&'static str] = &[];
//!     const TIME_UNIT: TimeUnit = TimeUnit::Hours;
//!     fn kind(&self) -> &'static str {
//!         "shop"
//!     }
//!     fn start(&mut self, ctx: &mut Ctx<'_, Arrival>) {
//!         next_arrival(ctx);
//!     }
//!     fn handle(&mut self, _: Arrival, ctx: &mut Ctx<'_, Arrival>) {
//!         self.customers += 1;
//!         next_arrival(ctx);
//!     }
//!     fn horizon(&self) -> SimTime {
//!         SimTime::from_hours(10.0)
//!     }
//!     fn agent_counts(&self) -> Vec<(&'static str, usize)> {
//!         Vec::new()
//!     }
//!     fn describe_agent(&self, _: AgentRef) -> Option<String> {
//!         None
//!     }
//! }
//!
//! let run = |seed| {
//!     let mut sim = Simulation::new(Shop { customers: 0 }, seed);
//!     let handled = sim.run_until(sim.model.horizon());
//!     assert_eq!(handled, u64::from(sim.model.customers));
//!     assert!(sim.now() <= sim.model.horizon());
//!     // The arrival after the horizon is still pending.
//!     assert_eq!(sim.pending(), 1);
//!     assert_eq!(sim.counters().scheduled, handled + 1);
//!     (sim.model.customers, sim.fingerprint())
//! };
//! // The same seed gives the same run; another seed another one.
//! assert_eq!(run(1), run(1));
//! assert_ne!(run(1).1, run(2).1);
//! ```

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
pub use trace::{AgentRef, Change, PendingInfo, StepInfo};
