//! Value parsers for command-line flags.
//!
//! clap reads `--seeds -3` as the flag `-3` and suggests `-- -3`, which is
//! wrong advice. Numeric flags therefore accept values that start with a
//! hyphen (`allow_hyphen_values = true`) and parse them with [`whole`] or
//! [`whole_in`], whose message names the flag and what it takes: `--seeds
//! must be a whole number from 1 to 1000000 (got -3)`.

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use std::ffi::OsStr;

/// The most seeds one command runs (`--seeds`): their list and their
/// outputs are held in memory.
pub const MAX_SEEDS: u64 = crate::study::limits::MAX_SEEDS;

/// The most worker threads `--jobs` starts (more only costs memory and
/// start-up time: a run uses at most one thread per seed).
pub const MAX_JOBS: u64 = 1024;

/// `--jobs`: 0 (one thread per core) to [`MAX_JOBS`].
pub fn jobs() -> impl TypedValueParser<Value = usize> {
    whole_in(0, MAX_JOBS).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A whole-number flag in `min..=max` (see [`whole`], [`whole_in`]).
#[derive(Clone, Copy, Debug)]
pub struct Whole {
    min: u64,
    max: u64,
}

/// Parse a whole number `>= min` into a `u64` (`.map(..)` for other types).
pub fn whole(min: u64) -> Whole {
    Whole { min, max: u64::MAX }
}

/// Parse a whole number from `min` to `max` into a `u64`.
pub fn whole_in(min: u64, max: u64) -> Whole {
    Whole { min, max }
}

impl TypedValueParser for Whole {
    type Value = u64;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<u64, clap::Error> {
        let text = value.to_string_lossy();
        match text.parse::<u64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
            parsed => {
                let name =
                    arg.and_then(|a| a.get_long()).map(|l| format!("--{l}")).unwrap_or_else(|| "the value".into());
                let range = match self.max {
                    u64::MAX => format!(">= {}", self.min),
                    max => format!("from {} to {max}", self.min),
                };
                let why = match parsed {
                    Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow && self.max == u64::MAX => {
                        format!(" (got {text}, more than {})", u64::MAX)
                    }
                    _ => format!(" (got {text})"),
                };
                let msg = format!("{name} must be a whole number {range}{why}\n");
                Err(clap::Error::raw(ErrorKind::ValueValidation, msg).with_cmd(cmd))
            }
        }
    }
}
