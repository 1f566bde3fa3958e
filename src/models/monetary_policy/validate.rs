//! Validation of a monetary-policy study read from a snapshot
//! (`Model::validate`, `StudyModel::fresh_run`).
//!
//! Each slot must be the scenario's (experiment, arm, days, wiring, its own
//! eight streams), its trust engine sound (`TrustEngine::validate`) on the
//! parameters its policy has set, its identities those its script has
//! created so far, in order, with one book each; its roles and planned
//! identities those the script's own day function builds by its day
//! (replayed from a new slot on a throw-away copy: creations never depend
//! on draws), its history one row per day handled, and its pending events
//! the day's chain (`StartDay`, the script's calls, `Solve`, `Metrics`,
//! `Policy`, `Rollover`) at the engine's day, naming identities that exist
//! when they run.

use super::super::config::{Params, resolve};
use super::super::scripts;
use super::{Ev, PolicyModel, ROWS, Slot};
use crate::engine::check::{ensure, finite};
use crate::engine::{Audit, Model, SimTime, TICKS_PER_DAY};
use crate::study::run::{Run, same_bytes, stored_scenario};
use crate::trust::Ident;

/// A new run of the scenario and seed of `run`, to validate it against
/// (see `StudyModel::fresh_run`).
pub(crate) fn fresh_run(run: &Run<PolicyModel>) -> Result<Run<PolicyModel>, String> {
    let (m, meta) = (&run.sim.model, &run.meta);
    let scenario = stored_scenario(meta)?;
    let params = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
    ensure!(same_bytes(&params, &m.params), "the model's parameters are not those of the scenario stored beside it");
    let slots: usize = params.scripts.iter().map(|&s| params.arms_of(s).len()).sum();
    ensure!(slots == m.slots.len(), "the model has {} slots, its parameters ask for {slots}", m.slots.len());
    Ok(Run::new(meta.clone(), PolicyModel::new(params)))
}

pub(crate) fn validate(m: &PolicyModel, audit: &Audit<'_, PolicyModel>) -> Result<(), String> {
    let fresh = audit.fresh;
    ensure!(m.slots.len() == fresh.slots.len(), "{} slots, the scenario has {}", m.slots.len(), fresh.slots.len());
    // Which slots have run today's script (today's StartDay is not
    // pending, and the run is not over).
    let mut started_today: Vec<bool> = m.slots.iter().map(|s| s.engine.day() < s.days).collect();
    for ev in &audit.pending {
        let k = ev.event.slot();
        ensure!(k < m.slots.len(), "an event of slot {k} of {}", m.slots.len());
        if matches!(ev.event, Ev::StartDay { .. }) {
            started_today[k] = false;
        }
    }
    for (k, (s, f)) in m.slots.iter().zip(&fresh.slots).enumerate() {
        slot_ok(&m.params, k, s, f, started_today[k]).map_err(|e| format!("{}/{}: {e}", s.script.id(), s.arm.name))?;
    }
    events(m, audit)?;
    m.check_invariants()
}

fn slot_ok(p: &Params, k: usize, s: &Slot, f: &Slot, started_today: bool) -> Result<(), String> {
    ensure!(
        s.script == f.script
            && s.days == f.days
            && s.live == f.live
            && same_bytes(&s.arm, &f.arm)
            && s.streams.len() == ROWS.len()
            && f.streams.len() == ROWS.len(),
        "not the slot the scenario sets up"
    );
    let e = &s.engine;
    let day = e.day();
    ensure!(day <= s.days, "day {day} is past the run's {} days", s.days);
    // The history holds one row per day whose metrics are done: today's
    // once the day has started and its Metrics ran (checked with the
    // events), so at least `day` rows.
    ensure!(
        s.history.len() == day as usize || s.history.len() == day as usize + 1,
        "{} days of history on day {day}",
        s.history.len()
    );
    // Policy state: parameters within the arm's bounds (the invariants),
    // finite, the last adjustment in the past.
    let pp = &s.policy.params;
    for x in [pp.k_payment, pp.k_transfer, pp.isolation_threshold, pp.tau_transaction] {
        finite("a policy parameter", x)?;
    }
    ensure!(
        pp.k_payment >= 0.0 && pp.k_transfer >= 0.0 && pp.tau_transaction > 0.0,
        "a policy parameter is out of range"
    );
    ensure!(s.policy.last_adjustment <= i64::from(day), "the last policy adjustment is after today");
    // The engine runs on the scenario's trust parameters with the arm's
    // k_payment, and under live wiring the policy's tau.
    let mut tp = f.engine.params().clone();
    if s.live {
        tp.tau_transaction = pp.tau_transaction;
    }
    e.validate(&tp, f.engine.rules()).map_err(|x| format!("trust engine: {x}"))?;
    // Roles and planned identities: what the script builds by today.
    let through = if started_today { Some(day) } else { day.checked_sub(1) };
    let (roles, later, planned, plan_day) = replay(p, k, f, through);
    ensure!(
        same_bytes(&s.roles, &roles) && s.later == later && s.planned == planned,
        "the roles and planned identities are not those the script builds by day {day}"
    );
    let initial = f.engine.len();
    let n = e.len();
    ensure!(n >= initial && n <= planned as usize, "{n} identities of {planned} planned");
    ensure!(s.books.len() == n, "{} books for {n} identities", s.books.len());
    for i in 0..n {
        let (name, created) = match i.checked_sub(initial) {
            None => (f.engine.name(Ident(i as u32)), 0),
            Some(j) => (s.later[j].as_str(), plan_day[j]),
        };
        ensure!(
            e.name(Ident(i as u32)) == name && e.created(Ident(i as u32)) == created,
            "identity {i} is not the script's"
        );
    }
    for (i, b) in s.books.iter().enumerate() {
        finite("a book's volume", b.vol_provider)?;
        finite("a book's volume", b.vol_consumer)?;
        ensure!(b.last_tx.is_none_or(|d| d <= day), "identity {i}'s last purchase is after today");
        for &(q, v) in &b.bought {
            ensure!((q as usize) < n && v.is_finite(), "identity {i} bought from identity {q} of {n}");
        }
    }
    ensure!(s.today.accusers.iter().all(|&a| (a as usize) < n), "an accuser of today is not an identity");
    for g in &s.flagged {
        ensure!(
            g.windows(2).all(|w| w[0] < w[1]) && g.iter().all(|&x| (x as usize) < n),
            "a flagged group is out of order"
        );
    }
    for (d, m) in s.history.iter().enumerate() {
        ensure!(m.day as usize == d, "history row {d} is of day {}", m.day);
    }
    Ok(())
}

/// The roles, planned names, planned count and each planned identity's
/// day, as the script builds them from a new slot through `through`.
fn replay(p: &Params, k: usize, fresh: &Slot, through: Option<u32>) -> (scripts::Roles, Vec<String>, u32, Vec<u32>) {
    let mut s = fresh.clone();
    let mut plan_day = Vec::new();
    if let Some(last) = through {
        let mut out = Vec::new();
        for d in 0..=last {
            if s.engine.set_day(d).is_err() {
                break;
            }
            out.clear();
            scripts::day(&mut s, p, k as u16, &mut out);
            plan_day.resize(s.later.len(), d);
        }
    }
    (s.roles, s.later, s.planned, plan_day)
}

/// Pending events per slot: at most one link of the day chain, at the
/// engine's day, consistent with the history; the script's calls only
/// while the day's `Solve` is pending, naming identities that exist when
/// they run (counting creations pending before them).
fn events(m: &PolicyModel, audit: &Audit<'_, PolicyModel>) -> Result<(), String> {
    let ns = m.slots.len();
    let mut chain = vec![0u32; ns];
    let mut ids: Vec<usize> = m.slots.iter().map(|s| s.engine.len()).collect();
    let mut solve_pending = vec![false; ns];
    for ev in &audit.pending {
        if let Ev::Solve { slot } = *ev.event {
            solve_pending[slot as usize] = true;
        }
    }
    for ev in &audit.pending {
        let k = ev.event.slot();
        let s = &m.slots[k];
        let day = s.engine.day();
        ensure!(ev.time == SimTime(u64::from(day) * TICKS_PER_DAY), "an event of day {day} pending at another time");
        let (n, h) = (ids[k], s.history.len());
        let who = |i: u32| -> Result<(), String> {
            ensure!((i as usize) < n, "an event names identity {i}, slot {k} has {n} then");
            Ok(())
        };
        let script_call = || -> Result<(), String> {
            ensure!(solve_pending[k], "a script call pending outside its day");
            Ok(())
        };
        match *ev.event {
            Ev::StartDay { .. } => {
                chain[k] += 1;
                ensure!(day < s.days && h == day as usize, "StartDay pending on day {day} with {h} days of history");
            }
            Ev::Solve { .. } | Ev::Metrics { .. } => {
                chain[k] += 1;
                ensure!(day < s.days && h == day as usize, "the day's solve pending with {h} days of history");
            }
            Ev::Policy { .. } | Ev::Rollover { .. } => {
                chain[k] += 1;
                ensure!(day < s.days && h == day as usize + 1, "the day's end pending with {h} days of history");
                ensure!(
                    !matches!(ev.event, Ev::Policy { .. }) || s.arm.policy.is_some(),
                    "a policy step pending in an arm without a policy"
                );
            }
            Ev::CreateIdentity { k: j, .. } => {
                script_call()?;
                ensure!(j as usize + initial_of(s) == n, "identity {j} created out of order");
                ensure!((j as usize) < s.later.len(), "identity {j} was never planned");
                ids[k] += 1;
            }
            Ev::Purchase { c, p, w, h: hours, v, .. } => {
                script_call()?;
                who(c)?;
                who(p)?;
                ensure!(
                    c != p
                        && w.is_finite()
                        && w >= 0.0
                        && hours.is_finite()
                        && hours >= 0.0
                        && (0.0..=1.0).contains(&v),
                    "a purchase the engine would refuse"
                );
            }
            Ev::Assertion { a, s: subject, score, .. } => {
                script_call()?;
                who(a)?;
                who(subject)?;
                ensure!((-1.0..=1.0).contains(&score), "an assertion score {score}");
            }
        }
    }
    for (k, s) in m.slots.iter().enumerate() {
        let want = u32::from(s.engine.day() < s.days);
        ensure!(chain[k] == want, "slot {k} has {} day events pending on day {}", chain[k], s.engine.day());
        ensure!(ids[k] == s.planned as usize, "slot {k} creates {} of {} planned identities", ids[k], s.planned);
    }
    Ok(())
}

/// Identities a slot starts with.
fn initial_of(s: &Slot) -> usize {
    scripts::initial(s.script).len()
}
