//! Where the tests find their material.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `tests/testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The committed fixture models (`tests/models`).
pub fn models_dir() -> PathBuf {
    repo_root().join("tests/models")
}

/// A committed fixture model, `tests/models/<name>.tflite`.
pub fn fixture(name: &str) -> PathBuf {
    models_dir().join(format!("{name}.tflite"))
}

/// The fixture models (`tests/models/*.tflite`), sorted by name.
pub fn fixture_models() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(models_dir())
        .expect("tests/models is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tflite"))
        .collect();
    v.sort();
    v
}

/// The shared material (`TPUPIPE_SHARED`, else `../shared` beside the workspace), or `None`
/// after printing why the calling test skips. `what` names the part needed (e.g.
/// `"calibration"`); the directory must contain it.
pub fn shared(what: &str) -> Option<PathBuf> {
    let root = std::env::var_os("TPUPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    let dir = root.join(what);
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (set TPUPIPE_SHARED to the shared material's directory)",
            dir.display()
        );
        None
    }
}
