//! Monetary policy, iteration 1 and 2, and the full study
//! (monetary_policy.md): the daily phases as events on the trust engine,
//! the observable metrics and the automated policy of `crate::policy`,
//! every attack scenario, both fidelities, the paired report and its charts.

pub mod charts;
pub mod config;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scripts;
pub mod study;

pub use config::{Params, Script, StudyKind};
pub use model::{PolicyModel, Slot};
pub use study::{Policy, PolicyStudy};
