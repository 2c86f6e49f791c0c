//! Warm expansion of `tpupipe_model!` for MobileNetV2 (4 TPUs, CPU backend): the time
//! `codegen::expand` takes when the artifact directory already exists (hash the model and the
//! options, check the manifest's hashes, read the plan, generate the tokens), which is what
//! every rebuild of a crate using the macro pays. Goal: under 50 ms. Prints figures, asserts
//! nothing about time.
//!
//! ```sh
//! cargo bench -p tpupipe-compiler --bench codegen_expand
//! ```

use std::path::Path;
use std::time::Instant;
use tpupipe_compiler::codegen::{expand, Backend, CodegenOptions};
use tpupipe_compiler::Builder;

fn main() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models/mobilenet_v2.tflite");
    let root = tempfile::tempdir().expect("a scratch directory");
    let builder = Builder::new(&model).tpus(4);
    let options = CodegenOptions::new(Backend::Cpu, root.path());

    let start = Instant::now();
    let cold = expand(&builder, &options).expect("MobileNetV2 expands");
    let cold_ms = start.elapsed().as_secs_f64() * 1e3;
    assert!(!cold.artifacts.reused);

    let runs = 20;
    let mut times = Vec::with_capacity(runs);
    let mut text_len = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let warm = expand(&builder, &options).expect("MobileNetV2 expands");
        let tokens = warm.tokens.to_string();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(warm.artifacts.reused);
        text_len = tokens.len();
    }
    times.sort_by(f64::total_cmp);
    println!("codegen_expand mobilenet_v2 tpus=4 backend=cpu");
    println!("  cold (split + write artifacts): {cold_ms:.1} ms");
    println!(
        "  warm (artifacts present), {runs} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms (goal < 50 ms)",
        times[0],
        times[runs / 2],
        times[runs - 1]
    );
    println!("  generated code: {text_len} bytes of tokens");
}
