//! Reading commands: a line editor with history on a terminal
//! (rustyline), plain lines from a pipe or file otherwise.

use rustyline::config::{Behavior, Config};
use rustyline::error::ReadlineError;
use std::io::{self, BufRead, Read as _, Write};

/// The prompt.
pub const PROMPT: &str = "step> ";

/// The longest command line read from a pipe.
const MAX_LINE: u64 = 1 << 16;

/// Most commands the editor remembers.
const HISTORY_LINES: usize = 1000;

/// What reading a command gave.
pub enum Read {
    /// A line.
    Line(String),
    /// Ctrl-C at the prompt: the line was dropped.
    Cancelled,
    /// Ctrl-D, or the end of the input.
    End,
}

/// Where commands come from.
pub enum Input {
    /// A terminal: line editing, history (arrow keys, Ctrl-R). The editor
    /// reads and draws on the terminal itself, so a redirected stdout
    /// gets the events and the prompt stays on the screen.
    Editor(Box<rustyline::DefaultEditor>),
    /// A pipe or a file: one command a line; the prompt goes to stdout.
    Lines(io::StdinLock<'static>),
}

impl Input {
    /// The editor when stdin is a terminal (and it can be set up), plain
    /// lines otherwise.
    pub fn new(terminal: bool) -> Input {
        if terminal {
            let config = Config::builder()
                .behavior(Behavior::PreferTerm)
                .auto_add_history(true)
                .max_history_size(HISTORY_LINES)
                .map(|b| b.build());
            if let Ok(Ok(ed)) = config.map(rustyline::DefaultEditor::with_config) {
                return Input::Editor(Box::new(ed));
            }
        }
        Input::Lines(io::stdin().lock())
    }

    /// Read one command; `out` gets the prompt when there is no editor.
    pub fn read(&mut self, out: &mut impl Write) -> io::Result<Read> {
        match self {
            Input::Editor(ed) => match ed.readline(PROMPT) {
                Ok(line) => Ok(Read::Line(line)),
                Err(ReadlineError::Interrupted) => Ok(Read::Cancelled),
                Err(ReadlineError::Eof) => Ok(Read::End),
                Err(ReadlineError::Io(e)) => Err(e),
                Err(e) => Err(io::Error::other(format!("reading a command: {e}"))),
            },
            Input::Lines(stdin) => {
                write!(out, "{PROMPT}")?;
                out.flush()?;
                let mut line = Vec::new();
                match (&mut *stdin).take(MAX_LINE).read_until(b'\n', &mut line)? {
                    0 => Ok(Read::End),
                    n if n as u64 == MAX_LINE && !line.ends_with(b"\n") => {
                        // Drop the rest of an overlong line.
                        let mut rest = Vec::new();
                        while (&mut *stdin).take(MAX_LINE).read_until(b'\n', &mut rest)? == MAX_LINE as usize
                            && !rest.ends_with(b"\n")
                        {
                            rest.clear();
                        }
                        Ok(Read::Line(format!("\u{fffd} a command line longer than {MAX_LINE} bytes")))
                    }
                    // Bytes that are not UTF-8 become U+FFFD, which no
                    // command or name has.
                    _ => Ok(Read::Line(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_string())),
                }
            }
        }
    }
}
