//! Candidate segment costs that know where each operator runs: Edge TPU segments with their
//! float ends fused as host work, CPU stages costed by the host, and the Edge TPU compiler's
//! own placement of anything else.
//!
//! [`StagePlacement`] holds the [`Sides`] of a model's positions and its [`HostCost`];
//! [`PlacedCost`] wraps any [`SegmentCostFn`] (the cost model, or a profile over it) with them:
//!
//! - an Edge TPU segment `[float-in]* core [float-out]*` ([`Sides::tpu_core`]) costs the inner
//!   cost of its core (so the link carries the int8 tensors) plus the host time of its float
//!   ends, which TFLite runs in the same invoke (no extra copy);
//! - a CPU stage costs the host time of its positions on one core ([`SegmentCostFn::cpu_ms`]),
//!   scaled by [`cpu_contention`](super::strategy::cpu_contention) in a plan; it holds
//!   Edge TPU operators only when there are more runs of them than TPUs
//!   ([`cpu_stage_allowed`](super::strategy::cpu_stage_allowed));
//! - a range that cannot be an Edge TPU segment is not a candidate for the search
//!   ([`SegmentCostFn::tpu_feasible`] is false); evaluated anyway (a `params` or manual cut, or
//!   the whole model on one TPU), it costs what the Edge TPU compiler would make of it: its one
//!   Edge TPU subgraph on the TPU, everything else on the CPU in the same stage
//!   ([`PlacedCost::compiler_ms`]).

use super::sides::Sides;
use super::strategy::SegmentCostFn;
use crate::placement::HostCost;
use std::ops::Range;

/// Where a model's positions may run and what the host costs.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePlacement {
    sides: Sides,
    host: HostCost,
    /// `prefix[p]`: host time of positions `< p` on one core, ms.
    prefix: Vec<f64>,
    max_cpu_stages: usize,
}

impl StagePlacement {
    /// `sides` and `host` (one entry per position each). A plan may have CPU stages only when
    /// some position is off the Edge TPU, at most one per run of such positions plus one per
    /// host core (more stages than cores cannot run faster).
    pub fn new(sides: Sides, host: HostCost) -> StagePlacement {
        assert_eq!(
            sides.len(),
            host.per_op_ms().len(),
            "one host time per position"
        );
        let mut prefix = Vec::with_capacity(sides.len() + 1);
        prefix.push(0.0);
        for &ms in host.per_op_ms() {
            prefix.push(prefix.last().copied().unwrap_or(0.0) + ms);
        }
        let max_cpu_stages = if sides.all_on_tpu() {
            0
        } else {
            (sides.off_tpu_runs() + host.cores).min(sides.len())
        };
        StagePlacement {
            sides,
            host,
            prefix,
            max_cpu_stages,
        }
    }

    /// The same, with at most `max` CPU stages (0: every stage on the Edge TPU).
    pub fn with_max_cpu_stages(mut self, max: usize) -> StagePlacement {
        self.max_cpu_stages = max.min(self.sides.len());
        self
    }

    /// The sides.
    pub fn sides(&self) -> &Sides {
        &self.sides
    }

    /// The host cost.
    pub fn host(&self) -> &HostCost {
        &self.host
    }

    /// Most CPU stages a plan may have.
    pub fn max_cpu_stages(&self) -> usize {
        self.max_cpu_stages
    }

    /// Host time of positions `range` on one core, ms.
    pub fn host_ms(&self, range: Range<usize>) -> f64 {
        if range.start >= range.end {
            return 0.0;
        }
        self.prefix[range.end] - self.prefix[range.start]
    }
}

/// [`SegmentCostFn`] over an inner (all-Edge-TPU) cost with a [`StagePlacement`].
pub struct PlacedCost<'c> {
    inner: &'c dyn SegmentCostFn,
    placement: &'c StagePlacement,
}

impl<'c> PlacedCost<'c> {
    /// `inner`'s costs under `placement` (same number of positions).
    pub fn new(inner: &'c dyn SegmentCostFn, placement: &'c StagePlacement) -> Self {
        assert_eq!(inner.len(), placement.sides.len(), "one side per position");
        PlacedCost { inner, placement }
    }

    /// The placement.
    pub fn placement(&self) -> &StagePlacement {
        self.placement
    }

    /// What the Edge TPU compiler makes of `range` compiled alone on one TPU: its Edge TPU
    /// subgraph ([`Sides::compiler_tpu_range`]) at the inner cost, plus every other position's
    /// host time, in one stage, ms.
    pub fn compiler_ms(&self, range: Range<usize>) -> f64 {
        let t = self.placement.sides.compiler_tpu_range(range.clone());
        let host =
            self.placement.host_ms(range.start..t.start) + self.placement.host_ms(t.end..range.end);
        if t.is_empty() {
            host
        } else {
            self.inner.stage_ms(t) + host
        }
    }

    /// Host time of the positions of `range` outside `core`.
    fn ends_ms(&self, range: &Range<usize>, core: &Range<usize>) -> f64 {
        self.placement.host_ms(range.start..core.start)
            + self.placement.host_ms(core.end..range.end)
    }
}

impl SegmentCostFn for PlacedCost<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn stage_ms(&self, range: Range<usize>) -> f64 {
        match self.placement.sides.tpu_core(range.clone()) {
            Some(core) => self.ends_ms(&range, &core) + self.inner.stage_ms(core),
            None => self.compiler_ms(range),
        }
    }

    fn cut_bytes(&self, cut: usize) -> u64 {
        self.inner.cut_bytes(cut)
    }

    fn shared_link(&self) -> bool {
        self.inner.shared_link()
    }

    fn link_ms(&self, range: Range<usize>) -> f64 {
        let sides = &self.placement.sides;
        let t = sides
            .tpu_core(range.clone())
            .unwrap_or_else(|| sides.compiler_tpu_range(range));
        if t.is_empty() {
            0.0
        } else {
            self.inner.link_ms(t)
        }
    }

    fn tpu_feasible(&self, range: Range<usize>) -> bool {
        self.placement.sides.tpu_core(range).is_some()
    }

    fn tpu_rows(&self, start: usize, links: bool) -> (Vec<f64>, Vec<f64>) {
        let len = self.len();
        let n = len - start;
        let mut row = vec![f64::INFINITY; n];
        let mut link = if links { vec![0.0; n] } else { Vec::new() };
        // Every feasible segment from `start` has its core starting at the same position.
        let Some(first) = (start + 1..=len).find_map(|e| self.placement.sides.tpu_core(start..e))
        else {
            return (row, link);
        };
        let cs = first.start;
        let (inner, inner_links) = if links {
            self.inner.rows(cs)
        } else {
            (self.inner.row(cs), Vec::new())
        };
        for e in first.end..=len {
            let Some(core) = self.placement.sides.tpu_core(start..e) else {
                continue;
            };
            debug_assert_eq!(core.start, cs);
            let k = core.end - cs - 1;
            row[e - start - 1] = inner[k] + self.ends_ms(&(start..e), &core);
            if links {
                link[e - start - 1] = inner_links[k];
            }
        }
        (row, link)
    }

    fn cpu_ms(&self, range: Range<usize>) -> Option<f64> {
        (self.placement.max_cpu_stages > 0).then(|| self.placement.host_ms(range))
    }

    fn max_cpu_stages(&self) -> usize {
        self.placement.max_cpu_stages
    }

    fn host_cores(&self) -> usize {
        self.placement.host.cores
    }

    fn tpu_runs(&self) -> usize {
        self.placement.sides.tpu_runs()
    }

    fn next_tpu_position(&self, start: usize) -> usize {
        self.placement.sides.next_tpu(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::host_cost::HostCostOrigin;
    use crate::planner::sides::Side::*;

    /// Every segment costs 1 ms plus 1 ms per position on one TPU.
    struct Flat(usize);
    impl SegmentCostFn for Flat {
        fn len(&self) -> usize {
            self.0
        }
        fn stage_ms(&self, range: Range<usize>) -> f64 {
            1.0 + range.len() as f64
        }
        fn cut_bytes(&self, _cut: usize) -> u64 {
            0
        }
    }

    #[test]
    fn float_ends_are_host_work_and_cpu_operators_are_not_candidates() {
        let sides = Sides::new(vec![FloatIn, Tpu, Tpu, Cpu, Tpu, FloatOut]);
        let host = HostCost::from_per_op_ms(
            vec![0.5, 10.0, 10.0, 2.0, 10.0, 0.25],
            2,
            HostCostOrigin::Measured,
        );
        let p = StagePlacement::new(sides, host);
        assert_eq!(p.max_cpu_stages(), 5);
        let inner = Flat(6);
        let c = PlacedCost::new(&inner, &p);
        // Quantize (0.5 ms of host) fused into the core 1..3 (3 ms).
        assert_eq!(c.stage_ms(0..3), 3.5);
        assert!(c.tpu_feasible(0..3) && !c.tpu_feasible(0..4));
        // The compiler maps 1..3 and leaves the rest of 0..6 on the CPU.
        assert_eq!(c.stage_ms(0..6), 3.0 + 0.5 + 2.0 + 10.0 + 0.25);
        assert_eq!(c.compiler_ms(0..6), c.stage_ms(0..6));
        assert_eq!(c.cpu_ms(3..4), Some(2.0));
        let (row, _) = c.tpu_rows(0, false);
        assert_eq!(row[1..3], [2.5, 3.5]);
        assert!(row[0].is_infinite() && row[3..].iter().all(|t| t.is_infinite()));
        let (row, _) = c.tpu_rows(4, false);
        assert_eq!(row, vec![2.0, 2.25]);
        let (row, _) = c.tpu_rows(5, false);
        assert!(row[0].is_infinite());
    }
}
