//! Market components shared by the market studies: the price process, bids
//! and expected costs, and the keyed orders a match pass works on.
//!
//! Money here is whatever the study chooses: the reliability studies count
//! f64 dollars; nothing in this module fixes the type.

pub mod bids;
pub mod orders;
pub mod posted;
pub mod price;
pub mod slab;

pub use bids::{ExpectedCost, Strategy};
pub use orders::{IdleMode, IdleProviders, WaitingConsumers};
pub use price::{Price, PriceParams};
