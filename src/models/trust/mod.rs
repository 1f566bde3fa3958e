//! The trust studies (trust.md): `trust_dynamics` (six scripted scenarios)
//! and `failure_modes` (nine attacks), one model on the trust engine of
//! `crate::trust`, in both fidelities.

pub mod config;
pub mod metrics;
pub mod model;
pub mod scripts;
pub mod study;

pub use config::{Params, resolve};
pub use model::TrustModel;
pub use study::{Trust, TrustStudy};
