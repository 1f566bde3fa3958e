//! Validation of a trust study read from a snapshot (`Model::validate`,
//! `StudyModel::fresh_run`): each slot is the scenario's (kind, variant,
//! switches, checkpoints, streams), its trust engine is sound
//! (`TrustEngine::validate`) and holds the identities its script has
//! created by its day, its records fit its checkpoints, and the pending
//! events are the day driver plus the current day's engine calls, each
//! naming identities that exist when it runs.

use super::super::config::{TdScenario, resolve};
use super::{Ev, Kind, Slot, TrustModel};
use crate::engine::check::{all_finite, ensure};
use crate::engine::{Audit, Model, SimTime, TICKS_PER_DAY};
use crate::study::run::{Run, same_bytes, stored_scenario};
use crate::trust::Ident;
use crate::trust::attacks::Attack;

/// A new run of the scenario and seed of `run`, to validate it against
/// (see `StudyModel::fresh_run`).
pub(crate) fn fresh_run(run: &Run<TrustModel>) -> Result<Run<TrustModel>, String> {
    let (m, meta) = (&run.sim.model, &run.meta);
    let scenario = stored_scenario(meta)?;
    let params = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
    ensure!(same_bytes(&params, &m.params), "the model's parameters are not those of the scenario stored beside it");
    let kinds = params.scenarios.len().max(params.attacks.len()) as u64;
    let slots = kinds * params.variants().len() as u64;
    ensure!(slots == m.slots.len() as u64, "the model has {} slots, its parameters ask for {slots}", m.slots.len());
    Ok(Run::new(meta.clone(), TrustModel::new(params)))
}

/// The day a script creates its k-th later identity (`scripts::day` calls
/// `create(k)` on it; the validation of every state of a run checks this
/// table against the scripts).
fn creation_day(kind: Kind, k: usize) -> Option<u32> {
    match (kind, k) {
        (Kind::Td(TdScenario::NewEntrant), 0) => Some(180),
        (Kind::Fm(Attack::Laundering), 0) => Some(120),
        _ => None,
    }
}

pub(crate) fn validate(m: &TrustModel, audit: &Audit<'_, TrustModel>) -> Result<(), String> {
    let fresh = audit.fresh;
    ensure!(m.slots.len() == fresh.slots.len(), "{} slots, the scenario has {}", m.slots.len(), fresh.slots.len());
    let mut pending_create = vec![Vec::new(); m.slots.len()];
    for ev in &audit.pending {
        if let Ev::CreateIdentity { slot, k } = *ev.event {
            ensure!((slot as usize) < m.slots.len(), "an event of slot {slot}");
            pending_create[slot as usize].push(k as usize);
        }
    }
    for (k, (s, f)) in m.slots.iter().zip(&fresh.slots).enumerate() {
        slot_ok(s, f, &pending_create[k]).map_err(|e| format!("{} [{}]: {e}", s.class(), s.fidelity.name()))?;
    }
    events(m, audit)?;
    m.check_invariants()
}

fn slot_ok(s: &Slot, f: &Slot, creating: &[usize]) -> Result<(), String> {
    ensure!(
        s.variant == f.variant
            && s.fidelity == f.fidelity
            && s.kind == f.kind
            && same_bytes(&(&s.sw, &s.ap, &s.later, &s.cps), &(&f.sw, &f.ap, &f.later, &f.cps))
            && s.last_day == f.last_day
            && s.sbase == f.sbase,
        "not the slot the scenario sets up"
    );
    let e = &s.engine;
    e.validate(f.engine.params(), f.engine.rules()).map_err(|x| format!("trust engine: {x}"))?;
    let day = e.day();
    ensure!(day <= s.last_day, "day {day} is past the script's last day {}", s.last_day);
    // Identities: the script's initial ones (day 0), then its later ones,
    // each created on its day (its creation pending that day, or done).
    let initial = f.engine.len();
    let n = e.len();
    ensure!(n >= initial && n <= initial + s.later.len(), "{n} identities");
    for i in 0..n {
        let (name, created) = match i.checked_sub(initial) {
            None => (f.engine.name(Ident(i as u32)), 0),
            Some(k) => (s.later[k].as_str(), creation_day(s.kind, k).unwrap_or(u32::MAX)),
        };
        ensure!(
            e.name(Ident(i as u32)) == name && e.created(Ident(i as u32)) == created,
            "identity {i} is not the script's"
        );
    }
    for k in 0..s.later.len() {
        let due = creation_day(s.kind, k).ok_or_else(|| format!("later identity {k} has no creation day"))?;
        let exists = initial + k < n;
        let pending = creating.contains(&k);
        let ok = if day >= due { exists != pending } else { !exists && !pending };
        ensure!(ok, "later identity {k} (due on day {due}) exists: {exists}, pending: {pending}, on day {day}");
    }
    let expected_creates: Vec<usize> = (n - initial..n - initial + creating.len()).collect();
    ensure!(creating == expected_creates.as_slice(), "identities are created out of order");
    // Records: one per checkpoint reached, in order, with a value per
    // identity existing at it.
    ensure!(s.records.len() <= s.cps.len(), "{} checkpoint records for {} checkpoints", s.records.len(), s.cps.len());
    for (k, r) in s.records.iter().enumerate() {
        let (label, at) = &s.cps[k];
        let before = (0..n).filter(|&i| e.created(Ident(i as u32)) < r.day).count();
        let by = (0..n).filter(|&i| e.created(Ident(i as u32)) <= r.day).count();
        ensure!(
            r.label == *label
                && r.day == *at
                && r.day <= day
                && r.trust.len() == r.weight.len()
                && (before..=by).contains(&r.trust.len()),
            "checkpoint record {k} does not fit checkpoint `{label}`"
        );
        all_finite(format_args!("checkpoint record {k}'s trust"), &r.trust)?;
        all_finite(format_args!("checkpoint record {k}'s weights"), &r.weight)?;
    }
    for (k, p) in s.trajectory.iter().enumerate() {
        ensure!(
            p.day <= day && p.trust.len() <= n && p.weight.len() == p.trust.len(),
            "trajectory point {k} does not fit the run"
        );
    }
    let b = &s.book;
    all_finite(
        "the book",
        &[b.rate, b.s_before, b.delay_before, b.immediate, b.transfer.0, b.transfer.1, b.transfer.2, b.profit],
    )?;
    all_finite("the local trust readings", &b.local)?;
    Ok(())
}

/// Pending events: per slot, the next day's `StartDay` (unless the script
/// is over) and the current day's engine calls, each naming identities
/// that exist when it runs (counting creations pending before it).
fn events(m: &TrustModel, audit: &Audit<'_, TrustModel>) -> Result<(), String> {
    let ns = m.slots.len();
    let mut starts = vec![0u32; ns];
    let mut ids: Vec<usize> = m.slots.iter().map(|s| s.engine.len()).collect();
    let mut checkpoints: Vec<usize> = m.slots.iter().map(|s| s.records.len()).collect();
    for ev in &audit.pending {
        let k = m.slot_of(ev.event);
        ensure!(k < ns, "an event of slot {k} of {ns}");
        let s = &m.slots[k];
        let day = s.engine.day();
        let today = SimTime(u64::from(day) * TICKS_PER_DAY);
        let n = ids[k];
        let who = |i: u32| -> Result<(), String> {
            ensure!((i as usize) < n, "an event names identity {i}, slot {k} has {n} then");
            Ok(())
        };
        if let Ev::StartDay { day: d, .. } = *ev.event {
            starts[k] += 1;
            ensure!(
                day.checked_add(1) == Some(d) && d <= s.last_day && ev.time == SimTime(u64::from(d) * TICKS_PER_DAY),
                "StartDay({d}) pending on day {day}"
            );
            continue;
        }
        ensure!(ev.time == today, "an event of day {day} pending at another time");
        match *ev.event {
            Ev::StartDay { .. } => {}
            Ev::Transaction { c, p, rw, dur, vs, credit, .. } => {
                who(c)?;
                who(p)?;
                ensure!(
                    c != p
                        && rw.is_finite()
                        && rw >= 0.0
                        && dur.is_finite()
                        && dur >= 0.0
                        && (0.0..=1.0).contains(&vs)
                        && credit.is_finite(),
                    "a transaction the engine would refuse"
                );
            }
            Ev::Assertion { a, s: subject, score, .. } => {
                who(a)?;
                who(subject)?;
                ensure!((-1.0..=1.0).contains(&score), "an assertion score {score}");
            }
            Ev::Resolve { a, s: subject, .. } => {
                who(a)?;
                who(subject)?;
            }
            Ev::CreateIdentity { .. } => ids[k] += 1,
            Ev::Transfer { from, to, .. } => {
                who(from)?;
                who(to)?;
            }
            Ev::LocalQuery { observer, subject, .. } => {
                who(observer)?;
                who(subject)?;
            }
            Ev::ReadRate { .. } => who(0)?,
            Ev::ClusterQuery { .. } | Ev::BuildEdges { .. } => {}
            Ev::Checkpoint { k: c, .. } => {
                let c = c as usize;
                ensure!(
                    c == checkpoints[k] && c < s.cps.len() && s.cps[c].1 == day,
                    "checkpoint {c} pending after {} of {} on day {day}",
                    checkpoints[k],
                    s.cps.len()
                );
                checkpoints[k] += 1;
            }
            Ev::Recompute { .. } => ensure!(s.sw.daily(), "a daily solve pending in a run that solves at checkpoints"),
        }
    }
    for (k, s) in m.slots.iter().enumerate() {
        let want = u32::from(s.engine.day() < s.last_day);
        ensure!(starts[k] == want, "slot {k} has {} StartDay events pending on day {}", starts[k], s.engine.day());
    }
    Ok(())
}
