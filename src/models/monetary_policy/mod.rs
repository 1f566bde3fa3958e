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

/// The kind names of the model's events ([`model::Ev`]), as `step --kind`
/// takes them and `step` prints them; `docs/models/` documents each.
pub const EVENT_KINDS: &[&str] =
    &["StartDay", "CreateIdentity", "Purchase", "Assertion", "Solve", "Metrics", "Policy", "Rollover"];

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
            Ev::StartDay { .. } => 0,
            Ev::CreateIdentity { .. } => 1,
            Ev::Purchase { .. } => 2,
            Ev::Assertion { .. } => 3,
            Ev::Solve { .. } => 4,
            Ev::Metrics { .. } => 5,
            Ev::Policy { .. } => 6,
            Ev::Rollover { .. } => 7,
        }
    }

    #[test]
    fn event_kinds_name_every_event() {
        let one_of_each = [
            Ev::StartDay { slot: 0 },
            Ev::CreateIdentity { slot: 0, k: 0 },
            Ev::Purchase { slot: 0, c: 0, p: 1, w: 1.0, h: 1.0, v: 1.0, completed: true, origin: false },
            Ev::Assertion { slot: 0, a: 0, s: 1, score: 1.0, evidence: true },
            Ev::Solve { slot: 0 },
            Ev::Metrics { slot: 0 },
            Ev::Policy { slot: 0 },
            Ev::Rollover { slot: 0 },
        ];
        assert_eq!(one_of_each.len(), EVENT_KINDS.len());
        for (i, e) in one_of_each.iter().enumerate() {
            assert_eq!(ordinal(e), i, "{e:?}");
            assert_eq!(e.kind(), EVENT_KINDS[i], "{e:?}");
        }
    }
}
