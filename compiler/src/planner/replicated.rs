//! Balanced planning with replicated stages: the exact optimum over every cut list *and* every
//! way to share `N` TPUs among the segments (each at least one, at most `N` in total).
//!
//! A segment on `r` TPUs that take inferences in turn delivers a result every
//! `(stage + host overhead) / r` ms; latency is unchanged. Replication wins where no cut can:
//! a model that fits one TPU (cuts only add transfers), or one layer slower than all the rest.
//! With a shared host wire the wire still carries every inference's traffic once, which bounds
//! what copies can gain ([`search`](super::search) handles both). The one-TPU plan (no host
//! overhead) is compared with the best multi-TPU layout by [`Objective::compare`].

use super::balanced::CostTable;
use super::layout::Layout;
use super::search::{optimal_layout, Shape};
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
    if tpus == 1 {
        return Ok(single);
    }
    let table = CostTable::new(cost);
    let multi = optimal_layout(&table, Shape::Replicated(tpus), HOST_STAGE_OVERHEAD_MS)
        .expect("one segment on one TPU is always a layout");
    let better = Objective::of_layout(cost, &multi).compare(&Objective::of_layout(cost, &single));
    Ok(if better == Ordering::Less {
        multi
    } else {
        single
    })
}
