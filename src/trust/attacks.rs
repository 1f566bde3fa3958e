//! The nine attacks of `failure_modes`: their ids, and the reference scripts'
//! result formulas (profit, damages, success, hard-coded detection and
//! recovery) from the measured inputs. The failure-modes study and the trace
//! replayer both compute results with these functions.

use serde::{Deserialize, Serialize};

/// The nine attacks, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attack {
    /// Build trust, then exit-scam with escrowed jobs.
    LongCon,
    /// Launder a burned identity's coins and trust into a fresh one.
    Laundering,
    /// Several attackers accuse one victim.
    Assassination,
    /// A high-trust authority endorses a target and smears a competitor.
    Authority,
    /// Slowly degrading service quality.
    Degradation,
    /// Sock puppets praise a target and accuse a competitor.
    Sockpuppet,
    /// Trust earned in one community spent in another.
    Arbitrage,
    /// Repeated build-and-exploit cycles.
    Redemption,
    /// A false accusation against a competitor.
    Crisis,
}

impl Attack {
    /// All attacks in order.
    pub const ALL: [Attack; 9] = [
        Attack::LongCon,
        Attack::Laundering,
        Attack::Assassination,
        Attack::Authority,
        Attack::Degradation,
        Attack::Sockpuppet,
        Attack::Arbitrage,
        Attack::Redemption,
        Attack::Crisis,
    ];

    /// The attack's id (`long_con`, …).
    pub fn id(self) -> &'static str {
        match self {
            Attack::LongCon => "long_con",
            Attack::Laundering => "laundering",
            Attack::Assassination => "assassination",
            Attack::Authority => "authority",
            Attack::Degradation => "degradation",
            Attack::Sockpuppet => "sockpuppet",
            Attack::Arbitrage => "arbitrage",
            Attack::Redemption => "redemption",
            Attack::Crisis => "crisis",
        }
    }

    /// From an id.
    pub fn from_id(id: &str) -> Option<Attack> {
        Attack::ALL.into_iter().find(|a| a.id() == id)
    }

    /// Whether the attack has a victim V (and so a recovery measurement).
    pub fn has_victim(self) -> bool {
        matches!(self, Attack::Assassination | Attack::Authority | Attack::Sockpuppet | Attack::Crisis)
    }
}

/// What every attack returns.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackResult {
    /// Attacker profit (units differ per attack).
    pub attacker_profit: f64,
    /// Victim damage.
    pub victim_damage: f64,
    /// Network damage.
    pub network_damage: f64,
    /// Day of detection, −1 if never.
    pub detection_day: i64,
    /// Days to recover, −1 if never (or no victim).
    pub recovery_days: i64,
    /// Whether the attack succeeded.
    pub success: bool,
}

/// Long Con's reference escrow book: every job pays half at once and holds
/// half; every complaint claws back each held half younger than the delay,
/// once per complaint (defect 2: the same half can be clawed many times).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceEscrow {
    /// Released at once.
    pub immediate: f64,
    /// The running escrow balance (decremented by every claw-back).
    pub escrowed: f64,
    /// Everything ever escrowed.
    pub escrowed_total: f64,
    /// Everything clawed back (with repeats).
    pub clawed: f64,
    /// Every job so far: (exploit-day index k, held half, escrow delay).
    pub jobs: Vec<(u32, f64, f64)>,
}

impl ReferenceEscrow {
    /// A job worth 2·`half` on exploit day `k`, held for `delay` days.
    pub fn job(&mut self, k: u32, half: f64, delay: f64) {
        self.immediate += half;
        self.escrowed += half;
        self.escrowed_total += half;
        self.jobs.push((k, half, delay));
    }

    /// A complaint on exploit day `k`: every job with k − k' < its delay is
    /// clawed back (again).
    pub fn complaint(&mut self, k: u32) {
        for &(j, half, delay) in &self.jobs {
            if f64::from(k - j) < delay {
                self.clawed += half;
                self.escrowed -= half;
            }
        }
    }

    /// Final revenue: immediate + max(0, escrowed − clawed) (the claw-back
    /// subtracted twice, as the reference does).
    pub fn final_revenue(&self) -> f64 {
        self.immediate + (self.escrowed - self.clawed).max(0.0)
    }
}

/// Long Con: `final_rev` revenue, trust before/after, Σ consumer trust at
/// the end, `build_days` for the hard-coded detection day.
pub fn long_con(final_rev: f64, before: f64, after: f64, consumer_sum: f64, build_days: u32) -> AttackResult {
    let lost = before - after;
    AttackResult {
        attacker_profit: final_rev - 10.0 * lost,
        victim_damage: consumer_sum,
        network_damage: lost,
        detection_day: if after < before / 2.0 { i64::from(build_days) + 10 } else { -1 },
        recovery_days: -1,
        success: final_rev > 5.0 * lost,
    }
}

/// Laundering: v1's peak and trust after burning, v2's final trust, the
/// transfer (amount, received, burned).
pub fn laundering(peak: f64, v1_after: f64, v2: f64, amount: f64, received: f64, burned: f64) -> AttackResult {
    let success = v2 > 0.3 * peak && received > 0.3 * amount;
    AttackResult {
        attacker_profit: v2 + received,
        victim_damage: 0.0,
        network_damage: peak - v1_after + burned,
        detection_day: if success { -1 } else { 90 },
        recovery_days: if success { 60 } else { -1 },
        success,
    }
}

/// Assassination: victim before/after, attackers' losses summed.
pub fn assassination(victim_before: f64, victim_after: f64, attackers_loss: f64) -> AttackResult {
    let vd = victim_before - victim_after;
    let ad = attackers_loss;
    let success = vd > 0.2 * victim_before;
    AttackResult {
        attacker_profit: -ad,
        victim_damage: vd,
        network_damage: vd + ad,
        detection_day: if ad > vd { 90 } else { -1 },
        recovery_days: if success { 90 } else { 30 },
        success,
    }
}

/// Authority: (before, after) of the authority, the target and the competitor.
pub fn authority(auth: (f64, f64), target: (f64, f64), competitor: (f64, f64)) -> AttackResult {
    let boost = target.1 - target.0;
    let cd = competitor.0 - competitor.1;
    let ad = auth.0 - auth.1;
    AttackResult {
        attacker_profit: boost,
        victim_damage: cd,
        network_damage: ad + cd,
        detection_day: if ad > 0.1 * auth.0 { 200 } else { -1 },
        recovery_days: 60,
        success: boost > 0.0 && cd > 0.0,
    }
}

/// Degradation: the degrader's peak and final trust, the phase of the first
/// accepted complaint (None: never; `phases_total` then counts).
pub fn degradation(peak: f64, final_trust: f64, detection_phase: Option<u32>, phases_total: u32) -> AttackResult {
    let phases = detection_phase.unwrap_or(phases_total);
    AttackResult {
        attacker_profit: 30.0 * f64::from(phases),
        victim_damage: 0.0,
        network_damage: peak - final_trust,
        detection_day: match detection_phase {
            Some(p) => 90 + 30 * i64::from(p),
            None => -1,
        },
        recovery_days: -1,
        success: phases >= 3,
    }
}

/// Sockpuppet: target and competitor (before, after), socks flagged of `socks`.
pub fn sockpuppet(target: (f64, f64), competitor: (f64, f64), flagged: u32, socks: u32) -> AttackResult {
    let gain = target.1 - target.0;
    let loss = competitor.0 - competitor.1;
    AttackResult {
        attacker_profit: gain,
        victim_damage: loss,
        network_damage: loss,
        detection_day: if f64::from(flagged) > f64::from(socks) / 2.0 { 90 } else { -1 },
        recovery_days: if flagged > 0 { 30 } else { -1 },
        success: gain > 1.0 || loss > 1.0,
    }
}

/// Arbitrage: global trust before/after, profit, jobs accepted.
pub fn arbitrage(global_before: f64, global_after: f64, profit: f64, accepted: u32) -> AttackResult {
    AttackResult {
        attacker_profit: profit,
        victim_damage: 0.0,
        network_damage: global_before - global_after,
        detection_day: 100,
        recovery_days: 60,
        success: accepted > 5,
    }
}

/// Redemption: the peaks of each cycle, the final trust, coins extracted.
pub fn redemption(peaks: &[f64], final_trust: f64, extracted: f64) -> AttackResult {
    let declining = peaks.windows(2).all(|w| w[1] <= w[0]);
    AttackResult {
        attacker_profit: extracted,
        victim_damage: 0.0,
        network_damage: peaks.first().copied().unwrap_or(0.0) - final_trust,
        detection_day: 60 * peaks.len() as i64,
        recovery_days: -1,
        success: !declining,
    }
}

/// Crisis: attacker and victim (before, after).
pub fn crisis(attacker: (f64, f64), victim: (f64, f64)) -> AttackResult {
    let gain = attacker.1 - attacker.0;
    let loss = victim.0 - victim.1;
    AttackResult {
        attacker_profit: gain,
        victim_damage: loss,
        network_damage: loss,
        detection_day: if loss < 0.0 { 75 } else { -1 },
        recovery_days: 30,
        success: gain > 10.0 && loss > 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for a in Attack::ALL {
            assert_eq!(Attack::from_id(a.id()), Some(a));
        }
        assert_eq!(Attack::from_id("nope"), None);
    }

    #[test]
    fn reference_escrow_claws_repeatedly() {
        let mut e = ReferenceEscrow::default();
        e.job(0, 6.0, 6.0);
        e.complaint(0);
        e.job(1, 6.0, 6.0);
        e.complaint(1);
        // Job 0 was clawed twice, job 1 once.
        assert_eq!(e.clawed, 18.0);
        assert_eq!(e.escrowed_total, 12.0);
        assert_eq!(e.escrowed, -6.0);
        assert_eq!(e.final_revenue(), 12.0);
        e.complaint(7);
        assert_eq!(e.clawed, 18.0, "both jobs are older than the delay");
    }

    #[test]
    fn formulas() {
        let r = long_con(175.67, 33.57, 0.0, 2.69, 180);
        assert!(r.success && r.detection_day == 190);
        let r = redemption(&[12.2, 0.0, 0.0], 0.0, 432.0);
        assert!(!r.success && r.detection_day == 180 && r.network_damage == 12.2);
        assert!(redemption(&[1.0, 2.0], 0.0, 0.0).success);
        let r = degradation(19.4, 36.3, Some(4), 6);
        assert_eq!((r.attacker_profit, r.detection_day, r.success), (120.0, 210, true));
        let r = degradation(19.4, 36.3, None, 6);
        assert_eq!((r.attacker_profit, r.detection_day), (180.0, -1));
    }
}
