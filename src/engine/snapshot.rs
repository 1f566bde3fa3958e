//! Snapshot files: a small versioned header around a bincode body.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `OMSIMSNP` |
//! | 4 | format version (u32) |
//! | 2 + n | model kind (u16 length, UTF-8) |
//! | 2 + n | crate version that wrote it (u16 length, UTF-8) |
//! | 8 | scenario hash (u64) |
//! | 8 | body length (u64) |
//! | 8 | checksum of the body (FNV-1a 64) |
//! | body length | bincode 2 (serde, standard config) body |
//!
//! This is the only module that names bincode, so a successor can replace it
//! here alone. Files are written to a temporary name and renamed, so a crash
//! never leaves a half-written file under the real name.

use super::rng::fnv1a;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// First bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"OMSIMSNP";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 4;

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
    /// FNV-1a 64 checksum of the body.
    pub checksum: u64,
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
    /// The body does not match its checksum.
    #[error("{path}: snapshot is corrupt (checksum {found:016x}, header says {expected:016x})")]
    BadChecksum {
        /// The file.
        path: PathBuf,
        /// Checksum computed over the body.
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
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The bincode encoding of any serialisable value (used to compare states).
pub fn state_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("in-memory encoding cannot fail")
}

/// Encode a snapshot: header and body.
pub fn encode<T: Serialize>(model_kind: &str, scenario_hash: u64, body: &T) -> Vec<u8> {
    let body = state_bytes(body);
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for s in [model_kind, env!("CARGO_PKG_VERSION")] {
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&scenario_hash.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Write a snapshot to `path` (temporary file, then rename).
pub fn write<T: Serialize>(path: &Path, model_kind: &str, scenario_hash: u64, body: &T) -> Result<(), SnapshotError> {
    let bytes = encode(model_kind, scenario_hash, body);
    let io = |source| SnapshotError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes).map_err(|source| SnapshotError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(io)
}

struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SnapshotError> {
        if self.bytes.len() - self.pos < n {
            return Err(SnapshotError::Truncated {
                path: self.path.to_path_buf(),
                what,
                need: (self.pos + n) as u64,
                have: self.bytes.len() as u64,
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, SnapshotError> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    fn string(&mut self, what: &'static str) -> Result<String, SnapshotError> {
        let n = self.u16(what)? as usize;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| SnapshotError::BadHeader {
            path: self.path.to_path_buf(),
            what: format!("{what} is not UTF-8"),
        })
    }
}

/// Parse and check the header of `bytes`; returns it and the body. Checks, in
/// order: magic, format version, lengths, checksum.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Header, &'a [u8]), SnapshotError> {
    let mut r = Reader { path, bytes, pos: 0 };
    let n = MAGIC.len().min(bytes.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(SnapshotError::BadMagic(path.to_path_buf()));
    }
    r.take(MAGIC.len(), "magic")?;
    let format_version = r.u32("format version")?;
    if format_version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: format_version,
            supported: FORMAT_VERSION,
        });
    }
    let model_kind = r.string("model kind")?;
    let crate_version = r.string("crate version")?;
    let scenario_hash = r.u64("scenario hash")?;
    let body_len = r.u64("body length")?;
    let checksum = r.u64("checksum")?;
    let header = Header { format_version, model_kind, crate_version, scenario_hash, body_len, checksum };
    let have = (bytes.len() - r.pos) as u64;
    if have < body_len {
        return Err(SnapshotError::Truncated {
            path: path.to_path_buf(),
            what: "body",
            need: r.pos as u64 + body_len,
            have: bytes.len() as u64,
        });
    }
    if have > body_len {
        return Err(SnapshotError::TrailingBytes { path: path.to_path_buf(), extra: have - body_len });
    }
    let body = &bytes[r.pos..];
    let found = fnv1a(body);
    if found != checksum {
        return Err(SnapshotError::BadChecksum { path: path.to_path_buf(), found, expected: checksum });
    }
    Ok((header, body))
}

/// Read a whole snapshot file into memory.
pub fn read_file(path: &Path) -> Result<Vec<u8>, SnapshotError> {
    std::fs::read(path).map_err(|source| SnapshotError::Io { path: path.to_path_buf(), source })
}

/// Read and check only the header of a snapshot file.
pub fn read_header(path: &Path) -> Result<Header, SnapshotError> {
    let bytes = read_file(path)?;
    parse(path, &bytes).map(|(h, _)| h)
}

/// Decode a body checked by [`parse`], refusing a model kind not in `accept`.
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
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| SnapshotError::Decode { path: path.to_path_buf(), message: e.to_string() })?;
    if used != body.len() {
        return Err(SnapshotError::Decode {
            path: path.to_path_buf(),
            message: format!("{} bytes of the body were not used", body.len() - used),
        });
    }
    Ok(value)
}

/// Read a snapshot of one of the `accept` model kinds from `path`.
pub fn read<T: DeserializeOwned>(path: &Path, accept: &[&str]) -> Result<(Header, T), SnapshotError> {
    let bytes = read_file(path)?;
    let (header, body) = parse(path, &bytes)?;
    let value = decode(path, &header, body, accept)?;
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
}
