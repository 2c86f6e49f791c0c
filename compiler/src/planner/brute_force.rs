//! The test oracle: tries every cut list. Exponential; for small graphs only.

use super::strategy::{Objective, SegmentCostFn};
use super::PlanError;
use std::cmp::Ordering;

/// The best cut list for exactly `segments` segments by [`Objective::compare`], trying all of them.
/// Among equal objectives the lexicographically smallest cut list is returned.
pub fn brute_force_cuts(
    cost: &dyn SegmentCostFn,
    segments: usize,
) -> Result<(Vec<usize>, Objective), PlanError> {
    super::Cuts::check_segment_count(segments, cost.len())?;
    let mut cuts: Vec<usize> = (1..segments).collect();
    let mut best = (cuts.clone(), Objective::of(cost, &cuts));
    let len = cost.len();
    let k = segments - 1;
    loop {
        // Next combination of k cuts from 1..len in lexicographic order.
        let mut i = k;
        loop {
            if i == 0 {
                return Ok(best);
            }
            i -= 1;
            if cuts[i] < len - (k - i) {
                break;
            }
        }
        cuts[i] += 1;
        for j in i + 1..k {
            cuts[j] = cuts[j - 1] + 1;
        }
        let obj = Objective::of(cost, &cuts);
        if obj.compare(&best.1) == Ordering::Less {
            best = (cuts.clone(), obj);
        }
    }
}
