//! The test oracle: tries every cut list (and every share of TPUs among segments). Exponential;
//! for small graphs only.

use super::layout::Layout;
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
    let mut best: Option<(Vec<usize>, Objective)> = None;
    // Cut lists of one length come in lexicographic order; the first best is kept.
    for_each_cut_list(cost.len(), segments, &mut |cuts| {
        if cuts.len() + 1 != segments {
            return;
        }
        let obj = Objective::of(cost, cuts);
        if best
            .as_ref()
            .map_or(true, |(_, b)| obj.compare(b) == Ordering::Less)
        {
            best = Some((cuts.to_vec(), obj));
        }
    });
    Ok(best.expect("a valid segment count has a cut list"))
}

/// The best layout on at most `tpus` TPUs by [`Objective::compare`], trying every cut list and
/// every share of the TPUs among its segments (each at least one). Exponential; the oracle for
/// [`replicated_layout`](super::replicated::replicated_layout).
pub fn brute_force_layout(
    cost: &dyn SegmentCostFn,
    tpus: usize,
) -> Result<(Layout, Objective), PlanError> {
    if tpus == 0 {
        return Err(PlanError::NoSegments);
    }
    super::Cuts::check_segment_count(1, cost.len())?;
    let len = cost.len();
    let mut best: Option<(Layout, Objective)> = None;
    for_each_cut_list(len, tpus.min(len), &mut |cuts| {
        let segments = cuts.len() + 1;
        for_each_share(segments, tpus, &mut |replicas| {
            let layout = Layout {
                cuts: cuts.to_vec(),
                replicas: replicas.to_vec(),
            };
            let obj = Objective::of_layout(cost, &layout);
            if best
                .as_ref()
                .map_or(true, |(_, b)| obj.compare(b) == Ordering::Less)
            {
                best = Some((layout, obj));
            }
        });
    });
    Ok(best.expect("one segment on one TPU is always a layout"))
}

/// Calls `f` with every strictly increasing cut list in `1..len` of at most `max_segments - 1`
/// cuts.
fn for_each_cut_list(len: usize, max_segments: usize, f: &mut dyn FnMut(&[usize])) {
    fn rec(
        next: usize,
        len: usize,
        left: usize,
        cuts: &mut Vec<usize>,
        f: &mut dyn FnMut(&[usize]),
    ) {
        f(cuts);
        if left == 0 {
            return;
        }
        for c in next..len {
            cuts.push(c);
            rec(c + 1, len, left - 1, cuts, f);
            cuts.pop();
        }
    }
    rec(1, len, max_segments.saturating_sub(1), &mut Vec::new(), f);
}

/// Calls `f` with every vector of `segments` counts, each at least 1, summing to at most `tpus`.
fn for_each_share(segments: usize, tpus: usize, f: &mut dyn FnMut(&[usize])) {
    fn rec(left: usize, budget: usize, share: &mut Vec<usize>, f: &mut dyn FnMut(&[usize])) {
        if left == 0 {
            f(share);
            return;
        }
        // Keep at least one TPU for each later segment.
        for r in 1..=budget.saturating_sub(left - 1) {
            share.push(r);
            rec(left - 1, budget - r, share, f);
            share.pop();
        }
    }
    rec(segments, tpus, &mut Vec::new(), f);
}
