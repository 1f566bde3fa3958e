//! Validation of an economic-value market read from a snapshot
//! (`Model::validate`, `StudyModel::fresh_run`): the leg and its agents are
//! those the scenario builds (rebuilt here by the leg's own start handler
//! on a throw-away context), every index the state and its pending events
//! hold is in range, every session, idle consumer and indexed provider is
//! where the others say it is under the keys it would be indexed with now,
//! and the invariants hold.

use super::super::config::{EvParams, resolve};
use super::super::keyset::KeySet;
use super::{Avail, EconomicMarket, Ev, Hooks, NONE, Slot, ord_f64};
use crate::engine::check::{ensure, finite, index};
use crate::engine::{Audit, EventId, EventInfo, Model, SimTime, with_scratch_ctx};
use crate::market::posted::paid_hours;
use crate::market::price::Price;
use crate::study::run::{Run, same_bytes, stored_scenario};

/// A new run of the scenario and seed of `run`, to validate it against
/// (see `StudyModel::fresh_run`).
pub(crate) fn fresh_run(run: &Run<EconomicMarket>) -> Result<Run<EconomicMarket>, String> {
    let (m, meta) = (&run.sim.model, &run.meta);
    let scenario = stored_scenario(meta)?;
    let params = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
    Ok(Run::new(meta.clone(), fresh_market(params, m)?))
}

/// A new market of `params`, after checking that `m` (read from a
/// snapshot) has those parameters and their legs, and the agents of its
/// current leg.
pub(crate) fn fresh_market<H: Hooks>(params: EvParams, m: &EconomicMarket<H>) -> Result<EconomicMarket<H>, String> {
    ensure!(same_bytes(&params, &m.params), "the model's parameters are not those of the scenario stored beside it");
    // Count the legs before listing them (a sweep multiplies its lists).
    let sweep = params
        .sweep
        .as_ref()
        .map_or(0u128, |s| s.demand.len() as u128 * s.checkpoints.len() as u128 * s.values.len() as u128 * 2);
    let count = params.markets.len() as u128 * params.legs.len() as u128 + sweep;
    ensure!(count == m.legs.len() as u128, "the model has {} legs, its parameters {count}", m.legs.len());
    let legs = params.leg_defs();
    ensure!(same_bytes(&legs, &m.legs), "the model's legs are not those of its parameters");
    sizes(m)?;
    Ok(EconomicMarket::new(params))
}

/// Whether a leg was ever started (a new run has no agents until then).
fn started<H: Hooks>(m: &EconomicMarket<H>) -> bool {
    !(m.providers.is_empty()
        && m.consumers.is_empty()
        && m.levels.is_empty()
        && m.sessions.is_empty()
        && m.records.is_empty()
        && m.leg == 0
        && m.leg_end == 0)
}

/// The current leg holds the agents its definition asks for.
fn sizes<H: Hooks>(m: &EconomicMarket<H>) -> Result<(), String> {
    if !started(m) {
        return Ok(());
    }
    index("leg", m.leg, m.legs.len())?;
    let leg = &m.legs[m.leg as usize];
    ensure!(
        m.providers.len() as u64 == leg.dcs as u64 + leg.homes as u64
            && m.consumers.len() as u64 == leg.consumers as u64,
        "leg {} holds {} providers and {} consumers; its definition asks for {} and {}",
        m.leg,
        m.providers.len(),
        m.consumers.len(),
        leg.dcs as u64 + leg.homes as u64,
        leg.consumers
    );
    Ok(())
}

fn event_is<H: Hooks>(
    audit: &Audit<'_, EconomicMarket<H>>,
    id: Option<EventId>,
    want: &Ev,
    what: &str,
) -> Result<(), String> {
    if let Some(id) = id {
        match audit.find(id) {
            Some(p) if p.event == want => {}
            Some(p) => return Err(format!("{what} refers to a pending {}", p.event.kind())),
            None => return Err(format!("{what} refers to an event that is not pending")),
        }
    }
    Ok(())
}

pub(crate) fn validate<H: Hooks>(m: &EconomicMarket<H>, audit: &Audit<'_, EconomicMarket<H>>) -> Result<(), String> {
    let fresh = audit.fresh;
    ensure!(
        m.job_u == fresh.job_u && m.dt_u == fresh.dt_u && m.k_ticks == fresh.k_ticks,
        "the durations derived from the parameters differ from a new run's"
    );
    sizes(m)?;
    if !started(m) {
        ensure!(
            same_bytes(m, fresh) && audit.pending.len() == audit.fresh_pending.len(),
            "the market was never started but differs from a new one"
        );
        for (a, b) in audit.pending.iter().zip(&audit.fresh_pending) {
            ensure!(a.time == b.time && a.event == b.event, "the market was never started but has other events");
        }
        return Ok(());
    }
    let now = audit.now.ticks();
    let leg = &m.legs[m.leg as usize];
    ensure!(m.leg_end == m.leg_start.saturating_add(m.leg_span(leg)), "leg {} ends at the wrong time", m.leg);
    ensure!(m.leg_start <= now && now <= m.leg_end, "the clock is outside leg {}", m.leg);
    let running = m.records.len() == m.leg as usize;
    ensure!(running || m.records.len() == m.leg as usize + 1, "{} leg records in leg {}", m.records.len(), m.leg);
    for (k, r) in m.records.iter().enumerate() {
        ensure!(r.id == m.legs[k].id, "leg record {k} is of leg `{}`", r.id);
    }
    statics(m, audit.fresh)?;
    let tick = m.tick_mode();
    let (np, nc) = (m.providers.len(), m.consumers.len());
    // Sessions.
    m.sessions.validate().map_err(|e| format!("sessions: {e}"))?;
    let mut serials = Vec::new();
    for (k, s) in m.sessions.iter() {
        index(format_args!("session {k}'s provider"), s.provider, np)?;
        index(format_args!("session {k}'s consumer"), s.consumer, nc)?;
        ensure!(
            m.providers[s.provider as usize].session == k && m.consumers[s.consumer as usize].session == k,
            "session {k} is not the session of its provider and consumer"
        );
        finite(format_args!("session {k}'s rate"), s.rate)?;
        ensure!(s.serial >= 1 && s.serial <= m.serial, "session {k}'s serial {} is past the last one", s.serial);
        serials.push(s.serial);
        ensure!(s.start >= m.leg_start && s.start <= now, "session {k} starts outside its leg");
        ensure!(
            s.e.is_finite() && s.l.is_finite() && s.l >= 0.0 && s.l <= s.e,
            "session {k}'s work done is inconsistent"
        );
        ensure!(s.end.is_none(), "session {k} has ended but still runs");
        if tick {
            ensure!(s.end_ev.is_none() && s.offer_ev.is_none(), "session {k} holds events in reference fidelity");
        } else {
            event_is(audit, s.end_ev, &Ev::SessionEnd(k), &format!("session {k}'s end"))?;
            event_is(audit, s.offer_ev, &Ev::OutsideOffer(k), &format!("session {k}'s outside offer"))?;
        }
    }
    serials.sort_unstable();
    ensure!(serials.windows(2).all(|w| w[0] < w[1]), "two sessions share a serial number");
    if tick {
        let listed = crate::engine::check::distinct("running session", m.running.iter().copied(), m.sessions.slots())?;
        for (k, _) in m.sessions.iter() {
            ensure!(listed[k as usize], "session {k} runs but is not listed as running");
        }
        ensure!(m.running.len() == m.sessions.len(), "a session listed as running is not running");
    } else {
        ensure!(m.running.is_empty(), "running sessions listed in corrected fidelity");
    }
    // Providers.
    for (i, p) in m.providers.iter().enumerate() {
        ensure!(
            p.session == NONE || m.sessions.is_live(p.session),
            "provider {i} points at session {} that is not running",
            p.session
        );
        ensure!(p.session == NONE || p.avail == Avail::Available, "provider {i} is in a session while unavailable");
        finite(format_args!("provider {i}'s price"), p.price)?;
        ensure!(p.anchor_t >= m.leg_start && p.anchor_t <= now, "provider {i}'s price anchor is outside its leg");
        let b = &p.books.reference;
        for x in [b.rev, b.hours, b.top, p.out_rate] {
            finite(format_args!("provider {i}'s books"), x)?;
        }
        if p.avail == Avail::Outside {
            ensure!(
                p.out_start >= m.leg_start && p.out_start <= now,
                "provider {i}'s outside session starts outside its leg"
            );
        }
        if tick {
            ensure!(
                p.slot == Slot::Out
                    && p.keys.is_empty()
                    && p.costs.is_empty()
                    && p.down_ev.is_none()
                    && p.floor_ev.is_none(),
                "provider {i} is indexed in reference fidelity"
            );
            ensure!(p.avail == Avail::Available, "provider {i} is unavailable in reference fidelity");
            continue;
        }
        // While a leg runs an idle provider is indexed and no other is; once
        // it ended, the sessions it settled leave their providers idle
        // unindexed until the next leg rebuilds everything.
        let idle = p.avail == Avail::Available && p.session == NONE;
        ensure!(
            idle == (p.slot != Slot::Out) || (!running && p.slot == Slot::Out),
            "provider {i} is idle: {idle}, but indexed: {}",
            p.slot != Slot::Out
        );
        event_is(audit, p.down_ev, &Ev::DowntimeStart(i as u32), &format!("provider {i}'s downtime"))?;
        event_is(audit, p.floor_ev, &Ev::FloorReached(i as u32), &format!("provider {i}'s floor"))?;
        ensure!(
            p.floor_ev.is_none() || p.slot == Slot::Decaying,
            "provider {i} waits for its floor but does not decay"
        );
        if p.slot != Slot::Out {
            keys(m, i)?;
        } else {
            ensure!(p.keys.is_empty() || p.keys.len() == m.levels.len(), "provider {i} holds stale keys");
        }
    }
    // The matching indices: exactly the idle consumers and indexed providers
    // (once a leg ended, consumers of the sessions it settled are idle but
    // not listed, until the next leg rebuilds the indices).
    for (l, lv) in m.levels.iter().enumerate() {
        let want: KeySet = (0..nc)
            .filter(|&j| m.consumers[j].session == NONE && m.consumers[j].level as usize == l)
            .map(|j| m.consumer_key(j))
            .collect();
        ensure!(
            lv.consumers == want || (!running && lv.consumers.iter().all(|k| want.contains(k))),
            "the idle consumers of checkpoint level {l} are not those idle at it"
        );
        for (slot, set) in [(Slot::Decaying, &lv.decaying), (Slot::Floor, &lv.floor), (Slot::Setter, &lv.setter)] {
            let want: KeySet = (0..np)
                .filter(|&i| m.providers[i].slot == slot)
                .map(|i| (m.providers[i].keys[l], m.provider_second(i), i as u32))
                .collect();
            ensure!(*set == want, "the indexed providers of checkpoint level {l} are not those indexed");
        }
    }
    for (j, c) in m.consumers.iter().enumerate() {
        ensure!(
            c.session == NONE || m.sessions.is_live(c.session),
            "consumer {j} points at session {} that is not running",
            c.session
        );
        let b = &c.books.reference;
        for x in [b.useful, b.paid, b.money] {
            finite(format_args!("consumer {j}'s books"), x)?;
        }
    }
    match (m.outside, tick) {
        (Price::Tick { p }, true) => finite("the outside index", p)?,
        (Price::Continuous { x, at }, false) => {
            finite("the outside index", x)?;
            ensure!(at <= audit.now, "the outside index was sampled after the current time");
        }
        _ => return Err("the outside index is not the fidelity's".into()),
    }
    finite("the DC fleet price", m.pstar)?;
    finite("the DC price sum", m.dc_price_sum)?;
    event_is(audit, m.crossing_ev, &Ev::PriceCrossing, "the price crossing")?;
    event_is(audit, m.solve_ev, &Ev::PriceSetterSolve, "the price setter's solve")?;
    event_is(audit, m.sample_ev, &Ev::Sample, "the sample")?;
    events(m, audit, running)?;
    m.check_invariants()
}

/// What the leg's start builds and nothing changes afterwards (provider
/// kinds, floors, setters; consumer values, checkpoints, levels and value
/// classes), compared with the leg's own start handler run on a throw-away
/// context.
fn statics<H: Hooks>(m: &EconomicMarket<H>, fresh: &EconomicMarket<H>) -> Result<(), String> {
    let mut probe = fresh.clone();
    with_scratch_ctx(SimTime(m.leg_start), 0, H::STREAMS, |ctx| probe.on_leg_start(m.leg, ctx));
    for (i, (p, q)) in m.providers.iter().zip(&probe.providers).enumerate() {
        ensure!(
            p.kind == q.kind && (H::FLOORS_MOVE || p.floor.to_bits() == q.floor.to_bits()) && p.setter == q.setter,
            "provider {i} is not the provider its leg starts with"
        );
    }
    for (j, (c, d)) in m.consumers.iter().zip(&probe.consumers).enumerate() {
        ensure!(
            c.value.to_bits() == d.value.to_bits()
                && c.kappa.to_bits() == d.kappa.to_bits()
                && c.kappa_u == d.kappa_u
                && c.level == d.level
                && c.top == d.top,
            "consumer {j} is not the consumer its leg starts with"
        );
    }
    ensure!(
        m.levels.len() == probe.levels.len()
            && m.levels.iter().zip(&probe.levels).all(|(a, b)| a.kappa.to_bits() == b.kappa.to_bits()),
        "the checkpoint levels are not those of the leg"
    );
    ensure!(same_bytes(&m.classes, &probe.classes), "the consumer classes are not those of the leg");
    Ok(())
}

/// An indexed provider's keys and costs are those it would be indexed with
/// now (nothing they depend on changes while it is indexed).
fn keys<H: Hooks>(m: &EconomicMarket<H>, i: usize) -> Result<(), String> {
    let p = &m.providers[i];
    let levels = m.levels.len();
    ensure!(p.keys.len() == levels && p.costs.len() == levels, "provider {i} has keys for another number of levels");
    let want = if p.setter {
        Slot::Setter
    } else if p.price <= p.floor || m.params.price.decay <= 0.0 {
        Slot::Floor
    } else {
        Slot::Decaying
    };
    ensure!(p.slot == want, "provider {i} is indexed in the wrong set");
    let a = m.attempts_of(i);
    let anchor_h = crate::engine::time::ticks_to_hours(p.anchor_t - m.leg_start);
    let decay = m.params.price.decay;
    for l in 0..levels {
        let e = paid_hours(m.params.job_hours, m.levels[l].kappa, a);
        let key = match p.slot {
            Slot::Setter => e.ln(),
            Slot::Floor => (p.floor * e).ln(),
            _ => p.price.ln() + decay * anchor_h + e.ln(),
        };
        ensure!(
            p.costs[l].to_bits() == e.to_bits() && p.keys[l] == ord_f64(key),
            "provider {i} is indexed under stale keys"
        );
    }
    Ok(())
}

/// The pending events are those the state expects.
fn events<H: Hooks>(m: &EconomicMarket<H>, audit: &Audit<'_, EconomicMarket<H>>, running: bool) -> Result<(), String> {
    let tick = m.tick_mode();
    let np = m.providers.len();
    let span = m.leg_end - m.leg_start;
    let mut drivers = 0;
    let mut back = vec![0u8; np];
    for ev in &audit.pending {
        let corrected_only = |what: &str| -> Result<(), String> {
            ensure!(!tick, "{what} pending in reference fidelity");
            ensure!(running, "{what} pending between legs");
            Ok(())
        };
        match *ev.event {
            Ev::LegStart(j) => {
                drivers += 1;
                ensure!(
                    !running && j == m.leg + 1 && (j as usize) < m.legs.len(),
                    "LegStart({j}) pending in leg {}",
                    m.leg
                );
            }
            Ev::RunEnd(j) => {
                drivers += 1;
                ensure!(running && j == m.leg, "RunEnd({j}) pending in leg {}", m.leg);
            }
            Ev::Tick(k) => {
                drivers += 1;
                ensure!(tick && running && k >= 1 && (k as u64 - 1).saturating_mul(m.dt_u) < span, "Tick({k}) pending");
            }
            Ev::SessionEnd(k) => {
                corrected_only("SessionEnd")?;
                ensure!(m.sessions.is_live(k) && m.sessions[k].end_ev == Some(ev.id), "SessionEnd({k}) of no session");
            }
            Ev::OutsideOffer(k) => {
                corrected_only("OutsideOffer")?;
                ensure!(
                    m.sessions.is_live(k) && m.sessions[k].offer_ev == Some(ev.id),
                    "OutsideOffer({k}) of no session"
                );
            }
            Ev::DowntimeStart(p) => {
                corrected_only("DowntimeStart")?;
                ensure!(
                    (p as usize) < np && m.providers[p as usize].down_ev == Some(ev.id),
                    "DowntimeStart({p}) unexpected"
                );
            }
            Ev::DowntimeEnd(p) | Ev::OutsideEnd(p) => {
                corrected_only("the end of a downtime")?;
                let want = if matches!(ev.event, Ev::DowntimeEnd(_)) { Avail::Downtime } else { Avail::Outside };
                ensure!(
                    (p as usize) < np && m.providers[p as usize].avail == want,
                    "{} of a provider that is not away",
                    ev.event.kind()
                );
                back[p as usize] += 1;
                ensure!(back[p as usize] == 1, "provider {p} comes back twice");
            }
            Ev::FloorReached(p) => {
                corrected_only("FloorReached")?;
                ensure!(
                    (p as usize) < np && m.providers[p as usize].floor_ev == Some(ev.id),
                    "FloorReached({p}) unexpected"
                );
            }
            Ev::PriceCrossing => {
                corrected_only("PriceCrossing")?;
                ensure!(m.crossing_ev == Some(ev.id), "a PriceCrossing the market does not expect");
            }
            Ev::PriceSetterSolve => {
                corrected_only("PriceSetterSolve")?;
                ensure!(m.solve_ev == Some(ev.id), "a PriceSetterSolve the market does not expect");
            }
            Ev::Sample => {
                corrected_only("Sample")?;
                ensure!(m.sample_ev == Some(ev.id), "a Sample the market does not expect");
            }
            Ev::Hook(h) => H::pending_ok(m, h)?,
        }
    }
    let finished = !running && m.records.len() == m.legs.len();
    ensure!(drivers == 1 || (drivers == 0 && finished), "{drivers} leg events pending in leg {}", m.leg);
    ensure!(!finished || audit.pending.is_empty(), "events pending after the last leg");
    if !running {
        for (i, p) in m.providers.iter().enumerate() {
            ensure!(p.down_ev.is_none() && p.floor_ev.is_none(), "provider {i} holds events between legs");
        }
        ensure!(
            m.crossing_ev.is_none() && m.solve_ev.is_none() && m.sample_ev.is_none(),
            "the market holds events between legs"
        );
    }
    Ok(())
}
