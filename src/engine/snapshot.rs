//! Snapshot files: a small versioned header around a bincode body.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `OMSIMSNP` |
//! | 4 | format version (u32) |
//! | 2 + n | model kind (u16 length n <= 256, UTF-8) |
//! | 2 + n | crate version that wrote it (u16 length n <= 256, UTF-8) |
//! | 8 | scenario hash (u64, FNV-1a 64 of the resolved scenario in the body) |
//! | 8 | body length (u64) |
//! | 8 | checksum (u64): FNV-1a 64 of every other byte of the file, that is the header fields above in order, then the body |
//! | body length | bincode 2 (serde, standard config) body |
//!
//! The checksum covers the whole file, so an edit anywhere (a header field
//! or the body) is detected unless the editor recomputes it; a deliberate
//! forger can ([`reseal`] does it for tests and fuzzers), which is why
//! nothing downstream trusts a body because its checksum matched: the
//! header's model kind and scenario hash are cross-checked against the body
//! (`study::run::load_run`) and the decoded state is validated before it
//! runs (`Simulation::validate`, `Model::validate`).
//!
//! Reading is bounded: [`read`] refuses a path that is not a regular file
//! (a directory, a device such as `/dev/zero`, a FIFO) before opening it,
//! reads the fixed header with bounded reads (each string is at most 256
//! bytes), compares header + body length with the file's size before
//! allocating anything, and never reads more than the header announces.
//! Decoding is bounded too. Under serde, bincode 2 charges its byte limit
//! for every string and byte buffer before allocating it, but also charges
//! every integer its in-memory size (8 bytes for a one-byte varint), so a
//! limit at the body's length would refuse valid bodies; and it charges
//! nothing for a sequence or a map (serde then preallocates up to 1 MiB
//! for the length it is given). So the body is decoded through a guard of
//! our own (`length_guard.rs`) that announces every length-prefixed value
//! to the reader, which refuses a length larger than the bytes left after
//! it (a string needs that many bytes, every element of a sequence or map
//! at least one) before anything is allocated for it; and with a bincode
//! byte limit of 16 times the body's length (no body charges more without
//! a forged length) as a second line. A forged length therefore fails with
//! an error before any allocation larger than the file (or than the 1 MiB
//! serde may preallocate for a sequence of at most that many elements).
//!
//! This is the only module that names bincode, so a successor can replace it
//! here alone. Files are written to a temporary name and renamed, so a crash
//! never leaves a half-written file under the real name.
//!
//! # Example
//!
//! Save a simulation halfway, read it back, check it and finish it: it ends
//! where a straight run ends, random streams included.
//!
//! ```
//! # use omerta_sim::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, Simulation, TICKS_PER_HOUR, TimeUnit};
//! # use rand::RngExt;
//! # use serde::{Deserialize, Serialize};
//! # #[derive(Clone, Debug, Serialize, Deserialize)]
//! # struct Step;
//! # impl EventInfo for Step {
//! #     fn kind(&self) -> &'static str { "Step" }
//! # }
//! /// A random walk: every hour for 100 h, a step drawn from stream `steps`.
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Walk {
//!     position: f64,
//! }
//! # impl Model for Walk {
//! #     type Event = Step;
//! #     const STREAMS: &'static [&'static str] = &["steps"];
//! #     const AGENT_CLASSES: &'static [&'static str] = &[];
//! #     const TIME_UNIT: TimeUnit = TimeUnit::Hours;
//! #     fn kind(&self) -> &'static str { "walk" }
//! #     fn start(&mut self, ctx: &mut Ctx<'_, Step>) { ctx.schedule(SimTime::ZERO, Step); }
//! #     fn handle(&mut self, _: Step, ctx: &mut Ctx<'_, Step>) {
//! #         self.position += ctx.rng(0).random::<f64>() - 0.5;
//! #         if ctx.now() < self.horizon() { ctx.schedule_in(TICKS_PER_HOUR, Step); }
//! #     }
//! #     fn horizon(&self) -> SimTime { SimTime::from_hours(100.0) }
//! #     fn agent_counts(&self) -> Vec<(&'static str, usize)> { Vec::new() }
//! #     fn describe_agent(&self, _: AgentRef) -> Option<String> { None }
//! # }
//! use omerta_sim::engine::snapshot;
//!
//! let mut straight = Simulation::new(Walk { position: 0.0 }, 7);
//! straight.run();
//!
//! let mut sim = Simulation::new(Walk { position: 0.0 }, 7);
//! sim.run_until(SimTime::from_hours(50.0));
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("walk.snap");
//! snapshot::write(&path, "walk", 0, &sim).unwrap();
//!
//! let (header, mut back) = snapshot::read::<Simulation<Walk>>(&path, &["walk"]).unwrap();
//! assert_eq!(header.model_kind, "walk");
//! back.validate(&Simulation::new(Walk { position: 0.0 }, 7)).unwrap();
//! assert_eq!(back.now(), SimTime::from_hours(50.0));
//! assert_eq!(back.model.position, sim.model.position);
//! back.run();
//! assert_eq!(back.model.position, straight.model.position);
//! assert_eq!(back.fingerprint(), straight.fingerprint());
//! // A snapshot of another model kind, or with a byte changed, is refused.
//! assert!(snapshot::read::<Simulation<Walk>>(&path, &["other"]).is_err());
//! let mut bytes = std::fs::read(&path).unwrap();
//! *bytes.last_mut().unwrap() ^= 1;
//! assert!(snapshot::parse(&path, &bytes).is_err());
//! ```

#[path = "length_guard.rs"]
mod length_guard;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Read;
use std::path::{Path, PathBuf};

/// First bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"OMSIMSNP";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 5;
/// Longest model kind or crate version a header may hold, in bytes.
pub const MAX_HEADER_TEXT: usize = 256;
/// Bytes of the fixed part of the header (magic, version, two string
/// lengths, scenario hash, body length, checksum), strings excluded.
pub const FIXED_HEADER_BYTES: usize = 8 + 4 + 2 + 2 + 8 + 8 + 8;

/// The header of a snapshot file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub format_version: u32,
    /// Model kind (study id).
    pub model_kind: String,
    /// Version of omerta-sim that wrote the file.
    pub crate_version: String,
    /// Hash of the resolved scenario.
    pub scenario_hash: u64,
    /// Length of the body in bytes.
    pub body_len: u64,
    /// FNV-1a 64 checksum of the whole file but this field.
    pub checksum: u64,
}

impl Header {
    /// Bytes the header takes in the file.
    pub fn header_bytes(&self) -> u64 {
        (FIXED_HEADER_BYTES + self.model_kind.len() + self.crate_version.len()) as u64
    }
}

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read or written. The OS error is the
    /// `source`, not part of the message (`{:#}` would print it twice).
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path names something other than a regular file.
    #[error("{path}: not a snapshot file: it is {what}")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`a directory`, `a character device`, ...).
        what: &'static str,
    },
    /// The file does not start with the snapshot magic bytes.
    #[error("{0}: not an omerta-sim snapshot (wrong magic bytes)")]
    BadMagic(PathBuf),
    /// Written by another format version.
    #[error("{path}: snapshot format version {found}, this build reads version {supported}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A snapshot of another model.
    #[error("{path}: snapshot of model `{found}`, expected {expected}")]
    WrongModel {
        /// The file.
        path: PathBuf,
        /// Model kind in the file.
        found: String,
        /// What the caller accepts.
        expected: String,
    },
    /// The file ends before its header or body does.
    #[error("{path}: truncated snapshot ({what}: need {need} bytes, file has {have})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is short.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes present.
        have: u64,
    },
    /// The file does not match its checksum.
    #[error("{path}: snapshot is corrupt (checksum {found:016x}, header says {expected:016x})")]
    BadChecksum {
        /// The file.
        path: PathBuf,
        /// Checksum computed over the file.
        found: u64,
        /// Checksum in the header.
        expected: u64,
    },
    /// More bytes follow the body than the header announced.
    #[error("{path}: {extra} unexpected bytes after the snapshot body")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Extra bytes.
        extra: u64,
    },
    /// The header's text fields are not valid.
    #[error("{path}: bad snapshot header: {what}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The body could not be decoded (or encoded).
    #[error("{path}: cannot decode snapshot body: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The body decoded but does not hold a consistent state.
    #[error("{path}: snapshot state is inconsistent: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// FNV-1a 64, fed in pieces (the same function as `rng::fnv1a`).
#[derive(Clone, Copy, Debug)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The bincode encoding of any serialisable value (used to compare states).
pub fn state_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("in-memory encoding cannot fail")
}

/// Decode what [`state_bytes`] encoded in this process (an in-memory
/// checkpoint, e.g. `step`'s history for stepping back). Not for files:
/// those go through [`decode`], which bounds what a forged length can
/// allocate.
pub fn from_state_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match bincode::serde::decode_from_slice(bytes, config()) {
        Ok((value, used)) if used == bytes.len() => Ok(value),
        Ok((_, used)) => Err(format!("{} bytes of the state were not used", bytes.len() - used)),
        Err(e) => Err(e.to_string()),
    }
}

/// Encode a snapshot: header and body.
///
/// # Panics
/// If `model_kind` or the crate version is longer than [`MAX_HEADER_TEXT`]
/// (a caller bug: model kinds are study ids).
pub fn encode<T: Serialize>(model_kind: &str, scenario_hash: u64, body: &T) -> Vec<u8> {
    let body = state_bytes(body);
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for s in [model_kind, env!("CARGO_PKG_VERSION")] {
        assert!(s.len() <= MAX_HEADER_TEXT, "header text `{s}` longer than {MAX_HEADER_TEXT} bytes");
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&scenario_hash.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    let mut h = Fnv::new();
    h.write(&out);
    h.write(&body);
    out.extend_from_slice(&h.0.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Where the checksum field of the snapshot bytes `bytes` sits, if the
/// header's layout fits in `bytes` (nothing else is checked).
pub fn checksum_offset(bytes: &[u8]) -> Option<usize> {
    let mut at = MAGIC.len() + 4;
    for _ in 0..2 {
        let n = u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize;
        at += 2 + n;
    }
    at += 16;
    (at + 8 <= bytes.len()).then_some(at)
}

/// The checksum the snapshot bytes `bytes` should carry: FNV-1a 64 of every
/// byte but the checksum field. `None` when the header's layout does not fit.
pub fn checksum_of(bytes: &[u8]) -> Option<u64> {
    let at = checksum_offset(bytes)?;
    let mut h = Fnv::new();
    h.write(&bytes[..at]);
    h.write(&bytes[at + 8..]);
    Some(h.0)
}

/// Recompute and store the checksum of the snapshot bytes `bytes`, as a
/// deliberate forger would after editing them: for fuzzers and tests that
/// must get past the checksum to reach the decoder and the validation.
/// Returns the new checksum, or `None` (bytes unchanged) when the header's
/// layout does not fit in `bytes`.
pub fn reseal(bytes: &mut [u8]) -> Option<u64> {
    let at = checksum_offset(bytes)?;
    let sum = checksum_of(bytes)?;
    bytes[at..at + 8].copy_from_slice(&sum.to_le_bytes());
    Some(sum)
}

/// Write a snapshot to `path` (temporary file, then rename).
pub fn write<T: Serialize>(path: &Path, model_kind: &str, scenario_hash: u64, body: &T) -> Result<(), SnapshotError> {
    let bytes = encode(model_kind, scenario_hash, body);
    super::atomic::write_atomic(path, &bytes).map_err(|source| SnapshotError::Io { path: path.to_path_buf(), source })
}

/// Reads the header from a source of known total size, hashing what it
/// reads.
struct HeaderReader<'a, R> {
    path: &'a Path,
    src: R,
    /// Total size of the file.
    size: u64,
    /// Bytes read so far.
    pos: u64,
    hash: Fnv,
}

impl<R: Read> HeaderReader<'_, R> {
    fn io(&self, source: std::io::Error) -> SnapshotError {
        SnapshotError::Io { path: self.path.to_path_buf(), source }
    }

    /// Read exactly `buf.len()` bytes (checked against the file size first).
    fn fill(&mut self, buf: &mut [u8], what: &'static str, hash: bool) -> Result<(), SnapshotError> {
        let need = self.pos + buf.len() as u64;
        if need > self.size {
            return Err(SnapshotError::Truncated { path: self.path.to_path_buf(), what, need, have: self.size });
        }
        self.src.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                SnapshotError::Truncated { path: self.path.to_path_buf(), what, need, have: self.pos }
            }
            _ => self.io(e),
        })?;
        self.pos = need;
        if hash {
            self.hash.write(buf);
        }
        Ok(())
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, SnapshotError> {
        let mut b = [0; 2];
        self.fill(&mut b, what, true)?;
        Ok(u16::from_le_bytes(b))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, SnapshotError> {
        let mut b = [0; 4];
        self.fill(&mut b, what, true)?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self, what: &'static str, hash: bool) -> Result<u64, SnapshotError> {
        let mut b = [0; 8];
        self.fill(&mut b, what, hash)?;
        Ok(u64::from_le_bytes(b))
    }
    fn string(&mut self, what: &'static str) -> Result<String, SnapshotError> {
        let n = self.u16(what)? as usize;
        if n > MAX_HEADER_TEXT {
            return Err(SnapshotError::BadHeader {
                path: self.path.to_path_buf(),
                what: format!("{what} is {n} bytes long (at most {MAX_HEADER_TEXT})"),
            });
        }
        let mut b = vec![0; n];
        self.fill(&mut b, what, true)?;
        String::from_utf8(b).map_err(|_| SnapshotError::BadHeader {
            path: self.path.to_path_buf(),
            what: format!("{what} is not UTF-8"),
        })
    }

    /// Read and check the header: magic, format version, text fields, and
    /// the body length against the file's size. The checksum is checked
    /// once the body is read.
    fn header(&mut self) -> Result<Header, SnapshotError> {
        let path = self.path;
        let n = (MAGIC.len() as u64).min(self.size) as usize;
        let mut magic = [0u8; 8];
        self.fill(&mut magic[..n], "magic", true)?;
        if magic[..n] != MAGIC[..n] {
            return Err(SnapshotError::BadMagic(path.to_path_buf()));
        }
        if n < MAGIC.len() {
            return Err(SnapshotError::Truncated {
                path: path.to_path_buf(),
                what: "magic",
                need: MAGIC.len() as u64,
                have: self.size,
            });
        }
        let format_version = self.u32("format version")?;
        if format_version != FORMAT_VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: format_version,
                supported: FORMAT_VERSION,
            });
        }
        let model_kind = self.string("model kind")?;
        let crate_version = self.string("crate version")?;
        let scenario_hash = self.u64("scenario hash", true)?;
        let body_len = self.u64("body length", true)?;
        let checksum = self.u64("checksum", false)?;
        let have = self.size - self.pos;
        if have < body_len {
            return Err(SnapshotError::Truncated {
                path: path.to_path_buf(),
                what: "body",
                need: self.pos.saturating_add(body_len),
                have: self.size,
            });
        }
        if have > body_len {
            return Err(SnapshotError::TrailingBytes { path: path.to_path_buf(), extra: have - body_len });
        }
        Ok(Header { format_version, model_kind, crate_version, scenario_hash, body_len, checksum })
    }

    /// Compare the checksum over the header fields and `body`.
    fn verify(&self, header: &Header, body: &[u8]) -> Result<(), SnapshotError> {
        let mut h = self.hash;
        h.write(body);
        if h.0 != header.checksum {
            return Err(SnapshotError::BadChecksum {
                path: self.path.to_path_buf(),
                found: h.0,
                expected: header.checksum,
            });
        }
        Ok(())
    }
}

/// Parse and check the snapshot bytes `bytes` (read from `path`): returns
/// the header and the body. Checks, in order: magic, format version, header
/// text, lengths, checksum.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Header, &'a [u8]), SnapshotError> {
    let mut r = HeaderReader { path, src: bytes, size: bytes.len() as u64, pos: 0, hash: Fnv::new() };
    let header = r.header()?;
    let body = &bytes[r.pos as usize..];
    r.verify(&header, body)?;
    Ok((header, body))
}

/// What a path that is not a regular file is, for the error message.
fn file_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Open `path` for reading if it is a regular file; returns it and its size.
/// The type is checked before opening (opening a FIFO would block) and
/// again on the open file.
fn open_regular(path: &Path) -> Result<(std::fs::File, u64), SnapshotError> {
    let io = |source| SnapshotError::Io { path: path.to_path_buf(), source };
    let not_file = |what| SnapshotError::NotAFile { path: path.to_path_buf(), what };
    let meta = std::fs::metadata(path).map_err(io)?;
    if let Some(what) = file_kind(&meta) {
        return Err(not_file(what));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if let Some(what) = file_kind(&meta) {
        return Err(not_file(what));
    }
    Ok((file, meta.len()))
}

/// Read a snapshot file: the header first, then exactly the body it
/// announces (never more), then the checksum over both. Returns the header
/// and the body bytes.
pub fn read_file(path: &Path) -> Result<(Header, Vec<u8>), SnapshotError> {
    let (file, size) = open_regular(path)?;
    let mut r = HeaderReader { path, src: std::io::BufReader::new(file), size, pos: 0, hash: Fnv::new() };
    let header = r.header()?;
    let len = header.body_len as usize;
    let mut body = Vec::new();
    body.try_reserve_exact(len).map_err(|_| SnapshotError::Decode {
        path: path.to_path_buf(),
        message: format!("cannot allocate {len} bytes for the body"),
    })?;
    (&mut r.src).take(header.body_len).read_to_end(&mut body).map_err(|e| r.io(e))?;
    if body.len() != len {
        return Err(SnapshotError::Truncated {
            path: path.to_path_buf(),
            what: "body (the file shrank while it was read)",
            need: header.header_bytes() + header.body_len,
            have: header.header_bytes() + body.len() as u64,
        });
    }
    let mut probe = [0u8; 1];
    if r.src.read(&mut probe).map_err(|e| r.io(e))? > 0 {
        return Err(SnapshotError::TrailingBytes { path: path.to_path_buf(), extra: 1 });
    }
    r.verify(&header, &body)?;
    Ok((header, body))
}

/// Read and check only the header of a snapshot file (the body is read to
/// verify the checksum, but not decoded).
pub fn read_header(path: &Path) -> Result<Header, SnapshotError> {
    read_file(path).map(|(h, _)| h)
}

/// A decoder error in words (bincode's own display is a debug dump).
fn decode_message(e: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as D;
    match e {
        D::UnexpectedEnd { .. } => "the body ends in the middle of a value".into(),
        D::LimitExceeded => {
            "a length inside the body is larger than the body itself (a corrupt or forged length)".into()
        }
        D::InvalidIntegerType { .. } => "an integer has an invalid encoding".into(),
        D::NonZeroTypeIsZero { .. } => "a value that must be non-zero is zero".into(),
        D::UnexpectedVariant { type_name, found, .. } => {
            format!("variant index {found} does not exist in type {type_name}")
        }
        D::Utf8 { .. } => "a string is not valid UTF-8".into(),
        D::InvalidCharEncoding(_) => "a character has an invalid encoding".into(),
        D::InvalidBooleanValue(v) => format!("a boolean holds {v} (not 0 or 1)"),
        D::ArrayLengthMismatch { required, found } => {
            format!("an array of length {required} holds {found} elements")
        }
        D::OutsideUsizeRange(v) => format!("a length {v} does not fit this machine's usize"),
        D::OtherString(s) => s.clone(),
        D::Other(s) => (*s).to_string(),
        _ => "malformed data".into(),
    }
}

/// The body as a bincode reader that knows how much is left, and checks
/// every length the guard announces (see `length_guard.rs`) against it
/// before bincode can allocate for it.
struct BodyReader<'a> {
    rest: &'a [u8],
    /// A length found too large by `peek_read`, reported by the next `read`.
    refused: Option<String>,
}

impl BodyReader<'_> {
    /// If a length was announced, check the integer at the front (bincode's
    /// varint: one byte below 251, or 251/252/253 then 2/4/8 bytes) against
    /// the bytes after it: a string needs that many, every element of a
    /// sequence or map at least one.
    fn check_length(&mut self) -> Result<(), String> {
        if !length_guard::take_length_flag() {
            return Ok(());
        }
        let r = self.rest;
        let int = |n: usize| -> Option<u64> {
            let b = r.get(1..1 + n)?;
            let mut x = [0u8; 8];
            x[..n].copy_from_slice(b);
            Some(u64::from_le_bytes(x))
        };
        let (len, prefix) = match r.first() {
            Some(&b) if b < 251 => (Some(b as u64), 1),
            Some(251) => (int(2), 3),
            Some(252) => (int(4), 5),
            Some(253) => (int(8), 9),
            // The end of the body or a bad discriminant: bincode reports it.
            _ => (None, 0),
        };
        match len {
            Some(len) if len > (r.len() - prefix) as u64 => Err(format!(
                "a length of {len} inside the body exceeds the {} bytes left after it (a corrupt or forged length)",
                r.len() - prefix
            )),
            _ => Ok(()),
        }
    }
}

impl bincode::de::read::Reader for BodyReader<'_> {
    #[inline(always)]
    fn read(&mut self, bytes: &mut [u8]) -> Result<(), bincode::error::DecodeError> {
        if let Some(e) = self.refused.take() {
            return Err(bincode::error::DecodeError::OtherString(e));
        }
        self.check_length().map_err(bincode::error::DecodeError::OtherString)?;
        if bytes.len() > self.rest.len() {
            return Err(bincode::error::DecodeError::UnexpectedEnd { additional: bytes.len() - self.rest.len() });
        }
        let (head, tail) = self.rest.split_at(bytes.len());
        bytes.copy_from_slice(head);
        self.rest = tail;
        Ok(())
    }

    #[inline]
    fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
        if self.refused.is_some() {
            return None;
        }
        if let Err(e) = self.check_length() {
            // Send bincode down its slow path, whose `read` reports it.
            self.refused = Some(e);
            return None;
        }
        self.rest.get(..n)
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }
}

/// The byte limit of the decoder's type. What a body may spend of it is
/// set at run time by charging the rest up front (see [`decode_limited`]).
const LIMIT_CEILING: usize = 1 << 62;

/// Bincode 2 charges each integer its in-memory size (up to 16 bytes for a
/// u128) however few bytes its varint takes, and each string or byte
/// buffer its length: so no body of n bytes, honest or not, charges more
/// than 16 n except through a forged length.
const LIMIT_PER_BODY_BYTE: usize = 16;

/// Decode `body` (a whole value, through `length_guard`) with a bincode
/// byte limit of 16 times its length: bincode charges every string and
/// byte buffer to the limit before allocating it. The guard is the tighter
/// check (a length must fit in the bytes left); the limit backs it up.
/// One decoder type whatever the body's size: the limit's type is fixed and
/// what a body may spend of it is set by charging the rest up front.
/// Returns the value and the number of bytes left over.
fn decode_limited<T: DeserializeOwned>(body: &[u8]) -> Result<(T, usize), bincode::error::DecodeError> {
    use bincode::de::{Decode, Decoder, DecoderImpl};
    let budget = body.len().saturating_mul(LIMIT_PER_BODY_BYTE).min(LIMIT_CEILING);
    let reader = BodyReader { rest: body, refused: None };
    let mut dec = DecoderImpl::new(reader, config().with_limit::<LIMIT_CEILING>(), ());
    dec.claim_bytes_read(LIMIT_CEILING - budget)?;
    length_guard::reset();
    let value = bincode::serde::Compat::<length_guard::Guarded<T>>::decode(&mut dec);
    length_guard::reset();
    let bincode::serde::Compat(length_guard::Guarded(value)) = value?;
    Ok((value, dec.reader().rest.len()))
}

/// Decode a body checked by [`parse`] or [`read_file`], refusing a model
/// kind not in `accept`.
pub fn decode<T: DeserializeOwned>(
    path: &Path,
    header: &Header,
    body: &[u8],
    accept: &[&str],
) -> Result<T, SnapshotError> {
    if !accept.contains(&header.model_kind.as_str()) {
        return Err(SnapshotError::WrongModel {
            path: path.to_path_buf(),
            found: header.model_kind.clone(),
            expected: accept.join(" or "),
        });
    }
    let (value, left) = decode_limited(body)
        .map_err(|e| SnapshotError::Decode { path: path.to_path_buf(), message: decode_message(&e) })?;
    if left != 0 {
        return Err(SnapshotError::Decode {
            path: path.to_path_buf(),
            message: format!("{left} bytes of the body were not used"),
        });
    }
    Ok(value)
}

/// Read a snapshot of one of the `accept` model kinds from `path`.
pub fn read<T: DeserializeOwned>(path: &Path, accept: &[&str]) -> Result<(Header, T), SnapshotError> {
    let (header, body) = read_file(path)?;
    let value = decode(path, &header, &body, accept)?;
    Ok((header, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("x.snap")
    }

    #[test]
    fn round_trip_and_errors() {
        let v: (u64, Vec<f64>, String) = (7, vec![1.5, -2.0], "hi".into());
        let bytes = encode("demo", 99, &v);
        let (h, body) = parse(&p(), &bytes).unwrap();
        assert_eq!(h.model_kind, "demo");
        assert_eq!(h.scenario_hash, 99);
        assert_eq!(h.header_bytes() + h.body_len, bytes.len() as u64);
        let back: (u64, Vec<f64>, String) = decode(&p(), &h, body, &["demo"]).unwrap();
        assert_eq!(back, v);

        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(parse(&p(), &bad), Err(SnapshotError::BadMagic(_))));
        let mut bad = bytes.clone();
        bad[8] = 9;
        assert!(matches!(parse(&p(), &bad), Err(SnapshotError::UnsupportedVersion { found: 9, .. })));
        assert!(matches!(
            decode::<(u64, Vec<f64>, String)>(&p(), &h, body, &["other"]),
            Err(SnapshotError::WrongModel { .. })
        ));
        for cut in [3, 10, 20, bytes.len() - 1] {
            assert!(matches!(parse(&p(), &bytes[..cut]), Err(SnapshotError::Truncated { .. })), "cut {cut}");
        }
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 0xff;
        assert!(matches!(parse(&p(), &bad), Err(SnapshotError::BadChecksum { .. })));
        let mut bad = bytes.clone();
        bad.push(0);
        assert!(matches!(parse(&p(), &bad), Err(SnapshotError::TrailingBytes { extra: 1, .. })));
        assert!(matches!(parse(&p(), &[]), Err(SnapshotError::Truncated { .. })));
        assert!(matches!(parse(&p(), b"hello"), Err(SnapshotError::BadMagic(_))));
    }

    /// Every header field is covered by the checksum: changing any byte
    /// outside the checksum field (after the magic and version, which are
    /// checked first) is detected, and resealing makes it pass again.
    #[test]
    fn checksum_covers_every_header_field() {
        let bytes = encode("demo", 99, &(1u8, 2u8));
        let at = checksum_offset(&bytes).unwrap();
        for i in 12..bytes.len() {
            if (at..at + 8).contains(&i) {
                continue;
            }
            let mut b = bytes.clone();
            // Keep the lengths of the header strings (bytes 12, 13 and the
            // second length) so the layout stays parseable.
            b[i] ^= if i == 12 || i == 13 || i == 18 || i == 19 { 0 } else { 0x01 };
            if b == bytes {
                continue;
            }
            match parse(&p(), &b) {
                Err(SnapshotError::BadChecksum { .. }) | Err(SnapshotError::BadHeader { .. }) => {}
                Err(SnapshotError::Truncated { .. }) | Err(SnapshotError::TrailingBytes { .. }) => {}
                other => panic!("byte {i}: {other:?}"),
            }
            if reseal(&mut b).is_some()
                && let Err(e) = parse(&p(), &b)
            {
                assert!(!matches!(e, SnapshotError::BadChecksum { .. }), "byte {i}: resealed but {e}");
            }
        }
    }

    /// The bytes of a varint length claiming 2^40.
    fn huge() -> Vec<u8> {
        let mut b = vec![253u8];
        b.extend_from_slice(&(1u64 << 40).to_le_bytes());
        b
    }

    fn refused<T: DeserializeOwned + std::fmt::Debug>(body: &[u8]) {
        let e = decode_limited::<T>(body).unwrap_err();
        let msg = decode_message(&e);
        assert!(msg.contains("a length of 1099511627776 inside the body exceeds"), "{msg}");
    }

    #[test]
    fn forged_lengths_are_refused_before_allocating() {
        // A string, a sequence and a map whose length prefix claims 2^40.
        let body = [huge(), b"abc".to_vec()].concat();
        refused::<String>(&body);
        refused::<Vec<u64>>(&body);
        refused::<std::collections::BTreeMap<u8, u8>>(&body);
        // ... at depth: inside an option inside a tuple inside a sequence
        // inside an enum variant.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum E {
            A(u8),
            B(Vec<(u8, Option<String>)>),
        }
        let body = [vec![1u8, 1, 7, 1], huge(), b"xyz".to_vec()].concat();
        refused::<E>(&body);
        // Lengths that fit are read.
        let ok = state_bytes(&("abc".to_string(), vec![1u64, 2, 300], "defgh".to_string()));
        let (v, left) = decode_limited::<(String, Vec<u64>, String)>(&ok).map_err(|e| decode_message(&e)).unwrap();
        assert_eq!((v.0.as_str(), v.1, v.2.as_str(), left), ("abc", vec![1, 2, 300], "defgh", 0));
        // A length one past the end is refused, one at the end is not.
        let mut b = state_bytes(&"abcd".to_string());
        b[0] = 5;
        let e = decode_limited::<String>(&b).unwrap_err();
        assert!(decode_message(&e).contains("a length of 5 inside the body exceeds the 4 bytes left"));
        // Nothing stays announced after a refusal: a later decode works.
        assert_eq!(decode_limited::<u64>(&[7]).unwrap(), (7, 0));
    }
}
