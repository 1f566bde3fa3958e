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

/// The kind names of the model's events ([`model::Ev`]), as `step --kind`
/// takes them and `step` prints them; `docs/models/` documents each.
pub const EVENT_KINDS: &[&str] = &[
    "StartDay",
    "Transaction",
    "Assertion",
    "Resolve",
    "CreateIdentity",
    "Transfer",
    "BuildEdges",
    "LocalQuery",
    "ClusterQuery",
    "ReadRate",
    "Checkpoint",
    "Recompute",
];

#[cfg(test)]
mod event_kinds {
    use super::EVENT_KINDS;
    use super::model::{self, Ev};
    use crate::engine::EventInfo;

    /// The position of an event's variant in [`EVENT_KINDS`]. The match
    /// has no wildcard, so a new variant does not compile until it is
    /// given a place here.
    fn ordinal(e: &Ev) -> usize {
        match e {
            Ev::StartDay { .. } => 0,
            Ev::Transaction { .. } => 1,
            Ev::Assertion { .. } => 2,
            Ev::Resolve { .. } => 3,
            Ev::CreateIdentity { .. } => 4,
            Ev::Transfer { .. } => 5,
            Ev::BuildEdges { .. } => 6,
            Ev::LocalQuery { .. } => 7,
            Ev::ClusterQuery { .. } => 8,
            Ev::ReadRate { .. } => 9,
            Ev::Checkpoint { .. } => 10,
            Ev::Recompute { .. } => 11,
        }
    }

    #[test]
    fn event_kinds_name_every_event() {
        let one_of_each = [
            Ev::StartDay { slot: 0, day: 0 },
            Ev::Transaction { slot: 0, c: 0, p: 1, rw: 1.0, dur: 1.0, vs: 1.0, credit: 0.0 },
            Ev::Assertion {
                slot: 0,
                a: 0,
                s: 1,
                score: 1.0,
                class: model::Class::Excellent,
                evidence: true,
                tag: model::ATag::None,
            },
            Ev::Resolve { slot: 0, a: 0, s: 1, verified_bad: false },
            Ev::CreateIdentity { slot: 0, k: 0 },
            Ev::Transfer { slot: 0, from: 0, to: 1 },
            Ev::BuildEdges { slot: 0 },
            Ev::LocalQuery { slot: 0, observer: 0, subject: 1, tag: model::LTag::A },
            Ev::ClusterQuery { slot: 0 },
            Ev::ReadRate { slot: 0 },
            Ev::Checkpoint { slot: 0, k: 0 },
            Ev::Recompute { slot: 0 },
        ];
        assert_eq!(one_of_each.len(), EVENT_KINDS.len());
        for (i, e) in one_of_each.iter().enumerate() {
            assert_eq!(ordinal(e), i, "{e:?}");
            assert_eq!(e.kind(), EVENT_KINDS[i], "{e:?}");
        }
    }
}
