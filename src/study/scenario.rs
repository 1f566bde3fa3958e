//! Scenario files: TOML tables with a `study` key, plus `--set key=value`
//! overrides. Each study deserialises the table into its own struct, which
//! denies unknown keys; errors name the key and the file.

use crate::engine::rng::fnv1a;
use std::path::{Path, PathBuf};

/// A loaded scenario: its file, its study and its resolved table.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The file it came from (as given).
    pub path: PathBuf,
    /// The study id (`study` key).
    pub study: String,
    /// The table after `--set` overrides.
    pub table: toml::Table,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read. The OS error is the `source`, not part
    /// of the message (`{:#}` would print it twice).
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}: not valid TOML: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key or value is wrong.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (names the key).
        message: String,
    },
    /// A `--set` argument is malformed.
    #[error("--set {arg}: {message}")]
    BadSet {
        /// The argument.
        arg: String,
        /// What is wrong.
        message: String,
    },
}

/// The subfolder of a scenario folder that holds explore plans, not
/// scenarios (`models/explore/`).
pub const PLANS_DIR: &str = "explore";

/// Every scenario file (`*.toml`) under `dir`, subfolders included (but not
/// the plans in [`PLANS_DIR`]), sorted by path.
pub fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let plans = dir.join(PLANS_DIR);
    Ok(crate::report::results::files_under(dir, "toml")?.into_iter().filter(|p| !p.starts_with(&plans)).collect())
}

/// Parse the value of `--set key=value`: a TOML value, or a bare string.
pub fn parse_set_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// One step of a `--set` key path: a table key, optionally followed by
/// array indexes (`consumer_groups[0]` is the key `consumer_groups`, then
/// entry 0).
fn key_steps(part: &str) -> Option<(&str, Vec<usize>)> {
    let (name, mut rest) = match part.find('[') {
        Some(i) => (part[..i].trim(), &part[i..]),
        None => (part.trim(), ""),
    };
    if name.is_empty() {
        return None;
    }
    let mut idx = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        idx.push(inner[..close].trim().parse::<usize>().ok()?);
        rest = &inner[close + 1..];
    }
    Some((name, idx))
}

/// Apply one `key=value` override. Dotted keys address nested tables and
/// `name[i]` the `i`-th entry of an array (of tables, or of values):
/// `consumer_groups[0].checkpoint_hours=0.5`, the spelling errors use.
pub fn apply_set(table: &mut toml::Table, arg: &str) -> Result<(), ScenarioError> {
    let bad = |m: &str| ScenarioError::BadSet { arg: arg.to_string(), message: m.to_string() };
    let (key, raw) = arg.split_once('=').ok_or_else(|| bad("expected key=value"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("empty key"));
    }
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("empty part in dotted key"));
    }
    let value = parse_set_value(raw.trim());
    // Walk tables and arrays alike: the table moves into a value and back.
    let mut root = toml::Value::Table(std::mem::take(table));
    let result = set_in(&mut root, &parts, value, &bad);
    if let toml::Value::Table(t) = root {
        *table = t;
    }
    result
}

fn set_in(
    root: &mut toml::Value,
    parts: &[&str],
    value: toml::Value,
    bad: &dyn Fn(&str) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let mut cur = root;
    let mut path = String::new();
    for (i, part) in parts.iter().enumerate() {
        let (name, idx) = key_steps(part)
            .ok_or_else(|| bad(&format!("`{part}` is not a key or a key with indexes such as `groups[0]`")))?;
        let last = i + 1 == parts.len();
        let toml::Value::Table(t) = cur else {
            return Err(bad(&format!("`{path}` is not a table")));
        };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        if last && idx.is_empty() {
            t.insert(name.to_string(), value);
            return Ok(());
        }
        cur = if idx.is_empty() {
            t.entry(name.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()))
        } else {
            t.get_mut(name).ok_or_else(|| bad(&format!("`{path}` is not set in the scenario (no entries to index)")))?
        };
        for (j, n) in idx.iter().enumerate() {
            let toml::Value::Array(a) = cur else {
                return Err(bad(&format!("`{path}` is not an array")));
            };
            let len = a.len();
            path.push_str(&format!("[{n}]"));
            let slot = a.get_mut(*n).ok_or_else(|| {
                bad(&format!("`{path}`: there is no entry {n} (the array has {len}, numbered from 0)"))
            })?;
            if last && j + 1 == idx.len() {
                *slot = value;
                return Ok(());
            }
            cur = slot;
        }
    }
    unreachable!("loop returns on the last part")
}

impl Scenario {
    /// Load a scenario file and apply overrides.
    pub fn load(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
        let text = Scenario::read_text(path)?;
        Scenario::parse(&text, path, sets)
    }

    /// The text of the scenario file `path`, refused (with the reason) if it
    /// is a folder, unreadable or not UTF-8.
    pub fn read_text(path: &Path) -> Result<String, ScenarioError> {
        if path.is_dir() {
            return Err(ScenarioError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "is a folder, not a scenario file (`omerta-sim list --dir {}` lists its files)",
                    path.display()
                ),
            });
        }
        std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::InvalidData => {
                ScenarioError::Invalid { path: path.to_path_buf(), message: "is not UTF-8 text".into() }
            }
            _ => ScenarioError::Io { path: path.to_path_buf(), source },
        })
    }

    /// Parse scenario text (from `path`, for messages) and apply overrides.
    pub fn parse(text: &str, path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| ScenarioError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })?;
        for s in sets {
            apply_set(&mut table, s)?;
        }
        if !sets.is_empty() {
            // Record the overrides in the table, so the resolved scenario a
            // run keeps (results, snapshots, shards) says how it was made.
            let mut all = match table.remove("overrides") {
                None => Vec::new(),
                Some(toml::Value::Array(a)) if a.iter().all(|v| v.is_str()) => a,
                Some(_) => {
                    return Err(ScenarioError::Invalid {
                        path: path.to_path_buf(),
                        message: "key `overrides` must be a list of \"key=value\" strings".into(),
                    });
                }
            };
            all.extend(sets.iter().map(|s| toml::Value::String(s.trim().to_string())));
            table.insert("overrides".into(), toml::Value::Array(all));
        }
        let study = match table.get("study") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(ScenarioError::Invalid {
                    path: path.to_path_buf(),
                    message: "key `study` must be a string".into(),
                });
            }
            None => {
                return Err(ScenarioError::Invalid {
                    path: path.to_path_buf(),
                    message: "missing key `study` (which study this file configures)".into(),
                });
            }
        };
        Ok(Scenario { path: path.to_path_buf(), study, table })
    }

    /// The file stem, used to name output folders.
    pub fn name(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| self.study.clone())
    }

    /// The resolved table as TOML text (what snapshots store).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.table).expect("a TOML table serialises")
    }

    /// Stable hash of the resolved scenario.
    pub fn hash(&self) -> u64 {
        fnv1a(self.to_toml().as_bytes())
    }

    /// Deserialise the table into a study's scenario struct; errors name the
    /// key and the file.
    ///
    /// The keys every scenario shares ([`HEADER_KEYS`], read by
    /// [`Scenario::header`]) are left out: a study's struct lists only its
    /// own keys, and still refuses unknown ones.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, ScenarioError> {
        let mut own = self.table.clone();
        for k in HEADER_KEYS {
            own.remove(*k);
        }
        decode_table(self, &own)
    }

    /// The value at a `--set` key path (`a.b`, `groups[0].key`), if set.
    pub fn value_at(&self, key: &str) -> Option<&toml::Value> {
        let mut cur: Option<&toml::Value> = None;
        for (i, part) in key.split('.').enumerate() {
            let (name, idx) = key_steps(part.trim())?;
            let v = if i == 0 { self.table.get(name)? } else { cur?.as_table()?.get(name)? };
            cur = idx.iter().try_fold(v, |v, &n| v.as_array()?.get(n));
            cur?;
        }
        cur
    }

    /// The `--set` overrides applied to this scenario, in order (also those
    /// of the run it was recorded from: they are kept in its table under
    /// `overrides`).
    pub fn overrides(&self) -> Vec<String> {
        match self.table.get("overrides") {
            Some(toml::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        }
    }

    /// An `Invalid` error for this file.
    pub fn invalid(&self, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid { path: self.path.clone(), message: message.into() }
    }
}

/// The keys every scenario file shares, whatever its study: what it is
/// (`study`, `description`), how it runs (`fidelity`, `seeds`, `seed_base`,
/// `verdict`, `compare_fidelities`) and the `--set` overrides applied to it
/// (`overrides`, written by the tool).
pub const HEADER_KEYS: &[&str] =
    &["study", "description", "fidelity", "seeds", "seed_base", "verdict", "compare_fidelities", "overrides"];

/// Decode `table` (of `scn`) into `T`; errors name the key and the file.
pub(crate) fn decode_table<T: serde::de::DeserializeOwned>(
    scn: &Scenario,
    table: &toml::Table,
) -> Result<T, ScenarioError> {
    let text = toml::to_string(table).expect("a TOML table serialises");
    toml::from_str(&text).map_err(|e: toml::de::Error| scn.invalid(clean_toml_error(&e, &text)))
}

/// A toml error without the snippet of re-serialised text (whose line
/// numbers would not match the user's file), but with the key it is about.
fn clean_toml_error(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().to_string();
    match e.span().and_then(|s| key_at(text, s.start)) {
        Some(key) if !msg.contains(&format!("`{key}`")) => format!("key `{key}`: {msg}"),
        _ => msg,
    }
}

/// The dotted key whose value sits at byte `at` of TOML `text` written by
/// `toml::to_string` (one `key = value` per line under `[table]` or
/// `[[array]]` headers).
fn key_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"'))?;
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut table: Option<String> = None;
    for l in text[..line_start].lines() {
        let l = l.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            let n = counts.entry(name).or_insert(0);
            table = Some(format!("{name}[{n}]"));
            *n += 1;
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            table = Some(name.to_string());
        }
    }
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values() {
        let mut t = toml::Table::new();
        apply_set(&mut t, "seeds=5").unwrap();
        apply_set(&mut t, "fidelity=reference").unwrap();
        apply_set(&mut t, "verdict.holds_at=0.8").unwrap();
        apply_set(&mut t, r#"full_study.scenarios=["baseline"]"#).unwrap();
        assert_eq!(t["seeds"], toml::Value::Integer(5));
        assert_eq!(t["fidelity"], toml::Value::String("reference".into()));
        assert_eq!(t["verdict"]["holds_at"], toml::Value::Float(0.8));
        assert_eq!(t["full_study"]["scenarios"][0], toml::Value::String("baseline".into()));
        assert!(apply_set(&mut t, "novalue").is_err());
        assert!(apply_set(&mut t, "seeds.x=1").is_err());
        assert!(apply_set(&mut t, "a..b=1").is_err());
    }

    #[test]
    fn set_array_entries() {
        let mut t: toml::Table = "list = [1, 2]\n[[groups]]\nx = 1\n[[groups]]\nx = 2\n".parse().unwrap();
        apply_set(&mut t, "groups[1].x=5").unwrap();
        apply_set(&mut t, "groups[0].y=0.5").unwrap();
        apply_set(&mut t, "list[1]=7").unwrap();
        assert_eq!(t["groups"][1]["x"], toml::Value::Integer(5));
        assert_eq!(t["groups"][0]["y"], toml::Value::Float(0.5));
        assert_eq!(t["list"][1], toml::Value::Integer(7));
        let e = apply_set(&mut t, "groups[2].x=1").unwrap_err().to_string();
        assert!(e.contains("`groups[2]`: there is no entry 2 (the array has 2"), "{e}");
        let e = apply_set(&mut t, "list[0].x=1").unwrap_err().to_string();
        assert!(e.contains("`list[0]` is not a table"), "{e}");
        let e = apply_set(&mut t, "groups[x].x=1").unwrap_err().to_string();
        assert!(e.contains("`groups[x]` is not a key"), "{e}");
        let e = apply_set(&mut t, "nothing[0]=1").unwrap_err().to_string();
        assert!(e.contains("`nothing` is not set"), "{e}");
        let e = apply_set(&mut t, "groups[0]x=1").unwrap_err().to_string();
        assert!(e.contains("is not a key"), "{e}");
        // The table survives a failed override whole.
        assert_eq!(t["groups"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn overrides_are_recorded_and_values_found() {
        let sets = ["groups[0].x=3".to_string(), "seeds=2".to_string()];
        let s = Scenario::parse("study = \"s\"\n[[groups]]\nx = 1\n", Path::new("f.toml"), &sets).unwrap();
        assert_eq!(s.overrides(), sets.to_vec());
        assert_eq!(s.value_at("groups[0].x"), Some(&toml::Value::Integer(3)));
        assert_eq!(s.value_at("groups[1].x"), None);
        assert_eq!(s.value_at("seeds"), Some(&toml::Value::Integer(2)));
        // Overrides of a recorded scenario add to its list.
        let again = Scenario::parse(&s.to_toml(), Path::new("f.toml"), &["seeds=4".to_string()]).unwrap();
        assert_eq!(again.overrides().len(), 3);
        // Without overrides the table is untouched.
        let plain = Scenario::parse("study = \"s\"", Path::new("f.toml"), &[]).unwrap();
        assert!(plain.overrides().is_empty() && !plain.table.contains_key("overrides"));
    }

    #[test]
    fn missing_study() {
        let e = Scenario::parse("seeds = 3", Path::new("f.toml"), &[]).unwrap_err();
        assert!(e.to_string().contains("study"), "{e}");
        let e = Scenario::parse("study = [", Path::new("f.toml"), &[]).unwrap_err();
        assert!(matches!(e, ScenarioError::Parse { .. }));
    }
}
