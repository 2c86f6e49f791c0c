//! The `balanced` strategy: the exact optimum of the slowest stage over all cut positions, one
//! TPU per Edge TPU segment, ties broken by end-to-end latency, then by bytes crossing cuts.
//!
//! The search itself ([`search`](super::search)) works on a table of every candidate segment's
//! cost (`L(L+1)/2` entries) and is exact, including the shared host wire when the TPUs share
//! one, and CPU stages where the cost allows them (a model with operators the Edge TPU does not
//! map, [`placed_cost`](super::placed_cost)). With `allow_fewer`, every Edge TPU count `1..=N`
//! is planned and the best objective wins, a smaller count on ties.

use super::layout::Layout;
pub use super::search::CostTable;
use super::search::{optimal_placed_layout, Shape};
use super::strategy::{Objective, SegmentCostFn};
use super::{Cuts, PlanError};
use crate::cost::pipeline::host_overhead_ms;
use std::cmp::Ordering;

/// The balanced cuts for exactly `segments` segments, from a precomputed table of an
/// all-Edge-TPU cost.
pub fn balanced_cuts_exact(table: &CostTable, segments: usize) -> Result<Vec<usize>, PlanError> {
    Cuts::check_segment_count(segments, table.len())?;
    let layout =
        super::search::optimal_layout(table, Shape::Segments(segments), host_overhead_ms(segments))
            .ok_or(PlanError::NoTpuLayout { tpus: segments })?;
    Ok(layout.cuts)
}

/// The balanced layout with exactly `tpus` Edge TPU segments (and any CPU stages `cost`
/// allows), from `cost`'s table.
pub fn balanced_layout_exact(
    cost: &dyn SegmentCostFn,
    table: &CostTable,
    tpus: usize,
) -> Result<Layout, PlanError> {
    Cuts::check_segment_count(tpus, table.len())?;
    optimal_placed_layout(cost, table, Shape::Segments(tpus), host_overhead_ms(tpus))
        .ok_or(PlanError::NoTpuLayout { tpus })
}

/// The balanced layout for `tpus` Edge TPU segments of `cost` (at most `tpus` with
/// `allow_fewer`: fewer TPUs when more stages would be slower), with CPU stages where `cost`
/// allows them.
pub fn balanced_layout(
    cost: &dyn SegmentCostFn,
    tpus: usize,
    allow_fewer: bool,
) -> Result<Layout, PlanError> {
    Cuts::check_segment_count(tpus, cost.len())?;
    let table = CostTable::new(cost);
    if !allow_fewer {
        return balanced_layout_exact(cost, &table, tpus);
    }
    let mut best: Option<(Layout, Objective)> = None;
    let mut first_error = None;
    for k in 1..=tpus {
        let layout = match balanced_layout_exact(cost, &table, k) {
            Ok(l) => l,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let obj = Objective::of_layout(cost, &layout);
        let improves = match &best {
            None => true,
            Some((_, b)) => obj.compare(b) == Ordering::Less,
        };
        if improves {
            best = Some((layout, obj));
        }
    }
    match best {
        Some((l, _)) => Ok(l),
        None => Err(first_error.unwrap_or(PlanError::NoTpuLayout { tpus })),
    }
}

/// The balanced cuts for `segments` segments of `cost` (at most `segments` with
/// `allow_fewer`); [`balanced_layout`]'s cuts.
pub fn balanced_cuts(
    cost: &dyn SegmentCostFn,
    segments: usize,
    allow_fewer: bool,
) -> Result<Vec<usize>, PlanError> {
    Ok(balanced_layout(cost, segments, allow_fewer)?.cuts)
}
