//! The `world` study (docs/models/world.md): one Omerta network, the
//! economic-value market with its payments settled through escrow at the
//! provider's trust-weighted share, trust earned from those settlements and
//! solved daily, on one event queue.
//!
//! The market is economic_value's, unchanged: the world is
//! `EconomicMarket<World>`, the market with the world's [`hooks`] (escrow
//! lock at a session's start, settlement and trust transactions at its
//! end, a `DayStart` event per day). With full settlement and gross pricing
//! the hooks change nothing the market reads, so its metrics equal
//! economic_value's bit for bit.

pub mod config;
pub mod hooks;
pub mod metrics;
pub mod study;

pub use config::{WorldCfg, WorldParams, resolve};
pub use hooks::World;
pub use study::WorldStudy;

/// The kind names of the world's events, as `step --kind` takes them;
/// `docs/models/world.md` documents each.
pub const EVENT_KINDS: &[&str] = &[
    "LegStart",
    "SessionEnd",
    "OutsideOffer",
    "DowntimeStart",
    "DowntimeEnd",
    "OutsideEnd",
    "FloorReached",
    "PriceCrossing",
    "PriceSetterSolve",
    "Sample",
    "RunEnd",
    "DayStart",
];
