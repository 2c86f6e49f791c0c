//! Planning one model: choose cuts with a strategy, evaluate them, and summarise a plan with
//! its comparisons (one TPU, the `params` split).

use super::balanced::balanced_layout;
use super::layout::{Device, Layout};
use super::model_cost::ModelCost;
use super::params::{equal_param_cuts, params_cuts};
use super::placed_cost::{PlacedCost, StagePlacement};
use super::profiled::{CostOrigin, ProfiledCost};
use super::replicated::replicated_layout;
use super::strategy::{cpu_contention, SegmentCostFn, Strategy};
use super::{Cuts, PlanError};
use crate::cost::pipeline::{replicated_pipeline, PipelineEstimate};
use crate::cost::SegmentEstimate;
use crate::graph::Graph;
use serde::Serialize;
use thiserror::Error;
use tpupipe_runtime::plan::ProfileIndex;

/// Why a plan cannot be made.
#[derive(Debug, Error)]
pub enum PlanningError {
    /// Bad segment count or cuts.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `profiled` without a profile.
    #[error("the 'profiled' strategy needs a profile (--profile FILE)")]
    NoProfile,
    /// `manual` without cut positions.
    #[error("the 'manual' strategy needs the cut positions (--cuts)")]
    NoCuts,
}

/// How `balanced` and `profiled` may use the TPUs they are given (`params` always makes one
/// segment per TPU).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// Use fewer TPUs when more stages would be slower (each stage costs host overhead and
    /// transfers).
    pub allow_fewer: bool,
    /// Let several TPUs run copies of one segment, taking inferences in turn, where that beats
    /// cutting further ([`replicated_layout`]). Implies `allow_fewer` for the segment count.
    pub replicate: bool,
}

impl SearchOptions {
    /// Exactly one segment per TPU, all TPUs used.
    pub const EXACT: SearchOptions = SearchOptions {
        allow_fewer: false,
        replicate: false,
    };
}

/// One segment of an evaluated plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentReport {
    /// Index in the pipeline, from 0.
    pub index: usize,
    /// Where the stage runs: `edgetpu` (its float ends, if any, as host work in the same
    /// invoke) or `cpu` (tpupipe's interpreter).
    pub device: Device,
    /// Positions `[start, end)` in the execution order.
    pub op_range: [usize; 2],
    /// Parameter bytes in the file.
    pub param_bytes: u64,
    /// Predicted (or compiler-reported) parameter bytes cached on chip.
    pub on_chip_bytes: u64,
    /// Predicted (or compiler-reported) parameter bytes streamed per inference.
    pub off_chip_bytes: u64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Activation bytes entering the segment.
    pub input_bytes: u64,
    /// Activation bytes leaving the segment.
    pub output_bytes: u64,
    /// Predicted (or measured) time on one TPU, ms.
    pub latency_ms: f64,
    /// TPUs running copies of this segment (1 unless the plan replicates it).
    pub replicas: usize,
    /// Time the segment keeps the host wire busy per inference (part of `latency_ms`), ms.
    pub wire_ms: f64,
    /// Host CPU work in the stage (part of `latency_ms`), ms: a CPU stage's whole time
    /// (contention included), an Edge TPU stage's float ends, or what the Edge TPU compiler
    /// would leave on the CPU of a segment it cannot map whole.
    pub host_ms: f64,
    /// True for an Edge TPU segment the compiler would not map whole (a `params` or manual cut
    /// through CPU operators): its `latency_ms` is the compiler's own placement of it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partly_on_cpu: bool,
    /// Where `latency_ms` came from.
    pub cost_origin: CostOrigin,
}

/// An evaluated cut list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The cuts.
    pub cuts: Vec<usize>,
    /// The segments.
    pub segments: Vec<SegmentReport>,
    /// Pipeline figures.
    pub pipeline: PipelineEstimate,
}

/// A plan with its comparisons, as `tpupipe plan` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSummary {
    /// The strategy.
    pub strategy: Strategy,
    /// TPUs asked for.
    pub requested_tpus: usize,
    /// TPUs used in total (fewer with `allow_fewer`; replicas counted).
    pub tpus: usize,
    /// The plan.
    pub plan: Evaluation,
    /// The whole model on one TPU, ms.
    pub single_tpu_ms: f64,
    /// The `params` split with the same TPU count, evaluated with the same costs.
    pub params_bottleneck_ms: f64,
    /// One-TPU time over this plan's bottleneck.
    pub speedup_vs_one_tpu: f64,
    /// The `params` split's bottleneck over this plan's.
    pub speedup_vs_params: f64,
    /// The Edge TPU compiler's own placement of the whole model on one TPU (its one Edge TPU
    /// subgraph, everything else on the CPU), ms.
    pub compiler_ms: f64,
    /// The compiler's own placement over this plan's bottleneck.
    pub speedup_vs_compiler: f64,
}

/// Everything needed to plan one model.
pub struct PlanContext<'a> {
    cost: ModelCost<'a>,
    graph: Option<&'a Graph>,
    profile: Option<ProfileIndex>,
    placement: Option<StagePlacement>,
}

enum Costs<'c> {
    Model(&'c ModelCost<'c>),
    Profiled(ProfiledCost<'c>),
}

impl Costs<'_> {
    fn as_fn(&self) -> &dyn SegmentCostFn {
        match self {
            Costs::Model(m) => *m,
            Costs::Profiled(p) => p,
        }
    }

    fn estimate(&self, range: std::ops::Range<usize>) -> (SegmentEstimate, CostOrigin) {
        match self {
            Costs::Model(m) => (m.estimate(range), CostOrigin::Model),
            Costs::Profiled(p) => p.estimate(range),
        }
    }
}

impl<'a> PlanContext<'a> {
    /// A context over model costs. With `graph`, the `params` strategy calls
    /// [`params_cuts`]; without, it splits the layers' parameter bytes the same way.
    pub fn new(
        cost: ModelCost<'a>,
        graph: Option<&'a Graph>,
        profile: Option<ProfileIndex>,
    ) -> Self {
        PlanContext {
            cost,
            graph,
            profile,
            placement: None,
        }
    }

    /// The same context knowing where each operator runs: plans may then have CPU stages and
    /// never put on an Edge TPU what the compiler would not map ([`super::placed_cost`]).
    /// Without one, every operator is costed as Edge TPU work.
    pub fn with_placement(mut self, placement: StagePlacement) -> Self {
        assert_eq!(placement.sides().len(), self.len(), "one side per position");
        self.placement = Some(placement);
        self
    }

    /// The placement, if known.
    pub fn placement(&self) -> Option<&StagePlacement> {
        self.placement.as_ref()
    }

    /// Runs `f` with `cost` under the placement, if any.
    fn placed<R>(&self, cost: &dyn SegmentCostFn, f: impl FnOnce(&dyn SegmentCostFn) -> R) -> R {
        match &self.placement {
            Some(p) => f(&PlacedCost::new(cost, p)),
            None => f(cost),
        }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.cost.len()
    }

    /// True without positions.
    pub fn is_empty(&self) -> bool {
        self.cost.is_empty()
    }

    /// True when a profile is loaded.
    pub fn has_profile(&self) -> bool {
        self.profile.is_some()
    }

    /// The model costs.
    pub fn model_cost(&self) -> &ModelCost<'a> {
        &self.cost
    }

    /// The costs a strategy plans and reports with: the profile's where given (for every
    /// strategy, so all are judged alike), else the model's.
    fn costs(&self) -> Costs<'_> {
        match &self.profile {
            Some(p) => Costs::Profiled(ProfiledCost::new(&self.cost, p)),
            None => Costs::Model(&self.cost),
        }
    }

    /// The `params` split.
    pub fn params_cuts(&self, tpus: usize) -> Result<Vec<usize>, PlanError> {
        match self.graph {
            Some(g) => params_cuts(g, tpus),
            None => {
                let bytes: Vec<u64> = self
                    .cost
                    .source()
                    .layers()
                    .iter()
                    .map(|l| l.param_bytes.bytes())
                    .collect();
                equal_param_cuts(&bytes, tpus)
            }
        }
    }

    /// The layout `strategy` chooses for `tpus` TPUs.
    pub fn layout(
        &self,
        strategy: Strategy,
        tpus: usize,
        options: SearchOptions,
    ) -> Result<Layout, PlanningError> {
        Cuts::check_segment_count(tpus, self.len()).or_else(|e| match e {
            // Replication may use more TPUs than there are operators.
            PlanError::TooManySegments { .. } if options.replicate => Ok(()),
            e => Err(e),
        })?;
        let costs = match strategy {
            Strategy::Params => return Ok(Layout::pipeline(self.params_cuts(tpus)?)),
            Strategy::Manual => return Err(PlanningError::NoCuts),
            Strategy::Balanced => Costs::Model(&self.cost),
            Strategy::Profiled => {
                if !self.has_profile() {
                    return Err(PlanningError::NoProfile);
                }
                self.costs()
            }
        };
        Ok(self.placed(costs.as_fn(), |cost| {
            if options.replicate {
                replicated_layout(cost, tpus)
            } else {
                balanced_layout(cost, tpus, options.allow_fewer)
            }
        })?)
    }

    /// The cuts `strategy` chooses for `tpus` TPUs, one TPU per Edge TPU segment (see
    /// [`PlanContext::layout`] for the devices).
    pub fn cuts(
        &self,
        strategy: Strategy,
        tpus: usize,
        allow_fewer: bool,
    ) -> Result<Vec<usize>, PlanningError> {
        let options = SearchOptions {
            allow_fewer,
            replicate: false,
        };
        Ok(self.layout(strategy, tpus, options)?.cuts)
    }

    /// Evaluates `cuts` with the context's costs (profile first, then model), one TPU per
    /// segment.
    pub fn evaluate(&self, cuts: &[usize]) -> Result<Evaluation, PlanError> {
        self.evaluate_layout(&Layout::pipeline(cuts.to_vec()))
    }

    /// Evaluates a layout with the context's costs (profile first, then model).
    pub fn evaluate_layout(&self, layout: &Layout) -> Result<Evaluation, PlanError> {
        let checked = Cuts::new(layout.cuts.clone(), self.len())?;
        if layout.replicas.len() != checked.segment_count() || layout.replicas.contains(&0) {
            return Err(PlanError::BadReplicas {
                segments: checked.segment_count(),
                replicas: layout.replicas.clone(),
            });
        }
        if layout.devices.len() != checked.segment_count() {
            return Err(PlanError::BadReplicas {
                segments: checked.segment_count(),
                replicas: layout.replicas.clone(),
            });
        }
        let costs = self.costs();
        let factor = cpu_contention(
            layout.cpu_stages(),
            self.placement.as_ref().map_or(1, |p| p.host().cores),
        );
        let segments: Vec<SegmentReport> = layout
            .ranges(self.len())
            .into_iter()
            .zip(&layout.replicas)
            .enumerate()
            .map(|(index, (r, &replicas))| {
                let device = layout.device(index);
                let (whole, origin) = costs.estimate(r.clone());
                let mut report = SegmentReport {
                    index,
                    device,
                    op_range: [r.start, r.end],
                    param_bytes: whole.param_bytes,
                    on_chip_bytes: whole.on_chip_bytes,
                    off_chip_bytes: whole.off_chip_bytes,
                    macs: whole.macs,
                    input_bytes: whole.bytes_in,
                    output_bytes: whole.bytes_out,
                    latency_ms: whole.total_ms,
                    replicas,
                    wire_ms: whole.link_ms,
                    host_ms: 0.0,
                    partly_on_cpu: false,
                    cost_origin: origin,
                };
                let Some(p) = &self.placement else {
                    return report;
                };
                if device == Device::Cpu {
                    let ms = p.host_ms(r.clone()) * factor;
                    report.on_chip_bytes = 0;
                    report.off_chip_bytes = 0;
                    report.latency_ms = ms;
                    report.host_ms = ms;
                    report.wire_ms = 0.0;
                    report.cost_origin = CostOrigin::Model;
                    return report;
                }
                let core = p.sides().tpu_core(r.clone());
                report.partly_on_cpu = core.is_none();
                let core = core.unwrap_or_else(|| p.sides().compiler_tpu_range(r.clone()));
                let host = p.host_ms(r.start..core.start) + p.host_ms(core.end..r.end);
                if core.is_empty() {
                    report.on_chip_bytes = 0;
                    report.off_chip_bytes = 0;
                    report.latency_ms = host;
                    report.wire_ms = 0.0;
                } else if core != r {
                    let (e, origin) = costs.estimate(core);
                    report.on_chip_bytes = e.on_chip_bytes;
                    report.off_chip_bytes = e.off_chip_bytes;
                    report.latency_ms = e.total_ms + host;
                    report.wire_ms = e.link_ms;
                    report.cost_origin = origin;
                }
                report.host_ms = host;
                report
            })
            .collect();
        let stage: Vec<f64> = segments.iter().map(|s| s.latency_ms).collect();
        let shared_wire_ms = costs
            .as_fn()
            .shared_link()
            .then(|| segments.iter().map(|s| s.wire_ms).sum());
        Ok(Evaluation {
            cuts: layout.cuts.clone(),
            segments,
            pipeline: replicated_pipeline(&stage, &layout.replicas, shared_wire_ms),
        })
    }

    /// Plans with `strategy` and compares with one TPU and with `params`.
    pub fn summary(
        &self,
        strategy: Strategy,
        tpus: usize,
        options: SearchOptions,
    ) -> Result<PlanSummary, PlanningError> {
        let layout = self.layout(strategy, tpus, options)?;
        self.summarize_layout(strategy, &layout, tpus)
    }

    /// Evaluates given cuts (chosen by `strategy`, or by hand) for `requested_tpus` TPUs and
    /// compares them with one TPU and with `params` for as many TPUs as the cuts use.
    pub fn summarize(
        &self,
        strategy: Strategy,
        cuts: &[usize],
        requested_tpus: usize,
    ) -> Result<PlanSummary, PlanningError> {
        self.summarize_layout(strategy, &Layout::pipeline(cuts.to_vec()), requested_tpus)
    }

    /// [`PlanContext::summarize`] for a layout. The `params` comparison uses as many TPUs as
    /// were requested (or as the layout uses, if more), capped at one per operator.
    pub fn summarize_layout(
        &self,
        strategy: Strategy,
        layout: &Layout,
        requested_tpus: usize,
    ) -> Result<PlanSummary, PlanningError> {
        let plan = self.evaluate_layout(layout)?;
        let costs = self.costs();
        let single_tpu_ms = self.placed(costs.as_fn(), |c| c.stage_ms(0..self.len()));
        let compiler_ms = match &self.placement {
            Some(p) => PlacedCost::new(costs.as_fn(), p).compiler_ms(0..self.len()),
            None => single_tpu_ms,
        };
        let params_tpus = requested_tpus.max(layout.tpus()).min(self.len());
        let params = self.evaluate(&self.params_cuts(params_tpus)?)?;
        let bottleneck = plan.pipeline.bottleneck_ms;
        Ok(PlanSummary {
            strategy,
            requested_tpus,
            tpus: layout.tpus(),
            single_tpu_ms,
            params_bottleneck_ms: params.pipeline.bottleneck_ms,
            speedup_vs_one_tpu: single_tpu_ms / bottleneck,
            speedup_vs_params: params.pipeline.bottleneck_ms / bottleneck,
            compiler_ms,
            speedup_vs_compiler: compiler_ms / bottleneck,
            plan,
        })
    }
}
