//! The report of one plan: the chosen segments with their predicted figures, the pipeline's
//! totals, and the comparisons with one TPU and with the `params` split.

use super::context::{PlanSummary, SegmentReport};
use super::strategy::Strategy;
use crate::cost::{Clock, HostLink, Interface};
use serde::Serialize;

/// A plan with its predicted figures and comparisons: what [`Builder::plan`](crate::Builder::plan)
/// returns and `tpupipe plan --json` prints. Segment figures use the same names as the split
/// plan ([`tpupipe_runtime::plan::Plan`]), so a split plan is this plus routing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
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
    /// The Edge TPU compiler's own placement of the whole model on one TPU (one Edge TPU
    /// subgraph, everything else on the CPU), ms.
    pub compiler_ms: f64,
    /// The compiler's own placement over this bottleneck.
    pub speedup_vs_compiler: f64,
    /// What the reader should know about the host CPU figures (an operator the interpreter
    /// cannot time, costed from rates instead); absent when there is nothing to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_cost_notes: Vec<String>,
}

impl PlanReport {
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
        PlanReport {
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
            compiler_ms: s.compiler_ms,
            speedup_vs_compiler: s.speedup_vs_compiler,
            host_cost_notes: Vec::new(),
        }
    }
}
