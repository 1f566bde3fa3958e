//! Atomic file writing: every output is written under a temporary name in
//! its final folder, then renamed over the final name, so a final name never
//! holds a half-written file.
//!
//! Temporary names are unique per process and per write
//! (`.<file>.<pid>-<n>.tmp`), so two processes writing into one folder never
//! collide. The temporary files in flight are registered, so an immediate
//! exit (a second Ctrl-C) can remove them first ([`remove_in_flight`]).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Suffix every temporary file ends with.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A fresh temporary path beside `path`: `.<file name>.<pid>-<n>.tmp`
/// (`extension`, if given, is appended after `.tmp`, for writers that pick
/// a format from the extension).
pub fn temp_path(path: &Path, extension: Option<&str>) -> std::io::Result<PathBuf> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = OsString::from(".");
    tmp.push(file_name);
    tmp.push(format!(".{}-{n}{TEMP_SUFFIX}", std::process::id()));
    if let Some(ext) = extension {
        tmp.push(".");
        tmp.push(ext);
    }
    Ok(path.with_file_name(tmp))
}

/// Whether `name` is a temporary file name this module makes.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(TEMP_SUFFIX) || name.contains(&format!("{TEMP_SUFFIX}.")))
}

/// Temporary files (of any process) directly in `dir`: after a finished
/// write there should be none.
pub fn temps_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> =
        entries.flatten().filter(|e| e.file_name().to_str().is_some_and(is_temp_name)).map(|e| e.path()).collect();
    v.sort();
    v
}

/// A registered temporary file: removed on drop unless committed.
pub struct TempFile {
    path: PathBuf,
    done: bool,
}

impl TempFile {
    /// Register a fresh temporary path beside `path`.
    pub fn beside(path: &Path, extension: Option<&str>) -> std::io::Result<TempFile> {
        let tmp = temp_path(path, extension)?;
        IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()).insert(tmp.clone());
        Ok(TempFile { path: tmp, done: false })
    }

    /// The temporary path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rename the temporary file over `dest`.
    pub fn commit(mut self, dest: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
        IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.path);
    }
}

/// Remove every temporary file this process is writing (before an
/// immediate exit).
pub fn remove_in_flight() {
    let paths = std::mem::take(&mut *IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()));
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// Write `bytes` to `path` atomically: a unique temporary file in the same
/// folder, then a rename over `path`. Creates the parent folder if needed. On
/// an error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, None, |tmp| std::fs::write(tmp, bytes))
}

/// Like [`write_atomic`], with the writing done by `write` into the temporary
/// path (whose name ends in `.tmp.<extension>` when `extension` is given).
pub fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    extension: Option<&str>,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = TempFile::beside(path, extension)?;
    write(tmp.path())?;
    tmp.commit(path)?;
    Ok(())
}

/// Remove temporary files left in `dir` (not its subfolders) by earlier
/// processes that were killed while writing. Call only while holding the
/// folder's lock, so no live writer's file is removed.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        if name.to_str().is_some_and(is_temp_name) && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_unique_and_recognised() {
        let a = temp_path(Path::new("/x/results.json"), None).unwrap();
        let b = temp_path(Path::new("/x/results.json"), None).unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".results.json.") && name.ends_with(".tmp"), "{name}");
        assert!(is_temp_name(name));
        let png = temp_path(Path::new("chart.png"), Some("png")).unwrap();
        assert!(is_temp_name(png.to_str().unwrap()));
        assert!(png.to_str().unwrap().ends_with(".tmp.png"));
        assert!(!is_temp_name("results.json"));
        assert!(!is_temp_name(".lock"));
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile_dir();
        let p = dir.join("f.txt");
        write_atomic(&p, b"one").unwrap();
        let r: std::io::Result<()> = write_atomic_with(&p, None, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![OsString::from("f.txt")]);
        std::fs::write(dir.join(".g.txt.1-1.tmp"), b"stale").unwrap();
        remove_stale_temps(&dir);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "omerta-atomic-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
