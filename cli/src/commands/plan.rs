//! `tpupipe plan MODEL --tpus N`: choose where to cut a model for N Edge TPUs and show the
//! predicted cost of every segment and of the pipeline.
//!
//! Costs come from the Edge TPU cost model (`tpupipe_compiler::cost`) for the chosen interface
//! and clock; with `--profile`, candidate segments the profile covers use its figures instead
//! (for every strategy, so they are compared alike). `--json` prints the
//! [`PlanReport`].

use crate::args::{CostArgs, SearchArgs, StrategyArg};
use crate::format::human_count;
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use tpupipe_compiler::planner::profiled::CostOrigin;
use tpupipe_compiler::{Builder, PlanReport};
use tpupipe_runtime::plan::Device;
use tpupipe_runtime::ByteCount;

/// Arguments of `tpupipe plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The model file (`.tflite`).
    pub model: PathBuf,
    /// Number of Edge TPUs (segments).
    #[arg(long)]
    pub tpus: usize,
    /// How to choose the cuts.
    #[arg(long, value_enum, default_value_t = StrategyArg::Balanced)]
    pub strategy: StrategyArg,
    /// The cost-model flags.
    #[command(flatten)]
    pub cost: CostArgs,
    /// How the plan may use the TPUs.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The human-readable table of a plan.
pub fn table(report: &PlanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} operators, strategy {}, {} TPU(s){}, {} link ({} host wire), {} clock",
        report.model,
        report.op_count,
        report.strategy.name(),
        report.tpus,
        if report.tpus != report.requested_tpus {
            format!(" (of {} allowed)", report.requested_tpus)
        } else {
            String::new()
        },
        report.interface.name(),
        report.host_link.name(),
        report.clock.name()
    );
    let replicated = report.segments.iter().any(|s| s.replicas > 1);
    let _ = writeln!(
        out,
        "{:>3}  {:>7}  {:>11}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9}{}",
        "seg",
        "device",
        "ops",
        "params",
        "on-chip",
        "off-chip",
        "MACs",
        "in",
        "out",
        "ms",
        if replicated { "  TPUs" } else { "" }
    );
    for s in &report.segments {
        let _ = writeln!(
            out,
            "{:>3}  {:>7}  {:>11}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9.3}{}{}{}",
            s.index,
            s.device.name(),
            format!("[{}, {})", s.op_range[0], s.op_range[1]),
            ByteCount(s.param_bytes).to_string(),
            ByteCount(s.on_chip_bytes).to_string(),
            ByteCount(s.off_chip_bytes).to_string(),
            human_count(s.macs),
            ByteCount(s.input_bytes).to_string(),
            ByteCount(s.output_bytes).to_string(),
            s.latency_ms,
            if replicated {
                format!("  {:>4}", s.replicas)
            } else {
                String::new()
            },
            match s.cost_origin {
                CostOrigin::Model => "",
                CostOrigin::ProfileBytes => "  (profile bytes)",
                CostOrigin::Measured => "  (measured)",
                CostOrigin::Failed => "  (unusable: its compile failed)",
            },
            if s.partly_on_cpu {
                "  (the compiler would leave part of it on the CPU)"
            } else if s.host_ms > 0.0 && s.device == Device::EdgeTpu {
                "  (float ends on the host)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "bottleneck {:.3} ms, latency {:.3} ms, throughput {:.1}/s (host overhead {:.2} ms per stage{})",
        report.bottleneck_ms,
        report.latency_ms,
        report.throughput_per_s,
        report.host_overhead_ms,
        if replicated {
            "; a segment on k TPUs delivers every (ms + overhead) / k"
        } else {
            ""
        }
    );
    if let Some(w) = report.shared_wire_ms {
        let _ = writeln!(
            out,
            "shared host wire busy {w:.3} ms per inference{}",
            if report.wire_bound {
                ": it sets the bottleneck (--host-link dedicated if each TPU has its own)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "speedup {:.2}x over one TPU ({:.3} ms), {:.2}x over the params split ({:.3} ms)",
        report.speedup_vs_one_tpu,
        report.single_tpu_ms,
        report.speedup_vs_params,
        report.params_bottleneck_ms
    );
    let _ = writeln!(
        out,
        "{} the Edge TPU compiler's own placement ({:.3} ms: one Edge TPU subgraph on one TPU, the rest on the CPU)",
        crate::format::faster_or_slower(report.speedup_vs_compiler),
        report.compiler_ms
    );
    out
}

/// The builder the arguments describe.
pub fn builder(args: &PlanArgs) -> Builder {
    let b = Builder::new(&args.model)
        .tpus(args.tpus)
        .strategy(args.strategy.into());
    args.search.apply(args.cost.apply(b))
}

/// Runs `tpupipe plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let report = builder(&args).plan()?;
    for note in &report.host_cost_notes {
        eprintln!("note: {note}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}
