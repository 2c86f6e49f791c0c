//! `tpupipe plan MODEL --tpus N`: choose where to cut a model for N Edge TPUs and show the
//! predicted cost of every segment and of the pipeline.
//!
//! Costs come from the Edge TPU cost model ([`crate::cost`]) for the chosen interface and
//! clock; with `--profile`, candidate segments the profile covers use its figures instead
//! (for every strategy, so they are compared alike). `--json` prints [`PlanOutput`].

use crate::cost::from_graph::GraphCost;
use crate::cost::{Clock, CostModel, HostLink, Interface};
use crate::graph::Graph;
use crate::model_file::ModelFile;
use crate::planner::context::{PlanContext, PlanSummary, SearchOptions, SegmentReport};
use crate::planner::model_cost::ModelCost;
use crate::planner::profile::{sha256_hex, Profile, ProfileIndex};
use crate::planner::strategy::Strategy;
use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
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
    #[arg(long, value_enum, default_value_t = Strategy::Balanced)]
    pub strategy: Strategy,
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

/// The cost-model flags of `plan`, `split` and `simulate`: an optional profile of measured
/// costs, and the link and clock the cost model assumes. Commands that word a flag's help
/// differently override it with `mut_arg`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// A profile of measured segment costs (see docs/profile-format.md).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// How the host reaches the TPUs.
    #[arg(long, value_enum, default_value_t = Interface::Usb3)]
    pub interface: Interface,
    /// The TPU clock (libedgetpu max or std build).
    #[arg(long, value_enum, default_value_t = Clock::Max)]
    pub clock: Clock,
    /// Whether the TPUs share one host wire (`shared`: USB accelerators behind one hub or
    /// controller) or each has its own (`dedicated`).
    #[arg(long, value_enum, default_value_t = HostLink::Dedicated)]
    pub host_link: HostLink,
}

/// How `balanced` and `profiled` may use the TPUs, for `plan`, `split` and `simulate`.
#[derive(Debug, Clone, Copy, Args)]
pub struct SearchArgs {
    /// Use fewer TPUs when more stages would be slower (balanced and profiled).
    #[arg(long)]
    pub allow_fewer: bool,
    /// Let several TPUs run copies of one segment, taking inferences in turn, where that beats
    /// more cuts (balanced and profiled; raises throughput, not latency).
    #[arg(long)]
    pub replicate: bool,
}

impl SearchArgs {
    /// The planner's options.
    pub fn options(&self) -> SearchOptions {
        SearchOptions {
            allow_fewer: self.allow_fewer,
            replicate: self.replicate,
        }
    }
}

impl CostArgs {
    /// The cost model for the chosen link and clock.
    pub fn model(&self) -> CostModel {
        CostModel::new(self.interface, self.clock).with_host_link(self.host_link())
    }

    /// The host wiring assumed.
    pub fn host_link(&self) -> HostLink {
        self.host_link
    }
}

/// `tpupipe plan --json`: the plan, its segments and its totals. Segment figures use the same
/// names as the split plan (`plan_json`), so a split plan is this plus routing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanOutput {
    /// The model's file name.
    pub model: String,
    /// SHA-256 of the model file, lowercase hex.
    pub model_sha256: String,
    /// Operators in the model.
    pub op_count: usize,
    /// The strategy.
    pub strategy: Strategy,
    /// The link assumed.
    pub interface: Interface,
    /// The clock assumed.
    pub clock: Clock,
    /// The host wiring assumed.
    pub host_link: HostLink,
    /// TPUs asked for.
    pub requested_tpus: usize,
    /// TPUs used.
    pub tpus: usize,
    /// The cut positions.
    pub cuts: Vec<usize>,
    /// The segments.
    pub segments: Vec<SegmentReport>,
    /// Slowest stage plus host overhead, ms.
    pub bottleneck_ms: f64,
    /// One inference end to end, ms.
    pub latency_ms: f64,
    /// Inferences per second.
    pub throughput_per_s: f64,
    /// Host overhead per stage included above, ms.
    pub host_overhead_ms: f64,
    /// With a shared host wire, the time it is busy per inference, ms (a floor under the
    /// bottleneck).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_wire_ms: Option<f64>,
    /// True when the shared wire sets the bottleneck.
    pub wire_bound: bool,
    /// The whole model on one TPU, ms.
    pub single_tpu_ms: f64,
    /// The `params` split's bottleneck with as many TPUs, ms.
    pub params_bottleneck_ms: f64,
    /// One TPU's time over this bottleneck.
    pub speedup_vs_one_tpu: f64,
    /// The `params` bottleneck over this one.
    pub speedup_vs_params: f64,
}

impl PlanOutput {
    /// Assembles the output from a summary.
    pub fn new(
        model: &str,
        sha: &str,
        op_count: usize,
        interface: Interface,
        clock: Clock,
        host_link: HostLink,
        s: &PlanSummary,
    ) -> Self {
        PlanOutput {
            model: model.to_string(),
            model_sha256: sha.to_string(),
            op_count,
            strategy: s.strategy,
            interface,
            clock,
            host_link,
            requested_tpus: s.requested_tpus,
            tpus: s.tpus,
            cuts: s.plan.cuts.clone(),
            segments: s.plan.segments.clone(),
            bottleneck_ms: s.plan.pipeline.bottleneck_ms,
            latency_ms: s.plan.pipeline.latency_ms,
            throughput_per_s: s.plan.pipeline.throughput_per_s,
            host_overhead_ms: s.plan.pipeline.host_overhead_ms,
            shared_wire_ms: s.plan.pipeline.shared_wire_ms,
            wire_bound: s.plan.pipeline.wire_bound,
            single_tpu_ms: s.single_tpu_ms,
            params_bottleneck_ms: s.params_bottleneck_ms,
            speedup_vs_one_tpu: s.speedup_vs_one_tpu,
            speedup_vs_params: s.speedup_vs_params,
        }
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {} operators, strategy {}, {} TPU(s){}, {} link ({} host wire), {} clock",
            self.model,
            self.op_count,
            self.strategy.name(),
            self.tpus,
            if self.tpus != self.requested_tpus {
                format!(" (of {} allowed)", self.requested_tpus)
            } else {
                String::new()
            },
            self.interface.name(),
            self.host_link.name(),
            self.clock.name()
        );
        let replicated = self.segments.iter().any(|s| s.replicas > 1);
        let _ = writeln!(
            out,
            "{:>3}  {:>11}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9}{}",
            "seg",
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
        for s in &self.segments {
            let _ = writeln!(
                out,
                "{:>3}  {:>11}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9.3}{}{}",
                s.index,
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
                    crate::planner::profiled::CostOrigin::Model => "",
                    crate::planner::profiled::CostOrigin::ProfileBytes => "  (profile bytes)",
                    crate::planner::profiled::CostOrigin::Measured => "  (measured)",
                }
            );
        }
        let _ = writeln!(
            out,
            "bottleneck {:.3} ms, latency {:.3} ms, throughput {:.1}/s (host overhead {:.2} ms per stage{})",
            self.bottleneck_ms,
            self.latency_ms,
            self.throughput_per_s,
            self.host_overhead_ms,
            if replicated {
                "; a segment on k TPUs delivers every (ms + overhead) / k"
            } else {
                ""
            }
        );
        if let Some(w) = self.shared_wire_ms {
            let _ = writeln!(
                out,
                "shared host wire busy {w:.3} ms per inference{}",
                if self.wire_bound {
                    ": it sets the bottleneck (--host-link dedicated if each TPU has its own)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            out,
            "speedup {:.2}x over one TPU ({:.3} ms), {:.2}x over the params split ({:.3} ms)",
            self.speedup_vs_one_tpu,
            self.single_tpu_ms,
            self.speedup_vs_params,
            self.params_bottleneck_ms
        );
        out
    }
}

/// `1234567` -> `1.23M`.
pub fn human_count(n: u64) -> String {
    let x = n as f64;
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.2}K", x / 1e3)
    } else {
        n.to_string()
    }
}

/// A model loaded for planning: file, graph and hash.
pub struct LoadedModel {
    /// The file.
    pub file: ModelFile,
    /// Its graph.
    pub graph: Graph,
    /// Its SHA-256.
    pub sha256: String,
    /// Its file name.
    pub name: String,
}

/// Loads a model and builds its graph, with a one-line error naming the file.
pub fn load_model(path: &Path) -> anyhow::Result<LoadedModel> {
    let file = ModelFile::open(path)?;
    let graph = Graph::build(&file.view()?).with_context(|| format!("{}", path.display()))?;
    let sha256 = sha256_hex(file.bytes());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(LoadedModel {
        file,
        graph,
        sha256,
        name,
    })
}

/// Reads and validates `--profile` for `model`.
pub fn load_profile(
    path: Option<&Path>,
    model: &LoadedModel,
) -> anyhow::Result<Option<ProfileIndex>> {
    let Some(path) = path else { return Ok(None) };
    let profile = Profile::read(path)?;
    Ok(Some(profile.validate(
        path,
        &model.name,
        &model.sha256,
        model.graph.len(),
    )?))
}

/// Plans `model` as the arguments say.
pub fn plan_model(model: &LoadedModel, args: &PlanArgs) -> anyhow::Result<PlanOutput> {
    let profile = load_profile(args.cost.profile.as_deref(), model)?;
    let source = GraphCost::new(&model.graph);
    let cost = ModelCost::new(&source, args.cost.model());
    let ctx = PlanContext::new(cost, Some(&model.graph), profile);
    let summary = ctx.summary(args.strategy, args.tpus, args.search.options())?;
    Ok(PlanOutput::new(
        &model.name,
        &model.sha256,
        model.graph.len(),
        args.cost.interface,
        args.cost.clock,
        args.cost.host_link(),
        &summary,
    ))
}

/// Runs `tpupipe plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let out = plan_model(&model, &args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", out.table());
    }
    Ok(())
}
