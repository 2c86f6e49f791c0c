//! Streams many inputs through a `tpupipe_model!` pipeline: `run_iter` keeps every stage busy
//! from one thread, and the results come back in order. Prints the throughput, the end-to-end
//! latency percentiles and how busy each stage was (the slowest stage bounds the throughput).
//!
//! ```sh
//! cargo run --release --example macro_stream -- 200
//! ```

use std::error::Error;
use std::time::Instant;

tpupipe::tpupipe_model!(
    "tests/models/mobilenet_v2.tflite",
    tpus = 4,
    backend = "cpu",
    name = MobileNet
);

fn main() -> Result<(), Box<dyn Error>> {
    let items: usize = std::env::args().nth(1).map_or(Ok(100), |s| s.parse())?;
    let mut net = MobileNet::open_with(&tpupipe::ModelOptions::cpu().with_queue_depth(4))?;
    type Image = MobileNetServingDefaultInput1;
    let image = |k: usize| {
        let pixels: Vec<f32> = (0..Image::ELEMENTS)
            .map(|i| (((i + k) * 7919) % 255) as f32 / 127.5 - 1.0)
            .collect();
        Image::quantize(&pixels)
    };
    let inputs: Vec<Image> = (0..items).map(image).collect();
    let first = net.infer(&inputs[0])?;

    let start = Instant::now();
    let mut count = 0;
    for (k, result) in net.run_iter(inputs).enumerate() {
        let out = result?;
        if k == 0 && out != first {
            return Err("the streamed result differs from the single inference".into());
        }
        count += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{count} items in {:.1} ms: {:.1} inferences/s",
        secs * 1e3,
        count as f64 / secs
    );
    let stats = net.stats();
    let l = stats.latency;
    println!(
        "latency: mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms",
        l.mean.as_secs_f64() * 1e3,
        l.p50.as_secs_f64() * 1e3,
        l.p99.as_secs_f64() * 1e3
    );
    for (s, p) in stats.stages.iter().zip(net.placements()) {
        println!(
            "stage {} on {}: {} items, busy {:.1}% of the run",
            p.stage,
            p.device,
            s.total.items,
            100.0 * s.total.busy.as_secs_f64() / secs
        );
    }
    Ok(())
}
