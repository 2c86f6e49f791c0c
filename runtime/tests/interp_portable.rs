//! The portable (non-SIMD) kernels give the same bit-exact results: every core op case and every
//! fixture model is run with SIMD disabled through `TPUPIPE_INTERP_PORTABLE` (this test binary is
//! its own process, and sets the variable before any kernel runs).

mod common;

use common::{check_model, models_dir, tflite_files, Outcome};

#[test]
fn portable_kernels_match_litert_bit_for_bit() {
    std::env::set_var(
        tpupipe_runtime::interp::ops::cpu_features::PORTABLE_ENV,
        "1",
    );
    assert!(!tpupipe_runtime::interp::ops::cpu_features::has_avx2());
    let mut models = tflite_files(&models_dir().join("ops/core"));
    models.extend(tflite_files(&models_dir()));
    assert!(models.len() > 50);
    let mut failed = Vec::new();
    for m in &models {
        match check_model(m) {
            Outcome::Pass | Outcome::Pending(_) => {}
            Outcome::Fail(why) => failed.push(format!("{}: {why}", m.display())),
        }
    }
    assert!(
        failed.is_empty(),
        "portable kernels differ:\n{}",
        failed.join("\n")
    );
}
