//! The test oracle: tries every cut list (and every share of TPUs among segments). Exponential;
//! for small graphs only.

use super::layout::{Device, Layout};
use super::strategy::{cpu_stage_allowed, Objective, SegmentCostFn};
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
            let layout = Layout::replicated(cuts.to_vec(), replicas.to_vec());
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

/// The best layout with CPU stages by [`Objective::compare`], trying every cut list, every
/// device of every segment and (with `replicate`) every share of the TPUs among the Edge TPU
/// segments: exactly `tpus` Edge TPU segments of one TPU each without `replicate`, at most
/// `tpus` TPUs with it; at most [`SegmentCostFn::max_cpu_stages`] CPU stages; Edge TPU segments
/// only where [`SegmentCostFn::tpu_feasible`], CPU stages only where
/// [`cpu_stage_allowed`] for `tpus`. `None` when no layout exists. Exponential; the
/// oracle for the search with CPU stages.
pub fn brute_force_placed(
    cost: &dyn SegmentCostFn,
    tpus: usize,
    replicate: bool,
) -> Option<(Layout, Objective)> {
    let len = cost.len();
    if tpus == 0 || len == 0 {
        return None;
    }
    let max_cpu = cost.max_cpu_stages();
    let mut best: Option<(Layout, Objective)> = None;
    let mut consider = |layout: Layout| {
        let obj = Objective::of_layout(cost, &layout);
        if best
            .as_ref()
            .map_or(true, |(_, b)| obj.compare(b) == Ordering::Less)
        {
            best = Some((layout, obj));
        }
    };
    for_each_cut_list(len, len, &mut |cuts| {
        let ranges = super::strategy::segment_ranges(cuts, len);
        let n = ranges.len();
        for mask in 0u64..(1u64 << n) {
            let cpu = |i: usize| mask >> i & 1 == 1;
            let cpu_count = (0..n).filter(|&i| cpu(i)).count();
            let tpu_count = n - cpu_count;
            if cpu_count > max_cpu || tpu_count == 0 || tpu_count > tpus {
                continue;
            }
            if !replicate && tpu_count != tpus {
                continue;
            }
            if (0..n).any(|i| {
                if cpu(i) {
                    !cpu_stage_allowed(cost, ranges[i].clone(), tpus)
                } else {
                    !cost.tpu_feasible(ranges[i].clone())
                }
            }) {
                continue;
            }
            let devices: Vec<Device> = (0..n)
                .map(|i| if cpu(i) { Device::Cpu } else { Device::EdgeTpu })
                .collect();
            if !replicate {
                consider(Layout::with_devices(cuts.to_vec(), devices));
                continue;
            }
            for_each_share(tpu_count, tpus, &mut |share| {
                let mut it = share.iter();
                let replicas = (0..n)
                    .map(|i| {
                        if cpu(i) {
                            1
                        } else {
                            *it.next().expect("one share per TPU segment")
                        }
                    })
                    .collect();
                consider(Layout {
                    cuts: cuts.to_vec(),
                    replicas,
                    devices: devices.clone(),
                });
            });
        }
    });
    best
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
