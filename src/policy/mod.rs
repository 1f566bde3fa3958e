//! Observable network metrics and the automated parameter policy
//! (docs/models/monetary_policy.md). A domain module: plain data, no printing.
//!
//! - [`metrics`]: `DailyMetrics`, the trust statistics and Gini.
//! - [`rules`]: phases, gates, window averages and Rules G, F, C, T.

pub mod metrics;
pub mod rules;

pub use metrics::{DailyMetrics, Param, PolicyParams, TrustStats, gini_sorted, trust_stats};
pub use rules::{Phase, PolicyConfig, PolicyEvent, PolicyState, Rule};
