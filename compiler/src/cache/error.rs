//! [`CacheError`]: why the artifact cache could not be read or written.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// A failure of the artifact cache.
#[derive(Debug, Error)]
pub enum CacheError {
    /// A file operation failed.
    #[error("could not {what} {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (`read`, `write`, `lock`, ...).
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file of an entry is missing, changed or unexpected.
    #[error("cache entry {} is corrupt: {file} {problem}", entry.display())]
    Corrupt {
        /// The entry's directory.
        entry: PathBuf,
        /// The file concerned.
        file: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The entry was written in another cache format.
    #[error("cache entry {} has cache format {found}; this tpupipe reads format {}", entry.display(), super::CACHE_FORMAT_VERSION)]
    Format {
        /// The entry's directory.
        entry: PathBuf,
        /// The format found.
        found: u32,
    },
    /// Something in an entry that is not a regular file.
    #[error("{}: {name:?} is {why}", dir.display())]
    Unexpected {
        /// The directory.
        dir: PathBuf,
        /// The name found.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl CacheError {
    /// An [`CacheError::Io`] for `path`.
    pub fn io(path: &Path, what: &'static str, source: std::io::Error) -> CacheError {
        CacheError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}
