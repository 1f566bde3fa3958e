//! `step`'s prompt: scripts of commands (those of the scripted-session
//! tests), edited word by word and byte by byte, run on small runs of
//! three study kinds. Each script must end without a panic or a hang, and
//! leave the run in the state a fresh run has after as many events:
//! whatever the commands did (stepping, breakpoints, going back), the run
//! is one the model could be at.

use crate::mutate::{INTERESTING, apply, mutation};
use crate::{fuzz, root};
use omerta_sim::models::open_study;
use omerta_sim::study::Scenario;
use std::path::Path;

/// The commands' words and arguments, so edits make other valid commands.
const WORDS: &[&str] = &[
    "next ",
    "until ",
    " -q",
    "continue\n",
    "back ",
    "reverse-continue\n",
    "break at ",
    "break on ",
    "break when ",
    "breaks\n",
    "delete ",
    "delete all\n",
    "watch ",
    "unwatch ",
    "filter kind ",
    "filter agent ",
    "filter off\n",
    "kinds\n",
    "queue ",
    "show ",
    "fields ",
    "info\n",
    "history\n",
    "back-memory ",
    "help\n",
    "quit\n",
    "\n",
    "provider3",
    "consumer 2",
    "server0",
    "crisis 1",
    "robot7",
    ".threshold > ",
    ".trust <= ",
    "SessionEnd",
    "Arrival",
    "Checkpoint",
    "Tick,MatchPass",
    "12.5h",
    "3d",
    "1e9h",
    "0h",
    "64KiB",
    "0",
    "1MiB",
];

/// Scripts to edit.
const SCRIPTS: &[&str] = &[
    "next 5\nback 2\nbreak on SessionEnd\ncontinue\ncontinue\nreverse-continue\nback 3\ninfo\n",
    "break at 3h\nwatch provider3\nuntil 5h\nback 40\nnext 7\nfilter kind MatchPass\nnext 2\nqueue 4\nkinds\n",
    "back-memory 16KiB\nuntil 20h -q\nback 500\nbreak on Departure\ncontinue\nrc\nrc\nhistory\n",
    "break on Checkpoint\nbreak at 30d\ncontinue\ncontinue\nrc\nwatch crisis 1\nnext 10\nback 9\nfields crisis 1\n",
];

/// (scenario file, overrides): one per study kind fuzzed.
const RUNS: &[(&str, &[&str])] = &[
    ("models/reliability_v2.toml", &["rounds=1"]),
    ("models/mm1.toml", &["hours=300"]),
    ("models/failure_modes/crisis.toml", &[]),
];

#[test]
fn fuzz_step_scripts() {
    let corpus: Vec<Vec<u8>> = SCRIPTS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let tokens: Vec<&str> = INTERESTING.iter().chain(WORDS).copied().collect();
    let studies: Vec<_> = RUNS
        .iter()
        .map(|(file, sets)| {
            let text = std::fs::read_to_string(root().join(file)).unwrap();
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            open_study(Scenario::parse(&text, Path::new(file), &sets).unwrap()).unwrap()
        })
        .collect();
    let strategy = (mutation(corpus.len(), tokens.len(), 6), 0..studies.len());
    fuzz("step", 1500, strategy, |((index, edits), which)| {
        let bytes = apply(&corpus, *index, edits, &tokens);
        // No `save`: a fuzzed file name would land anywhere.
        let script: String = String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| l.split_whitespace().next() != Some("save"))
            .map(|l| format!("{l}\n"))
            .collect();
        let study = &studies[*which];
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut run = study.stepper(study.default_seeds().0);
            let mut out = Vec::new();
            omerta_sim::cli::step_script(run.as_mut(), &script, &mut out).map_err(|e| format!("{e:#}"))?;
            let pos = run.counters().processed;
            let mut fresh = study.stepper(study.default_seeds().0);
            fresh.run_events(pos);
            if (fresh.fingerprint(), fresh.state_bytes()) != (run.fingerprint(), run.state_bytes()) {
                return Err(format!("after the script the run at event {pos} is not a fresh run's"));
            }
            Ok(())
        }));
        outcome.map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))?
    });
}
