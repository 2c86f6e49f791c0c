//! Shared helpers of the interpreter's integration tests: running a model file on its `.npz`
//! inputs and comparing with its `.npz` golden outputs.

#![allow(dead_code)]

pub use tpupipe_runtime::npz;

use std::path::{Path, PathBuf};
use tpupipe_runtime::interp::{Interpreter, LoadError};
use tpupipe_runtime::ModelView;

/// The shared material directory (`$TPUPIPE_SHARED`, else `../shared` beside the workspace).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("TPUPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// The repository's `tests/models` directory.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models")
}

/// What happened to one model.
pub enum Outcome {
    /// Every output matched bit for bit.
    Pass,
    /// The interpreter does not support one of the model's ops yet.
    Pending(String),
    /// Anything else: the reason.
    Fail(String),
}

/// `.tflite` files directly in `dir`, sorted.
pub fn tflite_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs every model in `models_dir()/subdir` (at least `min_models` of them) and panics listing
/// each one that does not reproduce its goldens bit for bit. An unsupported op counts as a
/// failure: every op in such a directory is expected to be implemented. `what` names the models
/// in messages (e.g. "binary op").
pub fn assert_every_model_matches(subdir: &str, min_models: usize, what: &str) {
    let dir = models_dir().join(subdir);
    let models = tflite_files(&dir);
    assert!(
        models.len() >= min_models,
        "expected at least {min_models} {what} fixtures in {}, found {} models",
        dir.display(),
        models.len()
    );
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for m in &models {
        let name = m.file_stem().unwrap().to_string_lossy().to_string();
        match check_model(m) {
            Outcome::Pass => passed.push(name),
            Outcome::Pending(why) | Outcome::Fail(why) => failed.push(format!("{name}: {why}")),
        }
    }
    eprintln!(
        "{} of {} {what} models match bit for bit",
        passed.len(),
        models.len()
    );
    assert!(
        failed.is_empty(),
        "{} {what} models differ from LiteRT:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

fn sibling(model: &Path, suffix: &str) -> PathBuf {
    let stem = model.file_stem().unwrap().to_string_lossy().to_string();
    model.with_file_name(format!("{stem}.{suffix}.npz"))
}

/// Runs `model` on `NAME.inputs.npz` and compares with `NAME.outputs.npz`.
pub fn check_model(model: &Path) -> Outcome {
    check_model_with(model, &sibling(model, "inputs"), &sibling(model, "outputs"))
}

/// Runs `model` on the arrays of `inputs` and compares with the `outputs` archive.
pub fn check_model_with(model: &Path, inputs: &Path, outputs: &Path) -> Outcome {
    match run_and_compare(model, inputs, outputs) {
        Ok(()) => Outcome::Pass,
        Err(Err(LoadError::Unsupported { op, kind, reason })) => {
            Outcome::Pending(format!("op {op} ({kind}) not supported yet: {reason}"))
        }
        Err(Err(e)) => Outcome::Fail(format!("load error: {e}")),
        Err(Ok(msg)) => Outcome::Fail(msg),
    }
}

fn run_and_compare(
    model: &Path,
    inputs: &Path,
    outputs: &Path,
) -> Result<(), Result<String, LoadError>> {
    let bytes = std::fs::read(model).map_err(|e| Ok(format!("read: {e}")))?;
    let view = ModelView::parse(&bytes).map_err(|e| Ok(format!("parse: {e}")))?;
    let mut interp = Interpreter::new(&view).map_err(Err)?;
    let inputs = npz::read_npz(inputs).map_err(|e| Ok(e.to_string()))?;
    let goldens = npz::read_npz(outputs).map_err(|e| Ok(e.to_string()))?;
    for (name, a) in &inputs {
        let d = interp.input_by_name(name).map_err(|e| Ok(e.to_string()))?;
        if d.dtype != a.dtype || d.shape != a.shape {
            return Err(Ok(format!(
                "input '{name}': npz has {} {:?}, model wants {} {:?}",
                a.dtype, a.shape, d.dtype, d.shape
            )));
        }
        interp
            .set_input_by_name(name, &a.data)
            .map_err(|e| Ok(e.to_string()))?;
    }
    interp.invoke().map_err(|e| Ok(format!("invoke: {e}")))?;
    // Twice: a second run must give the same result (no state leaks between inferences).
    interp.invoke().map_err(|e| Ok(format!("invoke: {e}")))?;
    let mut problems = Vec::new();
    for (name, want) in &goldens {
        let got = interp
            .output_bytes_by_name(name)
            .map_err(|e| Ok(e.to_string()))?;
        if got != want.data.as_slice() {
            let esize = want.data.len() / want.len().max(1);
            let diffs = got
                .chunks(esize)
                .zip(want.data.chunks(esize))
                .filter(|(a, b)| a != b)
                .count();
            let max_diff = if esize == 1 {
                let signed = want.dtype == tpupipe_runtime::ElementType::I8;
                got.iter()
                    .zip(&want.data)
                    .map(|(&a, &b)| {
                        if signed {
                            (a as i8 as i32 - b as i8 as i32).abs()
                        } else {
                            (a as i32 - b as i32).abs()
                        }
                    })
                    .max()
                    .unwrap_or(0)
            } else {
                -1
            };
            let first = got
                .chunks(esize)
                .zip(want.data.chunks(esize))
                .position(|(a, b)| a != b);
            problems.push(format!(
                "output '{name}': {diffs} of {} elements differ (max |diff| {max_diff}, first at {first:?})",
                want.len()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Ok(problems.join("; ")))
    }
}
