//! `step` as a debugger, driven through the binary with `--interactive`
//! and commands on stdin: every command, unknown names refused, Ctrl-C,
//! and stepping back exactly (`back`, `reverse-continue`) over random
//! distances and random breakpoints, in every study kind.

use super::{bin, run_bin, text};
use rand::{RngExt, SeedableRng};
use std::io::{BufRead, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One small scenario of each study kind, and an agent of it named as the
/// output prints it.
const STUDIES: &[(&str, &[&str], &str)] = &[
    ("reliability_v2.toml", &["rounds=4"], "provider3"),
    ("economic_value.toml", &["duration_hours=50"], "provider3"),
    ("identity_rotation.toml", &["seeds=1"], "account5"),
    ("trust_dynamics.toml", &["scenarios=[\"sybil_attack\",\"long_con\"]"], "sybil_attack1"),
    ("failure_modes/crisis.toml", &["seeds=2"], "crisis1"),
    ("monetary_policy.toml", &["days=60", "monetary_policy.experiments=[\"baseline\",\"hoarding\"]"], "baseline.on1"),
    ("mm1.toml", &["hours=500"], "server0"),
    ("world.toml", &["days=2", "scenarios=[\"undersupplied\"]"], "provider3"),
];

/// `step` arguments for a scenario of `models/` with overrides.
fn step_args(file: &str, sets: &[&str]) -> Vec<String> {
    let mut v = vec!["step".to_string(), format!("models/{file}")];
    for s in sets {
        v.push("--set".into());
        v.push(s.to_string());
    }
    v
}

/// Run a session: the commands on stdin, one a line. Returns the output of
/// each command (what came between its prompt and the next), after the
/// banner.
fn session(args: &[String], commands: &[String]) -> (String, Vec<String>) {
    let mut child = bin()
        .args(args)
        .arg("--interactive")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut script = commands.join("\n");
    script.push('\n');
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?}: {err}\n{out}");
    assert!(!err.contains("panicked"), "{err}");
    let mut parts = out.split("step> ").map(str::to_string);
    let banner = parts.next().unwrap_or_default();
    let mut outputs: Vec<String> = parts.collect();
    // A prompt per command, and one at the end of the input unless the
    // last command quits.
    let quits = commands.last().is_some_and(|c| c == "quit");
    assert_eq!(outputs.len(), commands.len() + usize::from(!quits), "{out}");
    if !quits {
        outputs.pop();
    }
    (banner, outputs)
}

/// Whether a line is an event's first line (`<time> #<seq> <kind> [agent]`).
fn is_event(line: &str) -> bool {
    let mut w = line.split_whitespace();
    let (Some(t), Some(seq)) = (w.next(), w.next()) else { return false };
    t.starts_with(|c: char| c.is_ascii_digit()) && seq.starts_with('#') && seq[1..].parse::<u64>().is_ok()
}

/// The event lines of an output.
fn event_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| is_event(l)).collect()
}

fn cmds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The status line of an `info` output (time, events, pending, fingerprint).
fn status(info: &str) -> String {
    info.lines().find(|l| l.starts_with("at ") && l.contains("fingerprint")).unwrap_or_else(|| panic!("{info}")).into()
}

/// Events handled, from a status line.
fn events(status: &str) -> u64 {
    let (_, rest) = status.split_once(": ").unwrap();
    rest.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn every_command_in_a_scripted_session() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("here.snap");
    let script = vec![
        "help".to_string(),
        "kinds".into(),
        "queue 3".into(),
        "next 3".into(),
        "n".into(),
        "".into(),
        "show provider3".into(),
        "show consumer 2".into(),
        "fields provider3".into(),
        "filter kind SessionEnd".into(),
        "filter".into(),
        "next 2".into(),
        "filter agent p3".into(),
        "filter off".into(),
        "watch provider3".into(),
        "watch".into(),
        "until 6h".into(),
        "unwatch provider3".into(),
        "until 5h".into(),
        "until 8h -q".into(),
        "break at 20h".into(),
        "break on CompetingBid provider3".into(),
        "breaks".into(),
        "continue".into(),
        "info breaks".into(),
        "continue".into(),
        "reverse-continue".into(),
        "delete 2".into(),
        "breaks".into(),
        "back 5".into(),
        "info".into(),
        "history".into(),
        "back-memory 64MiB".into(),
        "back-memory".into(),
        format!("save {}", snap.display()),
        "delete all".into(),
        "continue".into(),
        "quit".into(),
    ];
    let args = step_args("reliability_v2.toml", &["rounds=2"]);
    let (banner, o) = session(&args, &script);
    let at = |cmd: &str| -> &str {
        let i = script.iter().position(|c| c == cmd).unwrap_or_else(|| panic!("{cmd}"));
        &o[i]
    };
    assert!(banner.contains("0 events handled") && banner.contains("type `help`"), "{banner}");
    for c in [
        "next [n]",
        "until <time> [-q]",
        "continue",
        "back [n]",
        "reverse-continue",
        "break at",
        "break on",
        "break when",
        "breaks",
        "delete",
        "watch",
        "unwatch",
        "filter kind",
        "filter agent",
        "filter off",
        "kinds",
        "queue [n]",
        "show <agent>",
        "fields <agent>",
        "info",
        "history",
        "back-memory",
        "save <file>",
        "quit",
    ] {
        assert!(at("help").contains(c), "help lacks {c}");
    }
    // Every kind, a line each.
    assert_eq!(at("kinds").lines().count(), 7, "{}", at("kinds"));
    assert!(at("kinds").contains("RoundStart") && at("kinds").contains("1 pending"), "{}", at("kinds"));
    assert!(
        at("queue 3").starts_with("1 pending event; the next 1:") && at("queue 3").contains("#0 "),
        "{}",
        at("queue 3")
    );
    assert_eq!(event_lines(at("next 3")).len(), 3, "{}", at("next 3"));
    assert_eq!(event_lines(&o[4]).len(), 1, "n: {}", o[4]);
    assert_eq!(event_lines(&o[5]).len(), 1, "empty line: {}", o[5]);
    assert!(at("show provider3").starts_with("provider3 "), "{}", at("show provider3"));
    assert!(at("show consumer 2").starts_with("consumer2 "), "{}", at("show consumer 2"));
    assert!(!at("fields provider3").contains("error"), "{}", at("fields provider3"));
    assert!(at("filter kind SessionEnd").contains("showing events of kind SessionEnd"));
    assert!(at("filter").contains("showing events of kind SessionEnd"));
    let shown = event_lines(at("next 2"));
    assert!(shown.len() == 2 && shown.iter().all(|l| l.contains("SessionEnd")), "{}", at("next 2"));
    assert!(at("filter agent p3").contains("of kind SessionEnd that concern provider3"));
    assert!(at("filter off").contains("every event is shown"));
    assert!(at("watch provider3").starts_with("watching provider3: provider3 "), "{}", at("watch provider3"));
    assert!(at("watch").starts_with("watching provider3:"));
    // The watch prints provider 3 after the events that change it, and
    // only those.
    let until6 = at("until 6h");
    assert!(until6.contains("watch provider3: provider3 "), "{until6}");
    assert!(until6.trim_end().lines().last().unwrap().starts_with("at 6.000h:"), "{until6}");
    // A watch line follows an event block (under the event it came with).
    let lines: Vec<&str> = until6.lines().collect();
    for (i, l) in lines.iter().enumerate().filter(|(_, l)| l.contains("watch provider3:")) {
        assert!(lines[..i].iter().any(|p| is_event(p)), "{l}");
    }
    assert!(at("unwatch provider3").contains("stopped watching provider3"));
    assert!(at("until 5h").contains("past 5.000h: `until` only goes forward"), "{}", at("until 5h"));
    let quiet = at("until 8h -q");
    assert_eq!(quiet.lines().count(), 1, "{quiet}");
    assert!(quiet.starts_with("at 8.000h:"), "{quiet}");
    assert!(at("break at 20h").starts_with("breakpoint 1: at 20.000h"));
    assert!(at("break on CompetingBid provider3").starts_with("breakpoint 2: on CompetingBid concerning provider3"));
    assert_eq!(at("breaks").lines().count(), 2, "{}", at("breaks"));
    // The first continue stops at provider 3's next competing bid (before
    // 20 h) or at 20 h; the event is printed with its notes.
    let c1 = &o[23];
    assert!(c1.contains("breakpoint "), "{c1}");
    assert_eq!(event_lines(c1).len(), 1, "{c1}");
    assert!(o[24].contains("hit 1 time"), "info breaks: {}", o[24]);
    let rc = at("reverse-continue");
    assert!(rc.contains("breakpoint ") && rc.contains("hit ("), "{rc}");
    assert!(at("delete 2").contains("deleted breakpoint 2"));
    assert_eq!(o[28].lines().count(), 1, "{}", o[28]);
    assert!(at("back 5").contains("back 5 at "), "{}", at("back 5"));
    assert_eq!(events(&status(at("info"))), events(&status(at("reverse-continue"))) - 5);
    assert!(at("history").contains("checkpoint") && at("history").contains("256 MiB budget"), "{}", at("history"));
    assert!(at("back-memory 64MiB").contains("64 MiB budget"), "{}", at("back-memory 64MiB"));
    assert!(at("back-memory").contains("at most 64 MiB"), "{}", at("back-memory"));
    assert!(snap.exists());
    assert!(at("delete all").contains("deleted 1 breakpoint"));
    let last = &o[36];
    assert!(last.contains("no breakpoints: running to the end") && last.contains("the run is over"), "{last}");
    // The snapshot resumes where the session saved it.
    let o = run_bin(&["step", "--from", snap.to_str().unwrap(), "--count", "1"]);
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn unknown_names_and_bad_input_get_a_message_and_the_prompt_again() {
    let v2 = "models/reliability_v2.toml";
    let refused = |args: &[&str], needles: &[&str]| {
        let o = run_bin(args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: `{n}` not in {err}");
        }
    };
    refused(&["step", v2, "--kind", "Bogus", "--count", "1"], &["--kind: unknown event kind `Bogus`", "SessionEnd"]);
    refused(&["step", v2, "--kind", "SessionEnd,Nope", "--count", "1"], &["`Nope`", "RoundStart, Tick"]);
    refused(&["step", v2, "--agent", "robot3", "--count", "1"], &["--agent", "unknown agent class `robot`"]);
    refused(&["step", v2, "--quiet", "--count", "1"], &["--quiet goes with --until"]);
    refused(&["step", v2, "--back-memory", "lots"], &["--back-memory", "not a memory size"]);
    // Kinds in any case are the model's kinds.
    let o = run_bin(&["step", v2, "--kind", "sessionend", "--count", "1"]);
    assert!(text(&o).0.contains("SessionEnd"), "{:?}", text(&o));

    let script = cmds(&[
        "filter kind Bogus",
        "break on Bogus",
        "break on",
        "break when p3.bogus > 1",
        "break when p3 > 1",
        "break when robot3.x > 1",
        "break at yesterday",
        "break sometime",
        "watch robot3",
        "show robot3",
        "show",
        "fields robot3",
        "unwatch provider3",
        "next abc",
        "next -1",
        "back -1",
        "back 99999999999",
        "queue x",
        "delete x",
        "delete 7",
        "until",
        "until -5h",
        "back-memory lots",
        "save",
        "reverse-continue",
        "fly",
        "continue now",
        "\u{fffd}",
        "queue 18446744073709551615",
        "next 18446744073709551615",
        "back 18446744073709551615",
        "info",
    ]);
    let (_, o) = session(&step_args("reliability_v2.toml", &["rounds=1"]), &script);
    let expect = [
        "unknown event kind `Bogus` (this model's kinds: RoundStart, Tick, RoundEnd",
        "unknown event kind `Bogus`",
        "usage: break at",
        "provider3 has no field `bogus` (its fields: threshold, ",
        "names no field",
        "unknown agent class `robot`",
        "`yesterday` is not a time",
        "usage: break at",
        "unknown agent class `robot`",
        "unknown agent class `robot`",
        "name an agent",
        "unknown agent class `robot`",
        "provider3 is not watched",
        "`abc` is not a count",
        "`-1` is not a count",
        "`-1` is not a count",
        "can go back at most 0 events",
        "`x` is not a count",
        "`x` is not a breakpoint number",
        "no breakpoint 7",
        "until needs a time",
        "until: `-5h`",
        "not a memory size",
        "save needs a file name",
        "no breakpoints to go back to",
        "unknown command `fly`; type `help`",
        "continue takes no argument",
        "unknown command",
        "1 pending event; the next 1:",
        "the run is over",
        "can go back at most",
        "fingerprint",
    ];
    for (i, e) in expect.iter().enumerate() {
        assert!(o[i].contains(e), "`{}`: expected `{e}` in {}", script[i], o[i]);
    }
}

/// Event kinds a session's first events show (kinds that occur).
fn kinds_seen(args: &[String]) -> Vec<String> {
    let (_, o) = session(args, &cmds(&["next 300"]));
    let mut v: Vec<String> =
        event_lines(&o[0]).into_iter().filter_map(|l| l.split_whitespace().nth(2).map(str::to_string)).collect();
    v.sort();
    v.dedup();
    v
}

/// Events of the whole run.
fn total_events(args: &[String]) -> u64 {
    let mut a = args.to_vec();
    a.extend(["--until".into(), "1e9h".into(), "-q".into()]);
    let o = bin().args(&a).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    events(&status(&out))
}

#[test]
fn back_lands_where_a_fresh_run_is_in_every_study_kind() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(2024);
    for (file, sets, _) in STUDIES {
        let args = step_args(file, sets);
        let total = total_events(&args);
        for _ in 0..2 {
            let far = rng.random_range(1..=total.min(2500));
            let k = rng.random_range(0..=far);
            let small = rng.random_range(1..=far.min(4));
            // Back in one go and in small steps, with a tiny budget so the
            // checkpoints are thinned out.
            let script = vec![
                format!("next {far}"),
                format!("back {}", far - k),
                "info".into(),
                format!("next {}", far - k),
                format!("back {small}"),
                "back 1".into(),
                "info".into(),
            ];
            let mut a = args.clone();
            a.extend(["--back-memory".into(), "32KiB".into()]);
            let (_, o) = session(&a, &script);
            let fresh = |n: u64| status(&session(&args, &[format!("next {n}"), "info".into()]).1[1]);
            assert_eq!(status(&o[2]), fresh(k), "{file}: next {far}, back {}", far - k);
            assert_eq!(status(&o[6]), fresh(far - small - 1), "{file}: back {small}, back 1 from {far}");
        }
    }
}

#[test]
fn reverse_continue_lands_on_the_hits_of_continue_in_every_study_kind() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(77);
    for (file, sets, agent) in STUDIES {
        let args = step_args(file, sets);
        let kinds = kinds_seen(&args);
        assert!(!kinds.is_empty(), "{file}");
        let kind = &kinds[rng.random_range(0..kinds.len())];
        // A time inside the first events' span, in the model's unit.
        let (_, o) = session(&args, &cmds(&["next 200", "info"]));
        let horizon_probe = status(&o[1]);
        let t_now = horizon_probe.split_whitespace().nth(1).unwrap().trim_end_matches(':');
        let unit = t_now.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        let value: f64 = t_now.trim_end_matches(unit).parse().unwrap();
        let at = format!("{:.3}{unit}", value * rng.random_range(0.1..1.0));
        let mut script = vec![format!("break on {kind}"), format!("break at {at}"), format!("watch {agent}")];
        // And a condition on one of the agent's fields when it has some
        // (a field rising above its value after 200 events).
        let (_, f) = session(&args, &["next 200".to_string(), format!("fields {agent}")]);
        let fields: Vec<(String, f64)> = f[1]
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.parse().ok()?))
            })
            .collect();
        if !fields.is_empty() {
            let (name, v) = &fields[rng.random_range(0..fields.len())];
            script.push(format!("break when {agent}.{name} > {v}"));
        }
        let base = script.len();
        let m = rng.random_range(3..7);
        for _ in 0..m {
            script.push("continue".into());
            script.push("info".into());
        }
        for _ in 0..m {
            script.push("reverse-continue".into());
            script.push("info".into());
        }
        let (_, o) = session(&args, &script);
        assert!(o[2].starts_with("watching "), "{file}: {}", o[2]);
        assert!(o[..base].iter().all(|x| !x.contains("error")), "{file}: {o:?}");
        // Where each hit of `continue` left the run (a fresh run's states).
        let hits: Vec<String> =
            (0..m).filter(|i| o[base + 2 * i].contains("breakpoint ")).map(|i| status(&o[base + 2 * i + 1])).collect();
        assert!(hits.len() >= 2, "{file}: {kind} at {at}: {} hits", hits.len());
        let last = status(&o[base + 2 * m - 1]);
        // Each reverse-continue lands on the hit before, back to the first;
        // then there is none.
        let mut expect: Vec<&String> = hits.iter().filter(|h| **h != last).collect();
        expect.reverse();
        for j in 0..m {
            let out = &o[base + 2 * m + 2 * j];
            let now = status(&o[base + 2 * m + 2 * j + 1]);
            match expect.get(j) {
                Some(h) => {
                    assert!(out.contains("breakpoint "), "{file}: {out}");
                    assert_eq!(&now, *h, "{file}: reverse-continue {}", j + 1);
                }
                None => {
                    assert!(out.contains("no breakpoint hit"), "{file}: {out}");
                    assert_eq!(&now, expect.last().map_or(&last, |h| *h), "{file}: stays");
                }
            }
        }
    }
}

#[test]
fn ctrl_c_stops_a_command_and_keeps_the_session() {
    let mut child = bin()
        .args(["step", "models/reliability_v2.toml", "--set", "rounds=100000", "--interactive"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Wait for the first prompt (the signal handler is in place by then).
    let mut banner = Vec::new();
    while !banner.ends_with(b"step> ") {
        let mut b = [0u8; 1];
        assert_eq!(stdout.read(&mut b).unwrap(), 1, "the prompt comes");
        banner.push(b[0]);
    }
    stdin.write_all(b"until 1e9h -q\n").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let t0 = Instant::now();
    let ok = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    stdin.write_all(b"info\nnext 1\nquit\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    for line in stdout.by_ref().lines() {
        rest.push_str(&line.unwrap());
        rest.push('\n');
    }
    let o = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(60));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}\n{rest}");
    assert!(err.contains("SIGINT: stopping the command at the next event"), "{err}");
    let interrupted = rest.lines().find(|l| l.starts_with("interrupted at ")).unwrap_or_else(|| panic!("{rest}"));
    // The session goes on where the command stopped.
    let info = rest.split("step> ").nth(1).unwrap();
    assert_eq!(status(info), interrupted.trim_start_matches("interrupted "), "{rest}");
    assert!(events(&status(info)) > 0);
    assert_eq!(event_lines(rest.split("step> ").nth(2).unwrap()).len(), 1, "{rest}");
}

#[test]
fn a_closed_stdout_ends_the_session_quietly() {
    let mut child = bin()
        .args(["step", "models/reliability_v2.toml", "--interactive"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"next 100\nnext 100\nquit\n");
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
}

#[test]
fn inspect_shows_overrides_the_queue_and_one_agent() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.snap");
    let script =
        vec!["until 30d -q".to_string(), format!("save {}", snap.display()), "queue 4".into(), "show crisis 1".into()];
    let (_, o) = session(&step_args("failure_modes/crisis.toml", &["seeds=2"]), &script);
    let s = snap.to_str().unwrap();
    let (out, err) = text(&run_bin(&["inspect", s]));
    assert!(out.contains("overrides       seeds=2"), "{out}{err}");
    let agents = out.lines().find(|l| l.starts_with("agents")).unwrap();
    // Class names are not made plural ("crisiss"): `class: count`.
    assert!(agents.contains("crisis: ") && !agents.contains("crisiss"), "{agents}");
    let (q, _) = text(&run_bin(&["inspect", s, "--queue", "4"]));
    assert_eq!(q.trim_end(), o[2].trim_end(), "inspect --queue lists what the session's queue listed");
    let (q, _) = text(&run_bin(&["inspect", s, "--queue"]));
    assert!(q.lines().count() >= 2 && q.contains("the next "), "{q}");
    let (a, err) = text(&run_bin(&["inspect", s, "--agent", "crisis 1"]));
    assert!(a.starts_with(o[3].trim_end()), "inspect --agent shows what the session's show showed: {a}{err}");
    let o = run_bin(&["inspect", s, "--agent", "robot1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("unknown agent class `robot`"), "{:?}", text(&o));
}

/// The README documents every prompt command and every flag `step --help`
/// lists.
#[test]
fn the_readme_documents_every_step_command_and_flag() {
    let readme = std::fs::read_to_string(super::root().join("README.md")).unwrap();
    let (help, _) = text(&run_bin(&["step", "--help"]));
    let commands = help.split("Commands at the prompt").nth(1).expect("step --help lists the prompt's commands");
    let mut n = 0;
    let own_line = |l: &&str| l.starts_with("  ") && !l.starts_with("   ") && l[2..].starts_with(char::is_lowercase);
    for line in commands.lines().filter(own_line) {
        let word = line.split_whitespace().next().unwrap();
        assert!(readme.contains(&format!("`{word}")), "README lacks the prompt command `{word}`");
        n += 1;
    }
    assert!(n >= 20, "{commands}");
    for flag in help.split_whitespace().filter(|w| w.starts_with("--") && w.len() > 2) {
        let flag = flag.trim_end_matches([',', '.', ')', ':', ';']);
        if ["--help", "--version"].contains(&flag) {
            continue;
        }
        assert!(readme.contains(&format!("`{flag}")), "README lacks `{flag}`");
    }
    let (help, _) = text(&run_bin(&["inspect", "--help"]));
    for flag in ["--queue", "--agent"] {
        assert!(help.contains(flag), "{help}");
    }
}
