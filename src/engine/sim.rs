//! `Simulation<M>`: the model, its event queue, clock, random streams and
//! counters, stepped one event at a time.

use super::queue::{EventId, EventQueue};
use super::rng::{RngStreams, StreamId, StreamRng};
use super::time::{SimTime, TimeUnit};
use super::trace::{AgentRef, Change, StepInfo, fold};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Debug;

/// What an engine needs to know of an event for traces and filters.
pub trait EventInfo {
    /// Short kind name, e.g. `SessionEnd`.
    fn kind(&self) -> &'static str;
    /// The agent the event concerns, if one.
    fn agent(&self) -> Option<AgentRef> {
        None
    }
}

/// A model: plain data plus an event handler.
pub trait Model: Serialize + DeserializeOwned + Clone {
    /// The model's events. Plain data, so the queue can be saved.
    type Event: Serialize + DeserializeOwned + Clone + Debug + EventInfo;

    /// Names of the random streams the model draws from; `Ctx::rng(i)` gives
    /// the stream named `STREAMS[i]`.
    const STREAMS: &'static [&'static str];

    /// Agent classes, for `--agent` and `show` (e.g. `["provider", "consumer"]`).
    const AGENT_CLASSES: &'static [&'static str];

    /// The unit a user reads this model's time in.
    const TIME_UNIT: TimeUnit;

    /// The model kind written into snapshots (the study id).
    fn kind(&self) -> &'static str;

    /// Schedule the first events. Called once by `Simulation::new`.
    fn start(&mut self, ctx: &mut Ctx<'_, Self::Event>);

    /// Handle one event.
    fn handle(&mut self, event: Self::Event, ctx: &mut Ctx<'_, Self::Event>);

    /// The time at which the run ends (for progress and `--until`).
    fn horizon(&self) -> SimTime;

    /// Check the model's invariants (tests call this after every event).
    fn check_invariants(&self) -> Result<(), String> {
        Ok(())
    }

    /// Agent counts by class, for `inspect`.
    fn agent_counts(&self) -> Vec<(&'static str, usize)>;

    /// A description of one agent's state, for `show`.
    fn describe_agent(&self, agent: AgentRef) -> Option<String>;

    /// The agent a user names (`show`, `--agent`, breakpoints, watches),
    /// spelt the way the model's output prints it. The default parses
    /// `<class><index>` and prefixes of a class ([`AgentRef::parse`]); a
    /// model whose output names agents otherwise (`dc3`, `sybil0`, a named
    /// identity) overrides it. An unknown name is an error listing what
    /// names are valid.
    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        AgentRef::parse(name, Self::AGENT_CLASSES)
    }

    /// The named numeric fields of one agent's state (e.g. `balance`,
    /// `trust`, `threshold`), for conditional breakpoints and watches;
    /// `None` for an agent the model does not have. The default has none.
    fn agent_fields(&self, agent: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let _ = agent;
        None
    }

    /// A one-paragraph description of the model state, for `inspect`.
    fn describe(&self) -> String {
        String::new()
    }

    /// Check a state read from a snapshot before it runs, so that an altered
    /// snapshot gives an error here rather than a panic (or a hang) later:
    /// every index the state and its pending events (`audit.pending`) hold
    /// is in range, the structures derived from others agree with them, the
    /// parts a run never changes equal those of a new run of the same
    /// scenario and seed (`audit.fresh`), and `check_invariants` holds. The
    /// engine has checked the queue, clock, streams and counters first
    /// (`Simulation::validate`). The default checks the invariants only.
    fn validate(&self, audit: &Audit<'_, Self>) -> Result<(), String> {
        let _ = audit;
        self.check_invariants()
    }
}

/// A pending event: when it fires, its id and the event.
#[derive(Clone, Copy, Debug)]
pub struct PendingEvent<'a, E> {
    /// When it fires.
    pub time: SimTime,
    /// Its id (what `Ctx::schedule` returned).
    pub id: EventId,
    /// The event.
    pub event: &'a E,
}

/// What `Model::validate` checks a state against.
pub struct Audit<'a, M: Model> {
    /// The current time (of the last event handled).
    pub now: SimTime,
    /// The pending events, in firing order (time, then sequence number).
    pub pending: Vec<PendingEvent<'a, M::Event>>,
    /// The model of a new run of the same scenario and seed, after `start`.
    pub fresh: &'a M,
    /// The pending events of that new run.
    pub fresh_pending: Vec<PendingEvent<'a, M::Event>>,
    by_id: HashMap<EventId, usize>,
}

impl<'a, M: Model> Audit<'a, M> {
    /// Whether `id` is a pending event (and so may be cancelled).
    pub fn is_pending(&self, id: EventId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// The pending event with this id, if any.
    pub fn find(&self, id: EventId) -> Option<&PendingEvent<'a, M::Event>> {
        self.by_id.get(&id).map(|&k| &self.pending[k])
    }
}

/// Counters kept by the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Events handled.
    pub processed: u64,
    /// Events scheduled.
    pub scheduled: u64,
    /// Events cancelled before they fired.
    pub cancelled: u64,
}

/// What a handler can do: read the clock, schedule and cancel events, draw
/// random numbers, add to the fingerprint and write trace notes.
pub struct Ctx<'a, E> {
    now: SimTime,
    queue: &'a mut EventQueue<E>,
    rngs: &'a mut RngStreams,
    counters: &'a mut Counters,
    fingerprint: &'a mut u64,
    notes: Option<&'a mut Vec<Change>>,
}

impl<E> Ctx<'_, E> {
    /// The current time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedule `event` at `at` (never before now: an earlier time is a model
    /// bug and is moved to now in release builds).
    #[inline(always)]
    pub fn schedule(&mut self, at: SimTime, event: E) -> EventId {
        debug_assert!(at >= self.now, "event scheduled in the past");
        self.counters.scheduled += 1;
        self.queue.push(at.max(self.now), event)
    }

    /// Schedule `event` `delay` ticks from now.
    #[inline(always)]
    pub fn schedule_in(&mut self, delay: u64, event: E) -> EventId {
        let at = self.now.plus(delay);
        self.schedule(at, event)
    }

    /// Cancel a pending event; false if it already fired or was cancelled.
    #[inline]
    pub fn cancel(&mut self, id: EventId) -> bool {
        let done = self.queue.cancel(id).is_some();
        if done {
            self.counters.cancelled += 1;
        }
        done
    }

    /// Whether `id` is still pending.
    #[inline]
    pub fn is_pending(&self, id: EventId) -> bool {
        self.queue.is_pending(id)
    }

    /// The random stream `id`.
    #[inline]
    pub fn rng(&mut self, id: StreamId) -> &mut StreamRng {
        self.rngs.get(id)
    }

    /// All streams (e.g. to reseed them for a new iteration).
    pub fn rngs(&mut self) -> &mut RngStreams {
        self.rngs
    }

    /// Fold a value into the trajectory fingerprint.
    #[inline]
    pub fn mix(&mut self, v: u64) {
        *self.fingerprint = fold(*self.fingerprint, v);
    }

    /// Fold a float's bits into the fingerprint.
    #[inline]
    pub fn mix_f64(&mut self, v: f64) {
        self.mix(v.to_bits());
    }

    /// Whether trace notes are being collected (build them only then).
    #[inline]
    pub fn tracing(&self) -> bool {
        self.notes.is_some()
    }

    /// Add a trace note (ignored unless tracing).
    #[inline]
    pub fn note(&mut self, agent: Option<AgentRef>, text: impl FnOnce() -> String) {
        if let Some(n) = self.notes.as_deref_mut() {
            n.push(Change { agent, text: text() });
        }
    }
}

/// Run `f` with a throw-away context at time `now` (its own empty queue,
/// streams seeded from `seed`, counters and fingerprint, no notes): for
/// validation code that rebuilds what a handler builds (e.g. a model's
/// agents at the start of a leg) to compare it with a state read from a
/// snapshot. Nothing `f` schedules or draws reaches a real run.
pub fn with_scratch_ctx<E, T>(now: SimTime, seed: u64, streams: &[&str], f: impl FnOnce(&mut Ctx<'_, E>) -> T) -> T {
    let mut queue = EventQueue::new();
    let mut rngs = RngStreams::new(seed, streams);
    let mut counters = Counters::default();
    let mut fingerprint = 0;
    let mut ctx = Ctx {
        now,
        queue: &mut queue,
        rngs: &mut rngs,
        counters: &mut counters,
        fingerprint: &mut fingerprint,
        notes: None,
    };
    f(&mut ctx)
}

/// A model with its queue, clock, random streams and counters: everything a
/// snapshot saves.
///
/// ```
/// # use omerta_sim::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, Simulation, TICKS_PER_HOUR, TimeUnit};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Clone, Debug, Serialize, Deserialize)]
/// # struct Ping;
/// # impl EventInfo for Ping {
/// #     fn kind(&self) -> &'static str { "Ping" }
/// # }
/// /// Pings at 0, 1, 2 and 3 h: each ping schedules the next, up to the horizon.
/// #[derive(Clone, Debug, Serialize, Deserialize)]
/// struct Clock {
///     pings: u32,
/// }
/// # impl Model for Clock {
/// #     type Event = Ping;
/// #     const STREAMS: &'static [&'static str] = &[];
/// #     const AGENT_CLASSES: &'static [&'static str] = &[];
/// #     const TIME_UNIT: TimeUnit = TimeUnit::Hours;
/// #     fn kind(&self) -> &'static str { "clock" }
/// #     fn start(&mut self, ctx: &mut Ctx<'_, Ping>) { ctx.schedule(SimTime::ZERO, Ping); }
/// #     fn handle(&mut self, _: Ping, ctx: &mut Ctx<'_, Ping>) {
/// #         self.pings += 1;
/// #         if ctx.now() < self.horizon() { ctx.schedule_in(TICKS_PER_HOUR, Ping); }
/// #     }
/// #     fn horizon(&self) -> SimTime { SimTime::from_hours(3.0) }
/// #     fn agent_counts(&self) -> Vec<(&'static str, usize)> { Vec::new() }
/// #     fn describe_agent(&self, _: AgentRef) -> Option<String> { None }
/// # }
///
/// let mut sim = Simulation::new(Clock { pings: 0 }, 1);
/// let first = sim.step().unwrap();
/// assert_eq!((first.kind, first.time), ("Ping", SimTime::ZERO));
/// assert_eq!(sim.run_until(SimTime::from_hours(2.0)), 2); // the pings at 1 h and 2 h
/// assert_eq!(sim.now(), SimTime::from_hours(2.0));
/// assert_eq!(sim.next_time(), Some(SimTime::from_hours(3.0)));
/// assert_eq!(sim.run(), 1);
/// assert_eq!(sim.model.pings, 4);
/// assert!(sim.is_finished() && sim.step().is_none());
/// assert_eq!(sim.counters().processed, 4);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Simulation<M: Model> {
    /// The model's state.
    pub model: M,
    queue: EventQueue<M::Event>,
    now: SimTime,
    rngs: RngStreams,
    counters: Counters,
    fingerprint: u64,
    #[serde(skip)]
    tracing: bool,
}

impl<M: Model> Simulation<M> {
    /// A new simulation of `model` under master seed `seed`; calls
    /// `Model::start`.
    pub fn new(model: M, seed: u64) -> Self {
        let mut sim = Simulation {
            model,
            queue: EventQueue::new(),
            now: SimTime::ZERO,
            rngs: RngStreams::new(seed, M::STREAMS),
            counters: Counters::default(),
            fingerprint: fold(0x6f6d_6572_7461, seed),
            tracing: false,
        };
        let mut ctx = Ctx {
            now: sim.now,
            queue: &mut sim.queue,
            rngs: &mut sim.rngs,
            counters: &mut sim.counters,
            fingerprint: &mut sim.fingerprint,
            notes: None,
        };
        sim.model.start(&mut ctx);
        sim
    }

    /// Collect trace notes in `step` (off by default; costs time).
    pub fn set_tracing(&mut self, on: bool) {
        self.tracing = on;
    }

    /// The current time (time of the last event handled).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.rngs.master()
    }

    /// Engine counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Running fingerprint of the trajectory so far.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Number of pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Pending events in firing order (for inspection).
    pub fn pending_events(&self) -> Vec<(SimTime, u64, &M::Event)> {
        self.queue.pending()
    }

    /// The first `n` pending events in firing order (for inspection).
    pub fn pending_first(&self, n: usize) -> Vec<(SimTime, u64, &M::Event)> {
        self.queue.pending_first(n)
    }

    /// The next event (time, sequence number, event), without handling it.
    pub fn peek(&mut self) -> Option<(SimTime, u64, &M::Event)> {
        self.queue.peek()
    }

    /// Whether `step` collects trace notes.
    pub fn tracing(&self) -> bool {
        self.tracing
    }

    /// Time of the next event, if any.
    pub fn next_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// True when no event is pending: the run is over.
    pub fn is_finished(&self) -> bool {
        self.queue.is_empty()
    }

    /// Handle exactly one event and say what happened; `None` when the queue
    /// is empty.
    pub fn step(&mut self) -> Option<StepInfo> {
        let p = self.queue.pop()?;
        let kind = p.event.kind();
        let agent = p.event.agent();
        let mut notes = Vec::new();
        let tracing = self.tracing;
        self.dispatch(p.time, p.seq, p.event, if tracing { Some(&mut notes) } else { None });
        Some(StepInfo { time: p.time, seq: p.seq, kind, agent, changes: notes })
    }

    #[inline]
    fn dispatch(&mut self, time: SimTime, seq: u64, event: M::Event, notes: Option<&mut Vec<Change>>) {
        self.now = time;
        self.counters.processed += 1;
        self.fingerprint = fold(self.fingerprint, time.0 ^ seq.rotate_left(40));
        let mut ctx = Ctx {
            now: time,
            queue: &mut self.queue,
            rngs: &mut self.rngs,
            counters: &mut self.counters,
            fingerprint: &mut self.fingerprint,
            notes,
        };
        self.model.handle(event, &mut ctx);
    }

    /// Handle every event with time <= `t`. Returns the number handled.
    pub fn run_until(&mut self, t: SimTime) -> u64 {
        let before = self.counters.processed;
        while let Some(next) = self.queue.peek_time() {
            if next > t {
                break;
            }
            let p = self.queue.pop().expect("peeked");
            self.dispatch(p.time, p.seq, p.event, None);
        }
        self.counters.processed - before
    }

    /// Handle events with time <= `t`, at most `max` of them (so a caller can
    /// check for an interrupt between batches). Returns the number handled.
    pub fn run_until_max(&mut self, t: SimTime, max: u64) -> u64 {
        let mut k = 0;
        while k < max {
            match self.queue.peek_time() {
                Some(next) if next <= t => {}
                _ => break,
            }
            let p = self.queue.pop().expect("peeked");
            self.dispatch(p.time, p.seq, p.event, None);
            k += 1;
        }
        k
    }

    /// Handle at most `n` events. Returns the number handled.
    pub fn run_events(&mut self, n: u64) -> u64 {
        let mut k = 0;
        while k < n {
            let Some(p) = self.queue.pop() else { break };
            self.dispatch(p.time, p.seq, p.event, None);
            k += 1;
        }
        k
    }

    /// Handle every event up to `d` ticks after now.
    pub fn run_for(&mut self, d: u64) -> u64 {
        self.run_until(self.now.plus(d))
    }

    fn pending_list(&self) -> Vec<PendingEvent<'_, M::Event>> {
        self.queue.pending_ids().into_iter().map(|(time, id, event)| PendingEvent { time, id, event }).collect()
    }

    /// Run until no event is pending.
    pub fn run(&mut self) -> u64 {
        self.run_until(SimTime::MAX)
    }

    /// Check the engine's part of a simulation read from a snapshot: the
    /// event queue's internal consistency, the clock (the queue's, and no
    /// pending event before it), the random streams (one per name of
    /// `M::STREAMS`, under master seed `seed`) and the counters (every
    /// event scheduled is handled, cancelled or pending). Nothing of the
    /// queue may be read before this passed.
    pub fn validate_engine(&self, seed: u64) -> Result<(), String> {
        self.queue.validate()?;
        if self.queue.now() != self.now {
            return Err(format!(
                "the clock is at tick {} but the event queue at tick {}",
                self.now.ticks(),
                self.queue.now().ticks()
            ));
        }
        self.rngs.validate(M::STREAMS, seed)?;
        let c = self.counters;
        if c.scheduled != self.queue.next_seq() {
            return Err(format!("{} events scheduled but the queue numbered {}", c.scheduled, self.queue.next_seq()));
        }
        let accounted = c.processed.checked_add(c.cancelled).and_then(|x| x.checked_add(self.queue.len() as u64));
        if accounted != Some(c.scheduled) {
            return Err(format!(
                "{} events handled + {} cancelled + {} pending != {} scheduled",
                c.processed,
                c.cancelled,
                self.queue.len(),
                c.scheduled
            ));
        }
        Ok(())
    }

    /// Check a simulation read from a snapshot before it runs: the engine's
    /// part (`validate_engine`, under `fresh`'s master seed), then the
    /// model (`Model::validate`). `fresh` is a new simulation of the same
    /// scenario and seed.
    pub fn validate(&self, fresh: &Simulation<M>) -> Result<(), String> {
        self.validate_engine(fresh.seed())?;
        let own = self.pending_list();
        let by_id = own.iter().enumerate().map(|(k, p)| (p.id, k)).collect();
        let audit =
            Audit { now: self.now, pending: own, fresh: &fresh.model, fresh_pending: fresh.pending_list(), by_id };
        if let Some(p) = audit.pending.first()
            && p.time < self.now
        {
            return Err(format!(
                "an event is pending at tick {}, before the clock's {}",
                p.time.ticks(),
                self.now.ticks()
            ));
        }
        self.model.validate(&audit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot;

    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Tick(u32);

    impl EventInfo for Tick {
        fn kind(&self) -> &'static str {
            "Tick"
        }
    }

    /// Each event schedules the next two steps ahead and cancels nothing.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Chain {
        handled: u32,
        last: Option<EventId>,
    }

    impl Model for Chain {
        type Event = Tick;
        const STREAMS: &'static [&'static str] = &["a", "b"];
        const AGENT_CLASSES: &'static [&'static str] = &[];
        const TIME_UNIT: TimeUnit = TimeUnit::Hours;
        fn kind(&self) -> &'static str {
            "chain"
        }
        fn start(&mut self, ctx: &mut Ctx<'_, Tick>) {
            ctx.schedule(SimTime(1), Tick(0));
            ctx.schedule(SimTime(1), Tick(1));
        }
        fn handle(&mut self, ev: Tick, ctx: &mut Ctx<'_, Tick>) {
            self.handled += 1;
            if let Some(id) = self.last.take() {
                ctx.cancel(id);
            }
            if ev.0 < 50 {
                self.last = Some(ctx.schedule_in(3, Tick(ev.0 + 2)));
                ctx.schedule_in(2, Tick(ev.0 + 1));
            }
        }
        fn horizon(&self) -> SimTime {
            SimTime(1000)
        }
        fn agent_counts(&self) -> Vec<(&'static str, usize)> {
            Vec::new()
        }
        fn describe_agent(&self, _: AgentRef) -> Option<String> {
            None
        }
        fn validate(&self, audit: &Audit<'_, Self>) -> Result<(), String> {
            match self.last {
                Some(id) if !audit.is_pending(id) => Err("the remembered event is not pending".into()),
                _ => Ok(()),
            }
        }
    }

    /// A simulation read back validates; altered clocks, counters, streams
    /// and model references are refused.
    #[test]
    fn validate_checks_clock_counters_streams_and_model() {
        let fresh = Simulation::new(Chain { handled: 0, last: None }, 9);
        let mut sim = fresh.clone();
        sim.run_events(37);
        let bytes = snapshot::encode("chain", 0, &sim);
        let p = std::path::Path::new("chain.snap");
        let (h, body) = snapshot::parse(p, &bytes).unwrap();
        let back: Simulation<Chain> = snapshot::decode(p, &h, body, &["chain"]).unwrap();
        back.validate(&fresh).unwrap();
        let bad = |what: &str, f: &dyn Fn(&mut Simulation<Chain>)| {
            let mut c = back.clone();
            f(&mut c);
            assert!(c.validate(&fresh).is_err(), "{what}");
        };
        bad("clock", &|c| c.now = SimTime(c.now.0 + 1));
        bad("scheduled", &|c| c.counters.scheduled += 1);
        bad("processed", &|c| c.counters.processed -= 1);
        bad("cancelled", &|c| c.counters.cancelled += 1);
        bad("streams", &|c| c.rngs = RngStreams::new(9, &["a"]));
        bad("stream names", &|c| c.rngs = RngStreams::new(9, &["a", "c"]));
        bad("master seed", &|c| c.rngs = RngStreams::new(10, &["a", "b"]));
        bad("model", &|c| c.model.last = Some(EventId::forged(0, 1)));
    }
}
