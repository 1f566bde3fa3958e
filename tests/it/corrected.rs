//! Corrected fidelity: the qualitative expectations
//! (docs/results.md, Reliability), and the places where we measured otherwise.

use super::acceptance::{mean, results, values};
use omerta_sim::report::results::{Results, Verdict};

fn verdict(r: &Results, id: &str) -> (f64, Verdict) {
    let f = r.findings.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("finding {id} missing"));
    (f.held_in.unwrap_or_else(|| panic!("finding {id} is n/a")), f.verdict)
}

/// Pooled share of fresh 2 h sessions with at least one competing bid.
fn pooled_exposure(r: &Results) -> (f64, f64) {
    let e = values(r, "diagnostics.bid_exposure");
    let n = values(r, "diagnostics.fresh_sessions");
    let total: f64 = n.iter().sum();
    (e.iter().zip(&n).map(|(e, n)| e * n).sum::<f64>() / total, total)
}

/// Bid exposure is 1 - exp(-lambda * D) in continuous time, within +-0.01
/// over at least 10^5 sessions.
#[test]
fn bid_exposure_is_continuous() {
    for (file, lambda) in
        [("reliability_basic.toml", 0.1), ("reliability_equilibrium.toml", 0.15), ("reliability_v2.toml", 0.2)]
    {
        let r = results(file, &[], 3);
        let (share, n) = pooled_exposure(&r);
        let want = 1.0 - (-lambda * 2.0f64).exp();
        assert!(n >= 1e5, "{file}: only {n} sessions");
        assert!((share - want).abs() <= 0.01, "{file}: exposure {share} vs {want}");
    }
}

/// The censored floor: v2 stationary mean near 1.06, P(p < 0.5) near 0.26.
#[test]
fn v2_price_law() {
    let r = results("reliability_v2.toml", &["rounds=20"], 6);
    let m = mean(&r, "diagnostics.price_mean");
    let below = mean(&r, "diagnostics.price_below_half");
    assert!((m - 1.06).abs() < 0.03, "price mean {m}");
    assert!((below - 0.26).abs() < 0.03, "P(p < 0.5) = {below}");
}

/// Basic: rational consumers stop choosing the least reliable provider; the
/// per-hour premium under rational bidding stays positive and is near zero
/// under naive bidding.
#[test]
fn basic_choice_and_premium() {
    let reference = results("reliability_basic_reference.toml", &["iterations=3"], 6);
    let corrected = results("reliability_basic.toml", &["iterations=3"], 6);
    let before = mean(&reference, "rational.choice.least_reliable_share");
    let after = mean(&corrected, "rational.choice.least_reliable_share");
    assert!(before > 0.9 && after < 0.1, "least-reliable share {before} -> {after}");
    assert!(values(&corrected, "rational.premium_per_hour").iter().all(|&p| p > 0.0));
    assert!(mean(&corrected, "naive.premium_per_hour").abs() < 0.02);
}

/// The spec expected `rational_more_restarts` to stop holding once rational
/// consumers no longer concentrate on unreliable providers. We measure the
/// opposite, for a reason the choice share does not capture: a rational
/// bid is a discounted rate, and a provider cancels when a competing bid
/// reaches T times the rate, so discounted sessions are cancelled more often.
/// Under bid priority the highest-restart-cost consumers discount most, lose
/// every auction for the reliable providers and end on the unreliable ones.
/// This test pins that mechanism (README: "Where we measured otherwise").
#[test]
fn basic_restarts_follow_the_discount() {
    let r = results("reliability_basic.toml", &["iterations=3"], 6);
    assert_eq!(verdict(&r, "reliability_basic.rational_more_restarts").1, Verdict::Holds);
    let low = mean(&r, "rational.consumers.low_cost.restarts");
    let high = mean(&r, "rational.consumers.high_cost.restarts");
    assert!(high > 2.0 * low, "high-cost restarts {high} vs low-cost {low}");
    let unreliable = mean(&r, "rational.providers.unreliable.rate_per_hour");
    let reliable = mean(&r, "rational.providers.reliable.rate_per_hour");
    assert!(unreliable < 0.95 * reliable);
}

/// Equilibrium and v2: imitation still collapses the threshold sd; the final
/// value follows the initial range; the drift is up with slack and down under
/// scarcity.
#[test]
fn thresholds_follow_the_start_and_the_market() {
    let low = results("reliability_equilibrium_start_low.toml", &["rounds=20"], 8);
    let mid = results("reliability_equilibrium.toml", &["rounds=20"], 8);
    let high = results("reliability_equilibrium_start_high.toml", &["rounds=20"], 8);
    let (l, m, h) = (
        mean(&low, "thresholds.final_mean"),
        mean(&mid, "thresholds.final_mean"),
        mean(&high, "thresholds.final_mean"),
    );
    assert!(l < 2.1 && l < m && m < h && h > 3.0, "final means {l}, {m}, {h}");
    assert!(mean(&mid, "thresholds.std_reduction") > 0.7);
    for r in [&low, &mid, &high] {
        assert!(mean(r, "thresholds.final_std") < 0.2);
    }
    let slack = results("reliability_v2.toml", &[], 8);
    let scarce = results("reliability_v2_scarcity.toml", &[], 8);
    assert!(slack.metrics["thresholds.drift"].ci95.unwrap()[0] > 0.0);
    assert!(scarce.metrics["thresholds.drift"].ci95.unwrap()[1] < 0.0);
    assert_eq!(verdict(&slack, "reliability_v2.thresholds_converge").1, Verdict::Holds);
    // Frequent checkpoints lose about kappa/2 per cancel: efficiency just below 1.
    let eff = mean(&slack, "groups.high_cp_frequent.efficiency");
    assert!(eff > 0.995 && eff < 1.0, "efficiency {eff}");
    // The two low-value groups now share spare capacity: the no-checkpoint
    // group is priced out in far fewer seeds than under the reference's
    // allocation by list position (where it holds in every seed).
    let (held, _) = verdict(&slack, "reliability_v2.low_nocp_priced_out");
    assert!(held < 0.5, "low_nocp_priced_out held in {held}");
    assert!(mean(&slack, "groups.low_cp_none.compute_hours") > 1.0);
}

/// Low-value consumers are priced out under scarcity and extreme scarcity,
/// not with excess or balanced supply.
#[test]
fn scarcity_prices_out_low_value() {
    for (file, holds) in [
        ("reliability_v2_excess.toml", false),
        ("reliability_v2_balanced.toml", false),
        ("reliability_v2_scarcity.toml", true),
        ("reliability_v2_extreme.toml", true),
    ] {
        let r = results(file, &["rounds=10"], 8);
        let v = verdict(&r, "reliability_v2.low_value_priced_out").1;
        assert_eq!(v, if holds { Verdict::Holds } else { Verdict::Fails }, "{file}");
    }
}
