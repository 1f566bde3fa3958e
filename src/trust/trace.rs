//! Traces of engine calls (JSON Lines) and their replay.
//!
//! A trace has one object per top-level engine call, in call order: `op`,
//! `day` (the engine day after the call), `args` (positional), `kw`
//! (keyword) and the call's recorded outputs. [`parse`] reads a trace into
//! [`TraceLine`]s (a malformed line is a [`TraceError`] with its line
//! number); [`replay`] applies them to a fresh engine with the reference
//! settings and compares every recorded output with its own, returning every
//! [`Mismatch`]. The replayer keeps its own decisions, never the trace's, so
//! the first mismatch is the root cause. [`Recorder`] writes the same format.

use super::attacks::{self, Attack, AttackResult, ReferenceEscrow};
use super::engine::{Ident, TrustEngine, TrustError};
use super::params::{Rules, TrustParams};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A malformed trace: bad JSON, an unknown op or field, an unknown or
/// duplicate identity, a missing or mistyped field, a value out of range, a
/// line or file over the limits ([`MAX_LINE_BYTES`], [`MAX_TRACE_BYTES`],
/// [`MAX_IDENTITIES`]), a call the engine refuses, or a trace that checks
/// nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct TraceError {
    /// 1-based line number; 0 when the whole trace is at fault (empty, or
    /// checks nothing).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => f.write_str(&self.message),
            n => write!(f, "line {n}: {}", self.message),
        }
    }
}

/// The longest line a trace may have, in bytes (the golden traces' longest
/// is under 1 KB): a longer one is an error, read no further.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// The largest trace, in bytes (the 15 golden traces are 0.45 MB together).
pub const MAX_TRACE_BYTES: u64 = 64 << 20;
/// The most identities a trace may create (bounds the engine's memory).
pub const MAX_IDENTITIES: usize = 100_000;

/// A recorded output that differs from the replayed one.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// 1-based line number.
    pub line: usize,
    /// The op.
    pub op: &'static str,
    /// The engine day after the op.
    pub day: u32,
    /// Which output (e.g. `trust.alice`).
    pub field: String,
    /// What the trace says.
    pub expected: String,
    /// What the replay gives.
    pub got: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (day {}): {} expected {} got {}",
            self.line, self.op, self.day, self.field, self.expected, self.got
        )
    }
}

/// Outputs checked, by op.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `solve_trust`.
    pub solves: usize,
    /// `add_assertion` decisions.
    pub assertions: usize,
    /// `compute_local_trust`.
    pub local_trust: usize,
    /// `get_verification_rate`.
    pub rates: usize,
    /// `compute_escrow_delay`.
    pub escrow: usize,
    /// `transfer_coins`.
    pub transfers: usize,
    /// `detect_clusters`.
    pub clusters: usize,
    /// `build_edge_weights`.
    pub edge_builds: usize,
    /// `meta.result` of attack traces.
    pub attack_results: usize,
}

impl Counts {
    /// Checked outputs, attack results excluded.
    pub fn outputs(&self) -> usize {
        self.solves
            + self.assertions
            + self.local_trust
            + self.rates
            + self.escrow
            + self.transfers
            + self.clusters
            + self.edge_builds
    }

    /// Add another file's counts.
    pub fn add(&mut self, o: &Counts) {
        self.solves += o.solves;
        self.assertions += o.assertions;
        self.local_trust += o.local_trust;
        self.rates += o.rates;
        self.escrow += o.escrow;
        self.transfers += o.transfers;
        self.clusters += o.clusters;
        self.edge_builds += o.edge_builds;
        self.attack_results += o.attack_results;
    }
}

/// One engine call with its outputs (recorded, or replayed).
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// Line 1: the trace's tag and seed, and for attacks the result.
    Meta {
        /// `ts_<scenario>` or `fm_<attack>`.
        tag: String,
        /// Seed of the recording.
        seed: Option<u64>,
        /// The attack's result (fm_ traces).
        result: Option<AttackResult>,
    },
    /// Create an identity.
    CreateIdentity {
        /// Its id.
        id: String,
    },
    /// Advance n days.
    AdvanceDays {
        /// Days.
        n: u32,
    },
    /// Record a transaction.
    AddTransaction {
        /// Consumer.
        consumer: String,
        /// Provider.
        provider: String,
        /// Resource weight.
        rw: f64,
        /// Duration (h).
        dur: f64,
        /// Verification score.
        vs: f64,
    },
    /// An assertion and its decision.
    AddAssertion {
        /// Asserter.
        asserter: String,
        /// Subject.
        subject: String,
        /// Raw score.
        score: f64,
        /// Label.
        class: String,
        /// Evidence attached.
        evidence: bool,
        /// Accepted.
        accepted: bool,
    },
    /// Resolve an accusation.
    Resolve {
        /// Accuser.
        accuser: String,
        /// Subject.
        subject: String,
        /// Verified bad.
        verified_bad: bool,
    },
    /// A solve: trust and cluster weight of every identity.
    Solve {
        /// (id, T).
        trust: Vec<(String, f64)>,
        /// (id, w).
        weight: Vec<(String, f64)>,
    },
    /// Build the edge map.
    BuildEdges {
        /// Edge count.
        n_edges: u64,
        /// Weight sum.
        sum_w: f64,
    },
    /// Local trust of `subject` seen by `observer`.
    LocalTrust {
        /// Subject.
        subject: String,
        /// Observer.
        observer: String,
        /// Result (may be +∞).
        result: f64,
    },
    /// Verification rate and the boosts.
    VerificationRate {
        /// Subject.
        subject: String,
        /// Rate.
        result: f64,
        /// Non-zero boosts.
        boosts: Vec<(String, f64)>,
    },
    /// Escrow delay.
    EscrowDelay {
        /// Trust.
        trust: f64,
        /// Value.
        value: f64,
        /// Delay (days).
        result: f64,
    },
    /// A transfer.
    Transfer {
        /// Sender.
        sender: String,
        /// Receiver.
        receiver: String,
        /// Amount.
        amount: f64,
        /// Received.
        received: f64,
        /// Burned.
        burned: f64,
    },
    /// A standalone cluster query.
    DetectClusters {
        /// (id, w).
        result: Vec<(String, f64)>,
    },
}

impl Call {
    /// The op name.
    pub fn op(&self) -> &'static str {
        match self {
            Call::Meta { .. } => "meta",
            Call::CreateIdentity { .. } => "create_identity",
            Call::AdvanceDays { .. } => "advance_days",
            Call::AddTransaction { .. } => "add_transaction",
            Call::AddAssertion { .. } => "add_assertion",
            Call::Resolve { .. } => "resolve_accusation",
            Call::Solve { .. } => "solve_trust",
            Call::BuildEdges { .. } => "build_edge_weights",
            Call::LocalTrust { .. } => "compute_local_trust",
            Call::VerificationRate { .. } => "get_verification_rate",
            Call::EscrowDelay { .. } => "compute_escrow_delay",
            Call::Transfer { .. } => "transfer_coins",
            Call::DetectClusters { .. } => "detect_clusters",
        }
    }

    /// The JSON object of this call at engine day `day` (`None` for meta).
    pub fn to_json(&self, day: Option<u32>) -> Value {
        let num = |x: f64| if x.is_infinite() && x > 0.0 { json!("inf") } else { json!(x) };
        let map = |v: &[(String, f64)]| Value::Object(v.iter().map(|(k, x)| (k.clone(), json!(x))).collect());
        let mut o = Map::new();
        o.insert("op".into(), json!(self.op()));
        if let Some(d) = day {
            o.insert("day".into(), json!(d));
        }
        let (args, kw, outs): (Value, Value, Vec<(&str, Value)>) = match self {
            Call::Meta { tag, seed, result } => {
                o.insert("tag".into(), json!(tag));
                if let Some(s) = seed {
                    o.insert("seed".into(), json!(s));
                }
                if let Some(r) = result {
                    o.insert("result".into(), result_json(r));
                }
                return Value::Object(o);
            }
            Call::CreateIdentity { id } => (json!([id]), json!({}), vec![]),
            Call::AdvanceDays { n } => (json!([n]), json!({}), vec![]),
            Call::AddTransaction { consumer, provider, rw, dur, vs } => (
                json!([consumer, provider]),
                json!({"resource_weight": rw, "duration_hours": dur, "verification_score": vs}),
                vec![],
            ),
            Call::AddAssertion { asserter, subject, score, class, evidence, accepted } => (
                json!([asserter, subject]),
                json!({"score": score, "classification": class, "has_evidence": evidence}),
                vec![("accepted", json!(accepted))],
            ),
            Call::Resolve { accuser, subject, verified_bad } => {
                (json!([accuser, subject]), json!({"verified_bad": verified_bad}), vec![])
            }
            Call::Solve { trust, weight } => {
                (json!([]), json!({}), vec![("trust", map(trust)), ("cluster_weight", map(weight))])
            }
            Call::BuildEdges { n_edges, sum_w } => {
                (json!([]), json!({}), vec![("n_edges", json!(n_edges)), ("sum_w", json!(sum_w))])
            }
            Call::LocalTrust { subject, observer, result } => {
                (json!([subject, observer]), json!({}), vec![("result", num(*result))])
            }
            Call::VerificationRate { subject, result, boosts } => {
                (json!([subject]), json!({}), vec![("result", json!(result)), ("boosts", map(boosts))])
            }
            Call::EscrowDelay { trust, value, result } => {
                (json!([trust, value]), json!({}), vec![("result", json!(*result as i64))])
            }
            Call::Transfer { sender, receiver, amount, received, burned } => (
                json!([sender, receiver, amount]),
                json!({}),
                vec![("received", json!(received)), ("burned", json!(burned))],
            ),
            Call::DetectClusters { result } => (json!([]), json!({}), vec![("result", map(result))]),
        };
        o.insert("args".into(), args);
        o.insert("kw".into(), kw);
        for (k, v) in outs {
            o.insert(k.into(), v);
        }
        Value::Object(o)
    }
}

fn result_json(r: &AttackResult) -> Value {
    json!({
        "attacker_profit": r.attacker_profit,
        "victim_damage": r.victim_damage,
        "network_damage": r.network_damage,
        "detection_day": r.detection_day,
        "recovery_days": r.recovery_days,
        "success": r.success,
    })
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceLine {
    /// 1-based line number.
    pub line: usize,
    /// Engine day after the call (`None` for meta).
    pub day: Option<u32>,
    /// The call and its recorded outputs.
    pub call: Call,
}

/// Records engine calls in the trace format.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorder {
    /// The calls with the engine day after each.
    pub lines: Vec<(Option<u32>, Call)>,
}

impl Recorder {
    /// Record a call made at engine day `day`.
    pub fn push(&mut self, day: u32, call: Call) {
        self.lines.push((Some(day), call));
    }

    /// The trace as JSON Lines.
    pub fn to_jsonl(&self) -> String {
        let mut s = String::new();
        for (day, call) in &self.lines {
            s.push_str(&call.to_json(*day).to_string());
            s.push('\n');
        }
        s
    }
}

// ----------------------------------------------------------------------
// Parsing

/// A JSON value for a message, cut to a readable length.
fn show(v: &Value) -> String {
    short(&v.to_string())
}

/// Text for a message, cut to a readable length.
fn short(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}... ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

struct Fields<'a> {
    line: usize,
    op: &'a str,
    obj: &'a Map<String, Value>,
    args: &'a [Value],
    kw: Option<&'a Map<String, Value>>,
}

impl<'a> Fields<'a> {
    fn err(&self, m: impl Into<String>) -> TraceError {
        TraceError { line: self.line, message: format!("{}: {}", self.op, m.into()) }
    }
    fn arg(&self, i: usize, what: &str) -> Result<&'a Value, TraceError> {
        self.args.get(i).ok_or_else(|| self.err(format!("missing argument {} ({what})", i + 1)))
    }
    fn arg_str(&self, i: usize, what: &str) -> Result<String, TraceError> {
        match self.arg(i, what)? {
            Value::String(s) => Ok(s.clone()),
            v => Err(self.err(format!("argument {} ({what}) must be a string, got {}", i + 1, show(v)))),
        }
    }
    fn arg_num(&self, i: usize, what: &str) -> Result<f64, TraceError> {
        let v = self.arg(i, what)?;
        v.as_f64().ok_or_else(|| self.err(format!("argument {} ({what}) must be a number, got {}", i + 1, show(v))))
    }
    /// A keyword value, or positional argument `pos` (checked by
    /// [`check_shape`] not to be given both ways), or the default.
    fn opt(&self, key: &str, pos: usize) -> Option<&'a Value> {
        self.kw.and_then(|k| k.get(key)).or_else(|| self.args.get(pos))
    }
    fn kw_num(&self, key: &str, pos: usize, default: Option<f64>) -> Result<f64, TraceError> {
        match self.opt(key, pos) {
            Some(v) => v.as_f64().ok_or_else(|| self.err(format!("`{key}` must be a number, got {}", show(v)))),
            None => default.ok_or_else(|| self.err(format!("missing required keyword `{key}`"))),
        }
    }
    fn kw_bool(&self, key: &str, pos: usize, default: bool) -> Result<bool, TraceError> {
        match self.opt(key, pos) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(format!("`{key}` must be true or false, got {}", show(v)))),
            None => Ok(default),
        }
    }
    fn kw_str(&self, key: &str, pos: usize, default: &str) -> Result<String, TraceError> {
        match self.opt(key, pos) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.err(format!("`{key}` must be a string, got {}", show(v)))),
            None => Ok(default.to_string()),
        }
    }
    fn out(&self, key: &str) -> Result<&'a Value, TraceError> {
        self.obj.get(key).ok_or_else(|| self.err(format!("missing recorded output `{key}`")))
    }
    fn out_num(&self, key: &str) -> Result<f64, TraceError> {
        let v = self.out(key)?;
        num_or_inf(v).ok_or_else(|| self.err(format!("output `{key}` must be a number, got {}", show(v))))
    }
    fn out_bool(&self, key: &str) -> Result<bool, TraceError> {
        match self.out(key)? {
            Value::Bool(b) => Ok(*b),
            v => Err(self.err(format!("output `{key}` must be true or false, got {}", show(v)))),
        }
    }
    fn out_map(&self, key: &str) -> Result<Vec<(String, f64)>, TraceError> {
        match self.out(key)? {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| {
                    v.as_f64().map(|x| (k.clone(), x)).ok_or_else(|| {
                        self.err(format!("output `{key}.{}` must be a number, got {}", short(k), show(v)))
                    })
                })
                .collect(),
            v => Err(self.err(format!("output `{key}` must be an object, got {}", show(v)))),
        }
    }
}

fn num_or_inf(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) if s == "inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-inf" => Some(f64::NEG_INFINITY),
        _ => v.as_f64(),
    }
}

fn parse_result(f: &Fields<'_>, v: &Value) -> Result<AttackResult, TraceError> {
    let o = v.as_object().ok_or_else(|| f.err("`result` must be an object"))?;
    const KEYS: [&str; 8] = [
        "attacker_profit",
        "victim_damage",
        "network_damage",
        "detection_day",
        "recovery_days",
        "success",
        "name",
        "notes",
    ];
    if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(f.err(format!("unknown field `result.{}` (known: {})", short(k), KEYS.join(", "))));
    }
    let num = |k: &str| o.get(k).and_then(Value::as_f64).ok_or_else(|| f.err(format!("`result.{k}` must be a number")));
    let int =
        |k: &str| o.get(k).and_then(Value::as_i64).ok_or_else(|| f.err(format!("`result.{k}` must be an integer")));
    Ok(AttackResult {
        attacker_profit: num("attacker_profit")?,
        victim_damage: num("victim_damage")?,
        network_damage: num("network_damage")?,
        detection_day: int("detection_day")?,
        recovery_days: int("recovery_days")?,
        success: o.get("success").and_then(Value::as_bool).ok_or_else(|| f.err("`result.success` must be a bool"))?,
    })
}

/// What a line of each op may hold: at most `args` positional arguments,
/// these keyword arguments (with their positional index) and these recorded
/// outputs. `None`: not an op.
struct Shape {
    args: usize,
    kw: &'static [(&'static str, usize)],
    outputs: &'static [&'static str],
}

fn shape(op: &str) -> Option<Shape> {
    let (args, kw, outputs): (usize, &'static [(&'static str, usize)], &'static [&'static str]) = match op {
        "create_identity" | "advance_days" => (1, &[], &[]),
        "add_transaction" => (5, &[("resource_weight", 2), ("duration_hours", 3), ("verification_score", 4)], &[]),
        "add_assertion" => (5, &[("score", 2), ("classification", 3), ("has_evidence", 4)], &["accepted"]),
        "resolve_accusation" => (3, &[("verified_bad", 2)], &[]),
        "solve_trust" => (1, &[("verbose", 0)], &["trust", "cluster_weight"]),
        "build_edge_weights" => (0, &[], &["n_edges", "sum_w"]),
        "compute_local_trust" => (2, &[], &["result"]),
        "get_verification_rate" => (1, &[], &["result", "boosts"]),
        "compute_escrow_delay" => (2, &[], &["result"]),
        "transfer_coins" => (3, &[], &["received", "burned"]),
        "detect_clusters" => (0, &[], &["result"]),
        _ => return None,
    };
    Some(Shape { args, kw, outputs })
}

/// Unknown fields and keywords, too many arguments, an argument given both
/// positionally and by keyword: a misspelt keyword must not silently fall
/// back to its default.
fn check_shape(f: &Fields<'_>, sh: &Shape) -> Result<(), TraceError> {
    const COMMON: [&str; 4] = ["op", "day", "args", "kw"];
    if let Some(k) = f.obj.keys().find(|k| !COMMON.contains(&k.as_str()) && !sh.outputs.contains(&k.as_str())) {
        let outs = match sh.outputs {
            [] => "no recorded outputs".to_string(),
            o => format!("outputs {}", o.join(", ")),
        };
        return Err(f.err(format!("unknown field `{}` (a {} line has op, day, args, kw and {outs})", short(k), f.op)));
    }
    if f.args.len() > sh.args {
        return Err(f.err(format!("{} arguments, expected at most {}", f.args.len(), sh.args)));
    }
    for k in f.kw.into_iter().flat_map(|m| m.keys()) {
        match sh.kw.iter().find(|(name, _)| name == k) {
            None if sh.kw.is_empty() => {
                return Err(f.err(format!("unknown keyword `{}` ({} takes none)", short(k), f.op)));
            }
            None => {
                let known: Vec<&str> = sh.kw.iter().map(|(n, _)| *n).collect();
                return Err(f.err(format!("unknown keyword `{}` (known: {})", short(k), known.join(", "))));
            }
            Some((_, pos)) if *pos < f.args.len() => {
                return Err(f.err(format!("`{k}` given twice: as argument {} and as a keyword", pos + 1)));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A JSON value read with duplicate keys refused (serde_json would keep the
/// last one silently).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(Strict(x)) = seq.next_element()? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if m.contains_key(&k) {
                return Err(serde::de::Error::custom(format!("duplicate key `{}`", short(&k))));
            }
            let Strict(v) = map.next_value()?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// Parse one line's JSON; the message gives the column (the line is the
/// trace's).
fn json_line(text: &str, line: usize) -> Result<Value, TraceError> {
    serde_json::from_str::<Strict>(text).map(|s| s.0).map_err(|e| {
        let full = e.to_string();
        let what = full.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&full);
        TraceError { line, message: format!("not valid JSON (column {}): {what}", e.column()) }
    })
}

/// Parse one line (1-based `line`).
pub fn parse_line(text: &str, line: usize) -> Result<TraceLine, TraceError> {
    let v = json_line(text, line)?;
    let obj = v.as_object().ok_or_else(|| TraceError { line, message: "expected a JSON object".into() })?;
    let op = match obj.get("op") {
        Some(Value::String(s)) => s.as_str(),
        Some(o) => return Err(TraceError { line, message: format!("`op` must be a string, got {}", show(o)) }),
        None => return Err(TraceError { line, message: "missing `op`".into() }),
    };
    let sh = match (op, shape(op)) {
        ("meta", _) => None,
        (_, Some(sh)) => Some(sh),
        (other, None) => {
            return Err(TraceError {
                line,
                message: format!(
                    "unknown op `{}` (known: meta, create_identity, advance_days, add_transaction, \
                     add_assertion, resolve_accusation, solve_trust, build_edge_weights, compute_local_trust, \
                     get_verification_rate, compute_escrow_delay, transfer_coins, detect_clusters)",
                    short(other)
                ),
            });
        }
    };
    let args: &[Value] = match obj.get("args") {
        Some(Value::Array(a)) => a,
        Some(o) => return Err(TraceError { line, message: format!("{op}: `args` must be an array, got {}", show(o)) }),
        None => &[],
    };
    let kw = match obj.get("kw") {
        Some(Value::Object(m)) => Some(m),
        Some(Value::Null) | None => None,
        Some(o) => return Err(TraceError { line, message: format!("{op}: `kw` must be an object, got {}", show(o)) }),
    };
    let f = Fields { line, op, obj, args, kw };
    match &sh {
        Some(sh) => check_shape(&f, sh)?,
        None => {
            const META: [&str; 4] = ["op", "tag", "seed", "result"];
            if let Some(k) = obj.keys().find(|k| !META.contains(&k.as_str())) {
                return Err(f.err(format!("unknown field `{}` (a meta line has {})", short(k), META.join(", "))));
            }
        }
    }
    let day = match obj.get("day") {
        Some(d) => {
            let x = d.as_f64().ok_or_else(|| f.err(format!("`day` must be a number, got {}", show(d))))?;
            if x < 0.0 || x.fract() != 0.0 || x > f64::from(u32::MAX) {
                return Err(f.err(format!(
                    "`day` must be a whole number of days from 0 to {}, got {}",
                    u32::MAX,
                    show(d)
                )));
            }
            Some(x as u32)
        }
        None if op == "meta" => None,
        None => return Err(f.err("missing `day`")),
    };
    let call = match op {
        "meta" => Call::Meta {
            tag: match obj.get("tag") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(f.err("missing string `tag`")),
            },
            seed: match obj.get("seed") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64().ok_or_else(|| f.err(format!("`seed` must be a whole number >= 0, got {}", show(v))))?,
                ),
            },
            result: match obj.get("result") {
                Some(Value::Null) | None => None,
                Some(r) => Some(parse_result(&f, r)?),
            },
        },
        "create_identity" => Call::CreateIdentity { id: f.arg_str(0, "identity id")? },
        "advance_days" => {
            let n = f.arg_num(0, "days")?;
            if n < 0.0 || n.fract() != 0.0 || n > f64::from(u32::MAX) {
                return Err(f.err(format!("days must be a whole number from 0 to {}, got {n}", u32::MAX)));
            }
            Call::AdvanceDays { n: n as u32 }
        }
        "add_transaction" => Call::AddTransaction {
            consumer: f.arg_str(0, "consumer")?,
            provider: f.arg_str(1, "provider")?,
            rw: f.kw_num("resource_weight", 2, Some(1.0))?,
            dur: f.kw_num("duration_hours", 3, Some(1.0))?,
            vs: f.kw_num("verification_score", 4, Some(1.0))?,
        },
        "add_assertion" => Call::AddAssertion {
            asserter: f.arg_str(0, "asserter")?,
            subject: f.arg_str(1, "subject")?,
            score: f.kw_num("score", 2, None)?,
            class: f.kw_str("classification", 3, "UNCLASSIFIED")?,
            evidence: f.kw_bool("has_evidence", 4, true)?,
            accepted: f.out_bool("accepted")?,
        },
        "resolve_accusation" => Call::Resolve {
            accuser: f.arg_str(0, "accuser")?,
            subject: f.arg_str(1, "subject")?,
            verified_bad: f.kw_bool("verified_bad", 2, false)?,
        },
        "solve_trust" => {
            f.kw_bool("verbose", 0, false)?;
            Call::Solve { trust: f.out_map("trust")?, weight: f.out_map("cluster_weight")? }
        }
        "build_edge_weights" => {
            let n = f.out_num("n_edges")?;
            if n < 0.0 || n.fract() != 0.0 {
                return Err(f.err(format!("output `n_edges` must be a whole number, got {n}")));
            }
            Call::BuildEdges { n_edges: n as u64, sum_w: f.out_num("sum_w")? }
        }
        "compute_local_trust" => Call::LocalTrust {
            subject: f.arg_str(0, "subject")?,
            observer: f.arg_str(1, "observer")?,
            result: f.out_num("result")?,
        },
        "get_verification_rate" => Call::VerificationRate {
            subject: f.arg_str(0, "subject")?,
            result: f.out_num("result")?,
            boosts: f.out_map("boosts")?,
        },
        "compute_escrow_delay" => Call::EscrowDelay {
            trust: f.arg_num(0, "trust")?,
            value: f.arg_num(1, "value")?,
            result: f.out_num("result")?,
        },
        "transfer_coins" => Call::Transfer {
            sender: f.arg_str(0, "sender")?,
            receiver: f.arg_str(1, "receiver")?,
            amount: f.arg_num(2, "amount")?,
            received: f.out_num("received")?,
            burned: f.out_num("burned")?,
        },
        "detect_clusters" => Call::DetectClusters { result: f.out_map("result")? },
        other => return Err(f.err(format!("no parser for op `{other}`"))),
    };
    if matches!(call, Call::Meta { .. }) && line != 1 {
        return Err(f.err("`meta` may only be the first line"));
    }
    Ok(TraceLine { line, day, call })
}

/// Parse a whole trace; blank lines are skipped (but counted).
pub fn parse(text: &str) -> Result<Vec<TraceLine>, TraceError> {
    read(text.as_bytes())
}

/// Read and parse a trace from `r` (a file, stdin, bytes) in bounded memory:
/// a line longer than [`MAX_LINE_BYTES`] or a trace larger than
/// [`MAX_TRACE_BYTES`] is an error as soon as it is seen (so `/dev/zero` or
/// an endless stream fails quickly), as is text that is not UTF-8. Lines end
/// with `\n` or `\r\n`; blank lines are skipped (but counted).
pub fn read(r: impl std::io::Read) -> Result<Vec<TraceLine>, TraceError> {
    use std::io::{BufRead, Read};
    let mut r = std::io::BufReader::new(r);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let (mut line, mut total) = (0usize, 0u64);
    loop {
        line += 1;
        buf.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| TraceError { line, message: format!("cannot read the trace: {e}") })?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_TRACE_BYTES {
            return Err(TraceError {
                line,
                message: format!("the trace is larger than {} MiB, the most a trace may be", MAX_TRACE_BYTES >> 20),
            });
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if buf.len() > MAX_LINE_BYTES {
            return Err(TraceError {
                line,
                message: format!("the line is longer than {} MiB, the most a line may be", MAX_LINE_BYTES >> 20),
            });
        }
        let text = std::str::from_utf8(&buf).map_err(|e| TraceError {
            line,
            message: format!("not UTF-8 text (byte {} of the line)", e.valid_up_to() + 1),
        })?;
        if !text.trim().is_empty() {
            out.push(parse_line(text, line)?);
        }
    }
    Ok(out)
}

// ----------------------------------------------------------------------
// Replay

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayReport {
    /// The trace's tag (from meta).
    pub tag: Option<String>,
    /// Outputs checked.
    pub counts: Counts,
    /// Every mismatch, in line order.
    pub mismatches: Vec<Mismatch>,
}

/// What attack results are computed from.
#[derive(Default)]
struct Log {
    /// Stored trust after each solve, by identity index.
    solves: Vec<(u32, Vec<f64>)>,
    /// (day, consumer, provider, vs).
    txs: Vec<(u32, usize, usize, f64)>,
    /// (day, asserter, subject, accepted).
    assertions: Vec<(u32, usize, usize, bool)>,
    /// (solves so far, value).
    local: Vec<(usize, f64)>,
    escrow: Vec<f64>,
    transfers: Vec<(f64, f64, f64)>,
    clusters: Vec<Vec<f64>>,
}

const TRUST_TOL: f64 = 1e-9;

fn fmt(x: f64) -> String {
    if x.is_infinite() { if x > 0.0 { "inf".into() } else { "-inf".into() } } else { format!("{x}") }
}

struct Checker<'a> {
    line: usize,
    op: &'static str,
    day: u32,
    out: &'a mut Vec<Mismatch>,
}

impl Checker<'_> {
    fn push(&mut self, field: impl Into<String>, expected: String, got: String) {
        self.out.push(Mismatch { line: self.line, op: self.op, day: self.day, field: field.into(), expected, got });
    }
    /// Absolute tolerance (trust values, cluster weights).
    fn abs(&mut self, field: impl Into<String>, expected: f64, got: f64) {
        if !((expected - got).abs() <= TRUST_TOL || expected == got) {
            self.push(field, fmt(expected), fmt(got));
        }
    }
    /// Relative tolerance 1e-9·max(1, |expected|); ∞ matches only itself.
    fn rel(&mut self, field: impl Into<String>, expected: f64, got: f64) {
        let ok = if expected.is_infinite() || got.is_infinite() {
            expected == got
        } else {
            (expected - got).abs() <= TRUST_TOL * expected.abs().max(1.0)
        };
        if !ok {
            self.push(field, fmt(expected), fmt(got));
        }
    }
    fn exact<T: PartialEq + std::fmt::Display>(&mut self, field: impl Into<String>, expected: T, got: T) {
        if expected != got {
            self.push(field, expected.to_string(), got.to_string());
        }
    }
    /// Per-identity maps: exact key sets, then values.
    fn map(&mut self, field: &str, expected: &[(String, f64)], got: &[(String, f64)], absent_zero: bool, rel: bool) {
        let e: BTreeMap<&str, f64> = expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let g: BTreeMap<&str, f64> = got.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        if !absent_zero {
            let ek: Vec<&str> = e.keys().copied().collect();
            let gk: Vec<&str> = g.keys().copied().collect();
            if ek != gk {
                self.push(format!("{field} (identities)"), ek.join(","), gk.join(","));
                return;
            }
        }
        let keys: std::collections::BTreeSet<&str> = e.keys().chain(g.keys()).copied().collect();
        for k in keys {
            let (x, y) = (e.get(k).copied().unwrap_or(0.0), g.get(k).copied().unwrap_or(0.0));
            if rel {
                self.rel(format!("{field}.{k}"), x, y);
            } else {
                self.abs(format!("{field}.{k}"), x, y);
            }
        }
    }
}

struct Replayer {
    engine: TrustEngine,
    names: BTreeMap<String, u32>,
    log: Log,
}

impl Replayer {
    fn id(&self, name: &str, line: usize, op: &str) -> Result<Ident, TraceError> {
        self.names.get(name).map(|&i| Ident(i)).ok_or_else(|| TraceError {
            line,
            message: format!("{op}: unknown identity `{}` (no create_identity line before this one)", short(name)),
        })
    }

    fn all(&self, v: &[f64]) -> Vec<(String, f64)> {
        (0..self.engine.len()).map(|i| (self.engine.name(Ident(i as u32)).to_string(), v[i])).collect()
    }
}

fn engine_err(line: usize, op: &str, e: TrustError) -> TraceError {
    TraceError { line, message: format!("{op}: {e}") }
}

/// Replay a parsed trace on a fresh engine at day 0 with the default parameters
/// and the reference rules. A call the engine refuses (e.g. a
/// self-transaction) is a malformed trace, and so is a trace that checks
/// nothing (empty, or no recorded output and no attack result).
pub fn replay(lines: &[TraceLine]) -> Result<ReplayReport, TraceError> {
    if lines.is_empty() {
        return Err(TraceError { line: 0, message: "the trace is empty: it checks nothing".into() });
    }
    let engine = TrustEngine::new(TrustParams::default(), Rules::REFERENCE)
        .map_err(|e| TraceError { line: 0, message: e.to_string() })?;
    let mut r = Replayer { engine, names: BTreeMap::new(), log: Log::default() };
    let mut report = ReplayReport::default();
    let mut meta: Option<(usize, AttackResult)> = None;
    for tl in lines {
        let line = tl.line;
        let op = tl.call.op();
        let mut mism = Vec::new();
        match &tl.call {
            Call::Meta { tag, result, .. } => {
                report.tag = Some(tag.clone());
                if let Some(res) = result {
                    meta = Some((line, *res));
                }
            }
            Call::CreateIdentity { id } => {
                if r.names.contains_key(id) {
                    return Err(TraceError { line, message: format!("{op}: identity `{}` already exists", short(id)) });
                }
                if r.names.len() >= MAX_IDENTITIES {
                    return Err(TraceError {
                        line,
                        message: format!("{op}: more than {MAX_IDENTITIES} identities, the most a trace may create"),
                    });
                }
                let i = r.engine.create_identity(id);
                r.names.insert(id.clone(), i.0);
            }
            Call::AdvanceDays { n } => {
                let day = r.engine.day();
                if day.checked_add(*n).is_none() {
                    return Err(TraceError {
                        line,
                        message: format!("{op}: day {day} + {n} days is past the last day, {}", u32::MAX),
                    });
                }
                r.engine.advance_days(*n).map_err(|e| engine_err(line, op, e))?
            }
            Call::AddTransaction { consumer, provider, rw, dur, vs } => {
                let (c, p) = (r.id(consumer, line, op)?, r.id(provider, line, op)?);
                r.engine.add_transaction(c, p, *rw, *dur, *vs).map_err(|e| engine_err(line, op, e))?;
                r.log.txs.push((r.engine.day(), c.idx(), p.idx(), *vs));
            }
            Call::AddAssertion { asserter, subject, score, class, evidence, accepted } => {
                let (a, s) = (r.id(asserter, line, op)?, r.id(subject, line, op)?);
                let got =
                    r.engine.add_assertion(a, s, *score, class, *evidence).map_err(|e| engine_err(line, op, e))?;
                report.counts.assertions += 1;
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.exact("accepted", *accepted, got);
                r.log.assertions.push((r.engine.day(), a.idx(), s.idx(), got));
            }
            Call::Resolve { accuser, subject, verified_bad } => {
                let (a, s) = (r.id(accuser, line, op)?, r.id(subject, line, op)?);
                r.engine.resolve_accusation(a, s, *verified_bad).map_err(|e| engine_err(line, op, e))?;
            }
            Call::Solve { trust, weight } => {
                r.engine.solve();
                report.counts.solves += 1;
                let (t, w) = (r.engine.trusts(), (0..r.engine.len()).map(|i| r.engine.weight(Ident(i as u32))));
                let w: Vec<f64> = w.collect();
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.map("trust", trust, &r.all(&t), false, false);
                c.map("cluster_weight", weight, &r.all(&w), false, false);
                r.log.solves.push((r.engine.day(), t));
            }
            Call::BuildEdges { n_edges, sum_w } => {
                r.engine.build_edge_snapshot();
                report.counts.edge_builds += 1;
                let s = r.engine.edge_snapshot_summary();
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.exact("n_edges", *n_edges, s.n_edges as u64);
                c.rel("sum_w", *sum_w, s.sum_w);
            }
            Call::LocalTrust { subject, observer, result } => {
                let (s, o) = (r.id(subject, line, op)?, r.id(observer, line, op)?);
                let got = r.engine.local_trust(o, s).map_err(|e| engine_err(line, op, e))?;
                report.counts.local_trust += 1;
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.rel("result", *result, got);
                r.log.local.push((r.log.solves.len(), got));
            }
            Call::VerificationRate { subject, result, boosts } => {
                let s = r.id(subject, line, op)?;
                let got = r.engine.verification_rate(s);
                report.counts.rates += 1;
                let gb: Vec<(String, f64)> =
                    r.engine.boosts().into_iter().map(|(i, b)| (r.engine.name(i).to_string(), b)).collect();
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.rel("result", *result, got);
                c.map("boosts", boosts, &gb, true, true);
            }
            Call::EscrowDelay { trust, value, result } => {
                let got = r.engine.escrow_delay(*trust, *value);
                report.counts.escrow += 1;
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.exact("result", fmt(*result), fmt(got));
                r.log.escrow.push(got);
            }
            Call::Transfer { sender, receiver, amount, received, burned } => {
                let (s, d) = (r.id(sender, line, op)?, r.id(receiver, line, op)?);
                let got = r.engine.transfer(s, d, *amount).map_err(|e| engine_err(line, op, e))?;
                report.counts.transfers += 1;
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.rel("received", *received, got.received);
                c.rel("burned", *burned, got.burned);
                r.log.transfers.push((*amount, got.received, got.burned));
            }
            Call::DetectClusters { result } => {
                let w = r.engine.clusters().weights;
                report.counts.clusters += 1;
                let mut c = Checker { line, op, day: r.engine.day(), out: &mut mism };
                c.map("result", result, &r.all(&w), false, false);
                r.log.clusters.push(w);
            }
        }
        if let Some(d) = tl.day
            && d != r.engine.day()
        {
            Checker { line, op, day: r.engine.day(), out: &mut mism }.exact("day", d, r.engine.day());
        }
        report.mismatches.extend(mism);
    }
    if let (Some((line, expected)), Some(tag)) = (meta, report.tag.as_deref()) {
        let attack = tag.strip_prefix("fm_").and_then(Attack::from_id);
        let mut c = Checker { line, op: "meta", day: r.engine.day(), out: &mut report.mismatches };
        match attack {
            None => c.push("result", "an attack result".into(), format!("no attack named by tag `{tag}`")),
            Some(a) => match attack_result(a, &r) {
                Ok(got) => {
                    report.counts.attack_results += 1;
                    c.rel("result.attacker_profit", expected.attacker_profit, got.attacker_profit);
                    c.rel("result.victim_damage", expected.victim_damage, got.victim_damage);
                    c.rel("result.network_damage", expected.network_damage, got.network_damage);
                    c.exact("result.detection_day", expected.detection_day, got.detection_day);
                    c.exact("result.recovery_days", expected.recovery_days, got.recovery_days);
                    c.exact("result.success", expected.success, got.success);
                }
                Err(m) => c.push("result", "an attack result".into(), format!("cannot compute: {m}")),
            },
        }
    }
    if report.counts.outputs() == 0 && report.counts.attack_results == 0 && report.mismatches.is_empty() {
        return Err(TraceError {
            line: 0,
            message: format!(
                "the trace checks nothing: its {} lines record no output (solve_trust, add_assertion, \
                 compute_local_trust, ...) and no attack result",
                lines.len()
            ),
        });
    }
    Ok(report)
}

/// Read, parse and replay a trace from `r` in bounded memory (see [`read`]).
pub fn replay_reader(r: impl std::io::Read) -> Result<ReplayReport, TraceError> {
    replay(&read(r)?)
}

/// Parse and replay a trace given as bytes: any input is a report or a
/// [`TraceError`], never a panic (the entry point for fuzzing).
pub fn replay_bytes(bytes: &[u8]) -> Result<ReplayReport, TraceError> {
    replay_reader(bytes)
}

/// Parse and replay a trace text.
pub fn replay_text(text: &str) -> Result<ReplayReport, TraceError> {
    replay(&parse(text)?)
}

/// Recompute an attack's reference result from the replayed outputs.
fn attack_result(a: Attack, r: &Replayer) -> Result<AttackResult, String> {
    let log = &r.log;
    let id = |name: &str| r.names.get(name).map(|&i| i as usize).ok_or_else(|| format!("no identity `{name}`"));
    let cp = |k: usize| log.solves.get(k).map(|s| &s.1).ok_or_else(|| format!("no checkpoint {}", k + 1));
    let t = |k: usize, who: usize| cp(k).map(|v| v.get(who).copied().unwrap_or(0.0));
    let named = |prefix: &str| -> Vec<usize> {
        r.names
            .iter()
            .filter(|(n, _)| {
                n.strip_prefix(prefix).is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(_, &i)| i as usize)
            .collect()
    };
    match a {
        Attack::LongCon => {
            let att = id("attacker")?;
            let (before, after) = (t(0, att)?, t(1, att)?);
            let delay = *log.escrow.first().ok_or("no escrow delay")?;
            let d0 = log.solves[0].0.checked_add(1).ok_or("the first checkpoint is on the last possible day")?;
            let s_b = r.engine.payment_share(before);
            let half = 12.0 * s_b;
            let mut book = ReferenceEscrow::default();
            // Jobs and complaints in call order: merge by day (a day's job
            // comes before its complaint).
            let jobs: Vec<u32> = log.txs.iter().filter(|x| x.0 >= d0 && x.2 == att).map(|x| x.0 - d0).collect();
            let complaints: Vec<u32> = log.assertions.iter().filter(|x| x.0 >= d0).map(|x| x.0 - d0).collect();
            let (mut j, mut c) = (0, 0);
            while j < jobs.len() || c < complaints.len() {
                if j < jobs.len() && (c >= complaints.len() || jobs[j] <= complaints[c]) {
                    book.job(jobs[j], half, delay);
                    j += 1;
                } else {
                    book.complaint(complaints[c]);
                    c += 1;
                }
            }
            // An identity created after the checkpoint has no trust in it (0).
            let consumers: f64 = named("consumer").into_iter().map(|i| t(1, i).unwrap_or(0.0)).sum();
            Ok(attacks::long_con(book.final_revenue(), before, after, consumers, d0 - 1))
        }
        Attack::Laundering => {
            let (v1, v2) = (id("bad_actor_v1")?, id("bad_actor_v2")?);
            let &(amount, received, burned) = log.transfers.first().ok_or("no transfer")?;
            Ok(attacks::laundering(t(0, v1)?, t(1, v1)?, t(2, v2)?, amount, received, burned))
        }
        Attack::Assassination => {
            let v = id("victim")?;
            let ad: f64 = named("attacker").into_iter().map(|i| t(0, i).unwrap_or(0.0) - t(1, i).unwrap_or(0.0)).sum();
            Ok(attacks::assassination(t(0, v)?, t(1, v)?, ad))
        }
        Attack::Authority => {
            let (au, ta, co) = (id("authority")?, id("target")?, id("honest_competitor")?);
            Ok(attacks::authority((t(0, au)?, t(1, au)?), (t(0, ta)?, t(1, ta)?), (t(0, co)?, t(1, co)?)))
        }
        Attack::Degradation => {
            let d = id("degrader")?;
            let last = log.solves.len().checked_sub(1).ok_or("no checkpoint")?;
            let phase = log.assertions.iter().find(|x| x.3).map(|x| x.0.saturating_sub(91) / 30);
            Ok(attacks::degradation(t(0, d)?, t(last, d)?, phase, (log.solves.len() - 1) as u32))
        }
        Attack::Sockpuppet => {
            let (ta, co) = (id("target")?, id("honest_competitor")?);
            let socks = named("sock");
            let w = log.clusters.first().ok_or("no cluster query")?;
            // A sock created after the cluster query was not flagged in it.
            let flagged = socks.iter().filter(|&&i| w.get(i).is_some_and(|&x| x < 1.0)).count() as u32;
            Ok(attacks::sockpuppet((t(0, ta)?, t(1, ta)?), (t(0, co)?, t(1, co)?), flagged, socks.len() as u32))
        }
        Attack::Arbitrage => {
            let arb = id("arbitrageur")?;
            let l_b = log.local.get(1).ok_or("fewer than two local-trust queries")?.1;
            let share = r.engine.payment_share(l_b);
            let (mut profit, mut accepted) = (0.0, 0u32);
            for &(solves, l) in log.local.iter().skip(2) {
                if solves >= 2 {
                    break;
                }
                if l > 10.0 {
                    profit += 24.0 * share;
                    accepted += 1;
                } else if l > 2.0 {
                    profit += 0.5 * share;
                }
            }
            Ok(attacks::arbitrage(t(0, arb)?, t(1, arb)?, profit, accepted))
        }
        Attack::Redemption => {
            let x = id("exploiter")?;
            let n = log.solves.len();
            if n < 3 || n.is_multiple_of(2) {
                return Err(format!("{n} checkpoints: expected 2 per cycle plus a final one"));
            }
            let peaks: Vec<f64> = (0..(n - 1) / 2).map(|c| t(2 * c, x)).collect::<Result<_, _>>()?;
            let extracted = 12.0 * log.txs.iter().filter(|tx| tx.2 == x && tx.3 == 0.2).count() as f64;
            Ok(attacks::redemption(&peaks, t(n - 1, x)?, extracted))
        }
        Attack::Crisis => {
            let (at, vi) = (id("attacker")?, id("victim_provider")?);
            Ok(attacks::crisis((t(0, at)?, t(2, at)?), (t(0, vi)?, t(2, vi)?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> TraceError {
        replay_text(text).unwrap_err()
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let e = err("{\"op\": \"meta\", \"tag\": \"ts_x\", \"seed\": 1}\n{not json\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not valid JSON"), "{e}");
        let e = err("{\"op\": \"frobnicate\", \"day\": 0, \"args\": [], \"kw\": {}}\n");
        assert!(e.message.contains("unknown op `frobnicate`"), "{e}");
        let e = err(concat!(
            "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"a\"], \"kw\": {}}\n",
            "{\"op\": \"add_transaction\", \"day\": 0, \"args\": [\"a\", \"zed\"], \"kw\": {}}\n"
        ));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unknown identity `zed`"), "{e}");
        let e = err("{\"op\": \"add_assertion\", \"day\": 0, \"args\": [\"a\", \"b\"], \"kw\": {}}\n");
        assert!(e.message.contains("score"), "{e}");
        let e = err("{\"op\": \"advance_days\", \"day\": 1, \"args\": [-1], \"kw\": {}}\n");
        assert!(e.message.contains("whole number"), "{e}");
        let e = err(concat!(
            "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"a\"], \"kw\": {}}\n",
            "{\"op\": \"add_transaction\", \"day\": 0, \"args\": [\"a\", \"a\"], \"kw\": {}}\n"
        ));
        assert!(e.message.contains("itself"), "{e}");
        let e = err("{\"op\": \"solve_trust\", \"day\": 0, \"args\": [], \"kw\": {}}\n");
        assert!(e.message.contains("missing recorded output `trust`"), "{e}");
        let e = err("[1, 2]\n");
        assert!(e.message.contains("JSON object"), "{e}");
    }

    #[test]
    fn mismatches_are_reported() {
        let text = concat!(
            "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"a\"], \"kw\": {}}\n",
            "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"b\"], \"kw\": {}}\n",
            "{\"op\": \"advance_days\", \"day\": 1, \"args\": [1], \"kw\": {}}\n",
            "{\"op\": \"add_transaction\", \"day\": 1, \"args\": [\"b\", \"a\"], \"kw\": {\"resource_weight\": 2.0, \"duration_hours\": 4.0, \"verification_score\": 0.95}}\n",
            "{\"op\": \"advance_days\", \"day\": 2, \"args\": [1], \"kw\": {}}\n",
            "{\"op\": \"solve_trust\", \"day\": 2, \"args\": [], \"kw\": {}, \"trust\": {\"a\": 1.0, \"b\": 0}, \"cluster_weight\": {\"a\": 1.0, \"b\": 1.0}}\n",
            "{\"op\": \"compute_local_trust\", \"day\": 2, \"args\": [\"a\", \"a\"], \"kw\": {}, \"result\": \"inf\"}\n",
            "{\"op\": \"advance_days\", \"day\": 9, \"args\": [1], \"kw\": {}}\n",
        );
        let r = replay_text(text).unwrap();
        assert_eq!(r.counts.solves, 1);
        assert_eq!(r.counts.local_trust, 1);
        let fields: Vec<&str> = r.mismatches.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(fields, ["trust.a", "trust.b", "day"], "{:?}", r.mismatches);
        assert_eq!(r.mismatches[0].line, 6);
        assert!(r.mismatches[0].to_string().starts_with("6: solve_trust (day 2): trust.a expected 1 got "));
    }

    #[test]
    fn recorder_round_trips() {
        let mut rec = Recorder::default();
        rec.lines.push((None, Call::Meta { tag: "ts_x".into(), seed: Some(3), result: None }));
        rec.push(0, Call::CreateIdentity { id: "a".into() });
        rec.push(0, Call::CreateIdentity { id: "b".into() });
        rec.push(1, Call::AdvanceDays { n: 1 });
        rec.push(1, Call::AddTransaction { consumer: "b".into(), provider: "a".into(), rw: 2.0, dur: 4.0, vs: 0.95 });
        rec.push(1, Call::LocalTrust { subject: "a".into(), observer: "a".into(), result: f64::INFINITY });
        let lines = parse(&rec.to_jsonl()).unwrap();
        let calls: Vec<Call> = lines.iter().map(|l| l.call.clone()).collect();
        let want: Vec<Call> = rec.lines.iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(calls, want);
        assert!(replay(&lines).unwrap().mismatches.is_empty());
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    /// Line endings, the last line without a newline, and the line limit to
    /// the byte.
    #[test]
    fn reading_lines_and_limits() {
        let a = "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"a\"]}";
        // CRLF and a blank line are counted: the duplicate is line 3.
        let e = replay_bytes(format!("{a}\r\n\n{a}").as_bytes()).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (3, "create_identity: identity `a` already exists"));
        let ok = read(format!("{a}\r\n\r\n").as_bytes()).unwrap();
        assert_eq!(ok.len(), 1);
        // A line of exactly MAX_LINE_BYTES (padded with spaces) is read; one more byte is not.
        let pad = |n: usize| format!("{a}{}", " ".repeat(n - a.len()));
        assert_eq!(read(format!("{}\n", pad(MAX_LINE_BYTES)).as_bytes()).unwrap().len(), 1);
        assert_eq!(read(pad(MAX_LINE_BYTES).as_bytes()).unwrap().len(), 1);
        let e = read(format!("\n{}\n", pad(MAX_LINE_BYTES + 1)).as_bytes()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("longer than 1 MiB"), "{e}");
        // The whole-trace errors have no line.
        let e = replay_bytes(b"").unwrap_err();
        assert_eq!((e.line, e.to_string()), (0, "the trace is empty: it checks nothing".to_string()));
    }

    /// Extreme but well-formed values replay without a panic.
    #[test]
    fn extreme_values_do_not_panic() {
        let text = concat!(
            "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"a\"], \"kw\": {}}\n",
            "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"b\"], \"kw\": {}}\n",
            "{\"op\": \"advance_days\", \"day\": 4000000000, \"args\": [4000000000], \"kw\": {}}\n",
            "{\"op\": \"add_transaction\", \"day\": 4000000000, \"args\": [\"b\", \"a\"], \"kw\": {\"resource_weight\": 1e308, \"duration_hours\": 1e308}}\n",
            "{\"op\": \"solve_trust\", \"day\": 4000000000, \"args\": [], \"kw\": {}, \"trust\": {\"a\": 0, \"b\": 0}, \"cluster_weight\": {\"a\": 1, \"b\": 1}}\n",
            "{\"op\": \"compute_escrow_delay\", \"day\": 4000000000, \"args\": [1e300, 1e300], \"kw\": {}, \"result\": 1}\n",
        );
        let r = replay_text(text).unwrap();
        assert_eq!(r.counts.solves, 1);
        let e = replay_text("{\"op\": \"advance_days\", \"day\": 1, \"args\": [4294967295], \"kw\": {}}\n{\"op\": \"advance_days\", \"day\": 1, \"args\": [5], \"kw\": {}}\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
