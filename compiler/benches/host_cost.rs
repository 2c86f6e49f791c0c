//! Host-cost benchmark: the CPU operators of the Keras float-I/O fixtures
//! (tests/models/placement/) measured with tpupipe's interpreter on this host, against the
//! rates of the three host classes.
//!
//! Run with `cargo bench -p tpupipe-compiler --bench host_cost`. Prints, per model: the CPU
//! runs of the predicted placement, each run's measured time (median of 11 after 2 warm-ups)
//! beside the x86-64 desktop, Raspberry Pi 4 and Coral Dev Board rates; the time of the first
//! (measuring) and second (cached) call; and the whole model's time at each class's rates.

use std::time::Instant;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::placement::host_cost::measure::{self, MeasureOptions};
use tpupipe_compiler::placement::{HostClass, HostCost, Placement};
use tpupipe_runtime::ModelView;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models/placement");
    for name in ["mobilenet_v3_small_float_io", "efficientnet_b0_float_io"] {
        let bytes = std::fs::read(root.join(format!("{name}.tflite"))).expect("fixture");
        let view = ModelView::parse(&bytes).expect("parses");
        let graph = Graph::build(&view).expect("graph");
        let placement = Placement::predict(&view, &graph);
        let cache = tempfile::tempdir().expect("temp dir");
        let options = MeasureOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            ..MeasureOptions::default()
        };
        let sha = tpupipe_compiler::model_file::sha256_hex(&bytes);
        let t = Instant::now();
        let measured = measure::measure(&view, &graph, &placement, &sha, 1, &options);
        let first = t.elapsed();
        let t = Instant::now();
        let again = measure::measure(&view, &graph, &placement, &sha, 1, &options);
        let second = t.elapsed();
        assert_eq!(
            measured.per_op_ms(),
            again.per_op_ms(),
            "the cache returns what was measured"
        );
        let rates = HostClass::ALL.map(|c| HostCost::from_rates(&graph, c, 1));
        println!(
            "{name}: {} ops, {} on the CPU",
            graph.len(),
            placement.cpu_positions().len()
        );
        println!(
            "  run        kinds                 measured  x86-desktop  rpi4      coral-dev-board"
        );
        for (range, tpu) in placement.runs() {
            if tpu {
                continue;
            }
            let kinds: Vec<&str> = range.clone().map(|p| graph.op(p).kind.as_str()).collect();
            println!(
                "  {:<10} {:<21} {:>7.4}ms {:>9.4}ms {:>8.4}ms {:>8.4}ms",
                format!("{}..{}", range.start, range.end),
                kinds.join(","),
                measured.range_ms(range.clone()),
                rates[0].range_ms(range.clone()),
                rates[1].range_ms(range.clone()),
                rates[2].range_ms(range.clone()),
            );
        }
        for n in measured.notes() {
            println!("  note: {n}");
        }
        println!(
            "  measuring call {:.1} ms, cached call {:.3} ms",
            first.as_secs_f64() * 1e3,
            second.as_secs_f64() * 1e3
        );
        println!(
            "  whole model at the rates: x86-desktop {:.2} ms, rpi4 {:.2} ms, coral-dev-board {:.2} ms",
            rates[0].range_ms(0..graph.len()),
            rates[1].range_ms(0..graph.len()),
            rates[2].range_ms(0..graph.len()),
        );
    }
}
