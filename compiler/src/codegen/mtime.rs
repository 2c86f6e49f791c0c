//! Modification times of embedded artifacts, so that cargo does not rebuild for nothing.
//!
//! Cargo considers a crate stale when a file it `include_bytes!`-ed was modified after the
//! build that read it *started*. Segment files written by the expansion itself (a cold split or
//! compile) are always newer than that, so the next, unchanged build would compile the crate
//! again. Their content is fixed by their path (the artifact directory is named by a hash of
//! the model and options), so they may carry the model's modification time instead: the time
//! of the input they were derived from, which precedes the build.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Sets the modification time of each of `files` that is newer than the model's (or than now,
/// for a model dated in the future) back to that time. Best effort: a file whose time cannot be
/// read or set is left alone (the only cost is one extra rebuild).
pub fn settle(files: &[PathBuf], model: &Path) {
    let Ok(model_time) = std::fs::metadata(model).and_then(|m| m.modified()) else {
        return;
    };
    let target = model_time.min(SystemTime::now());
    for f in files {
        let newer = std::fs::metadata(f)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > target);
        if newer {
            if let Ok(file) = std::fs::File::open(f) {
                let _ = file.set_modified(target);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn mtime(p: &Path) -> SystemTime {
        std::fs::metadata(p).unwrap().modified().unwrap()
    }

    #[test]
    fn newer_files_take_the_models_time_and_older_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.tflite");
        let fresh = dir.path().join("fresh.tflite");
        let old = dir.path().join("old.tflite");
        for p in [&model, &fresh, &old] {
            std::fs::write(p, b"x").unwrap();
        }
        let t0 = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::open(&old)
            .unwrap()
            .set_modified(t0 - Duration::from_secs(60))
            .unwrap();
        std::fs::File::open(&model)
            .unwrap()
            .set_modified(t0)
            .unwrap();
        settle(&[fresh.clone(), old.clone()], &model);
        assert_eq!(mtime(&fresh), t0);
        assert_eq!(mtime(&old), t0 - Duration::from_secs(60));
    }
}
