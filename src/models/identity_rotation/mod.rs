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

/// The kind names of the model's events ([`model::Ev`]), as `step --kind`
/// takes them and `step` prints them; `docs/models/` documents each.
pub const EVENT_KINDS: &[&str] = &["Open", "Activity", "Transfer", "CycleBack", "HopCheck", "Request", "Detect"];

#[cfg(test)]
mod event_kinds {
    use super::EVENT_KINDS;
    use super::model::Ev;
    use crate::engine::EventInfo;
    use crate::ledger::Micro;

    /// The position of an event's variant in [`EVENT_KINDS`]. The match
    /// has no wildcard, so a new variant does not compile until it is
    /// given a place here.
    fn ordinal(e: &Ev) -> usize {
        match e {
            Ev::Open { .. } => 0,
            Ev::Activity { .. } => 1,
            Ev::Transfer { .. } => 2,
            Ev::CycleBack { .. } => 3,
            Ev::HopCheck { .. } => 4,
            Ev::Request { .. } => 5,
            Ev::Detect { .. } => 6,
        }
    }

    #[test]
    fn event_kinds_name_every_event() {
        let one_of_each = [
            Ev::Open { lane: 0, who: 0, account: 0, balance: Micro(0), trust: 0.0 },
            Ev::Activity { lane: 0, who: 0, account: 0, omc: 0.0 },
            Ev::Transfer { lane: 0, from: 0, to: 1, account: 0, amount: Micro(1) },
            Ev::CycleBack { lane: 0 },
            Ev::HopCheck { lane: 0 },
            Ev::Request { k: 0 },
            Ev::Detect { last: false },
        ];
        assert_eq!(one_of_each.len(), EVENT_KINDS.len());
        for (i, e) in one_of_each.iter().enumerate() {
            assert_eq!(ordinal(e), i, "{e:?}");
            assert_eq!(e.kind(), EVENT_KINDS[i], "{e:?}");
        }
    }
}
