//! Operator placement: which operators the Edge TPU compiler maps to the Edge TPU, and which it
//! leaves on the host CPU, with the reason in the compiler's own status words.
//!
//! - [`status`]: [`OpStatus`], the compiler's log status strings.
//! - [`table`]: the operator table (operators, runtime versions, limitations, sources).
//! - [`constraints`]: the documented limitations, checked on one operator.
//! - [`judge`]: one operator at a time, from the operator table and its constraints.
//! - [`Placement`]: every position of a [`Graph`]'s execution order, judged.
//! - [`whole_model`]: what the compiler itself does with a whole model (one Edge TPU subgraph).
//! - [`report_override`]: a compiler report replacing the prediction for the segment it
//!   compiled.
//! - [`link`]: the tensor an Edge TPU segment's link really carries at a float model edge.
//! - [`host_cost`]: what the operators left on the CPU cost on the host.
//!
//! The planner reads a [`Placement`] to keep CPU operators out of Edge TPU segments; a
//! compiler report overrides the prediction for the segments it compiled. docs/placement.md
//! has the table and the rules in prose.

mod builder_options;
pub mod constraints;
pub mod host_cost;
pub mod judge;
pub mod link;
pub mod report_override;
pub mod status;
pub mod table;
pub mod whole_model;

pub use host_cost::{HostClass, HostCost, HostCostOrigin, HostCostSetting};
pub use report_override::{OverrideOutcome, RowMismatch};
pub use status::OpStatus;
pub use whole_model::WholeModel;

use crate::graph::Graph;
use std::ops::Range;
use tpupipe_runtime::ModelView;

/// Where one operator runs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpPlacement {
    /// The compiler's status for the operator when it is judged alone.
    pub status: OpStatus,
    /// What broke, in words (`"stride 2 x 2 (only 1 is mapped)"`), when the status alone does
    /// not say it.
    pub detail: Option<String>,
}

impl OpPlacement {
    /// An operator the Edge TPU runs.
    pub const MAPPED: OpPlacement = OpPlacement {
        status: OpStatus::Mapped,
        detail: None,
    };

    /// True when the Edge TPU can run the operator.
    pub fn on_tpu(&self) -> bool {
        self.status == OpStatus::Mapped
    }
}

/// The placement of every position of a graph's execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    ops: Vec<OpPlacement>,
}

impl Placement {
    /// Judges every operator of `model` (whose graph is `graph`) alone, as the compiler's
    /// operator table and constraints would ([`judge`]).
    pub fn predict(model: &ModelView<'_>, graph: &Graph) -> Placement {
        Placement::predict_for_runtime(model, graph, table::DEFAULT_RUNTIME)
    }

    /// Like [`Placement::predict`], for a compile with `--min_runtime_version runtime`.
    pub fn predict_for_runtime(model: &ModelView<'_>, graph: &Graph, runtime: u32) -> Placement {
        let judge = judge::Judge::for_runtime(*model, graph, runtime);
        Placement {
            ops: (0..graph.len()).map(|p| judge.judge(p)).collect(),
        }
    }

    /// Every one of `len` positions on the Edge TPU (cost-only sources, such as the synthetic
    /// families, whose operators are all mappable).
    pub fn all_tpu(len: usize) -> Placement {
        Placement {
            ops: vec![OpPlacement::MAPPED; len],
        }
    }

    /// A placement from one entry per position.
    pub fn from_ops(ops: Vec<OpPlacement>) -> Placement {
        Placement { ops }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True for an empty graph.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The placement of position `pos`.
    pub fn get(&self, pos: usize) -> &OpPlacement {
        &self.ops[pos]
    }

    /// Replaces the placement of position `pos` (a compiler report's word on it).
    pub fn set(&mut self, pos: usize, placement: OpPlacement) {
        self.ops[pos] = placement;
    }

    /// The positions on the CPU, in order.
    pub fn cpu_positions(&self) -> Vec<usize> {
        (0..self.ops.len())
            .filter(|&p| !self.ops[p].on_tpu())
            .collect()
    }

    /// Number of positions the Edge TPU can run.
    pub fn tpu_count(&self) -> usize {
        self.ops.iter().filter(|o| o.on_tpu()).count()
    }

    /// Every position's placement, in execution order.
    pub fn ops(&self) -> &[OpPlacement] {
        &self.ops
    }

    /// True when the Edge TPU can run every operator in `range`.
    pub fn all_on_tpu(&self, range: Range<usize>) -> bool {
        self.ops[range].iter().all(OpPlacement::on_tpu)
    }

    /// The maximal runs of positions with the same side (Edge TPU or CPU), in order, each with
    /// `true` for the Edge TPU.
    pub fn runs(&self) -> Vec<(Range<usize>, bool)> {
        let mut runs: Vec<(Range<usize>, bool)> = Vec::new();
        for (p, op) in self.ops.iter().enumerate() {
            match runs.last_mut() {
                Some((r, tpu)) if *tpu == op.on_tpu() => r.end = p + 1,
                _ => runs.push((p..p + 1, op.on_tpu())),
            }
        }
        runs
    }

    /// The positions the Edge TPU compiler itself would map when compiling the whole model
    /// (one Edge TPU subgraph, from the first mappable operator up to the first one that is
    /// not; everything after it runs on the CPU).
    pub fn whole_model_tpu_range(&self) -> Range<usize> {
        let Some(start) = self.ops.iter().position(OpPlacement::on_tpu) else {
            return 0..0;
        };
        let end = self.ops[start..]
            .iter()
            .position(|o| !o.on_tpu())
            .map_or(self.ops.len(), |n| start + n);
        start..end
    }
}
