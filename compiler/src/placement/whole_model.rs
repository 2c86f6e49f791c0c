//! What the Edge TPU compiler itself does with a whole model (or a whole segment) compiled
//! without `-a`: one Edge TPU subgraph (facts §5, "Graph rewrite").
//!
//! - The subgraph starts at the first mappable operator and ends before the first operator that
//!   cannot be mapped ([`Placement::whole_model_tpu_range`]).
//! - Every operator outside it runs on the CPU. Those that cannot be mapped keep their own
//!   status; the mappable ones after the subgraph get "More than one subgraph is not supported"
//!   (facts §3: #60, #75, #317, #461).
//! - The exception: a trailing run of QUANTIZE operators after the subgraph gets "Operation is
//!   otherwise supported, but not mapped due to some unspecified limitation" instead (facts §5,
//!   #461; #317's log shows one QUANTIZE mapped and one with that status).
//! - Mappable operators *before* the subgraph cannot exist (it starts at the first one).

use super::{OpPlacement, OpStatus, Placement};
use crate::graph::Graph;
use std::ops::Range;

/// The compiler's own placement of a whole model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeModel {
    /// Every position's status as the compiler's log would give it.
    pub statuses: Vec<OpStatus>,
    /// The positions in the one Edge TPU subgraph.
    pub tpu_range: Range<usize>,
}

impl WholeModel {
    /// The compiler's placement of the model whose per-operator placement is `placement` and
    /// whose graph is `graph`.
    pub fn of(placement: &Placement, graph: &Graph) -> WholeModel {
        let kinds: Vec<String> = graph.ops().iter().map(|o| o.kind.clone()).collect();
        WholeModel::of_kinds(placement, &kinds)
    }

    /// [`WholeModel::of`] with each position's operator kind given (`QUANTIZE`, ...).
    pub fn of_kinds(placement: &Placement, kinds: &[String]) -> WholeModel {
        let tpu_range = placement.whole_model_tpu_range();
        let n = placement.len();
        let mut trailing_quantize = n;
        while trailing_quantize > tpu_range.end
            && kinds
                .get(trailing_quantize - 1)
                .is_some_and(|k| k == "QUANTIZE")
        {
            trailing_quantize -= 1;
        }
        let statuses = placement
            .ops()
            .iter()
            .enumerate()
            .map(|(p, op)| {
                if tpu_range.contains(&p) {
                    OpStatus::Mapped
                } else if !op.on_tpu() {
                    op.status
                } else if p >= trailing_quantize {
                    OpStatus::UnspecifiedLimitation
                } else {
                    OpStatus::MoreThanOneSubgraph
                }
            })
            .collect();
        WholeModel {
            statuses,
            tpu_range,
        }
    }

    /// Operators on the Edge TPU.
    pub fn tpu_ops(&self) -> usize {
        self.tpu_range.len()
    }

    /// The positions on the CPU, in order.
    pub fn cpu_positions(&self) -> Vec<usize> {
        (0..self.statuses.len())
            .filter(|&p| self.statuses[p] != OpStatus::Mapped)
            .collect()
    }

    /// The placement of position `pos`, with a detail for the statuses the one-subgraph rule
    /// gives (the others come from `placement`).
    pub fn placement_of(&self, placement: &Placement, pos: usize) -> OpPlacement {
        match self.statuses[pos] {
            OpStatus::MoreThanOneSubgraph => OpPlacement {
                status: OpStatus::MoreThanOneSubgraph,
                detail: Some(format!(
                    "mappable, but after the Edge TPU subgraph ends at position {}",
                    self.tpu_range.end
                )),
            },
            OpStatus::UnspecifiedLimitation if placement.get(pos).on_tpu() => OpPlacement {
                status: OpStatus::UnspecifiedLimitation,
                detail: Some("trailing QUANTIZE after the Edge TPU subgraph".into()),
            },
            _ => placement.get(pos).clone(),
        }
    }
}
