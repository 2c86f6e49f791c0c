//! What the search strategies optimise: a cost per candidate segment, and the objective of a
//! whole plan.

use super::layout::{Device, Layout};
use crate::cost::pipeline::{host_overhead_ms, stage_interval_ms};
use serde::Serialize;
use std::cmp::Ordering;
use std::ops::Range;

/// The cost of candidate segments, by position range. The planner only needs this, so tests
/// can plan synthetic graphs; [`ModelCost`](super::model_cost::ModelCost) adapts a real model
/// and the cost model, [`ProfiledCost`](super::profiled::ProfiledCost) adds measurements.
pub trait SegmentCostFn {
    /// Number of positions (operators).
    fn len(&self) -> usize;

    /// True without positions.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Predicted time of one TPU running positions `range` (non-empty), transfers included, ms.
    fn stage_ms(&self, range: Range<usize>) -> f64;

    /// Bytes live across cut `cut` (the tie-breaker: fewer bytes crossing cuts).
    fn cut_bytes(&self, cut: usize) -> u64;

    /// `stage_ms(start..end)` for every `end` in `start+1..=len`, in order. Implementations
    /// may compute the row incrementally; the default calls [`SegmentCostFn::stage_ms`].
    fn row(&self, start: usize) -> Vec<f64> {
        (start + 1..=self.len())
            .map(|end| self.stage_ms(start..end))
            .collect()
    }

    /// True when every TPU of a plan shares one host wire: a plan then delivers at most one
    /// result per sum of its segments' [`SegmentCostFn::link_ms`]. False by default.
    fn shared_link(&self) -> bool {
        false
    }

    /// Time positions `range` keep the host wire busy per inference, ms (part of
    /// [`SegmentCostFn::stage_ms`]). Zero by default.
    fn link_ms(&self, _range: Range<usize>) -> f64 {
        0.0
    }

    /// [`SegmentCostFn::row`] and the matching `link_ms` row. Implementations may compute both
    /// in one pass; the default calls the two.
    fn rows(&self, start: usize) -> (Vec<f64>, Vec<f64>) {
        let links = (start + 1..=self.len())
            .map(|end| self.link_ms(start..end))
            .collect();
        (self.row(start), links)
    }

    /// True when positions `range` can be one Edge TPU segment that the Edge TPU compiler maps
    /// whole (float ends apart, see [`Sides`](super::sides::Sides)). True by default.
    fn tpu_feasible(&self, _range: Range<usize>) -> bool {
        true
    }

    /// The candidate Edge TPU segments from `start`, as the search's table holds them: the
    /// [`SegmentCostFn::row`] with infinity where [`SegmentCostFn::tpu_feasible`] is false,
    /// and with `links` the matching `link_ms` row (else empty). The default calls the others.
    fn tpu_rows(&self, start: usize, links: bool) -> (Vec<f64>, Vec<f64>) {
        let (mut row, link) = if links {
            self.rows(start)
        } else {
            (self.row(start), Vec::new())
        };
        for (i, t) in row.iter_mut().enumerate() {
            if !self.tpu_feasible(start..start + i + 1) {
                *t = f64::INFINITY;
            }
        }
        (row, link)
    }

    /// Host time of a CPU stage running positions `range` on one core, ms; `None` when the
    /// plan has no CPU stages (the default).
    fn cpu_ms(&self, _range: Range<usize>) -> Option<f64> {
        None
    }

    /// Most CPU stages a plan may have (0 by default: every stage on the Edge TPU).
    fn max_cpu_stages(&self) -> usize {
        0
    }

    /// Host cores the CPU stages share (1 by default); see [`cpu_contention`].
    fn host_cores(&self) -> usize {
        1
    }

    /// The maximal runs of positions the Edge TPU maps (1 by default: all of them).
    fn tpu_runs(&self) -> usize {
        1
    }

    /// The first position `>= start` the Edge TPU maps (`start` by default: all of them).
    fn next_tpu_position(&self, start: usize) -> usize {
        start
    }
}

/// True when a plan for `tpus` Edge TPUs may run positions `range` as a CPU stage: always when
/// the model has more runs of Edge TPU operators than there are TPUs (some run must then go to
/// the CPU, as in the compiler's own "one TPU with the CPU tail"), else only when `range` holds
/// no operator the Edge TPU maps (float ends and CPU operators).
pub fn cpu_stage_allowed(cost: &dyn SegmentCostFn, range: Range<usize>, tpus: usize) -> bool {
    cost.tpu_runs() > tpus || cost.next_tpu_position(range.start) >= range.end
}

/// The factor by which `stages` CPU stages sharing `cores` host cores slow each other down:
/// `max(1, stages / cores)`. Up to one stage per core each runs at full speed; beyond that the
/// cores are time-shared evenly, so every CPU stage takes `stages / cores` times as long.
pub fn cpu_contention(stages: usize, cores: usize) -> f64 {
    (stages as f64 / cores.max(1) as f64).max(1.0)
}

pub use tpupipe_runtime::plan::Strategy;

/// The figures a plan is judged by, compared lexicographically by [`Objective::compare`]:
/// bottleneck, then latency, then bytes crossing cuts, then TPUs used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Objective {
    /// Slowest stage plus host overhead (divided by its replicas), ms.
    pub bottleneck_ms: f64,
    /// Sum of all stages plus host overhead, ms.
    pub latency_ms: f64,
    /// Sum over cuts of the bytes live across them.
    pub cut_bytes: u64,
    /// TPUs used.
    pub tpus: usize,
}

/// Relative tolerance when comparing times: sums taken in different orders differ in the last
/// bits, and such differences must not decide between plans.
pub const TIME_TOLERANCE: f64 = 1e-9;

/// Compares two times with [`TIME_TOLERANCE`].
pub fn cmp_ms(a: f64, b: f64) -> Ordering {
    if a.is_infinite() || b.is_infinite() {
        // An unusable segment (infinite cost) is never within a finite bound; the tolerance
        // would be infinite too.
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    let eps = TIME_TOLERANCE * a.abs().max(b.abs()).max(1.0);
    if a < b - eps {
        Ordering::Less
    } else if a > b + eps {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

impl Objective {
    /// Evaluates `cuts` (strictly increasing, within `1..len`) on `cost`.
    pub fn of(cost: &dyn SegmentCostFn, cuts: &[usize]) -> Objective {
        Objective::of_layout(cost, &Layout::pipeline(cuts.to_vec()))
    }

    /// Evaluates a layout (cuts as for [`Objective::of`], replicas at least 1) on `cost`. A
    /// CPU stage costs [`SegmentCostFn::cpu_ms`] times the [`cpu_contention`] of the layout's
    /// CPU stages (infinite when `cost` has no CPU stages); host overhead counts every worker.
    pub fn of_layout(cost: &dyn SegmentCostFn, layout: &Layout) -> Objective {
        let stages = layout_stage_times(cost, layout);
        let host = host_overhead_ms(layout.workers());
        let ranges = segment_ranges(&layout.cuts, cost.len());
        let wire_ms: f64 = if cost.shared_link() {
            ranges
                .into_iter()
                .enumerate()
                .filter(|(i, _)| layout.device(*i) == Device::EdgeTpu)
                .map(|(_, r)| cost.link_ms(r))
                .sum()
        } else {
            0.0
        };
        Objective {
            bottleneck_ms: stages
                .iter()
                .zip(&layout.replicas)
                .map(|(&s, &r)| stage_interval_ms(s, host, r))
                .fold(wire_ms, f64::max),
            latency_ms: stages.iter().map(|s| s + host).sum(),
            cut_bytes: layout.cuts.iter().map(|&c| cost.cut_bytes(c)).sum(),
            tpus: layout.tpus(),
        }
    }

    /// Lexicographic comparison (bottleneck, latency, bytes, TPUs), times with tolerance.
    pub fn compare(&self, other: &Objective) -> Ordering {
        cmp_ms(self.bottleneck_ms, other.bottleneck_ms)
            .then(cmp_ms(self.latency_ms, other.latency_ms))
            .then(self.cut_bytes.cmp(&other.cut_bytes))
            .then(self.tpus.cmp(&other.tpus))
    }
}

/// The position ranges of the segments `cuts` makes of `len` positions.
pub(crate) fn segment_ranges(cuts: &[usize], len: usize) -> Vec<Range<usize>> {
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(cuts);
    bounds.push(len);
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Each segment's stage time in `layout`: [`SegmentCostFn::stage_ms`] on the Edge TPU, the
/// contended [`SegmentCostFn::cpu_ms`] on the CPU.
pub(crate) fn layout_stage_times(cost: &dyn SegmentCostFn, layout: &Layout) -> Vec<f64> {
    let factor = cpu_contention(layout.cpu_stages(), cost.host_cores());
    segment_ranges(&layout.cuts, cost.len())
        .into_iter()
        .enumerate()
        .map(|(i, r)| match layout.device(i) {
            Device::EdgeTpu => cost.stage_ms(r),
            Device::Cpu => cost.cpu_ms(r).map_or(f64::INFINITY, |ms| ms * factor),
        })
        .collect()
}
