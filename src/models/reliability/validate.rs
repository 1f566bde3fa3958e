//! Validation of a reliability market read from a snapshot
//! (`Model::validate`, `StudyModel::fresh_run`): every index the state and
//! its pending events hold is in range, each session, idle provider and
//! waiting consumer is where the others say it is, the tables derived from
//! the parameters are those a new run derives, and the invariants hold.

use super::super::config::{Fidelity, Priority, ProviderSetup, Variant, resolve};
use super::{Consumer, Ev, NONE, ReliabilityMarket};
use crate::engine::check::{all_finite, ensure, finite, index, non_negative};
use crate::engine::{Audit, EventId, EventInfo, Model};
use crate::market::orders::IdleMode;
use crate::market::price::Price;
use crate::study::run::{Run, same_bytes, stored_scenario};

/// A new run of the scenario and seed of `run`, to validate it against
/// (see `StudyModel::fresh_run`).
pub(crate) fn fresh_run(run: &Run<ReliabilityMarket>) -> Result<Run<ReliabilityMarket>, String> {
    let (m, meta) = (&run.sim.model, &run.meta);
    let scenario = stored_scenario(meta)?;
    let params = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
    ensure!(same_bytes(&params, &m.params), "the model's parameters are not those of the scenario stored beside it");
    let (providers, consumers) = population_sizes(m);
    ensure!(
        m.providers.len() as u64 == providers && m.consumers.len() as u64 == consumers,
        "the model holds {} providers and {} consumers; its parameters ask for {providers} and {consumers}",
        m.providers.len(),
        m.consumers.len()
    );
    // The tick grid a new market tabulates has about job / dt entries: it
    // must be the one this market holds (checked exactly once built).
    let entries = (params.job_hours / params.tick_hours).ceil();
    ensure!(
        entries.is_finite() && entries <= m.e_tab.len() as f64 + 2.0,
        "the model's tick grid has {} entries, its parameters about {entries}",
        m.e_tab.len()
    );
    Ok(Run::new(meta.clone(), ReliabilityMarket::new(params)))
}

/// Providers and consumers the parameters ask for (without building them).
fn population_sizes(m: &ReliabilityMarket) -> (u64, u64) {
    let p = &m.params;
    let providers = match &p.providers {
        ProviderSetup::Groups(g) => g.iter().map(|(_, n, _)| *n as u64).sum(),
        ProviderSetup::Adaptive { count, .. } => *count as u64,
    };
    (providers, p.consumer_groups.iter().map(|g| g.count as u64).sum())
}

fn event_at(audit: &Audit<'_, ReliabilityMarket>, id: Option<EventId>, want: &Ev, what: &str) -> Result<(), String> {
    if let Some(id) = id {
        match audit.find(id) {
            Some(p) if p.event == want => {}
            Some(p) => return Err(format!("{what} refers to a pending {}", p.event.kind())),
            None => return Err(format!("{what} refers to an event that is not pending")),
        }
    }
    Ok(())
}

fn consumer_ok(m: &ReliabilityMarket, j: usize, c: &Consumer) -> Result<(), String> {
    index(format_args!("consumer {j}'s group"), c.group, m.params.consumer_groups.len())?;
    non_negative(format_args!("consumer {j}'s remaining work"), c.rem)?;
    for (what, x) in [
        ("paid", c.paid),
        ("paid hours", c.paid_hours),
        ("useful hours", c.useful),
        ("lost hours", c.lost),
        ("thresholds", c.thr_sum),
    ] {
        finite(format_args!("consumer {j}'s {what}"), x)?;
    }
    Ok(())
}

pub(crate) fn validate(m: &ReliabilityMarket, audit: &Audit<'_, ReliabilityMarket>) -> Result<(), String> {
    let fresh = audit.fresh;
    let p = &m.params;
    let tick = m.tick_mode();
    let now = audit.now;
    let (n_prov, n_cons) = (m.providers.len(), m.consumers.len());
    ensure!(
        n_prov == fresh.providers.len() && n_cons == fresh.consumers.len(),
        "{n_prov} providers and {n_cons} consumers, a new run has {} and {}",
        fresh.providers.len(),
        fresh.consumers.len()
    );
    // What the parameters derive, as a new run derives it.
    ensure!(
        m.k_per_round == fresh.k_per_round
            && m.dt_ticks == fresh.dt_ticks
            && m.job_ticks == fresh.job_ticks
            && m.ln_no_bid.to_bits() == fresh.ln_no_bid.to_bits()
            && same_bytes(&m.e_tab, &fresh.e_tab)
            && same_bytes(&m.ckpt_tab, &fresh.ckpt_tab)
            && m.kappa_ticks == fresh.kappa_ticks
            && m.ring.len() == fresh.ring.len(),
        "the tables derived from the parameters differ from a new run's"
    );
    ensure!(p.strategies.contains(&m.strategy), "strategy {} is not one of the scenario's", m.strategy.name());
    let total = p.total_rounds();
    ensure!(m.round < total.max(1), "round {} of {total}", m.round);
    ensure!(m.round_start <= now, "the round started after the current time");
    let groups = match &p.providers {
        ProviderSetup::Groups(g) => g.len(),
        ProviderSetup::Adaptive { .. } => 1,
    };
    for (i, pr) in m.providers.iter().enumerate() {
        index(format_args!("provider {i}'s group"), pr.group, groups)?;
        finite(format_args!("provider {i}'s threshold"), pr.threshold)?;
        finite(format_args!("provider {i}'s earnings"), pr.earnings)?;
        non_negative(format_args!("provider {i}'s hours"), pr.hours)?;
        ensure!(pr.n_comp.checked_add(pr.n_canc).is_some(), "provider {i}'s session counts overflow");
    }
    for (j, c) in m.consumers.iter().enumerate() {
        consumer_ok(m, j, c)?;
    }
    // Sessions: each live one joins a busy provider and a busy consumer who
    // point back at it, and carries the work its consumer has left.
    m.sessions.validate().map_err(|e| format!("sessions: {e}"))?;
    let mut serials = Vec::new();
    for (k, s) in m.sessions.iter() {
        index(format_args!("session {k}'s provider"), s.provider, n_prov)?;
        index(format_args!("session {k}'s consumer"), s.consumer, n_cons)?;
        ensure!(
            m.providers[s.provider as usize].session == k && m.consumers[s.consumer as usize].session == k,
            "session {k} is not the session of its provider and consumer"
        );
        let c = &m.consumers[s.consumer as usize];
        ensure!(
            s.work.to_bits() == c.rem.to_bits() && s.work_ticks == c.rem_ticks,
            "session {k}'s work is not what its consumer has left"
        );
        ensure!(s.start <= now && s.start >= m.round_start, "session {k} starts outside the current round");
        finite(format_args!("session {k}'s rate"), s.rate)?;
        ensure!(s.serial >= 1 && s.serial <= m.serial, "session {k}'s serial {} is past the last one", s.serial);
        serials.push(s.serial);
        if tick {
            ensure!(s.end_ev.is_none() && s.bid_ev.is_none(), "session {k} holds events in reference fidelity");
            ensure!(
                s.n_ticks >= 1 && (s.n_ticks as usize) < m.e_tab.len(),
                "session {k} completes in session tick {} of {}",
                s.n_ticks,
                m.e_tab.len().saturating_sub(1)
            );
            ensure!(s.start_tick <= now.ticks() / m.dt_ticks, "session {k} starts in a later tick");
        } else {
            ensure!(m.in_round, "session {k} runs between rounds");
            ensure!(s.end_ev.is_some(), "session {k} has no end event");
            event_at(audit, s.end_ev, &Ev::SessionEnd(k), &format!("session {k}'s end"))?;
            event_at(audit, s.bid_ev, &Ev::CompetingBid(k), &format!("session {k}'s competing bid"))?;
        }
    }
    serials.sort_unstable();
    ensure!(serials.windows(2).all(|w| w[0] < w[1]), "two sessions share a serial number");
    for (i, pr) in m.providers.iter().enumerate() {
        ensure!(
            pr.session == NONE || m.sessions.is_live(pr.session),
            "provider {i} points at session {} that is not running",
            pr.session
        );
    }
    for (j, c) in m.consumers.iter().enumerate() {
        ensure!(
            c.session == NONE || m.sessions.is_live(c.session),
            "consumer {j} points at session {} that is not running",
            c.session
        );
    }
    // Reference fidelity: every running session is due in exactly one ring
    // bucket, under its own serial.
    if tick {
        let mut due = vec![0u32; m.sessions.iter().map(|(k, _)| k as usize + 1).max().unwrap_or(0)];
        for (b, bucket) in m.ring.iter().enumerate() {
            for &(serial, k) in bucket {
                ensure!(m.sessions.is_live(k), "ring bucket {b} holds session {k} that is not running");
                ensure!(m.sessions[k].serial == serial, "ring bucket {b} holds session {k} under another serial");
                due[k as usize] += 1;
            }
        }
        for (k, _) in m.sessions.iter() {
            ensure!(due[k as usize] == 1, "session {k} is due {} times in the ring", due[k as usize]);
        }
    } else {
        ensure!(m.ring.is_empty(), "a ring in corrected fidelity");
    }
    // Idle providers: under the keys they were inserted with, and never busy.
    let mode = if p.priority == Priority::Fifo { IdleMode::Blocks } else { IdleMode::Ranked };
    let idle = m.idle.validate(mode, n_prov, |i| (m.providers[i as usize].chat(), m.providers[i as usize].tie))?;
    // Waiting consumers: each in the class of its group and remaining work.
    let waits = m.waiting.validate(n_cons, |class, key, j| {
        let c = &m.consumers[j as usize];
        ensure!(class.group == c.group, "waiting consumer {j} is in a class of another group");
        ensure!(
            class.work_key == m.work_key(j as usize) && class.work.to_bits() == c.rem.to_bits(),
            "waiting consumer {j} is in a class of other remaining work"
        );
        match p.priority {
            Priority::Bid => ensure!(key == c.tie, "waiting consumer {j} is kept under a stale tie key"),
            Priority::ValueSorted => ensure!(key == j as u64, "waiting consumer {j} is kept under another index"),
            Priority::Fifo => ensure!(key <= m.queue_seq, "waiting consumer {j}'s queue number is not yet issued"),
        }
        Ok(())
    })?;
    let pending = crate::engine::check::distinct("pending consumer", m.pending.iter().copied(), n_cons)?;
    for (i, (pr, &idle)) in m.providers.iter().zip(&idle).enumerate() {
        let busy = pr.session != NONE;
        ensure!(!(busy && idle), "provider {i} is busy and idle");
        ensure!(!m.in_round || busy || idle, "provider {i} is neither busy nor idle");
    }
    for j in 0..n_cons {
        let busy = m.consumers[j].session != NONE;
        let states = busy as u8 + waits[j] as u8 + pending[j] as u8;
        ensure!(states <= 1, "consumer {j} is in several of: busy, waiting, pending");
        ensure!(!m.in_round || states == 1, "consumer {j} is neither busy nor waiting");
    }
    // The price process of the fidelity.
    match (m.price, tick) {
        (Price::Tick { p: x }, true) => finite("the price", x)?,
        (Price::Continuous { x, at }, false) => {
            finite("the price state", x)?;
            ensure!(at <= now, "the price was sampled after the current time");
        }
        _ => return Err("the price process is not the fidelity's".into()),
    }
    for (what, x) in [("paid this round", m.round_paid), ("earned this round", m.round_earned)] {
        finite(what, x)?;
    }
    finite("the price sum", m.diag.price_sum)?;
    records(m)?;
    events(m, audit, total)?;
    m.check_invariants()
}

/// Per-round records: one per finished round, in order, with a row per
/// provider and valid consumer groups (the report indexes by them).
fn records(m: &ReliabilityMarket) -> Result<(), String> {
    let p = &m.params;
    ensure!(m.records.len() <= m.round as usize + 1, "{} round records in round {}", m.records.len(), m.round);
    let iters = p.iterations.max(1);
    for (k, r) in m.records.iter().enumerate() {
        ensure!(r.round as usize == k, "round record {k} is of round {}", r.round);
        let strategy = if p.variant == Variant::Basic { r.round / iters } else { 0 };
        ensure!(r.strategy as u32 == strategy, "round record {k} has strategy {}", r.strategy);
        ensure!(
            r.thresholds.len() == m.providers.len() && r.providers.len() == m.providers.len(),
            "round record {k} does not have a row per provider"
        );
        all_finite(format_args!("round record {k}'s thresholds"), &r.thresholds)?;
        ensure!(
            r.consumers.is_empty() || r.consumers.len() == m.consumers.len(),
            "round record {k} has {} consumer rows",
            r.consumers.len()
        );
        for (j, c) in r.consumers.iter().enumerate() {
            consumer_ok(m, j, c).map_err(|e| format!("round record {k}: {e}"))?;
        }
    }
    Ok(())
}

/// The pending events are those the state expects: the round driver, and
/// in corrected fidelity the requote, the match pass and each session's end
/// and competing bid, each where the state keeps its id.
fn events(m: &ReliabilityMarket, audit: &Audit<'_, ReliabilityMarket>, total: u32) -> Result<(), String> {
    let tick = m.tick_mode();
    let mut drivers = 0;
    for ev in &audit.pending {
        match *ev.event {
            Ev::RoundStart(r) => {
                drivers += 1;
                let next = if m.records.is_empty() && !m.in_round { 0 } else { m.round + 1 };
                ensure!(!m.in_round && r == next && r < total, "RoundStart({r}) pending in round {}", m.round);
            }
            Ev::RoundEnd(r) => {
                drivers += 1;
                ensure!(m.in_round && r == m.round, "RoundEnd({r}) pending in round {}", m.round);
            }
            Ev::Tick(k) => {
                drivers += 1;
                ensure!(tick && m.in_round && k >= 1 && k <= m.k_per_round, "Tick({k}) pending");
            }
            Ev::Requote => {
                ensure!(!tick && m.in_round && m.requote_ev == Some(ev.id), "a Requote the market does not expect");
            }
            Ev::MatchPass => {
                ensure!(!tick && m.in_round && m.match_ev == Some(ev.id), "a MatchPass the market does not expect");
            }
            Ev::SessionEnd(k) => {
                ensure!(
                    !tick && m.sessions.is_live(k) && m.sessions[k].end_ev == Some(ev.id),
                    "SessionEnd({k}) of no running session"
                );
            }
            Ev::CompetingBid(k) => {
                ensure!(
                    !tick && m.sessions.is_live(k) && m.sessions[k].bid_ev == Some(ev.id),
                    "CompetingBid({k}) of no running session"
                );
            }
        }
    }
    ensure!(drivers <= 1, "{drivers} round events pending");
    ensure!(drivers == 1 || audit.pending.is_empty(), "events pending but no round event");
    ensure!(drivers == 1 || m.round + 1 >= total, "no round event pending in round {} of {total}", m.round);
    event_at(audit, m.requote_ev, &Ev::Requote, "the requote")?;
    event_at(audit, m.match_ev, &Ev::MatchPass, "the match pass")?;
    if m.in_round && m.params.fidelity == Fidelity::Corrected {
        ensure!(
            audit.pending.iter().any(|e| matches!(e.event, Ev::RoundEnd(_))),
            "round {} runs without its RoundEnd",
            m.round
        );
    }
    Ok(())
}
