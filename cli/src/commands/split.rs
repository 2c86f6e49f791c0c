//! `tpupipe split`: write each segment of a model as a standalone `.tflite`, plus a plan.

use crate::args::{CostArgs, SearchArgs, StrategyArg};
use crate::format::human_count;
use anyhow::{bail, Context as _};
use clap::Args;
use std::path::PathBuf;
use tpupipe_compiler::{Builder, Plan};
use tpupipe_runtime::plan::Device;
use tpupipe_runtime::ByteCount;

/// Arguments of `tpupipe split`.
#[derive(Debug, Args)]
#[command(
    mut_arg("interface", |a| a.help("The link the plan's cost figures assume")),
    mut_arg("clock", |a| a.help("The TPU clock the plan's cost figures assume"))
)]
pub struct SplitArgs {
    /// The model file (a full-integer quantized .tflite, not yet compiled for the Edge TPU).
    pub model: PathBuf,
    /// Number of segments, one per Edge TPU. Without --cuts, --strategy chooses the cuts.
    #[arg(long, short = 'n')]
    pub tpus: Option<usize>,
    /// Output directory (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Explicit cut positions, comma-separated and strictly increasing (e.g. 12,30,47). Cut c
    /// splits before operator position c of the execution order (`tpupipe inspect` lists it).
    #[arg(long)]
    pub cuts: Option<String>,
    /// How to choose the cuts without --cuts: the Edge TPU compiler's equal-parameter split
    /// (params), the cost model's optimum (balanced), or that with a profile (profiled).
    #[arg(long, value_enum, default_value_t = StrategyArg::Balanced)]
    pub strategy: StrategyArg,
    /// The cost-model flags.
    #[command(flatten)]
    pub cost: CostArgs,
    /// How the plan may use the TPUs (without --cuts).
    #[command(flatten)]
    pub search: SearchArgs,
}

/// Parses a `--cuts` list.
fn parse_cuts(text: &str) -> anyhow::Result<Vec<usize>> {
    let text = text.trim();
    if text.is_empty() {
        bail!("--cuts is empty: give comma-separated operator positions such as 12,30,47");
    }
    text.split(',')
        .map(|p| {
            let p = p.trim();
            p.parse::<usize>().map_err(|_| {
                anyhow::anyhow!(
                    "--cuts: '{p}' is not an operator position (give comma-separated non-negative integers such as 12,30,47)"
                )
            })
        })
        .collect()
}

/// Runs `tpupipe split`.
pub fn run(args: SplitArgs) -> anyhow::Result<()> {
    let cuts = args.cuts.as_deref().map(parse_cuts).transpose()?;
    if args.tpus.is_none() && cuts.is_none() {
        bail!("give the number of segments with --tpus N (or the cut positions with --cuts)");
    }
    if args.tpus == Some(0) {
        bail!("--tpus must be at least 1");
    }
    let mut builder = Builder::new(&args.model)
        .strategy(args.strategy.into())
        .out_dir(&args.out);
    if let Some(n) = args.tpus {
        builder = builder.tpus(n);
    }
    if let Some(cuts) = cuts {
        builder = builder.cuts(cuts);
    }
    let builder = args.search.apply(args.cost.apply(builder));
    let outcome = builder
        .split()
        .with_context(|| format!("cannot split {}", args.model.display()))?;
    print!("{}", summary(&outcome.plan));
    println!("plan: {}", outcome.plan_path.display());
    Ok(())
}

/// The table printed after a split.
pub fn summary(plan: &Plan) -> String {
    let mut out = format!(
        "split {} into {} segment{} (strategy {}, cuts {:?})\n",
        plan.model,
        plan.tpus,
        if plan.tpus == 1 { "" } else { "s" },
        plan.strategy,
        plan.cuts
    );
    let replicated = plan.segments.iter().any(|s| s.replica_count() > 1);
    let cpu_stages = plan
        .segments
        .iter()
        .filter(|s| s.device() == Device::Cpu)
        .count();
    if let Some(used) = plan.tpus_used.filter(|_| replicated) {
        out.push_str(&format!(
            "on {used} TPUs: a segment on k TPUs runs as k copies that take inferences in turn\n"
        ));
    }
    if cpu_stages > 0 {
        out.push_str(&format!(
            "{} Edge TPU segment(s) and {cpu_stages} CPU stage(s) (run on the interpreter)\n",
            plan.segments.len() - cpu_stages
        ));
    }
    out.push_str(&format!(
        "{:>3}  {:>7}  {:>9}  {:>4}  {:>10}  {:>9}  {:>10}  {:>10}  {}{}\n",
        "seg",
        "device",
        "positions",
        "ops",
        "params",
        "MACs",
        "in",
        "out",
        if replicated { "TPUs  " } else { "" },
        "file"
    ));
    for s in &plan.segments {
        out.push_str(&format!(
            "{:>3}  {:>7}  {:>9}  {:>4}  {:>10}  {:>9}  {:>10}  {:>10}  {}{}\n",
            s.index,
            s.device().name(),
            format!("{}..{}", s.op_range[0], s.op_range[1]),
            s.op_count,
            ByteCount(s.param_bytes).to_string(),
            human_count(s.macs),
            ByteCount(s.input_bytes).to_string(),
            ByteCount(s.output_bytes).to_string(),
            if replicated {
                format!("{:>4}  ", s.replicas.unwrap_or(1))
            } else {
                String::new()
            },
            s.file
        ));
    }
    if let (Some(b), Some(t), Some(x)) = (
        plan.bottleneck_ms,
        plan.throughput_per_s,
        plan.speedup_vs_one_tpu,
    ) {
        out.push_str(&format!(
            "predicted: bottleneck {b:.3} ms, {t:.1} inferences/s, {x:.2}x over one TPU\n"
        ));
    }
    if let Some(c) = plan.speedup_vs_compiler {
        out.push_str(&format!(
            "{} the Edge TPU compiler's own placement\n",
            crate::format::faster_or_slower(c)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_lists_parse_or_explain() {
        assert_eq!(parse_cuts("3, 7,12").unwrap(), vec![3, 7, 12]);
        let e = parse_cuts("3,x").unwrap_err().to_string();
        assert!(e.contains("'x'"), "{e}");
        assert!(parse_cuts("").is_err());
        assert!(parse_cuts("3,,4").is_err());
        assert!(parse_cuts("-1").is_err());
    }
}
