//! The `economic_value` study (economic_value.md): does cheap, unreliable
//! home compute beside datacenters create value?

pub mod config;
mod keyset;
pub mod model;

pub use config::{EvParams, resolve};
pub use model::EconomicMarket;
pub mod metrics;
pub mod study;

pub use study::EconomicStudy;
