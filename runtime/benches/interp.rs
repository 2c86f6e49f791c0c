//! Interpreter benchmark: median wall time of one inference (single thread).
//!
//! `cargo bench -p tpupipe-runtime --bench interp -- [MODEL.tflite] [RUNS]` (default: the
//! MobileNetV2 fixture, 50 runs). Inputs are deterministic pseudo-random bytes. Prints the time
//! per operator kind and a final `tpupipe_ms=<median>` line that `litert_compare.sh` parses.
//! `TPUPIPE_INTERP_NO_AVX512=1` measures the AVX2 kernels on a CPU with AVX-512 VNNI,
//! `TPUPIPE_INTERP_PORTABLE=1` the portable ones.

use std::time::Instant;
use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::{ElementType, ModelView};

/// xorshift64: deterministic input bytes without a dependency.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn main() {
    // `cargo bench` passes `--bench`; ignore flags.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let model = args.first().cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/models/mobilenet_v2.tflite"
        )
        .to_string()
    });
    let runs: usize = args
        .get(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(50)
        .max(1);
    let bytes = std::fs::read(&model).unwrap_or_else(|e| panic!("{model}: {e}"));
    let view = ModelView::parse(&bytes).unwrap_or_else(|e| panic!("{model}: {e}"));
    let started = Instant::now();
    let mut interp = Interpreter::new(&view).unwrap_or_else(|e| panic!("{model}: {e}"));
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..interp.input_count() {
        let desc = interp.input(i).expect("index in range").clone();
        let mut data = vec![0u8; desc.byte_size];
        if desc.dtype == ElementType::F32 {
            for c in data.chunks_exact_mut(4) {
                let v = (next(&mut seed) >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                c.copy_from_slice(&v.to_le_bytes());
            }
        } else {
            for b in data.iter_mut() {
                *b = (next(&mut seed) >> 56) as u8;
            }
        }
        interp.set_input(i, &data).expect("sized to the input");
    }
    for _ in 0..3 {
        interp.invoke().expect("inference");
    }
    let mut times = Vec::with_capacity(runs);
    let mut by_kind: Vec<(String, f64)> = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let ops = interp.invoke_profiled().expect("inference");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        for (_, kind, d) in ops {
            let ms = d.as_secs_f64() * 1e3;
            match by_kind.iter_mut().find(|(k, _)| *k == kind) {
                Some(e) => e.1 += ms,
                None => by_kind.push((kind, ms)),
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    by_kind.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("model: {model}");
    println!(
        "gemm inner loop: {:?}",
        tpupipe_runtime::interp::ops::gemm::detect()
    );
    println!(
        "ops: {}, arena: {} bytes, constants: {} bytes, load: {load_ms:.1} ms",
        interp.op_count(),
        interp.arena_size(),
        interp.constant_size()
    );
    for (kind, total) in &by_kind {
        println!("  {kind:<24} {:>8.3} ms", total / runs as f64);
    }
    println!(
        "runs: {runs}, min {:.3} ms, mean {mean:.3} ms, median {median:.3} ms",
        times[0]
    );
    println!("tpupipe_ms={median:.3}");
}
