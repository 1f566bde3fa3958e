//! The match pass: waiting consumers against idle
//! providers under each priority rule (FIFO blocks, value-sorted, bids).

use super::super::config::{Priority, Variant};
use super::{Ev, ReliabilityMarket, S_PRICE, S_TIE, TIE_EPS};
use crate::engine::Ctx;
use crate::market::bids::{QuoteInput, Strategy, V2Input, cancel_probability, quote, v2_quote};
use crate::market::orders::desc_key;
use rand::RngExt;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

impl ReliabilityMarket {
    /// Corrected: a match pass at the current price.
    pub(super) fn on_match_pass(&mut self, ctx: &mut Ctx<'_, Ev>) {
        self.match_ev = None;
        let p = self.price.at(&self.params.price, ctx.now(), ctx.rng(S_PRICE));
        let before = self.diag.sessions;
        self.match_pass(p, ctx);
        self.note_market(p, self.diag.sessions - before, ctx);
    }

    /// A trace line on the market after a match pass: the price, the
    /// sessions it started, who still waits.
    pub(super) fn note_market(&self, p: f64, started: u64, ctx: &mut Ctx<'_, Ev>) {
        ctx.note(None, || {
            format!(
                "price ${p:.4}/h: {started} session(s) started; {} consumer(s) waiting, {} provider(s) idle",
                self.waiting.len() + self.pending.len(),
                self.idle.len()
            )
        });
    }

    pub(super) fn match_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        self.flush_pending(ctx);
        if self.idle.is_empty() || self.waiting.is_empty() {
            return;
        }
        match self.params.priority {
            Priority::Fifo => self.fifo_pass(p, ctx),
            Priority::ValueSorted => self.value_sorted_pass(p, ctx),
            Priority::Bid => self.bid_pass(p, ctx),
        }
    }

    fn quote_input(&self, group: u16, work: f64, chat: f64, p: f64) -> QuoteInput {
        let g = &self.params.consumer_groups[group as usize];
        QuoteInput {
            price: p,
            q: cancel_probability(chat, work, self.params.mean_job_hours),
            restart_cost: g.restart_cost,
            checkpoint: g.checkpoint,
            work,
            rational_floor: self.params.rational_floor,
        }
    }

    fn v2_input(&self, group: u16, work: f64) -> V2Input {
        let g = &self.params.consumer_groups[group as usize];
        V2Input {
            value: g.value,
            checkpoint: g.checkpoint,
            work,
            mean_job: self.params.mean_job_hours,
            attempts_cap: self.params.attempts_cap,
            bid_min: self.params.bid_min,
        }
    }

    /// Record the basic study's choice statistics for a session start.
    fn record_choice(&mut self, acceptor_chats: &[f64], chosen: f64) {
        if acceptor_chats.len() < 2 {
            return;
        }
        let lo = acceptor_chats.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = acceptor_chats.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo == hi {
            return;
        }
        self.choice[0] += 1;
        if chosen == lo {
            self.choice[1] += 1;
        }
        if chosen == hi {
            self.choice[2] += 1;
        }
    }

    fn check_start(&mut self, rate: f64, p: f64, limit: Option<f64>) {
        if !self.checks {
            return;
        }
        match self.params.variant {
            Variant::V2 => {
                let w = limit.unwrap_or(f64::NAN);
                if rate != p || w.partial_cmp(&p) != Some(std::cmp::Ordering::Greater) {
                    self.violation(|| format!("v2 session at rate {rate} (price {p}, limit {w})"));
                }
            }
            _ => {
                if rate < self.params.reserve_price {
                    let reserve = self.params.reserve_price;
                    self.violation(|| format!("session rate {rate} below reserve {reserve}"));
                }
                if self.strategy == Strategy::Rational
                    && (rate < self.params.rational_floor * p - 1e-12 || rate > p + 1e-12)
                {
                    self.violation(|| format!("rational bid {rate} outside [rho p, p] at p {p}"));
                }
            }
        }
    }

    fn fifo_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        let mut heads: BinaryHeap<Reverse<(u64, u32)>> = self
            .waiting
            .active()
            .iter()
            .map(|&c| Reverse((self.waiting.class(c).head().expect("active class").0, c)))
            .collect();
        let ec = self.params.expected_cost;
        let reserve = self.params.reserve_price;
        let track = self.params.variant == Variant::Basic;
        // (estimate, members, bid, cost) of acceptable blocks.
        let mut evals: Vec<(f64, usize, f64, f64)> = Vec::new();
        while let Some(Reverse((_, c))) = heads.pop() {
            if self.idle.is_empty() {
                break;
            }
            let (group, work) = {
                let cl = self.waiting.class(c);
                (cl.group, cl.work)
            };
            evals.clear();
            for (chat, members) in self.idle.blocks() {
                let q = quote(self.strategy, ec, &self.quote_input(group, work, chat, p));
                if q.bid >= reserve {
                    evals.push((chat, members.len(), q.bid, q.cost));
                }
            }
            if evals.is_empty() {
                continue;
            }
            let best = evals.iter().map(|e| e.3).fold(f64::INFINITY, f64::min);
            let total: usize = evals.iter().filter(|e| e.3 <= best + TIE_EPS).map(|e| e.1).sum();
            let mut pick = if total > 1 { ctx.rng(S_TIE).random_range(0..total) } else { 0 };
            let mut chosen = None;
            for e in evals.iter().filter(|e| e.3 <= best + TIE_EPS) {
                if pick < e.1 {
                    chosen = Some((e.0, pick, e.2));
                    break;
                }
                pick -= e.1;
            }
            let (chat, pos, bid) = chosen.expect("a tied block");
            let provider = self.idle.blocks().find(|(x, _)| *x == chat).map(|(_, m)| m[pos]).expect("block exists");
            if track {
                let chats: Vec<f64> = evals.iter().map(|e| e.0).collect();
                self.record_choice(&chats, chat);
            }
            let (_, j) = self.waiting.pop(c).expect("class head");
            self.check_start(bid, p, None);
            self.start_session(provider, j, bid, ctx);
            if let Some((k, _)) = self.waiting.class(c).head() {
                heads.push(Reverse((k, c)));
            }
        }
    }

    fn value_sorted_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        let mut heads: BinaryHeap<Reverse<(u64, u64, u32)>> = self
            .waiting
            .active()
            .iter()
            .map(|&c| {
                let cl = self.waiting.class(c);
                let v = self.params.consumer_groups[cl.group as usize].value;
                Reverse((desc_key(v.max(0.0)), cl.head().expect("active").0, c))
            })
            .collect();
        let eps = self.params.profit_epsilon;
        while let Some(Reverse((vk, _, c))) = heads.pop() {
            let Some((top, chat)) = self.idle.best() else {
                break;
            };
            let (group, work) = {
                let cl = self.waiting.class(c);
                (cl.group, cl.work)
            };
            let q = v2_quote(&self.v2_input(group, work), chat, p);
            if q.profit <= eps {
                continue;
            }
            let provider = if q.capped { self.idle.lowest_index().expect("idle") } else { top };
            let (_, j) = self.waiting.pop(c).expect("class head");
            self.check_start(p, p, Some(q.limit));
            self.start_session(provider, j, p, ctx);
            if let Some((k, _)) = self.waiting.class(c).head() {
                heads.push(Reverse((vk, k, c)));
            }
        }
    }

    fn bid_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        let v2 = self.params.variant == Variant::V2;
        let ec = self.params.expected_cost;
        let reserve = self.params.reserve_price;
        let eps = self.params.profit_epsilon;
        let track = self.params.variant == Variant::Basic;
        let mut bids: Vec<(u32, f64, f64, f64)> = Vec::new(); // class, bid, rate, limit
        loop {
            if self.waiting.is_empty() {
                break;
            }
            let Some((provider, chat)) = self.idle.best() else {
                break;
            };
            bids.clear();
            for &c in self.waiting.active() {
                let cl = self.waiting.class(c);
                if v2 {
                    let q = v2_quote(&self.v2_input(cl.group, cl.work), chat, p);
                    if q.profit > eps {
                        bids.push((c, q.limit, p, q.limit));
                    }
                } else {
                    let q = quote(self.strategy, ec, &self.quote_input(cl.group, cl.work, chat, p));
                    if q.bid >= reserve {
                        bids.push((c, q.bid, q.bid, f64::NAN));
                    }
                }
            }
            if bids.is_empty() {
                break;
            }
            let best = bids.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
            let &(c, _, rate, limit) = bids
                .iter()
                .filter(|b| b.1 >= best - TIE_EPS)
                .min_by_key(|b| self.waiting.class(b.0).head().expect("active").0)
                .expect("a winner");
            if track {
                let (group, work) = {
                    let cl = self.waiting.class(c);
                    (cl.group, cl.work)
                };
                let mut chats: Vec<f64> = Vec::new();
                for (_, x) in self.idle.ranked() {
                    if chats.last() != Some(&x) {
                        let q = quote(self.strategy, ec, &self.quote_input(group, work, x, p));
                        if q.bid >= reserve {
                            chats.push(x);
                        }
                    }
                }
                self.record_choice(&chats, chat);
            }
            let (_, j) = self.waiting.pop(c).expect("class head");
            self.check_start(rate, p, if v2 { Some(limit) } else { None });
            self.start_session(provider, j, rate, ctx);
        }
    }
}
