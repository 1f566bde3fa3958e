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

/// The kind names of the model's events ([`model::Ev`]), as `step --kind`
/// takes them and `step` prints them; `docs/models/` documents each.
pub const EVENT_KINDS: &[&str] =
    &["RoundStart", "Tick", "RoundEnd", "Requote", "CompetingBid", "SessionEnd", "MatchPass"];

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
            Ev::RoundStart(_) => 0,
            Ev::Tick(_) => 1,
            Ev::RoundEnd(_) => 2,
            Ev::Requote => 3,
            Ev::CompetingBid(_) => 4,
            Ev::SessionEnd(_) => 5,
            Ev::MatchPass => 6,
        }
    }

    #[test]
    fn event_kinds_name_every_event() {
        let one_of_each = [
            Ev::RoundStart(0),
            Ev::Tick(1),
            Ev::RoundEnd(0),
            Ev::Requote,
            Ev::CompetingBid(0),
            Ev::SessionEnd(0),
            Ev::MatchPass,
        ];
        assert_eq!(one_of_each.len(), EVENT_KINDS.len());
        for (i, e) in one_of_each.iter().enumerate() {
            assert_eq!(ordinal(e), i, "{e:?}");
            assert_eq!(e.kind(), EVENT_KINDS[i], "{e:?}");
        }
    }
}
