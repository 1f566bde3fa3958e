//! The documentation stands alone: every model page names every event kind
//! `step --kind` takes, every finding of its studies and (for the trust
//! engine) every `[trust]` key; every shipped scenario file has a
//! description for `list`; every link in the Markdown resolves inside the
//! repository; and nothing points to files outside it.

use super::{root, study};
use omerta_sim::models;
use std::path::{Component, Path, PathBuf};

/// The page of `docs/models/` that documents a study.
fn page_of(study: &str) -> &'static str {
    match study {
        "reliability_basic" | "reliability_equilibrium" | "reliability_v2" => "reliability.md",
        "economic_value" => "economic_value.md",
        "identity_rotation" => "identity_rotation.md",
        "trust_dynamics" | "failure_modes" => "trust.md",
        "monetary_policy" | "monetary_policy_iteration2" | "full_study" => "monetary_policy.md",
        "mm1" => "mm1.md",
        "world" => "world.md",
        other => panic!("study `{other}` has no page in docs/models/: add one and list it here"),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn page(name: &str) -> String {
    read(&root().join("docs/models").join(name))
}

/// Each model's event kinds, with the page that must document them.
const EVENT_KINDS: &[(&str, &[&str])] = &[
    ("reliability.md", models::reliability::EVENT_KINDS),
    ("economic_value.md", models::economic_value::EVENT_KINDS),
    ("identity_rotation.md", models::identity_rotation::EVENT_KINDS),
    ("trust.md", models::trust::EVENT_KINDS),
    ("monetary_policy.md", models::monetary_policy::EVENT_KINDS),
    ("mm1.md", models::mm1::EVENT_KINDS),
    ("world.md", models::world::EVENT_KINDS),
];

/// Every event kind of every model is a row of its page's events table.
#[test]
fn every_event_kind_is_documented() {
    for (name, kinds) in EVENT_KINDS {
        let text = page(name);
        assert!(!kinds.is_empty());
        for kind in *kinds {
            let row = format!("\n| `{kind}` |");
            assert!(text.contains(&row), "docs/models/{name} has no events-table row for the event kind `{kind}`");
        }
    }
}

/// Every study of the build has a page that names it, and every finding
/// the study can report is on that page: by its id, or, for the per-scenario
/// findings of the monetary-policy studies, as
/// `<prefix>.<scenario>.<finding>` with the scenario named on the page.
#[test]
fn every_study_and_finding_is_documented() {
    for id in models::study_ids() {
        let name = page_of(id);
        let text = page(name);
        assert!(text.contains(&format!("`{id}`")), "docs/models/{name} does not name the study `{id}`");
        let s = study(&format!("{id}.toml"), &[]);
        let findings = s.findings();
        assert!(!findings.is_empty(), "{id} reports no findings");
        for f in findings {
            if text.contains(&format!("`{}`", f.id)) {
                continue;
            }
            let parts: Vec<&str> = f.id.splitn(3, '.').collect();
            let [prefix, scenario, rest] = parts[..] else {
                panic!("docs/models/{name} does not list the finding `{}`", f.id);
            };
            let pattern = format!("`<prefix>.<scenario>.{rest}`");
            assert!(
                text.contains(&pattern)
                    && text.contains(&format!("`{prefix}`"))
                    && text.contains(&format!("`{scenario}`")),
                "docs/models/{name} lists neither the finding `{}` nor {pattern} with `{prefix}` and `{scenario}`",
                f.id
            );
        }
    }
}

/// Every key of the `[trust]` table is a row of the trust page's table.
#[test]
fn every_trust_key_is_documented() {
    let text = page("trust.md");
    for key in omerta_sim::trust::TrustParams::KEYS {
        assert!(
            text.contains(&format!("\n| `{key}` |")),
            "docs/models/trust.md does not document `[trust]` key `{key}`"
        );
    }
}

/// `omerta-sim list` shows a description for every shipped scenario file:
/// one line, not empty.
#[test]
fn every_shipped_scenario_has_a_description() {
    let files = omerta_sim::study::scenario::scenario_files(&root().join("models")).unwrap();
    assert!(files.len() >= 60, "only {} scenario files found", files.len());
    for f in &files {
        let s = omerta_sim::study::Scenario::load(f, &[]).unwrap_or_else(|e| panic!("{e}"));
        let d = s.table.get("description").and_then(|v| v.as_str()).unwrap_or("");
        assert!(!d.trim().is_empty(), "{} has no `description` (omerta-sim list shows none)", f.display());
        assert!(!d.contains('\n') && d.len() <= 160, "{}: the description must be one short line", f.display());
    }
}

/// Text files of the repository: every file under `dirs` (and the named
/// top-level files) with one of the text extensions.
fn text_files() -> Vec<PathBuf> {
    const DIRS: &[&str] = &["docs", "models", "snapshots", "scripts", "src", "tests", "benches", ".ci"];
    const TOP: &[&str] = &["README.md", "Cargo.toml"];
    const EXT: &[&str] = &["md", "toml", "rs", "py", "sh", "sbatch", "txt"];
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXT.contains(&e))
                || p.parent().and_then(|d| d.file_name()).is_some_and(|d| d == ".ci")
            {
                out.push(p);
            }
        }
    }
    let mut out: Vec<PathBuf> = TOP.iter().map(|f| root().join(f)).collect();
    for d in DIRS {
        walk(&root().join(d), &mut out);
    }
    out
}

/// Nothing in the repository points outside it: no path into the shared
/// folder the project was specified in, and no section sign (U+00A7) citing a
/// design document that is not in the repository, in any text file (prose,
/// code, or program output quoted in the docs).
#[test]
fn nothing_points_outside_the_repository() {
    let outside = [concat!("..", "/shared"), concat!("shared", "/spec"), "\u{a7}"];
    let files = text_files();
    assert!(files.len() > 100, "only {} text files found", files.len());
    let mut bad = Vec::new();
    for f in &files {
        let text = read(f);
        let rel = f.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
        for needle in outside {
            if let Some((n, line)) = text.lines().enumerate().find(|(_, l)| l.contains(needle)) {
                bad.push(format!("{rel}:{}: points outside the repository (`{needle}`): {}", n + 1, line.trim()));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// GitHub's anchor of a Markdown heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code fences).
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// Link targets `](target)` of a Markdown text, outside code.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.starts_with("    ") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(j) = after.find(')') else { break };
            out.push(after[..j].to_string());
            rest = &after[j..];
        }
    }
    out
}

/// A path without `.` and `..` parts (the file need not exist).
fn normal(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every relative link of README.md and docs/ points to a file of the
/// repository, and every `#anchor` to a heading of its file.
#[test]
fn every_markdown_link_resolves_inside_the_repository() {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("snapshots/README.md")];
    files.extend(
        text_files()
            .into_iter()
            .filter(|f| f.starts_with(root.join("docs")) && f.extension().is_some_and(|e| e == "md")),
    );
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in &files {
        let text = read(f);
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() { f.clone() } else { normal(&f.parent().unwrap().join(path)) };
            if !file.starts_with(&root) {
                bad.push(format!("{rel}: `{target}` points outside the repository"));
                continue;
            }
            if !file.exists() {
                bad.push(format!("{rel}: `{target}` does not exist"));
                continue;
            }
            if !anchor.is_empty() && file.extension().is_some_and(|e| e == "md") {
                let heads = anchors(&read(&file));
                if !heads.iter().any(|h| h == anchor) {
                    bad.push(format!("{rel}: `{target}`: no heading with that anchor"));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} links found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The guide to adding a study states how many lines its example takes:
/// the count must be the file's.
#[test]
fn the_guide_states_the_example_study_size() {
    let guide = read(&root().join("docs/adding_a_study.md"));
    let lines = read(&root().join("src/models/mm1/mod.rs")).lines().count();
    let row = format!("| `src/models/mm1/mod.rs` | {lines} |");
    assert!(guide.contains(&row), "docs/adding_a_study.md should state `{row}`");
    let scenario = read(&root().join("models/mm1.toml")).lines().count();
    assert!(guide.contains(&format!("| `models/mm1.toml` | {scenario} |")), "scenario file: {scenario} lines");
}
