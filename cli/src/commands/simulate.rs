//! `tpupipe simulate MODEL --max-tpus K`: predicted throughput and latency for 1..K TPUs under
//! every strategy (`profiled` only with `--profile`), as a table or JSON, plus an SVG chart of
//! throughput against TPU count (default `<stem>_simulate.svg` in the current directory).

use crate::args::{CostArgs, SearchArgs};
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use tpupipe_compiler::planner::context::PlanningError;
use tpupipe_compiler::planner::{Cuts, PlanError};
use tpupipe_compiler::svg::{LineChart, Series};
use tpupipe_compiler::{Builder, Clock, HostLink, Interface, Strategy};
use tpupipe_runtime::plan::Device;

/// Arguments of `tpupipe simulate`.
#[derive(Debug, Args)]
#[command(
    mut_arg("profile", |a| a
        .help("A profile of measured segment costs (enables the `profiled` strategy)")),
    mut_arg("clock", |a| a.help("The TPU clock"))
)]
pub struct SimulateArgs {
    /// The model file (`.tflite`).
    pub model: PathBuf,
    /// Simulate 1..=K TPUs.
    #[arg(long)]
    pub max_tpus: usize,
    /// The cost-model flags.
    #[command(flatten)]
    pub cost: CostArgs,
    /// How the plans may use the TPUs.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where to write the SVG chart (default `<stem>_simulate.svg` in the current directory).
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// One (TPU count, strategy) point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulatePoint {
    /// TPUs allowed.
    pub tpus: usize,
    /// TPUs used.
    pub tpus_used: usize,
    /// The strategy.
    pub strategy: Strategy,
    /// The cuts.
    pub cuts: Vec<usize>,
    /// TPUs running each segment (more than 1 only with `--replicate`; 1 for a CPU stage).
    pub replicas: Vec<usize>,
    /// Where each segment runs (`edgetpu` or `cpu`).
    pub devices: Vec<Device>,
    /// Slowest stage plus host overhead, ms.
    pub bottleneck_ms: f64,
    /// End-to-end latency, ms.
    pub latency_ms: f64,
    /// Inferences per second.
    pub throughput_per_s: f64,
    /// Over one TPU.
    pub speedup_vs_one_tpu: f64,
    /// Over `params` with the same TPU count.
    pub speedup_vs_params: f64,
}

/// `tpupipe simulate --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulateOutput {
    /// The model's file name.
    pub model: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// Operators.
    pub op_count: usize,
    /// The link assumed.
    pub interface: Interface,
    /// The clock assumed.
    pub clock: Clock,
    /// The host wiring assumed.
    pub host_link: HostLink,
    /// The whole model on one TPU, ms.
    pub single_tpu_ms: f64,
    /// Every point.
    pub points: Vec<SimulatePoint>,
    /// Where the chart was written.
    pub svg: String,
}

/// Runs `tpupipe simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let builder = args
        .search
        .apply(args.cost.apply(Builder::new(&args.model)));
    let model = builder.load()?;
    if args.search.replicate {
        // Copies may use more TPUs than there are operators; `params` stops at one per operator.
        Cuts::check_segment_count(args.max_tpus.min(1), 1)?;
    } else {
        Cuts::check_segment_count(args.max_tpus, model.op_count())?;
    }
    let strategies: Vec<Strategy> = Strategy::SEARCHED
        .into_iter()
        .filter(|s| *s != Strategy::Profiled || model.profile().is_some())
        .collect();
    let (points, single) = model.with_context(builder.cost_model(), |ctx| {
        let mut points = Vec::new();
        let mut single = 0.0;
        for tpus in 1..=args.max_tpus {
            for &strategy in &strategies {
                if strategy == Strategy::Params && tpus > model.op_count() {
                    continue;
                }
                let s = match ctx.summary(strategy, tpus, builder.search_options()) {
                    Ok(s) => s,
                    // Too few operators the Edge TPU maps whole for this many TPUs.
                    Err(PlanningError::Plan(PlanError::NoTpuLayout { .. })) => continue,
                    Err(e) => return Err(e.into()),
                };
                single = s.single_tpu_ms;
                points.push(SimulatePoint {
                    tpus,
                    tpus_used: s.tpus,
                    strategy,
                    cuts: s.plan.cuts.clone(),
                    replicas: s.plan.pipeline.replicas.clone(),
                    devices: s.plan.segments.iter().map(|g| g.device).collect(),
                    bottleneck_ms: s.plan.pipeline.bottleneck_ms,
                    latency_ms: s.plan.pipeline.latency_ms,
                    throughput_per_s: s.plan.pipeline.throughput_per_s,
                    speedup_vs_one_tpu: s.speedup_vs_one_tpu,
                    speedup_vs_params: s.speedup_vs_params,
                });
            }
        }
        anyhow::Ok((points, single))
    })?;
    let svg_path = args
        .svg
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}_simulate.svg", model.file().stem())));
    let chart = LineChart {
        title: format!(
            "{}: predicted throughput ({}, {} clock)",
            model.name(),
            Interface::from(args.cost.interface).name(),
            Clock::from(args.cost.clock).name()
        ),
        x_label: "Edge TPUs".into(),
        y_label: "inferences per second".into(),
        series: strategies
            .iter()
            .map(|&st| Series {
                name: st.name().to_string(),
                points: points
                    .iter()
                    .filter(|p| p.strategy == st)
                    .map(|p| (p.tpus as f64, p.throughput_per_s))
                    .collect(),
            })
            .collect(),
    };
    std::fs::write(&svg_path, chart.render())
        .map_err(|e| anyhow::anyhow!("cannot write chart {}: {e}", svg_path.display()))?;
    let out = SimulateOutput {
        model: model.name().to_string(),
        model_sha256: model.sha256().to_string(),
        op_count: model.op_count(),
        interface: args.cost.interface.into(),
        clock: args.cost.clock.into(),
        host_link: args.cost.host_link.into(),
        single_tpu_ms: single,
        points,
        svg: svg_path.display().to_string(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        eprintln!("chart written to {}", svg_path.display());
    } else {
        print!("{}", table(&out));
        println!("chart written to {}", svg_path.display());
    }
    Ok(())
}

fn table(out: &SimulateOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} operators, one TPU {:.3} ms ({} link, {} host wire, {} clock)",
        out.model,
        out.op_count,
        out.single_tpu_ms,
        out.interface.name(),
        out.host_link.name(),
        out.clock.name()
    );
    let _ = writeln!(
        s,
        "{:>4}  {:<9}  {:>4}  {:>3}  {:>13}  {:>11}  {:>12}  {:>8}  {:>9}",
        "TPUs",
        "strategy",
        "used",
        "cpu",
        "bottleneck ms",
        "latency ms",
        "throughput/s",
        "vs 1 TPU",
        "vs params"
    );
    for p in &out.points {
        let _ = writeln!(
            s,
            "{:>4}  {:<9}  {:>4}  {:>3}  {:>13.3}  {:>11.3}  {:>12.1}  {:>7.2}x  {:>8.2}x",
            p.tpus,
            p.strategy.name(),
            p.tpus_used,
            p.devices.iter().filter(|&&d| d == Device::Cpu).count(),
            p.bottleneck_ms,
            p.latency_ms,
            p.throughput_per_s,
            p.speedup_vs_one_tpu,
            p.speedup_vs_params
        );
    }
    s
}
