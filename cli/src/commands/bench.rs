//! `tpupipe bench MODEL|PLAN`: throughput and latency of the pipeline, per-stage statistics, and
//! the same items run one at a time for comparison; with `--profile-out`, the measured latency
//! of every stage that ran on an Edge TPU as a profile in the planner's format, so a plan can be
//! refined with measurements taken on the user's own TPUs (`tpupipe plan --profile`).
//!
//! A plan (`<stem>_plan.json`) runs its segments as a pipeline on the chosen backend; a model
//! (`.tflite`) runs as a one-stage pipeline on the CPU. The reference is the same items pushed
//! one at a time (the latency path: each item finishes before the next starts), and for a
//! model, its interpreter called in a loop.

use crate::pipeline_args::{open_plan, BackendArgs};
use anyhow::{bail, Context as _};
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tpupipe_compiler::ModelFile;
use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::pipeline::cpu::CpuPipelineBuilder;
use tpupipe_runtime::pipeline::{Input, Pipeline, PipelineStats, StagePlacement};
use tpupipe_runtime::plan::{Device, Plan, Profile, ProfileEntry};

/// Arguments of `tpupipe bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A plan (`<stem>_plan.json`, its segments beside it) or a model (`.tflite`).
    pub target: PathBuf,
    /// The pipeline's backends (for a plan).
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Items streamed through the pipeline.
    #[arg(long, default_value_t = 200)]
    pub items: usize,
    /// Items run first and not counted (warm-up).
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write the measured latency of each Edge TPU stage as a profile (docs/profile-format.md).
    #[arg(long)]
    pub profile_out: Option<PathBuf>,
}

/// One stage's figures.
#[derive(Debug, Serialize)]
pub struct StageReport {
    /// Position in the pipeline.
    pub stage: usize,
    /// The segment file.
    pub name: String,
    /// Where it ran (`cpu`, or the Edge TPU).
    pub device: String,
    /// Why it ran on the CPU although the plan put it on an Edge TPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// Copies of the stage.
    pub replicas: usize,
    /// Items it ran.
    pub items: u64,
    /// Time inside the stage per item, ms.
    pub busy_ms_per_item: f64,
    /// Time waiting for the next item, per item, ms.
    pub waiting_ms_per_item: f64,
    /// Time waiting for room downstream, per item, ms.
    pub blocked_ms_per_item: f64,
    /// Most items waiting in its input queue.
    pub queue_high_water: usize,
}

/// What `tpupipe bench --json` prints.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// The plan or model.
    pub target: String,
    /// Items measured in the stream.
    pub items: usize,
    /// Pipelined items per second.
    pub throughput_per_s: f64,
    /// The same items one at a time, per second.
    pub serial_per_s: f64,
    /// The model on one interpreter called in a loop, per second (for a model target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter_per_s: Option<f64>,
    /// Pipelined over one at a time.
    pub speedup_vs_serial: f64,
    /// End-to-end latency percentiles of the stream, ms.
    pub latency_ms: LatencyReport,
    /// Per stage.
    pub stages: Vec<StageReport>,
}

/// Latency percentiles, ms.
#[derive(Debug, Serialize)]
pub struct LatencyReport {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Deterministic pseudo-random bytes for every input (xorshift; the figures do not depend on
/// the values, and the same command measures the same data).
fn item_data(pipeline: &Pipeline) -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    pipeline
        .inputs()
        .iter()
        .map(|t| {
            (0..t.len())
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect()
        })
        .collect()
}

/// Runs `tpupipe bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.items == 0 {
        bail!("--items must be at least 1");
    }
    let is_plan = args.target.extension().is_some_and(|e| e == "json");
    let (plan, mut pipeline, placements, reference_model) = if is_plan {
        let (plan, built) = open_plan(&args.target, &args.backend)?;
        (Some(plan), built.pipeline, built.placements, None)
    } else {
        let pipeline_options = args.backend.options()?.pipeline;
        let built = CpuPipelineBuilder::from_files(&[&args.target])
            .and_then(|b| b.build(pipeline_options))
            .with_context(|| format!("cannot run {}", args.target.display()))?;
        let placement = StagePlacement {
            stage: 0,
            device: Device::Cpu,
            detail: "cpu".into(),
            fallback_reason: None,
        };
        (None, built, vec![placement], Some(args.target.clone()))
    };
    if args.profile_out.is_some() && plan.is_none() {
        bail!("--profile-out needs a plan (a profile records segments of a split model)");
    }
    let data = item_data(&pipeline);
    let inputs: Vec<Input<'_>> = data.iter().map(|d| Input::bytes(d)).collect();
    for _ in 0..args.warmup {
        pipeline.infer(&inputs)?;
    }
    let before = pipeline.stats();

    // Pipelined: keep the pipeline full.
    let start = Instant::now();
    let mut done = 0usize;
    for r in pipeline.run_iter((0..args.items).map(|_| inputs.as_slice())) {
        r?;
        done += 1;
    }
    let stream = start.elapsed();
    let after = pipeline.stats();

    // One at a time, the same items.
    let serial_items = args.items.clamp(1, 200);
    let start = Instant::now();
    for _ in 0..serial_items {
        pipeline.infer(&inputs)?;
    }
    let serial = start.elapsed();

    let interpreter_per_s = match &reference_model {
        Some(path) => Some(interpreter_rate(path, &data, serial_items)?),
        None => None,
    };
    let throughput = done as f64 / stream.as_secs_f64();
    let serial_rate = serial_items as f64 / serial.as_secs_f64();
    let report = BenchReport {
        target: args.target.display().to_string(),
        items: done,
        throughput_per_s: throughput,
        serial_per_s: serial_rate,
        interpreter_per_s,
        speedup_vs_serial: throughput / serial_rate,
        latency_ms: LatencyReport {
            p50: ms(after.latency.p50),
            p90: ms(after.latency.p90),
            p99: ms(after.latency.p99),
            max: ms(after.latency.max),
            mean: ms(after.latency.mean),
        },
        stages: stage_reports(&before, &after, &placements),
    };
    if let (Some(path), Some(plan)) = (&args.profile_out, &plan) {
        write_profile(path, plan, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    if let Some(path) = &args.profile_out {
        eprintln!("profile written to {}", path.display());
    }
    Ok(())
}

/// Per-stage figures of the measured stream (the warm-up subtracted).
fn stage_reports(
    before: &PipelineStats,
    after: &PipelineStats,
    placements: &[StagePlacement],
) -> Vec<StageReport> {
    after
        .stages
        .iter()
        .zip(&before.stages)
        .zip(placements)
        .enumerate()
        .map(|(stage, ((a, b), p))| {
            let items = a.total.items - b.total.items;
            let per = |x: Duration, y: Duration| ms(x.saturating_sub(y)) / items.max(1) as f64;
            StageReport {
                stage,
                name: a.name.clone(),
                device: p.detail.clone(),
                fallback_reason: p.fallback_reason.clone(),
                replicas: a.replicas.len(),
                items,
                busy_ms_per_item: per(a.total.busy, b.total.busy),
                waiting_ms_per_item: per(a.total.waiting_for_input, b.total.waiting_for_input),
                blocked_ms_per_item: per(a.total.blocked_on_output, b.total.blocked_on_output),
                queue_high_water: a.queue_high_water,
            }
        })
        .collect()
}

/// The model on one interpreter, called in a loop: items per second.
fn interpreter_rate(path: &Path, data: &[Vec<u8>], items: usize) -> anyhow::Result<f64> {
    let file = ModelFile::open(path)?;
    let mut interp = Interpreter::new(&file.view()?)?;
    for (i, d) in data.iter().enumerate() {
        interp.set_input(i, d)?;
    }
    interp.invoke()?;
    let start = Instant::now();
    for _ in 0..items {
        for (i, d) in data.iter().enumerate() {
            interp.set_input(i, d)?;
        }
        interp.invoke()?;
    }
    Ok(items as f64 / start.elapsed().as_secs_f64())
}

/// The measured latency of each stage that ran on an Edge TPU, as a profile of `plan`'s model.
fn write_profile(path: &Path, plan: &Plan, report: &BenchReport) -> anyhow::Result<()> {
    let mut profile = Profile::for_model(plan.model_sha256.clone());
    profile.interface = plan.interface;
    profile.clock = plan.clock;
    for (s, segment) in report.stages.iter().zip(&plan.segments) {
        if s.device == "cpu" {
            continue;
        }
        profile.segments.push(ProfileEntry {
            op_range: segment.op_range,
            on_chip_bytes: None,
            off_chip_bytes: None,
            latency_ms: Some(s.busy_ms_per_item * s.replicas as f64),
            failed: None,
        });
    }
    if profile.segments.is_empty() {
        bail!(
            "no stage ran on an Edge TPU, so there is nothing to profile (CPU timings would \
             mislead the planner); run with Edge TPUs attached and --backend edgetpu"
        );
    }
    std::fs::write(path, profile.to_json())
        .with_context(|| format!("cannot write profile {}", path.display()))
}

fn table(r: &BenchReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} items, {:.1}/s pipelined, {:.1}/s one at a time ({:.2}x){}",
        r.target,
        r.items,
        r.throughput_per_s,
        r.serial_per_s,
        r.speedup_vs_serial,
        r.interpreter_per_s
            .map(|x| format!(", one interpreter {x:.1}/s"))
            .unwrap_or_default()
    );
    let l = &r.latency_ms;
    let _ = writeln!(
        s,
        "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}",
        l.p50, l.p90, l.p99, l.max, l.mean
    );
    let _ = writeln!(
        s,
        "{:>5}  {:<40}  {:<12}  {:>4}  {:>7}  {:>8}  {:>8}  {:>8}  {:>5}",
        "stage", "segment", "device", "reps", "items", "busy ms", "wait ms", "block ms", "queue"
    );
    for st in &r.stages {
        let _ = writeln!(
            s,
            "{:>5}  {:<40}  {:<12}  {:>4}  {:>7}  {:>8.3}  {:>8.3}  {:>8.3}  {:>5}",
            st.stage,
            st.name,
            st.device,
            st.replicas,
            st.items,
            st.busy_ms_per_item,
            st.waiting_ms_per_item,
            st.blocked_ms_per_item,
            st.queue_high_water
        );
        if let Some(why) = &st.fallback_reason {
            let _ = writeln!(s, "       (on the CPU: {why})");
        }
    }
    s
}
