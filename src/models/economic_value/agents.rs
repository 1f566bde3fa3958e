//! The agents of the economic-value market (providers, consumers, running
//! sessions) and their books.
//!
//! Each agent keeps its books in both fidelities' units, one book type for
//! both: the reference keeps f64 dollars and hours (as the original script
//! did), the corrected integer micro-dollars and engine ticks (exact sums). A
//! run writes only its fidelity's book; reports read either through
//! [`Books::view`], in dollars and hours.

use super::MICRO;
use crate::engine::EventId;
use crate::engine::time::ticks_to_hours;
use crate::market::posted::ProviderKind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::ops::AddAssign;

/// How a fidelity keeps money and time.
pub trait Units: Clone + Copy + Debug + Default + PartialEq {
    /// An amount of money.
    type Money: Copy + Default + Debug + PartialEq + AddAssign + Serialize + DeserializeOwned;
    /// A duration.
    type Time: Copy + Default + Debug + PartialEq + AddAssign + Serialize + DeserializeOwned;
    /// Money in dollars.
    fn dollars(m: Self::Money) -> f64;
    /// A duration in hours.
    fn hours(t: Self::Time) -> f64;
}

/// Reference units: f64 dollars and hours.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Float;

/// Corrected units: integer micro-dollars and engine ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Exact;

impl Units for Float {
    type Money = f64;
    type Time = f64;
    fn dollars(m: f64) -> f64 {
        m
    }
    fn hours(t: f64) -> f64 {
        t
    }
}

impl Units for Exact {
    type Money = i64;
    type Time = u64;
    fn dollars(m: i64) -> f64 {
        m as f64 / MICRO
    }
    fn hours(t: u64) -> f64 {
        ticks_to_hours(t)
    }
}

/// A book whose amounts can be read in dollars and hours.
pub trait InFloat {
    /// The same book in [`Float`] units.
    type Out;
    /// Convert.
    fn in_float(&self) -> Self::Out;
}

/// A provider's book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ProvBook<U: Units> {
    /// Revenue.
    pub rev: U::Money,
    /// Hours sold.
    pub hours: U::Time,
    /// Hours sold to consumers of the scenario's largest value.
    pub top: U::Time,
}

impl<U: Units> InFloat for ProvBook<U> {
    type Out = ProvBook<Float>;
    fn in_float(&self) -> ProvBook<Float> {
        ProvBook { rev: U::dollars(self.rev), hours: U::hours(self.hours), top: U::hours(self.top) }
    }
}

/// A consumer's book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ConsBook<U: Units> {
    /// Useful hours (work kept).
    pub useful: U::Time,
    /// Paid hours.
    pub paid: U::Time,
    /// Money spent.
    pub money: U::Money,
}

impl<U: Units> InFloat for ConsBook<U> {
    type Out = ConsBook<Float>;
    fn in_float(&self) -> ConsBook<Float> {
        ConsBook { useful: U::hours(self.useful), paid: U::hours(self.paid), money: U::dollars(self.money) }
    }
}

/// An agent's book in each fidelity's units (the state keeps both; a run
/// writes its own fidelity's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Books<R, C> {
    /// Reference fidelity's.
    pub reference: R,
    /// Corrected fidelity's.
    pub corrected: C,
}

impl<R: Copy, C: InFloat<Out = R>> Books<R, C> {
    /// The book of the fidelity (`tick`: reference), in dollars and hours.
    pub fn view(&self, tick: bool) -> R {
        if tick { self.reference } else { self.corrected.in_float() }
    }
}

/// A provider's availability (corrected fidelity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Avail {
    /// Can be rented (idle) or is rented (busy).
    Available,
    /// Failed or reclaimed by its owner.
    Downtime,
    /// Serving the outside offer it cancelled for.
    Outside,
}

/// Where an idle provider sits in the matching indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slot {
    /// Not indexed (busy or unavailable).
    Out,
    /// Idle, price decaying.
    Decaying,
    /// Idle at its floor.
    Floor,
    /// Optimise-rule DC posting the fleet price.
    Setter,
}

/// A provider and its books.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prov {
    /// Datacenter or home.
    pub kind: ProviderKind,
    /// Price floor f_p.
    pub floor: f64,
    /// Optimise-rule price setter: posts the fleet price.
    pub setter: bool,
    /// Reference: posted price. Corrected: idle anchor (or frozen price).
    pub price: f64,
    /// Corrected: start of the idle spell (engine ticks).
    pub anchor_t: u64,
    /// Corrected: availability.
    pub avail: Avail,
    /// Session slot or none.
    pub session: u32,
    /// Tie key (bid priority).
    pub tie: u64,
    /// Place in the indices and its keys and E per level.
    pub slot: Slot,
    pub(super) keys: Vec<u64>,
    pub(super) costs: Vec<f64>,
    pub(super) down_ev: Option<EventId>,
    pub(super) floor_ev: Option<EventId>,
    /// Corrected: rate and start of the current outside session.
    pub(super) out_rate: f64,
    pub(super) out_start: u64,
    /// Revenue, hours sold, hours sold to the top-value consumers.
    pub books: Books<ProvBook<Float>, ProvBook<Exact>>,
    /// Corrected, homes: revenue and hours of outside sessions.
    pub(super) out_rev_u: i64,
    pub(super) out_hours_u: u64,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions completed.
    pub n_done: u32,
    /// Sessions cancelled for personal use / failure.
    pub n_personal: u32,
    /// Sessions cancelled for a better offer.
    pub n_profit: u32,
}

/// A consumer and its books.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cons {
    /// Value per useful hour.
    pub value: f64,
    /// Checkpoint interval (h).
    pub kappa: f64,
    pub(super) kappa_u: u64,
    /// Checkpoint level index.
    pub level: u16,
    /// Has the scenario's largest value.
    pub top: bool,
    /// Session slot or none.
    pub session: u32,
    /// Tie key (bid priority).
    pub tie: u64,
    /// Useful hours, paid hours, money spent.
    pub books: Books<ConsBook<Float>, ConsBook<Exact>>,
    /// Jobs completed.
    pub jobs: u32,
    /// Cancellations suffered.
    pub restarts: u32,
}

/// How a session ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum End {
    /// The job is done (or, at the horizon, settled pro rata).
    Done,
    /// The provider went down: a DC's hardware failed, a home's owner
    /// reclaimed it.
    Personal,
    /// A home cancelled for a better (outside) offer.
    Profit,
}

/// A running session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sess {
    pub(super) consumer: u32,
    pub(super) provider: u32,
    pub(super) rate: f64,
    pub(super) serial: u64,
    pub(super) start: u64,
    /// Reference: hours worked and hours saved by checkpoints.
    pub(super) e: f64,
    pub(super) l: f64,
    pub(super) end: Option<End>,
    pub(super) end_ev: Option<EventId>,
    pub(super) offer_ev: Option<EventId>,
}
