//! Pipeline benchmark (b): a real model split in two stages of about equal interpreter time, run
//! as a 2-stage CPU pipeline, against the whole model on one interpreter (prints figures, asserts
//! nothing). The runtime's own `pipeline` bench has the handoff and device-like figures.
//!
//! `cargo bench -p tpupipe-compiler --bench pipeline_cpu -- [MODEL.tflite] [ITEMS]` (default:
//! the MobileNetV2 fixture, 200 items). Goal on 2 free cores: at least 1.7x the single
//! interpreter's throughput.
//!
//! The cut is chosen from a profile of the whole model (median time per op over 10 runs): the
//! position in graph order that best balances the two halves.

use std::time::{Duration, Instant};
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::planner::Cuts;
use tpupipe_compiler::split::Split;
use tpupipe_compiler::Strategy;
use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::pipeline::cpu::{CpuExecutor, CpuPipelineBuilder};
use tpupipe_runtime::pipeline::{Input, PipelineOptions, StageExecutor};
use tpupipe_runtime::ModelView;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median time of `runs` calls.
fn median_of(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let path = args.first().cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/models/mobilenet_v2.tflite"
        )
        .to_string()
    });
    // Figures from a busy machine are not comparable: say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "load average (1, 5, 15 min): {}; cores: {}",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    let items: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let view = ModelView::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    let graph = Graph::build(&view).unwrap();
    let mut full = Interpreter::new(&view).unwrap();

    // Deterministic input bytes.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let inputs: Vec<Vec<u8>> = (0..full.input_count())
        .map(|i| {
            (0..full.input(i).unwrap().byte_size)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed >> 56) as u8
                })
                .collect()
        })
        .collect();
    for (i, d) in inputs.iter().enumerate() {
        full.set_input(i, d).unwrap();
    }

    // Profile: median time of every op over 10 runs, in graph order.
    let mut per_op: Vec<Vec<Duration>> = Vec::new();
    for _ in 0..10 {
        let times = full.invoke_profiled().unwrap();
        if per_op.is_empty() {
            per_op = vec![Vec::new(); times.len()];
        }
        for (k, (_, _, d)) in times.into_iter().enumerate() {
            per_op[k].push(d);
        }
    }
    let op_time: Vec<Duration> = per_op
        .into_iter()
        .map(|mut v| {
            v.sort();
            v[v.len() / 2]
        })
        .collect();
    let in_graph_order: Vec<Duration> =
        graph.order().iter().map(|op| op_time[op.index()]).collect();
    let total: Duration = in_graph_order.iter().sum();
    let mut best = (1, Duration::MAX);
    let mut prefix = Duration::ZERO;
    for (cut, d) in in_graph_order.iter().enumerate().take(graph.len() - 1) {
        prefix += *d;
        let slowest = prefix.max(total - prefix);
        if slowest < best.1 {
            best = (cut + 1, slowest);
        }
    }
    let cut = best.0;
    let cuts = Cuts::new(vec![cut], graph.len()).unwrap();
    let stem = std::path::Path::new(&path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let split = Split::new(view, &graph, cuts, &format!("{stem}.tflite")).unwrap();
    let plan = split.plan(Strategy::Manual, "", &stem, &[]);
    let segments: Vec<(String, Vec<u8>)> = (0..2)
        .map(|i| {
            (
                format!("{stem}_segment_{i}_of_2"),
                split.write_segment(i).unwrap().into_vec(),
            )
        })
        .collect();

    // Each segment alone, on the inputs it really gets.
    let whole = median_of(20, || full.invoke().unwrap());
    let mut seg0 = CpuExecutor::from_bytes(&segments[0].1).unwrap();
    let mut seg1 = CpuExecutor::from_bytes(&segments[1].1).unwrap();
    let names0: Vec<String> = seg0
        .interpreter()
        .inputs()
        .map(|d| d.name.clone())
        .collect();
    let ins0: Vec<&[u8]> = names0
        .iter()
        .map(|n| {
            let k = plan.model_inputs.iter().position(|m| m == n).unwrap();
            inputs[k].as_slice()
        })
        .collect();
    let mut outs0: Vec<Vec<u8>> = seg0
        .interpreter()
        .outputs()
        .map(|d| vec![0u8; d.byte_size])
        .collect();
    let t0 = median_of(20, || {
        let mut o: Vec<&mut [u8]> = outs0.iter_mut().map(|b| b.as_mut_slice()).collect();
        seg0.run(&ins0, &mut o).unwrap();
    });
    let names1: Vec<String> = seg1
        .interpreter()
        .inputs()
        .map(|d| d.name.clone())
        .collect();
    let out_names0: Vec<String> = seg0
        .interpreter()
        .outputs()
        .map(|d| d.name.clone())
        .collect();
    let ins1: Vec<Vec<u8>> = names1
        .iter()
        .map(|n| match out_names0.iter().position(|m| m == n) {
            Some(k) => outs0[k].clone(),
            None => inputs[plan.model_inputs.iter().position(|m| m == n).unwrap()].clone(),
        })
        .collect();
    let ins1: Vec<&[u8]> = ins1.iter().map(|v| v.as_slice()).collect();
    let mut outs1: Vec<Vec<u8>> = seg1
        .interpreter()
        .outputs()
        .map(|d| vec![0u8; d.byte_size])
        .collect();
    let t1 = median_of(20, || {
        let mut o: Vec<&mut [u8]> = outs1.iter_mut().map(|b| b.as_mut_slice()).collect();
        seg1.run(&ins1, &mut o).unwrap();
    });

    // The whole model on one interpreter, `items` times.
    let started = Instant::now();
    for _ in 0..items {
        full.invoke().unwrap();
    }
    let single = started.elapsed();

    let mut pipeline = CpuPipelineBuilder::from_bytes(segments)
        .unwrap()
        .model_inputs(plan.model_inputs.clone())
        .model_outputs(plan.model_outputs.clone())
        .build(PipelineOptions::default())
        .unwrap();
    let item: Vec<Input> = inputs.iter().map(|d| Input::bytes(d)).collect();
    let started = Instant::now();
    let n = pipeline
        .run_iter((0..items).map(|_| item.clone()))
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(n, items);
    let piped = started.elapsed();
    let stats = pipeline.stats();

    println!(
        "{path}: {} ops, cut at position {cut} (profiled halves: {:.2} and {:.2} ms of {:.2} ms)",
        graph.len(),
        ms(total.saturating_sub(best.1)),
        ms(best.1),
        ms(total)
    );
    println!(
        "alone: whole model {:.2} ms, segment 0 {:.2} ms, segment 1 {:.2} ms",
        ms(whole),
        ms(t0),
        ms(t1)
    );
    let single_rate = items as f64 / single.as_secs_f64();
    let piped_rate = items as f64 / piped.as_secs_f64();
    println!(
        "{items} items: one interpreter {single_rate:.1}/s, 2-stage pipeline {piped_rate:.1}/s: {:.2}x (goal >= 1.7x on 2 free cores; this machine has {} cores)",
        piped_rate / single_rate,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for s in &stats.stages {
        println!(
            "  {}: busy {:.2} ms/item, waiting for input {:.0} ms, blocked on output {:.0} ms in total",
            s.name,
            ms(s.total.busy) / s.total.items.max(1) as f64,
            ms(s.total.waiting_for_input),
            ms(s.total.blocked_on_output)
        );
    }
    let l = stats.latency;
    println!(
        "  latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.max)
    );
}
