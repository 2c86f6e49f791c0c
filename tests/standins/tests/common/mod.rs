//! Helpers shared by the stand-in's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The stand-in binary.
pub fn standin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_edgetpu_compiler"))
}

/// `../shared` (or `TPUPIPE_SHARED`), when present.
pub fn shared_dir() -> Option<PathBuf> {
    tpupipe_testkit::paths::shared("edgetpu-samples")
        .and_then(|d| d.parent().map(Path::to_path_buf))
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    tpupipe_testkit::paths::repo_root()
}

/// The fixture models in `tests/models/`, sorted.
pub fn fixture_models() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(workspace().join("tests/models"))
        .expect("tests/models is part of the repository")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect();
    v.sort();
    v
}

/// Runs the stand-in with `args` and extra environment, with every stand-in variable of the
/// calling environment cleared first.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_in(Path::new("."), args, env)
}

/// Like [`run`], in the working directory `dir`.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(standin());
    c.args(args).current_dir(dir);
    for v in [
        "TPUPIPE_STANDIN_FAIL",
        "TPUPIPE_STANDIN_FAIL_ONLY",
        "TPUPIPE_STANDIN_STATE_DIR",
        "TPUPIPE_STANDIN_VERSION",
        "TPUPIPE_STANDIN_MAX_MAPPED_OPS",
    ] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().expect("the stand-in runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Rewrites a model through the object API.
pub fn modify(bytes: &[u8], f: impl FnOnce(&mut tpupipe_runtime::schema::ModelT)) -> Vec<u8> {
    use tpupipe_runtime::schema;
    let mut m = tpupipe_runtime::ModelView::parse(bytes)
        .unwrap()
        .raw()
        .unpack();
    f(&mut m);
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = m.pack(&mut fbb);
    fbb.finish(root, Some(schema::MODEL_IDENTIFIER));
    fbb.finished_data().to_vec()
}
