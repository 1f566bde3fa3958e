//! Inspection: the model's invariants on a state, and the descriptions
//! `inspect`, `step` and `show` print.

use super::{Avail, ConsBook, EconomicMarket, NONE, ProvBook};
use crate::engine::AgentRef;
use crate::market::posted::ProviderKind;

impl EconomicMarket {
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
                    format!("busy with consumer {} at ${:.4}/h", s.consumer, s.rate)
                } else {
                    format!("{:?}, idle", p.avail)
                };
                let ProvBook { rev, hours, .. } = p.books.view(tick);
                Some(format!(
                    "{} {} ({}): {state}; posted ${:.4}/h, floor ${:.4}/h; {} sessions ({} done, {} personal, {} profit cancels); revenue ${rev:.2} over {hours:.2}h",
                    p.kind.key(),
                    a.id,
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
                    format!("in a session with provider {}", self.sessions[c.session].provider)
                } else {
                    "idle".into()
                };
                let ConsBook { useful: u, paid: p, money: m } = c.books.view(tick);
                Some(format!(
                    "consumer {} (v ${:.2}/h, checkpoint {}h): {state}; {} jobs, {} restarts; useful {u:.2}h, paid {p:.2}h, ${m:.2}",
                    a.id, c.value, c.kappa, c.jobs, c.restarts
                ))
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
