//! Trust traces (`trust replay`): the golden traces, mutated line by line
//! and byte by byte, replayed through the library.

use crate::mutate::{INTERESTING, apply, mutation};
use crate::{fuzz, root};

/// Trace words besides the generic values: op names and fields, so edits
/// reach the replayer and not only the JSON parser.
const WORDS: &[&str] = &[
    "\"create_identity\"",
    "\"add_transaction\"",
    "\"add_assertion\"",
    "\"advance_days\"",
    "\"solve_trust\"",
    "\"compute_local_trust\"",
    "\"detect_clusters\"",
    "\"transfer_coins\"",
    "\"resolve_accusation\"",
    "\"get_verification_rate\"",
    "\"meta\"",
    "\"attacker\"",
    "\"victim_provider\"",
    "\"day\": ",
    "\"args\": [",
    "\"kw\": {",
    "\"out\": ",
    "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"x\"], \"kw\": {}}\n",
    "{\"op\": \"advance_days\", \"day\": 0, \"args\": [4294967295], \"kw\": {}}\n",
];

#[test]
fn fuzz_trust_traces() {
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/golden/trust"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let corpus: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let tokens: Vec<&str> = INTERESTING.iter().chain(WORDS).copied().collect();
    fuzz("trace", 20000, mutation(corpus.len(), tokens.len(), 6), |(index, edits)| {
        let bytes = apply(&corpus, *index, edits, &tokens);
        std::panic::catch_unwind(|| {
            let _ = omerta_sim::trust::trace::replay_bytes(&bytes);
        })
        .map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))
    });
}
