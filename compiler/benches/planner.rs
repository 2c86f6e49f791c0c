//! Planner benchmark report: predicted speedups of the `params` and `balanced` strategies (the
//! latter with and without replicated segments) over one TPU on the paper's model families
//! (FC N = 100..3000, conv F = 32..702) for 1-4 TPUs, the time the planner itself takes, and
//! planning MobileNet v2, the CPU-stage fixtures (and ResNet-50, given `TPUPIPE_RESNET50=path`)
//! for 1..8 TPUs with the predicted placement (CPU stages where operators do not map).
//!
//! Writes a table to stdout and `<target>/planner-report/report.md`, and SVG charts beside it.
//! Run with `cargo bench -p tpupipe-compiler --bench planner`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tpupipe_compiler::cost::from_graph::GraphCost;
use tpupipe_compiler::cost::synthetic::SyntheticModel;
use tpupipe_compiler::cost::CostModel;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::model_file::ModelFile;
use tpupipe_compiler::placement::{HostClass, HostCost, Placement};
use tpupipe_compiler::planner::context::{PlanContext, SearchOptions};
use tpupipe_compiler::planner::layout::Device;
use tpupipe_compiler::planner::model_cost::ModelCost;
use tpupipe_compiler::planner::placed_cost::StagePlacement;
use tpupipe_compiler::planner::sides::Sides;
use tpupipe_compiler::svg::{LineChart, Series};
use tpupipe_compiler::Strategy;

const MAX_TPUS: usize = 4;

const REPLICATE: SearchOptions = SearchOptions {
    allow_fewer: false,
    replicate: true,
};

struct FamilyRow {
    knob: u64,
    single_ms: f64,
    /// [tpus-1] -> (params, balanced, balanced with replication) speedup over one TPU.
    speedups: Vec<(f64, f64, f64)>,
    plan_time: Duration,
}

fn sweep(family: &str, knobs: &[u64], build: fn(u64) -> SyntheticModel) -> Vec<FamilyRow> {
    knobs
        .iter()
        .map(|&knob| {
            let m = build(knob);
            let ctx = PlanContext::new(ModelCost::new(&m, CostModel::default()), None, None);
            let mut speedups = Vec::new();
            let mut single_ms = 0.0;
            let t0 = Instant::now();
            for tpus in 1..=MAX_TPUS {
                let b = ctx
                    .summary(Strategy::Balanced, tpus, SearchOptions::EXACT)
                    .unwrap_or_else(|e| panic!("{family} {knob}: {e}"));
                let r = ctx
                    .summary(Strategy::Balanced, tpus, REPLICATE)
                    .unwrap_or_else(|e| panic!("{family} {knob}: {e}"));
                single_ms = b.single_tpu_ms;
                speedups.push((
                    b.single_tpu_ms / b.params_bottleneck_ms,
                    b.speedup_vs_one_tpu,
                    r.speedup_vs_one_tpu,
                ));
            }
            FamilyRow {
                knob,
                single_ms,
                speedups,
                plan_time: t0.elapsed(),
            }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn family_section(out: &mut String, name: &str, knob: &str, rows: &[FamilyRow]) {
    let _ = writeln!(out, "\n## {name}\n");
    let mut header = format!("| {knob} | 1 TPU ms |");
    let mut rule = String::from("|---:|---:|");
    for t in 2..=MAX_TPUS {
        let _ = write!(header, " params x{t} | balanced x{t} | replicated x{t} |");
        rule.push_str("---:|---:|---:|");
    }
    header.push_str(" plan time (1-4 TPUs) |");
    rule.push_str("---:|");
    let _ = writeln!(out, "{header}\n{rule}");
    for r in rows {
        let mut line = format!("| {} | {:.2} |", r.knob, r.single_ms);
        for t in 2..=MAX_TPUS {
            let (p, b, x) = r.speedups[t - 1];
            let _ = write!(line, " {p:.2} | {b:.2} | {x:.2} |");
        }
        let _ = write!(line, " {:.0} µs |", r.plan_time.as_secs_f64() * 1e6);
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
    for t in 2..=MAX_TPUS {
        let ratio: Vec<f64> = rows
            .iter()
            .map(|r| r.speedups[t - 1].1 / r.speedups[t - 1].0)
            .collect();
        let rep_ratio: Vec<f64> = rows
            .iter()
            .map(|r| r.speedups[t - 1].2 / r.speedups[t - 1].0)
            .collect();
        let best_b = rows.iter().map(|r| r.speedups[t - 1].1).fold(0.0, f64::max);
        let best_p = rows.iter().map(|r| r.speedups[t - 1].0).fold(0.0, f64::max);
        let best_x = rows.iter().map(|r| r.speedups[t - 1].2).fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "- {t} TPUs: balanced over params median {:.2}x (max {:.2}x), with replication median {:.2}x (max {:.2}x); best speedup over one TPU: params {best_p:.2}x, balanced {best_b:.2}x, replicated {best_x:.2}x",
            median(ratio.clone()),
            ratio.iter().copied().fold(0.0, f64::max),
            median(rep_ratio.clone()),
            rep_ratio.iter().copied().fold(0.0, f64::max),
        );
    }
    let times: Vec<f64> = rows
        .iter()
        .map(|r| r.plan_time.as_secs_f64() * 1e3)
        .collect();
    let _ = writeln!(
        out,
        "- planner time per model (balanced + params comparison, 1-4 TPUs): median {:.3} ms, max {:.3} ms",
        median(times.clone()),
        times.iter().copied().fold(0.0, f64::max)
    );
}

fn chart(name: &str, knob: &str, rows: &[FamilyRow]) -> String {
    let mut series = Vec::new();
    for t in [2, 4] {
        for (label, pick) in [("params", 0usize), ("balanced", 1), ("replicated", 2)] {
            series.push(Series {
                name: format!("{label}, {t} TPUs"),
                points: rows
                    .iter()
                    .map(|r| {
                        let (p, b, x) = r.speedups[t - 1];
                        (r.knob as f64, [p, b, x][pick])
                    })
                    .collect(),
            });
        }
    }
    LineChart {
        title: format!("{name}: predicted speedup over one TPU"),
        x_label: knob.to_string(),
        y_label: "speedup over one TPU".into(),
        series,
    }
    .render()
}

/// Plans a real model for 1..8 TPUs (cuts alone, and with replication) and times the planner,
/// graph and cost table included.
fn real_model_section(out: &mut String, title: &str, path: &std::path::Path) {
    let _ = writeln!(out, "\n## {title}\n");
    let file = match ModelFile::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(out, "not available: {e}");
            return;
        }
    };
    let view = file.view().expect("verified");
    let graph = Graph::build(&view).expect("graph");
    // Where each operator runs and the host's cost: predicted once per model, timed apart.
    let t_place = Instant::now();
    let placement = Placement::predict(&view, &graph);
    let stage_placement = StagePlacement::new(
        Sides::from_placement(&placement, &graph),
        HostCost::from_rates(&graph, HostClass::X86Desktop, 4),
    );
    let place_time = t_place.elapsed();
    let _ = writeln!(
        out,
        "| TPUs | params ms | balanced ms | CPU stages | vs the compiler's placement | balanced vs params | balanced vs 1 TPU | replicated ms (TPUs per segment) | replicated vs 1 TPU | plan time (both) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut total = Duration::ZERO;
    for tpus in 1..=8usize.min(graph.len()) {
        let t0 = Instant::now();
        let source = GraphCost::new(&graph);
        let ctx = PlanContext::new(
            ModelCost::new(&source, CostModel::default()),
            Some(&graph),
            None,
        )
        .with_placement(stage_placement.clone());
        let s = match ctx.summary(Strategy::Balanced, tpus, SearchOptions::EXACT) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "| {tpus} | {e} |");
                continue;
            }
        };
        let r = ctx
            .summary(Strategy::Balanced, tpus, REPLICATE)
            .expect("plan");
        let dt = t0.elapsed();
        total += dt;
        let cpu_stages = s
            .plan
            .segments
            .iter()
            .filter(|g| g.device == Device::Cpu)
            .count();
        let _ = writeln!(
            out,
            "| {tpus} | {:.3} | {:.3} | {cpu_stages} | {:.2}x | {:.2}x | {:.2}x | {:.3} ({:?}) | {:.2}x | {:.2} ms |",
            s.params_bottleneck_ms,
            s.plan.pipeline.bottleneck_ms,
            s.speedup_vs_compiler,
            s.speedup_vs_params,
            s.speedup_vs_one_tpu,
            r.plan.pipeline.bottleneck_ms,
            r.plan.pipeline.replicas,
            r.speedup_vs_one_tpu,
            dt.as_secs_f64() * 1e3
        );
    }
    let _ = writeln!(
        out,
        "\nPlanning {} operators for 1..8 TPUs, with and without replication, took {:.2} ms in total \
         (goal: < 50 ms in release); predicting the placement and host cost took {:.2} ms more \
         (once per model; {} operators off the Edge TPU).",
        graph.len(),
        total.as_secs_f64() * 1e3,
        place_time.as_secs_f64() * 1e3,
        placement.ops().iter().filter(|o| !o.on_tpu()).count()
    );
}

fn report_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("planner-report")
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less arguments; keep it quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let fc_knobs: Vec<u64> = (100..=3000)
        .step_by(if quick { 500 } else { 100 })
        .collect();
    let conv_knobs: Vec<u64> = (32..=702).step_by(if quick { 110 } else { 10 }).collect();
    let fc = sweep("fc", &fc_knobs, SyntheticModel::fc_family);
    let conv = sweep("conv", &conv_knobs, SyntheticModel::conv_family);

    let mut out = String::new();
    let _ = writeln!(out, "# Planner report\n");
    let _ = writeln!(
        out,
        "Predicted by the calibrated Edge TPU cost model (USB 3, max clock, 0.25 ms host overhead per stage). \
         Speedup = one TPU's time / the pipeline's bottleneck (throughput ratio). Models are built as \
         synthetic layer lists matching the calibration sweeps (`cost::synthetic`)."
    );
    family_section(
        &mut out,
        "FC family: 64 -> 4 x Dense(N) -> Dense(10)",
        "N",
        &fc,
    );
    family_section(
        &mut out,
        "Conv family: 5 x Conv2D(F, 3x3) on 64x64x3",
        "F",
        &conv,
    );

    // Real models: planning time for 1..8 TPUs.
    let mnv2 =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/models/mobilenet_v2.tflite");
    real_model_section(
        &mut out,
        "MobileNet v2 (tests/models/mobilenet_v2.tflite)",
        &mnv2,
    );
    for name in ["mid_gather", "mid_softmax", "mid_argmax"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../tests/models/cpu_stages/{name}.tflite"));
        real_model_section(
            &mut out,
            &format!("{name} (tests/models/cpu_stages/, an unmapped operator mid-network)"),
            &path,
        );
    }
    match std::env::var_os("TPUPIPE_RESNET50") {
        Some(path) => {
            let path = PathBuf::from(path);
            real_model_section(&mut out, &format!("ResNet-50 ({})", path.display()), &path);
        }
        None => {
            let _ = writeln!(
                out,
                "\n(ResNet-50 skipped: set TPUPIPE_RESNET50 to an int8 ResNet-50 .tflite, e.g. from \
                 `tests/fixtures/make_fixtures.py --resnet50 DIR`)"
            );
        }
    }

    print!("{out}");
    if quick {
        println!("\n(quick run under `cargo test`: report files not written; use `cargo bench`)");
        return;
    }
    let dir = report_dir();
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(dir.join("report.md"), &out))
        .and_then(|_| {
            std::fs::write(
                dir.join("fc_speedup.svg"),
                chart("FC family", "hidden width N", &fc),
            )
        })
        .and_then(|_| {
            std::fs::write(
                dir.join("conv_speedup.svg"),
                chart("Conv family", "filters F", &conv),
            )
        });
    match written {
        Ok(()) => println!("\nreport written to {}", dir.join("report.md").display()),
        Err(e) => eprintln!("cannot write the report to {}: {e}", dir.display()),
    }
}
