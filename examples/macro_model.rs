//! `tpupipe_model!` on the shipped MobileNetV2 fixture with `backend = "cpu"`: the model is
//! planned for 4 Edge TPUs and split at build time, the segments are embedded in the binary, and
//! the pipeline opens with CPU fallback: a stage that cannot run on an Edge TPU runs on the CPU
//! interpreter, and the program says why. The binary needs no model file, no compiler and no
//! libedgetpu at run time. Prints the top outputs, where each stage ran and per-stage
//! statistics.
//!
//! ```sh
//! cargo run --release --example macro_model
//! ```

use std::error::Error;

tpupipe::tpupipe_model!(
    "tests/models/mobilenet_v2.tflite",
    tpus = 4,
    backend = "cpu",
    name = MobileNet
);

fn main() -> Result<(), Box<dyn Error>> {
    // Edge TPUs where possible, the CPU for the rest (with `backend = "cpu"` only the CPU
    // segments are embedded, so every stage falls back).
    let net = MobileNet::open_with(&tpupipe::ModelOptions::auto(true))?;
    if let Some(why) = net.fallback_summary() {
        println!("{why}");
    }
    let plan = MobileNet::plan();
    println!(
        "{}: {} segments, cuts at {:?}, predicted {:.1} inferences/s on {} Edge TPUs",
        plan.model,
        MobileNet::SEGMENTS,
        plan.cuts,
        plan.throughput_per_s.unwrap_or(f64::NAN),
        plan.tpus
    );

    // A synthetic image in [-1, 1], quantized with the input's own scale and zero point.
    type Image = MobileNetServingDefaultInput1;
    let pixels: Vec<f32> = (0..Image::ELEMENTS)
        .map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0)
        .collect();
    let image = Image::quantize(&pixels);
    println!(
        "input {:?} {} (scale {}, zero point {})",
        Image::SHAPE,
        Image::DTYPE,
        Image::SCALE,
        Image::ZERO_POINT
    );

    let logits = net.infer(&image)?.dequantize();
    let mut top: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("top 5 classes (random weights, so only the mechanics matter):");
    for (class, score) in top.iter().take(5) {
        println!("  class {class:4}: {score:.4}");
    }

    // Where each stage runs (`p.fallback_reason` has each stage's own reason).
    for p in net.placements() {
        println!("stage {}: {} ({})", p.stage, p.device, p.detail);
    }
    for s in net.stats().stages {
        let busy_ms = s.total.busy.as_secs_f64() * 1e3;
        println!(
            "  {}: {} items, {:.2} ms busy",
            s.name, s.total.items, busy_ms
        );
    }
    Ok(())
}
