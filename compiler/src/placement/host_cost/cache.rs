//! The on-disk cache of measured host costs: one small JSON file per measured range, under
//! `<cache dir>/host-cost/`, named by the SHA-256 of its [`CacheKey`].
//!
//! The key holds the model's hash, the position range, the host fingerprint (architecture, OS,
//! CPU model, cores) and tpupipe's version, plus the measuring options; any change measures
//! again. A file that does not parse or whose key differs is ignored. Files are written to a
//! temporary name and renamed, so a reader never sees half a file.

use super::measure::MeasureOptions;
use crate::model_file::sha256_hex;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The folder under the cache directory.
pub const DIR: &str = "host-cost";

/// What identifies one measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// First position measured.
    pub start: usize,
    /// One past the last position measured.
    pub end: usize,
    /// [`host_fingerprint`].
    pub host: String,
    /// tpupipe's version.
    pub tpupipe: String,
    /// Warm-up and timed runs.
    pub runs: (usize, usize),
}

impl CacheKey {
    /// The key of measuring `range` of the model with hash `model_sha256` on `host`.
    pub fn new(
        model_sha256: &str,
        range: Range<usize>,
        host: &str,
        options: &MeasureOptions,
    ) -> CacheKey {
        CacheKey {
            model_sha256: model_sha256.to_string(),
            start: range.start,
            end: range.end,
            host: host.to_string(),
            tpupipe: env!("CARGO_PKG_VERSION").to_string(),
            runs: (options.warmup, options.repeats),
        }
    }

    fn file(&self, dir: &Path) -> PathBuf {
        let json = serde_json::to_string(self).expect("a key serializes");
        dir.join(DIR)
            .join(format!("{}.json", &sha256_hex(json.as_bytes())[..32]))
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: CacheKey,
    per_op_ms: Vec<f64>,
}

/// This host: architecture, OS, CPU model (from `/proc/cpuinfo` where there is one) and the
/// number of cores.
pub fn host_fingerprint() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{}-{} {cpu} x{cores}",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// The cached figures for `key`, if a valid entry exists.
pub fn load(dir: &Path, key: &CacheKey) -> Option<Vec<f64>> {
    let text = std::fs::read_to_string(key.file(dir)).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    (entry.key == *key
        && entry.per_op_ms.len() == key.end - key.start
        && entry.per_op_ms.iter().all(|v| v.is_finite() && *v >= 0.0))
    .then_some(entry.per_op_ms)
}

/// Stores the figures for `key`.
pub fn store(dir: &Path, key: &CacheKey, per_op_ms: &[f64]) -> std::io::Result<()> {
    let path = key.file(dir);
    let folder = path.parent().expect("a file in the folder");
    std::fs::create_dir_all(folder)?;
    let entry = Entry {
        key: key.clone(),
        per_op_ms: per_op_ms.to_vec(),
    };
    let tmp = tempfile::NamedTempFile::new_in(folder)?;
    serde_json::to_writer(&tmp, &entry).map_err(std::io::Error::other)?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}
