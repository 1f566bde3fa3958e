//! Inspection: the per-event invariants, agent counts and the descriptions
//! `step` prints.

use super::super::config::ProviderSetup;
use super::{NONE, ReliabilityMarket};
use crate::engine::AgentRef;

impl ReliabilityMarket {
    /// The model's invariants (`Model::check_invariants`).
    pub(super) fn invariants(&self) -> Result<(), String> {
        if let Some(v) = self.violations.first() {
            return Err(format!("{} violation(s), first: {v}", self.violations.len()));
        }
        let scale = self.round_paid.abs().max(self.round_earned.abs()).max(1.0);
        if (self.round_paid - self.round_earned).abs() > 1e-9 * scale {
            return Err(format!("paid {} != earned {}", self.round_paid, self.round_earned));
        }
        let sum_m: f64 = self.consumers.iter().map(|c| c.paid).sum();
        let sum_e: f64 = self.providers.iter().map(|p| p.earnings).sum();
        if (sum_m - sum_e).abs() > 1e-9 * sum_m.abs().max(sum_e.abs()).max(1.0) {
            return Err(format!("sum M {sum_m} != sum E {sum_e}"));
        }
        let mut busy = 0;
        for (i, p) in self.providers.iter().enumerate() {
            if p.session != NONE {
                busy += 1;
                let s = p.session;
                if !self.sessions.is_live(s) || self.sessions[s].provider != i as u32 {
                    return Err(format!("provider {i} points at session {s} that is not its own"));
                }
                if self.idle.contains(i as u32) {
                    return Err(format!("provider {i} is busy and idle"));
                }
            } else if self.in_round && !self.idle.contains(i as u32) {
                return Err(format!("provider {i} is neither busy nor idle"));
            }
            let c = p.chat();
            if !(0.0..=1.0).contains(&c) {
                return Err(format!("provider {i} completion estimate {c}"));
            }
            if let ProviderSetup::Adaptive { min, max, .. } = self.params.providers
                && self.round > 0
                && (p.threshold < min || p.threshold > max)
            {
                return Err(format!("provider {i} threshold {} outside [{min}, {max}]", p.threshold));
            }
        }
        let live = self.sessions.len();
        if live != busy {
            return Err(format!("{live} live sessions but {busy} busy providers"));
        }
        for (j, c) in self.consumers.iter().enumerate() {
            if c.session != NONE {
                let s = c.session;
                if !self.sessions.is_live(s) || self.sessions[s].consumer != j as u32 {
                    return Err(format!("consumer {j} points at session {s} that is not its own"));
                }
            }
            if c.useful < -1e-12 || c.paid_hours + 1e-9 < c.useful {
                return Err(format!("consumer {j}: paid hours {} < useful hours {}", c.paid_hours, c.useful));
            }
        }
        let waiting = self.waiting.len() + self.pending.len();
        let busy_c = self.consumers.iter().filter(|c| c.session != NONE).count();
        if self.in_round && waiting + busy_c != self.consumers.len() {
            return Err(format!("{waiting} waiting + {busy_c} busy != {} consumers", self.consumers.len()));
        }
        let p = self.price.last(&self.params.price);
        if p < self.params.price.floor {
            return Err(format!("price {p} below floor"));
        }
        Ok(())
    }

    /// Agents by class (`Model::agent_counts`).
    pub(super) fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("provider", self.providers.len()),
            ("consumer", self.consumers.len()),
            ("running session", self.sessions.len()),
        ]
    }

    /// One agent's state (`Model::describe_agent`).
    pub(super) fn describe_one(&self, a: AgentRef) -> Option<String> {
        match a.class {
            "provider" => {
                let p = self.providers.get(a.id as usize)?;
                let state = if p.session != NONE {
                    let s = &self.sessions[p.session];
                    format!(
                        "busy: session {} with consumer{} at ${:.4}/h since {}",
                        p.session, s.consumer, s.rate, s.start
                    )
                } else {
                    "idle".into()
                };
                let group = match &self.params.providers {
                    ProviderSetup::Groups(g) => g[p.group as usize].0.clone(),
                    _ => "adaptive".into(),
                };
                Some(format!(
                    "provider{} ({group}): threshold {:.4}, {state}; this round: {} completed, {} cancelled (estimate {:.4}), earned ${:.4} over {:.3}h",
                    a.id,
                    p.threshold,
                    p.n_comp,
                    p.n_canc,
                    p.chat(),
                    p.earnings,
                    p.hours
                ))
            }
            "consumer" => {
                let c = self.consumers.get(a.id as usize)?;
                let g = &self.params.consumer_groups[c.group as usize];
                let state = if c.session != NONE {
                    let s = &self.sessions[c.session];
                    format!(
                        "in session {} with provider{} at ${:.4}/h since {}",
                        c.session, s.provider, s.rate, s.start
                    )
                } else {
                    "waiting".into()
                };
                Some(format!(
                    "consumer{} ({}): {state}; remaining work {:.3}h; this round: {} jobs, {} restarts, paid ${:.4} for {:.3}h, useful {:.3}h, lost {:.3}h",
                    a.id, g.name, c.rem, c.jobs, c.restarts, c.paid, c.paid_hours, c.useful, c.lost
                ))
            }
            _ => None,
        }
    }

    /// The agent a user names: `provider3`, `p3`, `provider:3`,
    /// `consumer12`, `c12` (`Model::find_agent`).
    pub(super) fn find(&self, name: &str) -> Result<AgentRef, String> {
        AgentRef::parse_within(name, &[("provider", self.providers.len()), ("consumer", self.consumers.len())])
    }

    /// One agent's numeric fields (`Model::agent_fields`).
    pub(super) fn fields(&self, a: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        match a.class {
            "provider" => {
                let p = self.providers.get(a.id as usize)?;
                let rate = if p.session != NONE { self.sessions[p.session].rate } else { 0.0 };
                Some(vec![
                    ("threshold", p.threshold),
                    ("busy", flag(p.session != NONE)),
                    ("rate", rate),
                    ("completed", p.n_comp as f64),
                    ("cancelled", p.n_canc as f64),
                    ("completion_estimate", p.chat()),
                    ("earnings", p.earnings),
                    ("hours", p.hours),
                ])
            }
            "consumer" => {
                let c = self.consumers.get(a.id as usize)?;
                let rate = if c.session != NONE { self.sessions[c.session].rate } else { 0.0 };
                Some(vec![
                    ("busy", flag(c.session != NONE)),
                    ("rate", rate),
                    ("remaining_work", c.rem),
                    ("jobs", c.jobs as f64),
                    ("restarts", c.restarts as f64),
                    ("paid", c.paid),
                    ("paid_hours", c.paid_hours),
                    ("useful_hours", c.useful),
                    ("lost_hours", c.lost),
                ])
            }
            _ => None,
        }
    }

    /// The market's state in one line (`Model::describe`).
    pub(super) fn summary(&self) -> String {
        format!(
            "{} ({} fidelity): round {} of {}, strategy {}, price ${:.4}/h, {} idle providers, {} waiting consumers, {} sessions started",
            self.params.variant.id(),
            self.params.fidelity.name(),
            self.round,
            self.params.total_rounds(),
            self.strategy.name(),
            self.price.last(&self.params.price),
            self.idle.len(),
            self.waiting.len() + self.pending.len(),
            self.diag.sessions
        )
    }
}
