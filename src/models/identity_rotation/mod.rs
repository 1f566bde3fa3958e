//! The identity-rotation study (identity_rotation.md): a wealthy user W
//! funds sock puppets to escape scrutiny; the ledger's burns, trust
//! inheritance and circular-flow detector are the defences. Four scripted
//! attacks, an ablation, three probes and a scale run, all on
//! [`crate::ledger`].

pub mod config;
pub mod metrics;
pub mod model;
pub mod study;

pub use config::{Params, Switches, resolve};
pub use model::IdentityRotation;
pub use study::{IdentityRotationDef, IdentityRotationStudy};
