//! The Coral zoo's uint8 MobileNet v2 (read from the shared material, never committed) runs
//! through the interpreter and reproduces ai-edge-litert 2.3.0's outputs bit for bit on the
//! committed sample inputs (`tests/models/zoo/`, made by `tests/fixtures/make_zoo_goldens.py`).
//! Skips with a message where the shared model is absent.

mod common;

use common::{check_model_with, models_dir, shared_dir, Outcome};

/// Golden samples per model.
const SAMPLES: usize = 3;

#[test]
fn zoo_mobilenet_v2_uint8_matches_litert_bit_for_bit() {
    let stem = "mobilenet_v2_1.0_224_quant";
    let model = shared_dir().join("zoo").join(format!("{stem}.tflite"));
    if !model.is_file() {
        eprintln!(
            "SKIPPED: {} not found (set TPUPIPE_SHARED to the shared material)",
            model.display()
        );
        return;
    }
    let dir = models_dir().join("zoo");
    let mut failed = Vec::new();
    for i in 0..SAMPLES {
        let inputs = dir.join(format!("{stem}.{i}.inputs.npz"));
        let outputs = dir.join(format!("{stem}.{i}.outputs.npz"));
        match check_model_with(&model, &inputs, &outputs) {
            Outcome::Pass => {}
            Outcome::Pending(why) | Outcome::Fail(why) => failed.push(format!("sample {i}: {why}")),
        }
    }
    assert!(
        failed.is_empty(),
        "{stem} differs from LiteRT:\n{}",
        failed.join("\n")
    );
}
