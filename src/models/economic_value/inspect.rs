//! Inspection: the model's invariants on a state, and the descriptions
//! `inspect`, `step` and `show` print.

use super::{Avail, ConsBook, EconomicMarket, Hooks, NONE, ProvBook};
use crate::engine::AgentRef;
use crate::market::posted::ProviderKind;

impl<H: Hooks> EconomicMarket<H> {
    /// The spec's invariants on the current state (see `Model::check_invariants`).
    pub(super) fn invariants(&self) -> Result<(), String> {
        if let Some(v) = self.violations.first() {
            return Err(format!("{} violation(s), first: {v}", self.violations.len()));
        }
        let tick = self.tick_mode();
        for (i, p) in self.providers.iter().enumerate() {
            if p.session != NONE {
                let s = p.session;
                if !self.sessions.is_live(s) || self.sessions[s].provider != i as u32 {
                    return Err(format!("provider {i} points at session {s} that is not its own"));
                }
                if p.avail != Avail::Available {
                    return Err(format!("provider {i} is in a session while unavailable"));
                }
            }
            // Setup prices at 2c; a floor above that lifts them at the first tick.
            if tick
                && self.ticked
                && !p.setter
                && (p.price < p.floor - 1e-12 || p.price > self.params.price.cap + 1e-12)
            {
                return Err(format!("provider {i} price {} outside [{}, {}]", p.price, p.floor, self.params.price.cap));
            }
            if p.kind == ProviderKind::Datacenter && p.n_profit > 0 {
                return Err(format!("DC {i} cancelled for profit"));
            }
        }
        for (j, c) in self.consumers.iter().enumerate() {
            if c.session != NONE {
                let s = c.session;
                if !self.sessions.is_live(s) || self.sessions[s].consumer != j as u32 {
                    return Err(format!("consumer {j} points at session {s} that is not its own"));
                }
            }
            let (r, k) = (&c.books.reference, &c.books.corrected);
            let (u, p) = if tick { (r.useful, r.paid) } else { (k.useful as f64, k.paid as f64) };
            if u < 0.0 || u > p * (1.0 + 1e-12) + 1e-9 {
                return Err(format!("consumer {j}: useful {u} > paid {p}"));
            }
        }
        if tick {
            let m: f64 = self.consumers.iter().map(|c| c.books.reference.money).sum();
            let r: f64 = self.providers.iter().map(|p| p.books.reference.rev).sum();
            if (m - r).abs() > 1e-9 * m.abs().max(r.abs()).max(1.0) {
                return Err(format!("sum M {m} != sum R {r}"));
            }
            let pd: f64 = self.consumers.iter().map(|c| c.books.reference.paid).sum();
            let h: f64 = self.providers.iter().map(|p| p.books.reference.hours).sum();
            if (pd - h).abs() > 1e-9 * pd.abs().max(h.abs()).max(1.0) {
                return Err(format!("sum P {pd} != sum H {h}"));
            }
        } else {
            // Summed wide: a state read from a snapshot may hold any values.
            let m: i128 = self.consumers.iter().map(|c| c.books.corrected.money as i128).sum();
            let r: i128 = self.providers.iter().map(|p| p.books.corrected.rev as i128).sum();
            if m != r {
                return Err(format!("sum M {m} != sum R {r} (micro-dollars)"));
            }
            let pd: u128 = self.consumers.iter().map(|c| c.books.corrected.paid as u128).sum();
            let h: u128 = self.providers.iter().map(|p| p.books.corrected.hours as u128).sum();
            if pd != h {
                return Err(format!("sum P {pd} != sum H {h} (ticks)"));
            }
        }
        Ok(())
    }

    /// Agents by class, for `inspect` and `step`.
    pub(super) fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("provider", self.providers.len()),
            ("consumer", self.consumers.len()),
            ("running session", self.sessions.len()),
        ]
    }

    /// One agent's state and books, for `show`.
    pub(super) fn describe_one(&self, a: AgentRef) -> Option<String> {
        let tick = self.tick_mode();
        match a.class {
            "provider" => {
                let p = self.providers.get(a.id as usize)?;
                let state = if p.session != NONE {
                    let s = &self.sessions[p.session];
                    format!("busy with consumer{} at ${:.4}/h", s.consumer, s.rate)
                } else {
                    match p.avail {
                        Avail::Available => "available, idle".to_string(),
                        Avail::Downtime if p.kind == ProviderKind::Datacenter => "down (hardware repair)".to_string(),
                        Avail::Downtime => "down (its owner uses it)".to_string(),
                        Avail::Outside => format!("in an outside session at ${:.4}/h", p.out_rate),
                    }
                };
                let ProvBook { rev, hours, .. } = p.books.view(tick);
                let downs = if p.kind == ProviderKind::Datacenter { "hardware failure" } else { "owner reclaim" };
                Some(format!(
                    "{a} = {} (leg `{}`): {state}; posted ${:.4}/h, floor ${:.4}/h; {} sessions ({} done, {} {downs}, {} profit cancels); revenue ${rev:.2} over {hours:.2}h",
                    self.pname(a.id as usize),
                    self.legs[self.leg as usize].id,
                    p.price,
                    p.floor,
                    p.sessions,
                    p.n_done,
                    p.n_personal,
                    p.n_profit
                ))
            }
            "consumer" => {
                let c = self.consumers.get(a.id as usize)?;
                let state = if c.session != NONE {
                    format!("in a session with {}", self.pname(self.sessions[c.session].provider as usize))
                } else {
                    "idle".into()
                };
                let ConsBook { useful: u, paid: p, money: m } = c.books.view(tick);
                Some(format!(
                    "{a} (v ${:.2}/h, checkpoint {}h): {state}; {} jobs, {} restarts; useful {u:.2}h, paid {p:.2}h, ${m:.2}",
                    c.value, c.kappa, c.jobs, c.restarts
                ))
            }
            _ => None,
        }
    }

    /// Provider i as output names it: `dc3`, `home18` (the index is the
    /// provider's: DCs first, then homes).
    pub(super) fn pname(&self, i: usize) -> String {
        let kind = self.providers.get(i).map_or("provider", |p| p.kind.key());
        format!("{kind}{i}")
    }

    /// The agent a user names: `provider3`/`p3`, `dc3`, `home18`,
    /// `consumer12`/`c12` (`Model::find_agent`). Agents are the current
    /// leg's (the first leg's before it starts); `dc` and `home` must be of
    /// that kind in it. `provider` and `consumer` take any index some leg
    /// has, for a filter set before that leg runs.
    pub(super) fn find(&self, name: &str) -> Result<AgentRef, String> {
        let leg = self.legs.get(self.leg as usize);
        let (dcs, homes, consumers) =
            leg.map_or((0, 0, 0), |l| (l.dcs as usize, l.homes as usize, l.consumers as usize));
        let max_p = self.legs.iter().map(|l| (l.dcs + l.homes) as usize).max().unwrap_or(0);
        let max_c = self.legs.iter().map(|l| l.consumers as usize).max().unwrap_or(0);
        let now = |c: &str, from: usize, n: usize| -> String {
            match n {
                0 => format!("no {c}"),
                1 => format!("{c}{from}"),
                _ => format!("{c}{from}..{c}{}", from + n - 1),
            }
        };
        let agents = format!(
            "this leg has {}, {} (= {}) and {}; the largest leg has {max_p} providers and {max_c} consumers",
            now("dc", 0, dcs),
            now("home", dcs, homes),
            now("provider", 0, dcs + homes),
            now("consumer", 0, consumers),
        );
        let a = AgentRef::parse(name, &["provider", "consumer", "dc", "home"]).map_err(|e| format!("{e}; {agents}"))?;
        let (id, text) = (a.id as usize, name.trim());
        let ok = match a.class {
            "provider" => id < max_p,
            "consumer" => id < max_c,
            "dc" => id < dcs,
            _ => id >= dcs && id < dcs + homes,
        };
        if !ok {
            return Err(format!("`{text}`: there is no {a} ({agents})"));
        }
        Ok(match a.class {
            "dc" | "home" => AgentRef::new("provider", a.id),
            _ => a,
        })
    }

    /// One agent's numeric fields (`Model::agent_fields`).
    pub(super) fn fields(&self, a: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let tick = self.tick_mode();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        match a.class {
            "provider" => {
                let i = a.id as usize;
                let p = self.providers.get(i)?;
                let rate = if p.session != NONE { self.sessions[p.session].rate } else { 0.0 };
                let ProvBook { rev, hours, .. } = p.books.view(tick);
                Some(vec![
                    ("dc", flag(p.kind == ProviderKind::Datacenter)),
                    ("busy", flag(p.session != NONE)),
                    ("down", flag(p.avail == Avail::Downtime)),
                    ("outside", flag(p.avail == Avail::Outside)),
                    ("rate", rate),
                    ("price", p.price),
                    ("floor", p.floor),
                    ("sessions", p.sessions as f64),
                    ("done", p.n_done as f64),
                    ("down_cancels", p.n_personal as f64),
                    ("profit_cancels", p.n_profit as f64),
                    ("completion_estimate", self.completion(i)),
                    ("revenue", rev),
                    ("hours", hours),
                    ("outside_hours", crate::engine::time::ticks_to_hours(p.out_hours_u)),
                    ("outside_revenue", p.out_rev_u as f64 / super::MICRO),
                ])
            }
            "consumer" => {
                let c = self.consumers.get(a.id as usize)?;
                let rate = if c.session != NONE { self.sessions[c.session].rate } else { 0.0 };
                let ConsBook { useful, paid, money } = c.books.view(tick);
                Some(vec![
                    ("value", c.value),
                    ("checkpoint_hours", c.kappa),
                    ("busy", flag(c.session != NONE)),
                    ("rate", rate),
                    ("jobs", c.jobs as f64),
                    ("restarts", c.restarts as f64),
                    ("useful_hours", useful),
                    ("paid_hours", paid),
                    ("paid", money),
                ])
            }
            _ => None,
        }
    }

    /// The market in one line.
    pub(super) fn summary(&self) -> String {
        let leg = self.legs.get(self.leg as usize).map(|l| l.id.as_str()).unwrap_or("-");
        format!(
            "economic_value ({} fidelity): leg {} of {} (`{leg}`), {} providers, {} consumers, {} sessions running",
            self.params.fidelity.name(),
            self.leg + 1,
            self.legs.len(),
            self.providers.len(),
            self.consumers.len(),
            self.sessions.len()
        )
    }
}
