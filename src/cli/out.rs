//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a closed pipe (`omerta-sim list | head
//! -1`) or a full device; every command prints through this module instead:
//!
//! - [`outln!`] / [`out!`] format to stdout and return an [`std::io::Result`]
//!   to propagate with `?`; a failure says what was written ("writing to
//!   stdout: No space left on device (os error 28)") and keeps its
//!   [`std::io::ErrorKind`].
//! - [`stdout`] is a locked [`Write`] handle with the same errors, for code
//!   that takes a writer (`step`).
//! - [`errln!`] writes a line to stderr and ignores failure (nothing sensible
//!   can report a broken stderr).
//!
//! [`report`] turns a command's error into its exit status, in one place: a
//! closed stdout (a broken pipe anywhere in the error's chain) is not a
//! failure: whoever read the output stopped reading (`list | head -1`), so
//! the command ends quietly with [`EXIT_CLOSED_STDOUT`] (0, and pipelines
//! under `set -o pipefail` go on); anything else is printed as `error: ...`
//! with its causes and exits 1.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// Exit status of a command whose stdout was closed by its reader: success.
pub const EXIT_CLOSED_STDOUT: u8 = 0;

/// An I/O failure with what was being written.
#[derive(Debug)]
struct Failed {
    target: &'static str,
    source: io::Error,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "writing to {}: {}", self.target, self.source)
    }
}

// The OS error is part of the message (above), so it is not a `source`:
// `{:#}` would print it twice.
impl std::error::Error for Failed {}

/// `e` with "writing to stdout" in front; same kind, so a broken pipe is
/// still recognised. An error already labelled is kept as it is.
pub fn stdout_error(e: io::Error) -> io::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Failed>()) {
        return e;
    }
    io::Error::new(e.kind(), Failed { target: "stdout", source: e })
}

/// The process's stdout, locked, whose errors say "writing to stdout".
pub struct Stdout(io::StdoutLock<'static>);

/// Lock stdout (re-entrant: [`outln!`] may be used while it is held).
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(stdout_error)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).map_err(stdout_error)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(stdout_error)
    }
}

/// Write formatted text to stdout (used by [`out!`] and [`outln!`]).
pub fn write_stdout(args: fmt::Arguments<'_>) -> io::Result<()> {
    stdout().write_fmt(args).map_err(stdout_error)
}

/// Write a line that reports on work still going on (a search's probes):
/// a stdout its reader closed is ignored, so the work finishes and writes
/// its files; any other failure is returned.
pub fn write_stdout_progress(args: fmt::Arguments<'_>) -> io::Result<()> {
    match write_stdout(args) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Write formatted text to stderr, ignoring failure (used by [`errln!`]).
pub fn write_stderr(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// Flush stdout (at the end of a command: buffered text must not be lost
/// silently).
pub fn flush() -> io::Result<()> {
    stdout().flush()
}

/// Print to stdout; evaluates to `std::io::Result<()>`.
#[allow(unused_macros)]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write_stdout(format_args!($($arg)*))
    };
}

/// Print a line to stdout; evaluates to `std::io::Result<()>`.
macro_rules! outln {
    () => {
        $crate::cli::out::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Print a line to stderr; never fails, never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::out::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[allow(unused_imports)]
pub(crate) use {errln, out, outln};

/// Whether `e` or one of its causes is a broken pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

/// The exit status of a failed command, after telling the user why: quietly
/// [`EXIT_CLOSED_STDOUT`] for a closed stdout, else `error: ...` (every cause,
/// once) and 1.
pub fn report(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::from(EXIT_CLOSED_STDOUT);
    }
    errln!("error: {e:#}");
    ExitCode::from(1)
}

/// `e` and its causes on one line, `a: b: c` (as `error: ...` shows them),
/// for errors printed without failing the command.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_stdout_once_and_keep_their_kind() {
        let e = stdout_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        let twice = stdout_error(e);
        assert_eq!(twice.to_string().matches("writing to stdout").count(), 1, "{twice}");
        assert!(is_broken_pipe(&anyhow::Error::new(twice).context("listing")));
        let full = anyhow::Error::new(stdout_error(io::Error::from_raw_os_error(28)));
        assert!(!is_broken_pipe(&full));
        let text = format!("{full:#}");
        assert!(text.starts_with("writing to stdout: No space left on device"), "{text}");
        assert_eq!(text.matches("No space left").count(), 1, "{text}");
    }

    #[test]
    fn chain_joins_causes() {
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(chain(e.as_ref()), "outer: inner");
    }
}
