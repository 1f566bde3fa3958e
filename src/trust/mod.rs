//! The trust engine (trust.md): trust scores from ages, transactions and
//! assertions by a fixed-point solve, cluster weights, local trust, payment
//! share, escrow and transfer burns; plus replay of recorded traces.
//!
//! A domain module: plain data, no printing, typed errors. Parameters live in
//! [`TrustParams`] and can change between days ([`TrustEngine::set_params`]).
//!
//! - [`params`]: `TrustParams` (every constant, the `[trust]` table) and the rule switches.
//! - [`math`]: the closed forms (age, credibility, payment share, escrow).
//! - [`engine`]: `TrustEngine`, the history and its incremental caches.
//! - [`trace`]: JSON Lines traces of engine calls and their replay.
//! - [`attacks`]: the reference's attack-result formulas.
//! - [`workload`]: the scale workload (benches).

pub mod attacks;
pub mod engine;
pub mod math;
pub mod params;
pub mod trace;
pub mod workload;

#[cfg(test)]
mod naive;

pub use engine::{
    Assertion, Clusters, EdgeSummary, Ident, SolveReport, SolveStats, Transaction, TransferOutcome, TrustEngine,
    TrustError,
};
pub use params::{
    AgeMode, ClusterGrouping, FalseAccusationPenalty, ParamError, PositiveAssertions, Rules, TrustParams,
};
