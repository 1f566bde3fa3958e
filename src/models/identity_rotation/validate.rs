//! Validation of an identity-rotation study read from a snapshot
//! (`Model::validate`, `StudyModel::fresh_run`).
//!
//! A scripted study schedules its whole script at the start, so the
//! pending events must be what is left of a new run's script (its last
//! events in firing order, unchanged) plus the hops a hop check adds; each
//! run's ledger must hold the accounts the script has opened so far with
//! the money they were opened with, and every ledger must be sound. A scale
//! run must hold its accounts and exactly the next request.

use super::super::config::resolve;
use super::{Ev, IdentityRotation, Lane, SCALE_TRUST_MAX, Script, day_of};
use crate::engine::check::{ensure, finite};
use crate::engine::{Audit, Model, PendingEvent, SimTime, TICKS_PER_DAY};
use crate::study::run::{Run, same_bytes, stored_scenario};

/// A new run of the scenario and seed of `run`, to validate it against
/// (see `StudyModel::fresh_run`).
pub(crate) fn fresh_run(run: &Run<IdentityRotation>) -> Result<Run<IdentityRotation>, String> {
    let (m, meta) = (&run.sim.model, &run.meta);
    let scenario = stored_scenario(meta)?;
    let params = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
    ensure!(same_bytes(&params, &m.params), "the model's parameters are not those of the scenario stored beside it");
    match (&params.scale, &m.scale) {
        (Some(p), Some(sc)) => ensure!(
            m.lanes.is_empty() && sc.ledger.len() as u64 == p.accounts as u64,
            "the scale run holds {} accounts, its parameters ask for {}",
            sc.ledger.len(),
            p.accounts
        ),
        (None, None) => {
            // A new run schedules every event of every script: there must be
            // evidence of each (pending, or handled and recorded).
            let mut pending = vec![0u64; m.lanes.len()];
            for (_, _, ev) in run.sim.pending_events() {
                if let Some(l) = lane_of(ev) {
                    ensure!((l as usize) < m.lanes.len(), "an event of run {l} of {}", m.lanes.len());
                    pending[l as usize] += 1;
                }
            }
            for (l, lane) in m.lanes.iter().enumerate() {
                let script = script_events(m, lane.script);
                let handled = if lane.script.scripted() {
                    lane.trajectory.len() as u128
                } else {
                    (lane.ledger.len() + lane.receipts.len()) as u128
                        + lane.rejected.iter().map(|&x| x as u128).sum::<u128>().min(16)
                };
                ensure!(
                    script <= handled + pending[l] as u128,
                    "run {} has handled or pending {} of the {script} events its script schedules",
                    lane.name,
                    handled + pending[l] as u128
                );
            }
        }
        _ => return Err("the model's kind of run (scripted or scale) is not its parameters'".into()),
    }
    Ok(Run::new(meta.clone(), IdentityRotation::new(params)))
}

/// The run an event belongs to (scripted events only).
fn lane_of(ev: &Ev) -> Option<u16> {
    match *ev {
        Ev::Open { lane, .. }
        | Ev::Activity { lane, .. }
        | Ev::Transfer { lane, .. }
        | Ev::CycleBack { lane }
        | Ev::HopCheck { lane } => Some(lane),
        Ev::Request { .. } | Ev::Detect { .. } => None,
    }
}

/// Events a script schedules at the start (computed, not built).
fn script_events(m: &IdentityRotation, script: Script) -> u128 {
    let p = &m.params;
    match script {
        Script::OnePuppet => p.one_puppet.months as u128 + 4,
        Script::ThreePuppets => {
            let k = p.three_puppets.puppets as u128;
            1 + k + p.three_puppets.months as u128 * k + k + 1
        }
        Script::Order { .. } => 5,
        Script::Dust => 3,
        Script::Split { chunked } => {
            2 + if chunked { (p.split.total.0 / p.split.chunk.0.max(1)).max(0) as u128 } else { 1 }
        }
    }
}

pub(crate) fn validate(m: &IdentityRotation, audit: &Audit<'_, IdentityRotation>) -> Result<(), String> {
    let fresh = audit.fresh;
    let today = day_of(audit.now);
    match (&m.scale, &fresh.scale) {
        (Some(sc), Some(f)) => {
            ensure!(m.lanes.is_empty(), "a scale run with scripted runs");
            ensure!(
                same_bytes(&sc.params, &f.params)
                    && sc.ln_min.to_bits() == f.ln_min.to_bits()
                    && sc.ln_span.to_bits() == f.ln_span.to_bits(),
                "the scale run's parameters are not the scenario's"
            );
            sc.ledger.validate(f.ledger.config(), today).map_err(|e| format!("scale run: {e}"))?;
            ensure!(sc.ledger.len() == f.ledger.len(), "the scale run holds {} accounts", sc.ledger.len());
            for (i, a) in sc.ledger.accounts().iter().enumerate() {
                ensure!(a.trust < SCALE_TRUST_MAX, "account {i}'s trust {} is above any it can have", a.trust);
            }
            let p = &sc.params;
            ensure!(sc.requests <= p.transfers, "{} requests of {} handled", sc.requests, p.transfers);
            ensure!(sc.trust_raised <= sc.applied, "more transfers raised trust than were applied");
            scale_events(m, audit)?;
        }
        (None, None) => {
            ensure!(
                m.lanes.len() == fresh.lanes.len(),
                "{} runs, the scenario has {}",
                m.lanes.len(),
                fresh.lanes.len()
            );
            for (l, (lane, f)) in m.lanes.iter().zip(&fresh.lanes).enumerate() {
                lane_ok(l, lane, f, today).map_err(|e| format!("run {}: {e}", f.name))?;
            }
            script_events_ok(m, audit)?;
        }
        _ => return Err("the model's kind of run (scripted or scale) is not its parameters'".into()),
    }
    m.check_invariants()
}

/// A scripted run: what the script fixes equals a new run's, the ledger is
/// sound, the counters are consistent.
fn lane_ok(l: usize, lane: &Lane, f: &Lane, today: u64) -> Result<(), String> {
    ensure!(
        lane.name == f.name
            && lane.script == f.script
            && lane.defences == f.defences
            && lane.switches == f.switches
            && lane.roles == f.roles
            && lane.base == f.base
            && lane.w_trust.to_bits() == f.w_trust.to_bits(),
        "run {l} is not the run the scenario sets up"
    );
    lane.ledger.validate(f.ledger.config(), today)?;
    ensure!(lane.ledger.len() <= lane.roles.len(), "{} accounts for {} roles", lane.ledger.len(), lane.roles.len());
    if lane.script.scripted() {
        ensure!(
            lane.steps as usize == lane.trajectory.len(),
            "{} steps but {} trajectory rows",
            lane.steps,
            lane.trajectory.len()
        );
    }
    ensure!(lane.last_day <= today, "last step on day {}, after today", lane.last_day);
    finite("the activity invested", lane.activity_invested)?;
    if let Some(t) = lane.puppet_trust_before {
        finite("the puppets' trust before the transfer", t)?;
    }
    ensure!(
        lane.receipts.len() as u64 <= lane.ledger.transfers_committed(),
        "{} receipts but {} transfers committed",
        lane.receipts.len(),
        lane.ledger.transfers_committed()
    );
    Ok(())
}

/// The scripted runs' pending events: the last events of a new run's
/// script in firing order, unchanged, plus hop transfers of a three-puppet
/// run; and each run holds the accounts its handled `Open` events opened,
/// with the money and at most the trust the script can give them.
fn script_events_ok(m: &IdentityRotation, audit: &Audit<'_, IdentityRotation>) -> Result<(), String> {
    let fresh_count = audit.fresh_pending.len();
    let script_seqs = audit.fresh_pending.iter().map(|p| p.id.seq()).max().map_or(0, |s| s + 1);
    let mut left: Vec<&PendingEvent<'_, Ev>> = Vec::new();
    for p in &audit.pending {
        if p.id.seq() < script_seqs {
            left.push(p);
            continue;
        }
        // A hop: a three-puppet run's transfer of `hop` from puppet i to i % k + 1.
        let Ev::Transfer { lane, from, to, account, amount } = *p.event else {
            return Err(format!("a {} that no script schedules", crate::engine::EventInfo::kind(p.event)));
        };
        let ln = m.lanes.get(lane as usize).ok_or_else(|| format!("a transfer of run {lane}"))?;
        let k = (ln.roles.len() as u16).saturating_sub(1);
        ensure!(
            ln.script == Script::ThreePuppets
                && (1..=k).contains(&from)
                && to == from % k + 1
                && account == ln.base + from as u32
                && amount == m.params.three_puppets.hop,
            "a transfer that is neither scripted nor a hop"
        );
    }
    ensure!(left.len() <= fresh_count, "more scripted events pending than the script has");
    let tail = &audit.fresh_pending[fresh_count - left.len()..];
    for (p, f) in left.iter().zip(tail) {
        ensure!(
            p.id.seq() == f.id.seq() && p.time == f.time && p.event == f.event,
            "the pending events are not what is left of the script"
        );
    }
    // Accounts opened so far: the script's `Open` events already handled.
    let cut = fresh_count - left.len();
    for (l, lane) in m.lanes.iter().enumerate() {
        let (mut opened, mut minted) = (0usize, 0i128);
        let mut max_trust = 0.0f64;
        let mut activity = 0.0f64;
        for (at, f) in audit.fresh_pending.iter().enumerate() {
            match *f.event {
                Ev::Open { lane: x, balance, trust, .. } if x as usize == l => {
                    max_trust = max_trust.max(trust);
                    if at < cut {
                        opened += 1;
                        minted += balance.0 as i128;
                    }
                }
                Ev::Activity { lane: x, omc, .. } if x as usize == l => activity += m.params.trust_per_omc * omc,
                _ => {}
            }
        }
        ensure!(
            lane.ledger.len() == opened && lane.ledger.minted().0 as i128 == minted,
            "run {} holds {} accounts minting {}, its script has opened {opened} minting {minted}",
            lane.name,
            lane.ledger.len(),
            lane.ledger.minted().0
        );
        let bound = (max_trust + activity) * (1.0 + 1e-9) + 1e-9;
        for (i, a) in lane.ledger.accounts().iter().enumerate() {
            ensure!(
                a.trust <= bound,
                "run {} account {i}'s trust {} is above any its script can give",
                lane.name,
                a.trust
            );
        }
    }
    Ok(())
}

/// The scale run's pending events: the periodic detections a new run
/// schedules that are still ahead, the next request (or the final
/// detection once every request is handled).
fn scale_events(m: &IdentityRotation, audit: &Audit<'_, IdentityRotation>) -> Result<(), String> {
    let sc = m.scale.as_ref().expect("a scale run");
    let p = &sc.params;
    let (mut requests, mut finals) = (0, 0);
    for ev in &audit.pending {
        match *ev.event {
            Ev::Detect { last: false } => {
                let f = audit.fresh_pending.iter().find(|f| f.id.seq() == ev.id.seq());
                ensure!(
                    f.is_some_and(|f| f.time == ev.time && f.event == ev.event),
                    "a periodic detection the scenario does not schedule"
                );
            }
            Ev::Detect { last: true } => {
                finals += 1;
                ensure!(sc.requests == p.transfers, "the final detection is pending before the last request");
            }
            Ev::Request { k } => {
                requests += 1;
                let span = p.days as u128 * TICKS_PER_DAY as u128;
                let at = if p.transfers == 0 { 0 } else { (k as u128 * span / p.transfers as u128) as u64 };
                ensure!(
                    k == sc.requests && k < p.transfers && ev.time == SimTime(at),
                    "request {k} pending after {} handled",
                    sc.requests
                );
            }
            _ => return Err(format!("a scripted event in a scale run ({})", crate::engine::EventInfo::kind(ev.event))),
        }
    }
    ensure!(
        requests == usize::from(sc.requests < p.transfers),
        "{requests} requests pending after {} of {} handled",
        sc.requests,
        p.transfers
    );
    ensure!(finals <= 1, "{finals} final detections pending");
    Ok(())
}
