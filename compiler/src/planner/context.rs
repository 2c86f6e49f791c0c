//! Planning one model: choose cuts with a strategy, evaluate them, and summarise a plan with
//! its comparisons (one TPU, the `params` split).

use super::balanced::balanced_cuts;
use super::model_cost::ModelCost;
use super::params::{equal_param_cuts, params_cuts};
use super::profile::ProfileIndex;
use super::profiled::{CostOrigin, ProfiledCost};
use super::strategy::{segment_ranges, SegmentCostFn, Strategy};
use super::{Cuts, PlanError};
use crate::cost::pipeline::{pipeline, PipelineEstimate};
use crate::cost::SegmentEstimate;
use crate::graph::Graph;
use serde::Serialize;
use thiserror::Error;

/// Why a plan cannot be made.
#[derive(Debug, Error)]
pub enum PlanningError {
    /// Bad segment count or cuts.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `profiled` without a profile.
    #[error("the 'profiled' strategy needs a profile (--profile FILE)")]
    NoProfile,
}

/// One segment of an evaluated plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentReport {
    /// Index in the pipeline, from 0.
    pub index: usize,
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
    /// TPUs used (fewer with `allow_fewer`).
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
}

/// Everything needed to plan one model.
pub struct PlanContext<'a> {
    cost: ModelCost<'a>,
    graph: Option<&'a Graph>,
    profile: Option<ProfileIndex>,
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

    /// The cuts `strategy` chooses for `tpus` TPUs.
    pub fn cuts(
        &self,
        strategy: Strategy,
        tpus: usize,
        allow_fewer: bool,
    ) -> Result<Vec<usize>, PlanningError> {
        Cuts::check_segment_count(tpus, self.len())?;
        Ok(match strategy {
            Strategy::Params => self.params_cuts(tpus)?,
            Strategy::Balanced => balanced_cuts(&self.cost, tpus, allow_fewer)?,
            Strategy::Profiled => {
                if !self.has_profile() {
                    return Err(PlanningError::NoProfile);
                }
                balanced_cuts(self.costs().as_fn(), tpus, allow_fewer)?
            }
        })
    }

    /// Evaluates `cuts` with the context's costs (profile first, then model).
    pub fn evaluate(&self, cuts: &[usize]) -> Result<Evaluation, PlanError> {
        let checked = Cuts::new(cuts.to_vec(), self.len())?;
        let costs = self.costs();
        let segments: Vec<SegmentReport> = segment_ranges(checked.positions(), self.len())
            .into_iter()
            .enumerate()
            .map(|(index, r)| {
                let (e, origin) = costs.estimate(r.clone());
                SegmentReport {
                    index,
                    op_range: [r.start, r.end],
                    param_bytes: e.param_bytes,
                    on_chip_bytes: e.on_chip_bytes,
                    off_chip_bytes: e.off_chip_bytes,
                    macs: e.macs,
                    input_bytes: e.bytes_in,
                    output_bytes: e.bytes_out,
                    latency_ms: e.total_ms,
                    cost_origin: origin,
                }
            })
            .collect();
        let stage: Vec<f64> = segments.iter().map(|s| s.latency_ms).collect();
        Ok(Evaluation {
            cuts: cuts.to_vec(),
            segments,
            pipeline: pipeline(&stage),
        })
    }

    /// Plans with `strategy` and compares with one TPU and with `params`.
    pub fn summary(
        &self,
        strategy: Strategy,
        tpus: usize,
        allow_fewer: bool,
    ) -> Result<PlanSummary, PlanningError> {
        let cuts = self.cuts(strategy, tpus, allow_fewer)?;
        self.summarize(strategy, &cuts, tpus)
    }

    /// Evaluates given cuts (chosen by `strategy`, or by hand) for `requested_tpus` TPUs and
    /// compares them with one TPU and with `params` for as many TPUs as the cuts use.
    pub fn summarize(
        &self,
        strategy: Strategy,
        cuts: &[usize],
        requested_tpus: usize,
    ) -> Result<PlanSummary, PlanningError> {
        let plan = self.evaluate(cuts)?;
        let single_tpu_ms = self.costs().as_fn().stage_ms(0..self.len());
        let params = self.evaluate(&self.params_cuts(requested_tpus.max(plan.segments.len()))?)?;
        let bottleneck = plan.pipeline.bottleneck_ms;
        Ok(PlanSummary {
            strategy,
            requested_tpus,
            tpus: plan.segments.len(),
            single_tpu_ms,
            params_bottleneck_ms: params.pipeline.bottleneck_ms,
            speedup_vs_one_tpu: single_tpu_ms / bottleneck,
            speedup_vs_params: params.pipeline.bottleneck_ms / bottleneck,
            plan,
        })
    }
}
