//! The content-addressed artifact cache of compiled builds (`.tpupipe/`).
//!
//! An entry holds everything [`Builder::compile`](crate::Builder::compile) writes for one model
//! and one set of options: the CPU segments, the compiled `_edgetpu.tflite` segments, the
//! compiler's logs and stdout, the plan (and the profile of compile-profiled planning), with a
//! manifest of SHA-256 hashes ([`manifest`]). Its directory is named by its [`CacheKey`]
//! ([`key`]): the hash of the model bytes, the options, the compiler version and
//! [`CACHE_FORMAT_VERSION`].
//!
//! - Entries are built in a temporary directory inside the cache and renamed into place, so a
//!   reader never sees half an entry; a lock file per key (`<key>.lock`, `fs4`) serialises
//!   builds of one key across threads and processes.
//! - Every read verifies every file against the manifest; a damaged entry is never used.
//! - Nothing platform-specific is stored: relative `/` names, no absolute paths, no mtimes, so
//!   a cache written on x86-64 serves an aarch64 build. The folder is meant to be committed
//!   (like sqlx's `.sqlx/`); its `.gitignore` leaves out locks and temporary directories.
//!
//! Where it is: [`Builder::cache_dir`](crate::Builder::cache_dir), else `TPUPIPE_CACHE_DIR`,
//! else `.tpupipe/` beside the `Cargo.toml` of the crate being built (`CARGO_MANIFEST_DIR`),
//! else `.tpupipe/` in the current directory ([`default_dir`]).

pub mod error;
pub mod key;
pub mod manifest;

pub use error::CacheError;
pub use key::{CacheKey, InputsHash, CACHE_FORMAT_VERSION};
pub use manifest::{FileEntry, Manifest};

use fs4::FileExt;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The variable overriding the cache directory.
pub const CACHE_DIR_ENV: &str = "TPUPIPE_CACHE_DIR";
/// The cache folder's name.
pub const CACHE_DIR_NAME: &str = ".tpupipe";

const GITIGNORE: &str = "# tpupipe artifact cache: commit the entries, not the locks, half-built entries or this\n# host's CPU timings.\n*.lock\ntmp-*\nhost-cost/\n";
const TEMP_PREFIX: &str = "tmp-";

/// The cache directory when none is given: `TPUPIPE_CACHE_DIR`, else `.tpupipe/` beside the
/// crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`, set for build scripts and macros), else
/// `.tpupipe/` in the current directory.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    match std::env::var_os("CARGO_MANIFEST_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join(CACHE_DIR_NAME),
        None => PathBuf::from(CACHE_DIR_NAME),
    }
}

/// One verified entry.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest (every file checked against it).
    pub manifest: Manifest,
}

impl CacheEntry {
    /// Its key.
    pub fn key(&self) -> CacheKey {
        self.manifest.computed_key()
    }

    /// The paths of its files (not the manifest), sorted by name.
    pub fn files(&self) -> Vec<PathBuf> {
        self.manifest
            .files
            .iter()
            .map(|f| self.dir.join(&f.path))
            .collect()
    }

    /// The plan file.
    pub fn plan_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.plan)
    }

    /// Total bytes of its files.
    pub fn bytes(&self) -> u64 {
        self.manifest.files.iter().map(|f| f.bytes).sum()
    }
}

/// What [`Cache::scan`] found in one directory of the cache.
#[derive(Debug)]
pub enum ScannedEntry {
    /// A verified entry.
    Valid(CacheEntry),
    /// An entry that failed verification.
    Broken {
        /// Its directory.
        dir: PathBuf,
        /// Why.
        error: CacheError,
    },
}

/// A held build lock; released when dropped.
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

/// A temporary directory inside the cache where an entry is built; removed when dropped unless
/// committed.
#[derive(Debug)]
pub struct Staging {
    dir: Option<tempfile::TempDir>,
}

impl Staging {
    /// Where to write the entry's files.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("staging is live until committed")
            .path()
    }
}

/// The cache at one directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at `root` (nothing is created until something is written).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the entry `key` (which may not exist).
    pub fn entry_dir(&self, key: &CacheKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn ensure_root(&self) -> Result<(), CacheError> {
        std::fs::create_dir_all(&self.root).map_err(|e| CacheError::io(&self.root, "create", e))?;
        let ignore = self.root.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, GITIGNORE).map_err(|e| CacheError::io(&ignore, "write", e))?;
        }
        Ok(())
    }

    /// Takes the build lock of `key` (waits while another thread or process holds it).
    pub fn lock(&self, key: &CacheKey) -> Result<KeyLock, CacheError> {
        self.ensure_root()?;
        let path = self.root.join(format!("{key}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| CacheError::io(&path, "open", e))?;
        FileExt::lock(&file).map_err(|e| CacheError::io(&path, "lock", e))?;
        Ok(KeyLock { _file: file })
    }

    /// The verified entry `key`: `Ok(None)` when there is none, an error when it is damaged.
    pub fn get(&self, key: &CacheKey) -> Result<Option<CacheEntry>, CacheError> {
        let dir = self.entry_dir(key);
        if !dir.is_dir() {
            return Ok(None);
        }
        let manifest = manifest::verify_entry(&dir)?;
        Ok(Some(CacheEntry { dir, manifest }))
    }

    /// Every entry directory, verified (temporary directories and locks are skipped).
    pub fn scan(&self) -> Result<Vec<ScannedEntry>, CacheError> {
        let read = match std::fs::read_dir(&self.root) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CacheError::io(&self.root, "list", e)),
        };
        let mut dirs: Vec<PathBuf> = Vec::new();
        for e in read {
            let e = e.map_err(|e| CacheError::io(&self.root, "list", e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if CacheKey::parse(&name).is_some() && e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        dirs.sort();
        Ok(dirs
            .into_iter()
            .map(|dir| match manifest::verify_entry(&dir) {
                Ok(manifest) => ScannedEntry::Valid(CacheEntry { dir, manifest }),
                Err(error) => ScannedEntry::Broken { dir, error },
            })
            .collect())
    }

    /// The entries built from `inputs` by any compiler, newest compiler version first; damaged
    /// ones are returned as errors after the valid ones.
    pub fn find_inputs(
        &self,
        inputs: &InputsHash,
    ) -> Result<(Vec<CacheEntry>, Vec<CacheError>), CacheError> {
        let mut found = Vec::new();
        let mut broken = Vec::new();
        for s in self.scan()? {
            match s {
                ScannedEntry::Valid(e) if e.manifest.inputs == *inputs => found.push(e),
                ScannedEntry::Valid(_) => {}
                ScannedEntry::Broken { error, .. } => broken.push(error),
            }
        }
        found.sort_by_key(|e| std::cmp::Reverse(version_order(&e.manifest.compiler_version)));
        Ok((found, broken))
    }

    /// A new temporary directory to build an entry in.
    pub fn staging(&self) -> Result<Staging, CacheError> {
        self.ensure_root()?;
        let dir = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir_in(&self.root)
            .map_err(|e| CacheError::io(&self.root, "create a temporary directory in", e))?;
        Ok(Staging { dir: Some(dir) })
    }

    /// Writes `manifest` (its `files` filled in from the staged files) and moves the staged
    /// directory into place as entry `key`, replacing a damaged entry. Call with the key's
    /// lock held.
    pub fn commit(
        &self,
        mut staging: Staging,
        key: &CacheKey,
        mut manifest: Manifest,
    ) -> Result<CacheEntry, CacheError> {
        let dir = staging.dir.take().expect("staging is live until committed");
        manifest.key = key.to_string();
        manifest.files = manifest::hash_files(dir.path())?;
        manifest::write_manifest(dir.path(), &manifest)?;
        let target = self.entry_dir(key);
        if target.exists() {
            self.remove(&target)?;
        }
        let staged = dir.keep();
        std::fs::rename(&staged, &target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged);
            CacheError::io(&target, "move the built entry to", e)
        })?;
        self.get(key)?.ok_or_else(|| CacheError::Corrupt {
            entry: target.clone(),
            file: manifest::MANIFEST_FILE.into(),
            problem: "vanished right after it was written".into(),
        })
    }

    /// Removes an entry directory (renamed aside first, so no reader sees it half-deleted).
    pub fn remove(&self, dir: &Path) -> Result<(), CacheError> {
        let aside = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir_in(&self.root)
            .map_err(|e| CacheError::io(&self.root, "create a temporary directory in", e))?;
        let trash = aside.path().join("old");
        std::fs::rename(dir, &trash).map_err(|e| CacheError::io(dir, "remove", e))?;
        drop(aside);
        Ok(())
    }

    /// Removes damaged entries and temporary directories no build is using; returns what was
    /// removed.
    pub fn prune(&self) -> Result<Vec<PathBuf>, CacheError> {
        let mut removed = Vec::new();
        for s in self.scan()? {
            if let ScannedEntry::Broken { dir, .. } = s {
                let key = dir
                    .file_name()
                    .and_then(|n| CacheKey::parse(&n.to_string_lossy()));
                // Only with the key's lock: a build may be replacing it right now.
                let _lock = match &key {
                    Some(k) => Some(self.lock(k)?),
                    None => None,
                };
                if dir.exists() && manifest::verify_entry(&dir).is_err() {
                    self.remove(&dir)?;
                    removed.push(dir);
                }
            }
        }
        let read = match std::fs::read_dir(&self.root) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(CacheError::io(&self.root, "list", e)),
        };
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if name.starts_with(TEMP_PREFIX) && is_stale(&path) {
                std::fs::remove_dir_all(&path).map_err(|e| CacheError::io(&path, "remove", e))?;
                removed.push(path);
            }
        }
        Ok(removed)
    }
}

/// A temporary directory older than an hour: no build takes that long without the lock file
/// being held, and a fresh one may belong to a running build.
fn is_stale(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 3600)
}

/// Sort key of a compiler version text (`16.0.384591198`): numeric parts.
fn version_order(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}
