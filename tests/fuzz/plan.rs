//! Explore plans (`omerta-sim explore`): a plan of each design, mutated byte
//! by byte and token by token, parsed and, when accepted, built into its
//! design and run through its sensitivity estimator on made-up outputs.

use crate::fuzz;
use crate::mutate::{INTERESTING, apply, mutation};
use omerta_sim::explore::{Bootstrap, Plan, analyse};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// One plan of each design, using every kind of factor.
const PLANS: &[&str] = &[
    r#"design = "lhs"
points = 20
seeds = 3
seed = 7
metrics = ["a.b.c", "d"]
adaptive = { max_seeds = 40, rel_half_width = 0.05 }
[factors]
"home.cancel_threshold" = { min = 1.0, max = 3.0 }
"market.undersupplied.dcs" = { levels = [5, 10, 20] }
"trust.k_payment" = { min = 0.01, max = 0.5, scale = "log" }
"consumers" = { min = 10, max = 40, integer = true }
"consumer_groups[0].checkpoint_hours" = { levels = ["a", true, 1.5] }
"#,
    r#"design = "factorial"
metrics = ["m"]
adaptive = { max_seeds = 10, half_width = 0.1 }
[factors]
a = { min = 1, max = 100, steps = 3, scale = "log" }
b = { levels = ["x", "y"] }
"c.d[1]" = { min = 1, max = 5, integer = true, steps = 4 }
"#,
    r#"design = "sobol"
points = 16
metrics = ["m"]
[factors]
x1 = { min = -3.14, max = 3.14 }
x2 = { min = 0.001, max = 10, scale = "log" }
x3 = { levels = [1, 2, 3] }
"#,
    r#"design = "morris"
points = 6
morris_levels = 6
metrics = ["m"]
[factors]
x1 = { min = 0, max = 1 }
x2 = { min = 2, max = 9, integer = true }
x3 = { levels = [false, true] }
[factors.x4]
min = 1e-3
max = 1e3
scale = "log"
integer = true
"#,
];

/// Plan words, so edits reach the checks and not only the TOML parser.
const WORDS: &[&str] = &[
    "\"factorial\"",
    "\"lhs\"",
    "\"sobol\"",
    "\"morris\"",
    "\"log\"",
    "\"linear\"",
    "points = ",
    "steps = ",
    "morris_levels = ",
    "integer = true",
    "levels = [",
    "min = ",
    "max = ",
    "scale = ",
    "\"a[0]\" = { min = 0, max = 1 }\n",
    "\"a.b\" = { levels = [1] }\n",
    "adaptive = { max_seeds = 2, half_width = 1 }\n",
    "metrics = []\n",
];

/// Designs built in full only up to this many values (the cap is 4,000,000;
/// building that many for every input would slow the harness down).
const BUILD_CELLS: usize = 200_000;

#[test]
fn fuzz_plans() {
    let corpus: Vec<Vec<u8>> = PLANS.iter().map(|p| p.as_bytes().to_vec()).collect();
    for text in PLANS {
        Plan::parse(text, Path::new("plan.toml")).expect("the corpus plans are valid");
    }
    let tokens: Vec<&str> = INTERESTING.iter().chain(WORDS).copied().collect();
    let stages: [AtomicU64; 3] = Default::default();
    fuzz("plan", 20000, mutation(corpus.len(), tokens.len(), 4), |(index, edits)| {
        let bytes = apply(&corpus, *index, edits, &tokens);
        std::panic::catch_unwind(|| -> Result<(), String> {
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            let Ok(plan) = Plan::parse(&text, Path::new("plan.toml")) else { return Ok(()) };
            stages[0].fetch_add(1, Ordering::Relaxed);
            let k = plan.factors().len();
            if plan.point_count() * k > BUILD_CELLS {
                return Ok(());
            }
            let design = plan.design_points().map_err(|e| format!("a parsed plan's design failed: {e}"))?;
            if design.points.len() != plan.point_count() {
                return Err(format!("{} points, the plan said {}", design.points.len(), plan.point_count()));
            }
            stages[1].fetch_add(1, Ordering::Relaxed);
            for p in design.points.iter().take(3) {
                for arg in plan.set_args(p) {
                    let (key, raw) = arg.split_once('=').ok_or("no `=` in a set argument")?;
                    let (i, f) =
                        plan.factors().iter().enumerate().find(|(_, f)| f.key() == key).ok_or("unknown key")?;
                    if omerta_sim::study::scenario::parse_set_value(raw) != p.values[i] {
                        return Err(format!("`{arg}` does not read back as {:?} ({f:?})", p.values[i]));
                    }
                }
            }
            // Made-up outputs, some undefined.
            let y: Vec<f64> = design
                .points
                .iter()
                .map(|p| {
                    if p.id % 7 == 3 {
                        f64::NAN
                    } else {
                        p.unit.iter().enumerate().map(|(i, u)| u * (i + 1) as f64).sum()
                    }
                })
                .collect();
            let s = analyse(&design, &plan.factor_keys(), "m", &y, &Bootstrap { resamples: 20, seed: 1 })
                .map_err(|e| format!("estimator refused the design's own outputs: {e}"))?;
            if s.rows.iter().any(|r| !(r.value.is_finite() && r.lo.is_finite() && r.hi.is_finite())) {
                return Err("a non-finite index".into());
            }
            stages[2].fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))?
    });
    let [parsed, built, analysed] = stages.map(|s| s.into_inner());
    eprintln!("fuzz plan: {parsed} parsed, {built} built, {analysed} analysed");
    assert!(analysed > 0, "no mutated plan reached the estimators");
}
