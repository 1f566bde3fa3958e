//! The three reliability-market studies (reliability.md): `reliability_basic`,
//! `reliability_equilibrium` and `reliability_v2`, one model with three
//! configurations.

pub mod config;
pub mod model;

pub use config::{Params, Variant, resolve};
pub use model::ReliabilityMarket;
pub mod metrics;
pub mod study;

pub use study::{Reliability, ReliabilityStudy};
