//! Pipeline engine benchmark (prints figures, asserts nothing).
//!
//! `cargo bench -p tpupipe-runtime --bench pipeline -- [ITEMS]`
//!
//! (a) Handoff overhead: K trivial stages (K = 1, 2, 4, 8) against calling the same executors in
//!     a loop: the latency one `infer` adds per stage, and the time per item and per stage of a
//!     stream (`run_iter`). Goal: under 10 µs per stage; libcoral's Python pipeline adds about
//!     250 µs.
//! (c) Stages that wait like Edge TPUs (4 stages sleeping 2 ms each): stream throughput against
//!     one item per slowest stage (goal: within 5%).
//!
//! (b), a real model split in two stages against the whole model on one interpreter, is the
//! compiler crate's `pipeline_cpu` bench (it needs the splitter).

use std::hint::black_box;
use std::time::{Duration, Instant};
use tpupipe_runtime::pipeline::*;
use tpupipe_runtime::ElementType;

/// Copies its input to its output (a stage that does next to nothing).
struct Copy;

impl StageExecutor for Copy {
    fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
        outputs[0].copy_from_slice(inputs[0]);
        Ok(())
    }
}

/// Sleeps like a device that is busy for `busy`, then copies.
struct Sleeper {
    busy: Duration,
}

impl StageExecutor for Sleeper {
    fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
        std::thread::sleep(self.busy);
        outputs[0].copy_from_slice(inputs[0]);
        Ok(())
    }
}

fn chain(k: usize, bytes: usize) -> PipelineSpec {
    let t = |i: usize| TensorSpec::new(format!("t{i}"), ElementType::U8, vec![bytes]).unwrap();
    PipelineSpec {
        inputs: vec![t(0)],
        stages: (0..k)
            .map(|s| StageSpec {
                name: format!("s{s}"),
                inputs: vec![StageInput {
                    source: if s == 0 {
                        Source::ModelInput(0)
                    } else {
                        Source::Stage {
                            stage: s - 1,
                            output: 0,
                        }
                    },
                    tensor: t(s),
                }],
                outputs: vec![t(s + 1)],
                replicas: 1,
            })
            .collect(),
        outputs: vec![OutputSpec {
            name: "y".into(),
            source: Source::Stage {
                stage: k - 1,
                output: 0,
            },
        }],
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn handoff(items: usize) {
    println!("(a) handoff overhead, 64-byte tensors, {items} items");
    println!(
        "{:>3} {:>12} {:>14} {:>16} {:>14} {:>16}",
        "K",
        "loop µs/item",
        "infer µs/item",
        "infer +µs/stage",
        "stream µs/item",
        "stream µs/stage"
    );
    let data = vec![7u8; 64];
    for k in [1usize, 2, 4, 8] {
        // The same executors called in a loop.
        let mut execs: Vec<Copy> = (0..k).map(|_| Copy).collect();
        let mut bufs = vec![vec![0u8; 64]; k + 1];
        bufs[0].copy_from_slice(&data);
        let started = Instant::now();
        for _ in 0..items {
            for (s, e) in execs.iter_mut().enumerate() {
                let (ins, outs) = bufs.split_at_mut(s + 1);
                e.run(&[&ins[s]], &mut [&mut outs[0]]).unwrap();
            }
            black_box(&bufs[k]);
        }
        let looped = started.elapsed() / items as u32;

        let factory = |_: usize, _: usize| -> Result<Box<dyn StageExecutor>, StageError> {
            Ok(Box::new(Copy))
        };
        let mut p = Pipeline::new(chain(k, 64), factory, PipelineOptions::default()).unwrap();
        let latency_runs = (items / 10).max(100);
        let mut lat = Vec::with_capacity(latency_runs);
        for _ in 0..latency_runs {
            let started = Instant::now();
            let out = p.infer(&[Input::bytes(&data)]).unwrap();
            black_box(out.get(0));
            drop(out);
            lat.push(started.elapsed());
        }
        let infer = median(lat);
        let started = Instant::now();
        let n = p
            .run_iter((0..items).map(|_| [Input::bytes(&data)]))
            .filter(|r| r.is_ok())
            .count();
        assert_eq!(n, items);
        let stream = started.elapsed() / items as u32;
        println!(
            "{k:>3} {:>12.2} {:>14.2} {:>16.2} {:>14.2} {:>16.2}",
            us(looped),
            us(infer),
            (us(infer) - us(looped)) / k as f64,
            us(stream),
            us(stream) / k as f64
        );
    }
}

fn device_like(items: usize) {
    let busy = Duration::from_millis(2);
    let k = 4;
    println!("(c) {k} stages sleeping {busy:?} each, {items} items");
    // What one sleep really takes on this machine.
    let started = Instant::now();
    for _ in 0..50 {
        std::thread::sleep(busy);
    }
    let real_sleep = started.elapsed() / 50;
    let factory = move |_: usize, _: usize| -> Result<Box<dyn StageExecutor>, StageError> {
        Ok(Box::new(Sleeper { busy }))
    };
    let mut p = Pipeline::new(chain(k, 1024), factory, PipelineOptions::default()).unwrap();
    let data = vec![1u8; 1024];
    let started = Instant::now();
    let mut first = None;
    let mut n = 0;
    for r in p.run_iter((0..items).map(|_| [Input::bytes(&data)])) {
        if r.is_ok() {
            n += 1;
            first.get_or_insert_with(Instant::now);
        }
    }
    assert_eq!(n, items);
    let elapsed = started.elapsed();
    let throughput = items as f64 / elapsed.as_secs_f64();
    // Without filling and draining the pipeline: from the first result to the last.
    let steady = (items - 1) as f64 / first.map_or(elapsed, |f| f.elapsed()).as_secs_f64();
    let stats = p.stats();
    let slowest = stats
        .stages
        .iter()
        .map(|s| s.total.busy / s.total.items.max(1) as u32)
        .max()
        .unwrap_or_default();
    println!(
        "  one sleep really takes {:.3} ms; the slowest stage's mean busy time is {:.3} ms",
        real_sleep.as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3,
    );
    for (what, rate) in [
        ("overall", throughput),
        ("steady (first to last result)", steady),
    ] {
        println!(
            "  {what}: {rate:.1} items/s = {:.1}% of 1/{busy:?}, {:.1}% of 1/slowest stage",
            100.0 * rate * busy.as_secs_f64(),
            100.0 * rate * slowest.as_secs_f64(),
        );
    }
    let l = stats.latency;
    println!(
        "  latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (4 x 2 ms of work)",
        l.p50.as_secs_f64() * 1e3,
        l.p90.as_secs_f64() * 1e3,
        l.p99.as_secs_f64() * 1e3,
        l.max.as_secs_f64() * 1e3
    );
    for s in &stats.stages {
        println!(
            "  {}: {} items, busy {:.0} ms, waiting for input {:.0} ms, blocked on output {:.0} ms, queue high water {}",
            s.name,
            s.total.items,
            s.total.busy.as_secs_f64() * 1e3,
            s.total.waiting_for_input.as_secs_f64() * 1e3,
            s.total.blocked_on_output.as_secs_f64() * 1e3,
            s.queue_high_water
        );
    }
}

fn main() {
    let items: usize = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
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
    handoff(items);
    device_like((items / 200).clamp(100, 1000));
}
