//! Examples of the trust specification and refused calls.

use super::*;

/// The deterministic praise rings (reference settings).
#[test]
fn praise_rings() {
    for (k, days, want, iterations) in
        [(5u32, 30u32, 92.37563799795922, 11u32), (5, 90, 263.4765968015432, 11), (10, 90, 695.1903691853433, 10)]
    {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
        let ids: Vec<Ident> = (0..k).map(|i| e.create_identity(&format!("s{i}"))).collect();
        for _ in 0..days {
            e.advance_days(1).unwrap();
            for &a in &ids {
                for &b in &ids {
                    if a != b {
                        assert!(e.add_assertion(a, b, 0.9, "EXCELLENT_SERVICE", true).unwrap());
                    }
                }
            }
        }
        let r = e.solve();
        assert_eq!(r.iterations, iterations, "k={k} D={days}");
        assert!(r.converged);
        for &i in &ids {
            let t = e.trust(i);
            assert!((t - want).abs() <= 1e-9 * want, "k={k} D={days}: T = {t}, want {want}");
            assert_eq!(e.weight(i), 1.0);
        }
    }
}

/// Under the corrected rules the same ring gets nothing: no praise
/// without a past transaction.
#[test]
fn checked_praise_needs_a_customer() {
    let mut e = TrustEngine::new(TrustParams::default(), Rules::CORRECTED).unwrap();
    let a = e.create_identity("a");
    let b = e.create_identity("b");
    e.advance_days(1).unwrap();
    assert!(!e.add_assertion(a, b, 0.9, "X", true).unwrap());
    assert!(!e.add_assertion(a, a, 0.9, "X", true).unwrap());
    e.add_transaction(a, b, 2.0, 4.0, 0.95).unwrap();
    assert!(e.add_assertion(a, b, 0.9, "X", true).unwrap());
    assert!(!e.add_assertion(a, b, 0.9, "X", true).unwrap(), "once per 90 days");
    e.advance_days(89).unwrap();
    assert!(!e.add_assertion(a, b, 0.9, "X", true).unwrap());
    e.advance_days(1).unwrap();
    assert!(e.add_assertion(a, b, 0.9, "X", true).unwrap());
}

/// Accusations: history needed, one per 90 days (a repeat at exactly +90
/// is accepted), weight n/n_full, boost from the stored trust,
/// resolution, and the system assertion's effect under each rule.
#[test]
fn accusation_intake_and_resolution() {
    for rules in [Rules::REFERENCE, Rules::CORRECTED] {
        let mut e = TrustEngine::new(TrustParams::default(), rules).unwrap();
        let c = e.create_identity("c");
        let p = e.create_identity("p");
        e.advance_days(1).unwrap();
        assert!(!e.add_assertion(c, p, -0.7, "X", false).unwrap(), "no history");
        e.add_transaction(c, p, 1.0, 1.0, 0.95).unwrap();
        assert!(e.add_assertion(c, p, -0.7, "X", false).unwrap());
        let a = e.assertions()[0];
        assert!((a.weight - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(e.boost(p), 0.0, "the accuser's stored trust is 0: credibility 0");
        e.advance_days(89).unwrap();
        assert!(!e.add_assertion(c, p, -0.7, "X", false).unwrap());
        e.advance_days(1).unwrap();
        assert!(e.add_assertion(c, p, -0.7, "X", false).unwrap(), "exactly +90 days");
        assert_eq!(e.verification_rate(p), 0.1);
        e.resolve_accusation(c, p, false).unwrap();
        assert_eq!(e.assertions().len(), 3);
        assert_eq!(e.assertions()[2].asserter, None);
        assert_eq!(e.assertions()[2].subject, c.0);
        e.resolve_accusation(c, p, false).unwrap();
        assert_eq!(e.assertions().len(), 3, "nothing pending any more");
        let applied = rules.false_accusation_penalty == FalseAccusationPenalty::Applied;
        assert_eq!(e.has_system_penalty(c), applied);
        // Three later good transactions judge the accusation false, but
        // only when the test reads the raw score (-0.7 < -0.3; the
        // weighted -0.233 is not below it).
        for _ in 0..3 {
            e.advance_days(1).unwrap();
            e.add_transaction(c, p, 1.0, 1.0, 0.95).unwrap();
        }
        assert_eq!(e.penalty(c) > 0.0, applied, "{rules:?}");
    }
}

/// Clusters: creation order A…E, mutual pairs A↔B, C↔D, A↔E, D↔E.
#[test]
fn cluster_example() {
    let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
    let [a, b, c, d, x] = ["A", "B", "C", "D", "E"].map(|n| e.create_identity(n));
    e.advance_days(1).unwrap();
    for (u, v) in [(a, b), (c, d), (a, x), (d, x)] {
        e.add_transaction(u, v, 1.0, 1.0, 1.0).unwrap();
        e.add_transaction(v, u, 1.0, 1.0, 1.0).unwrap();
    }
    let w = e.clusters().weights;
    assert_eq!(w, vec![0.25, 0.25, 0.5, 0.5, 0.25]);
    assert_eq!(e.weight(a), 1.0, "a query stores nothing");
    e.solve();
    assert_eq!(e.weight(a), 0.25);
    let comp = TrustEngine { rules: Rules { cluster_grouping: ClusterGrouping::Components, ..Rules::REFERENCE }, ..e };
    assert_eq!(comp.clusters().weights, vec![0.2; 5]);
}

/// Local trust: O→X (10) and X→S (4) give 1.0; S's view of O is 0.5.
#[test]
fn local_trust_example() {
    let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
    let [o, x, s] = ["O", "X", "S"].map(|n| e.create_identity(n));
    e.add_transaction(o, x, 10.0, 1.0, 1.0).unwrap();
    e.add_transaction(x, s, 4.0, 1.0, 1.0).unwrap();
    e.build_edge_snapshot();
    assert_eq!(e.local_trust(o, s).unwrap(), 1.0);
    assert_eq!(e.local_trust(s, o).unwrap(), 0.5);
    assert_eq!(e.local_trust(o, o).unwrap(), f64::INFINITY);
    assert_eq!(e.local_trust(o, x).unwrap(), 10.0, "direct");
    // A later edge is not in the snapshot; a rebuild sees it.
    let y = e.create_identity("Y");
    e.add_transaction(o, x, 10.0, 1.0, 1.0).unwrap();
    e.add_transaction(y, x, 2.0, 1.0, 1.0).unwrap();
    assert_eq!(e.local_trust(o, s).unwrap(), 1.0, "the snapshot keeps O→X at 10");
    assert_eq!(e.local_trust(y, s).unwrap(), 0.0, "no path, no trust yet: γ·0");
    e.build_edge_snapshot();
    assert_eq!(e.local_trust(o, s).unwrap(), 1.0, "bottleneck X→S");
    assert_eq!(e.local_trust(y, s).unwrap(), 0.5, "Y→X (2) then X→S (4): min 2 · β²");
    assert_eq!(e.edge_snapshot_summary().n_edges, 3);
}

#[test]
fn transfer_and_money() {
    let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
    let a = e.create_identity("a");
    let b = e.create_identity("b");
    e.credit(a, 100.0).unwrap();
    let r = e.transfer(a, b, 40.0).unwrap();
    assert_eq!((r.received, r.burned), (0.0, 40.0), "T = 0 burns everything");
    assert_eq!(e.coins(a), (60.0, 100.0, 40.0));
    e.ids[0].trust = 100.0;
    e.ids[1].trust = 150.0;
    let r = e.transfer(a, b, 10.0).unwrap();
    assert_eq!((r.received, r.burned), (5.0, 5.0));
    assert!(e.transfer(a, Ident(7), 1.0).is_err());
    assert!(e.transfer(a, b, f64::NAN).is_err());
    assert_eq!(e.coins(a).0, 50.0, "a refused transfer changes nothing");
}

#[test]
fn refused_calls_leave_no_trace() {
    let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
    let a = e.create_identity("a");
    assert_eq!(e.add_transaction(a, a, 1.0, 1.0, 1.0), Err(TrustError::SelfTransaction(0)));
    assert_eq!(e.add_transaction(a, Ident(3), 1.0, 1.0, 1.0), Err(TrustError::UnknownIdentity(3)));
    let b = e.create_identity("b");
    assert!(e.add_transaction(a, b, 1.0, 1.0, 1.5).is_err());
    assert!(e.add_transaction(a, b, -1.0, 1.0, 0.5).is_err());
    assert!(e.add_assertion(a, b, 2.0, "X", true).is_err());
    assert!(e.transactions().is_empty() && e.assertions().is_empty());
    e.advance_days(3).unwrap();
    assert!(matches!(e.set_day(2), Err(TrustError::TimeBackwards { now: 3, to: 2 })));
    let bad = TrustParams { solver_epsilon: -1.0, ..Default::default() };
    assert!(matches!(e.set_params(bad), Err(TrustError::Param(_))));
    assert_eq!(e.params().solver_epsilon, 0.001);
}

/// Runway, hoarding penalty and effective trust.
#[test]
fn hoarding() {
    let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
    let a = e.create_identity("a");
    let b = e.create_identity("b");
    e.credit(a, 1000.0).unwrap();
    e.ids[0].trust = 10.0;
    assert_eq!(e.runway(a), f64::INFINITY);
    assert_eq!(e.hoarding_penalty(a), 0.0, "younger than 30 days");
    assert_eq!(e.effective_trust(a), 10.0);
    e.advance_days(40).unwrap();
    assert_eq!(e.effective_trust(a), 0.0, "no outflow: infinite runway");
    // 9 h of weighted consumption over the 90-day window: 0.1 per day.
    e.add_transaction(a, b, 3.0, 3.0, 1.0).unwrap();
    assert!((e.runway(a) - 10_000.0).abs() < 1e-9);
    let h = (10_000.0f64 / 90.0).ln();
    assert!((e.hoarding_penalty(a) - h).abs() < 1e-12);
    assert!((e.effective_trust(a) - 10.0 / (1.0 + h)).abs() < 1e-12);
    e.advance_days(91).unwrap();
    assert_eq!(e.runway(a), f64::INFINITY, "the purchase left the window");
    assert_eq!(e.hoarding_penalty(b), 0.0, "b earned nothing");
}

/// A solve that hits the iteration cap says so and is counted.
#[test]
fn nonconvergence_is_reported() {
    let p = TrustParams { solver_max_iterations: 2, ..Default::default() };
    let mut e = TrustEngine::new(p, Rules::REFERENCE).unwrap();
    let ids: Vec<Ident> = (0..5).map(|i| e.create_identity(&format!("s{i}"))).collect();
    for _ in 0..30 {
        e.advance_days(1).unwrap();
        for &a in &ids {
            for &b in &ids {
                if a != b {
                    e.add_assertion(a, b, 0.9, "X", true).unwrap();
                }
            }
        }
    }
    let r = e.solve();
    assert!(!r.converged && r.iterations == 2 && r.residual >= 0.001);
    assert_eq!(e.stats().nonconverged, 1);
    assert_eq!(e.stats().solves, 1);
}

/// A backdated identity ages from its creation day: created at day 10 on
/// day 200, it has the trust of one created on day 10 and carried to day
/// 200; a creation day after today is refused and changes nothing.
#[test]
fn backdated_identities_age_from_their_day() {
    let mut a = TrustEngine::new(TrustParams::default(), Rules::CORRECTED).unwrap();
    a.set_day(10).unwrap();
    let x = a.create_identity("x");
    a.set_day(200).unwrap();
    let mut b = TrustEngine::new(TrustParams::default(), Rules::CORRECTED).unwrap();
    b.set_day(200).unwrap();
    let y = b.create_identity_at("y", 10).unwrap();
    assert_eq!(b.created(y), 10);
    a.solve();
    b.solve();
    assert!(a.trust(x) > 0.0);
    assert_eq!(a.trust(x).to_bits(), b.trust(y).to_bits());
    let before = b.clone();
    assert!(matches!(b.create_identity_at("z", 201), Err(TrustError::InvalidValue { what: "creation day", .. })));
    assert_eq!(b.len(), before.len());
    assert_eq!(b.create_identity_at("now", 200).map(|i| b.created(i)), Ok(200));
}
