//! The `balanced` strategy: the exact optimum of the slowest stage over all cut positions, one
//! TPU per segment, ties broken by end-to-end latency, then by bytes crossing cuts.
//!
//! The search itself ([`search`](super::search)) works on a table of every candidate segment's
//! cost (`L(L+1)/2` entries) and is exact, including the shared host wire when the TPUs share
//! one. With `allow_fewer`, every segment count `1..=N` is planned and the best objective wins,
//! a smaller count on ties.

pub use super::search::CostTable;
use super::search::{optimal_layout, Shape};
use super::strategy::{Objective, SegmentCostFn};
use super::{Cuts, PlanError};
use crate::cost::pipeline::host_overhead_ms;
use std::cmp::Ordering;

/// The balanced cuts for exactly `segments` segments, from a precomputed table.
pub fn balanced_cuts_exact(table: &CostTable, segments: usize) -> Result<Vec<usize>, PlanError> {
    Cuts::check_segment_count(segments, table.len())?;
    let layout = optimal_layout(table, Shape::Segments(segments), host_overhead_ms(segments))
        .expect("a valid segment count always has a layout");
    Ok(layout.cuts)
}

/// The balanced cuts for `segments` segments of `cost` (at most `segments` with
/// `allow_fewer`: fewer TPUs when more stages would be slower).
pub fn balanced_cuts(
    cost: &dyn SegmentCostFn,
    segments: usize,
    allow_fewer: bool,
) -> Result<Vec<usize>, PlanError> {
    Cuts::check_segment_count(segments, cost.len())?;
    let table = CostTable::new(cost);
    if !allow_fewer {
        return balanced_cuts_exact(&table, segments);
    }
    let mut best: Option<(Vec<usize>, Objective)> = None;
    for k in 1..=segments {
        let cuts = balanced_cuts_exact(&table, k)?;
        let obj = Objective::of(cost, &cuts);
        let improves = match &best {
            None => true,
            Some((_, b)) => obj.compare(b) == Ordering::Less,
        };
        if improves {
            best = Some((cuts, obj));
        }
    }
    Ok(best.map(|(c, _)| c).unwrap_or_default())
}
