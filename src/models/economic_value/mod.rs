//! The `economic_value` study (economic_value.md): does cheap, unreliable
//! home compute beside datacenters create value?

pub mod config;
mod keyset;
pub mod model;

pub use config::{EvParams, resolve};
pub use model::{Booked, EconomicMarket, End, HookEv, Hooks};
pub mod metrics;
pub mod study;

pub use study::{EconomicStudy, EconomicValue};

/// The kind names of the model's events ([`model::Ev`]), as `step --kind`
/// takes them and `step` prints them; `docs/models/` documents each.
pub const EVENT_KINDS: &[&str] = &[
    "LegStart",
    "Tick",
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
];

#[cfg(test)]
mod event_kinds {
    use super::EVENT_KINDS;
    use super::model::Ev;
    use crate::engine::EventInfo;

    /// The position of an event's variant in [`EVENT_KINDS`]. The match
    /// has no wildcard, so a new variant does not compile until it is
    /// given a place here.
    fn ordinal(e: &Ev) -> usize {
        match e {
            Ev::LegStart(_) => 0,
            Ev::Tick(_) => 1,
            Ev::SessionEnd(_) => 2,
            Ev::OutsideOffer(_) => 3,
            Ev::DowntimeStart(_) => 4,
            Ev::DowntimeEnd(_) => 5,
            Ev::OutsideEnd(_) => 6,
            Ev::FloorReached(_) => 7,
            Ev::PriceCrossing => 8,
            Ev::PriceSetterSolve => 9,
            Ev::Sample => 10,
            Ev::RunEnd(_) => 11,
            // Events of models built on the market, listed by those models
            // (the world study's EVENT_KINDS).
            Ev::Hook(_) => usize::MAX,
        }
    }

    #[test]
    fn event_kinds_name_every_event() {
        let one_of_each = [
            Ev::LegStart(0),
            Ev::Tick(1),
            Ev::SessionEnd(0),
            Ev::OutsideOffer(0),
            Ev::DowntimeStart(0),
            Ev::DowntimeEnd(0),
            Ev::OutsideEnd(0),
            Ev::FloorReached(0),
            Ev::PriceCrossing,
            Ev::PriceSetterSolve,
            Ev::Sample,
            Ev::RunEnd(0),
        ];
        assert_eq!(one_of_each.len(), EVENT_KINDS.len());
        for (i, e) in one_of_each.iter().enumerate() {
            assert_eq!(ordinal(e), i, "{e:?}");
            assert_eq!(e.kind(), EVENT_KINDS[i], "{e:?}");
        }
    }
}
