//! Balanced planning with replicated stages: the exact optimum over every cut list *and* every
//! way to share `N` TPUs among the Edge TPU segments (each at least one, at most `N` in total),
//! with CPU stages (one host worker each, never replicated) where the cost allows them.
//!
//! A segment on `r` TPUs that take inferences in turn delivers a result every
//! `(stage + host overhead) / r` ms; latency is unchanged. Replication wins where no cut can:
//! a model that fits one TPU (cuts only add transfers), or one layer slower than all the rest.
//! With a shared host wire the wire still carries every inference's traffic once, which bounds
//! what copies can gain ([`search`](super::search) handles both). The one-TPU plan (no host
//! overhead) is compared with the best multi-TPU layout by [`Objective::compare`].

use super::balanced::CostTable;
use super::layout::Layout;
use super::search::{optimal_placed_layout, Shape};
use super::strategy::{Objective, SegmentCostFn};
use super::{Cuts, PlanError};
use crate::cost::calibration::HOST_STAGE_OVERHEAD_MS;
use std::cmp::Ordering;

/// The best layout of `cost` on at most `tpus` TPUs, stages replicated where that helps.
pub fn replicated_layout(cost: &dyn SegmentCostFn, tpus: usize) -> Result<Layout, PlanError> {
    if tpus == 0 {
        return Err(PlanError::NoSegments);
    }
    Cuts::check_segment_count(1, cost.len())?;
    let single = Layout::pipeline(Vec::new());
    let single_ok = cost.tpu_feasible(0..cost.len());
    let table = CostTable::new(cost);
    let multi = if tpus == 1 && single_ok && cost.max_cpu_stages() == 0 {
        None
    } else {
        optimal_placed_layout(
            cost,
            &table,
            Shape::Replicated(tpus),
            HOST_STAGE_OVERHEAD_MS,
        )
    };
    match (multi, single_ok) {
        (None, true) => Ok(single),
        (None, false) => Err(PlanError::NoTpuLayout { tpus }),
        (Some(m), false) => Ok(m),
        (Some(m), true) => {
            let better =
                Objective::of_layout(cost, &m).compare(&Objective::of_layout(cost, &single));
            Ok(if better == Ordering::Less { m } else { single })
        }
    }
}
