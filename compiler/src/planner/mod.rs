//! Choosing where to cut a model: cut lists and the strategies that produce them.
//!
//! A plan for N segments is a strictly increasing list of N-1 cut positions in `1..len`, where
//! `len` is the number of operators of the [`Graph`](crate::graph::Graph) and cut `c` lies between
//! positions `c - 1` and `c` of [`Graph::order`](crate::graph::Graph::order). Segment `i` covers
//! positions `[cuts[i-1], cuts[i])` (with `cuts[-1] = 0` and `cuts[N-1] = len`).
//!
//! - [`params`]: the Edge TPU compiler's equal-parameter split.
//! - [`balanced`]: the exact optimum of the slowest stage under the cost model
//!   ([`model_cost`]), over any [`SegmentCostFn`](strategy::SegmentCostFn).
//! - `profiled`: `balanced` over [`profiled`] costs (a profile file's measurements,
//!   [`tpupipe_runtime::plan::profile`], the model elsewhere).
//! - [`replicated`]: `balanced` (or `profiled`) where a segment may also run on several TPUs
//!   taking inferences in turn ([`layout`]).
//! - [`sides`] and [`placed_cost`]: where each operator may run (Edge TPU, float ends fused as
//!   host work, CPU stages) and what candidate segments then cost;
//! - [`search`]: the exact search behind `balanced`, `profiled` and replication;
//!   [`brute_force`]: the test oracle; [`context`]: planning and summarising one model;
//!   `annotate`: cost figures for split plans; [`report`]: a plan's figures as `tpupipe plan`
//!   prints them.

pub(crate) mod annotate;
pub mod balanced;
pub mod brute_force;
pub mod context;
pub mod layout;
pub mod model_cost;
pub mod params;
pub mod placed_cost;
pub mod profiled;
pub mod replicated;
pub mod report;
pub mod search;
pub mod sides;
pub mod strategy;

use std::ops::Range;
use thiserror::Error;

/// Why a cut list or a segment count is not usable for a model.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Zero segments (zero TPUs) were asked for.
    #[error("the number of segments (TPUs) must be at least 1")]
    NoSegments,
    /// More segments than operators: some segment would be empty.
    #[error("cannot make {segments} segments from a model with only {ops} operators (every segment needs at least one)")]
    TooManySegments {
        /// Segments asked for.
        segments: usize,
        /// Operators in the model.
        ops: usize,
    },
    /// A cut outside `1..ops`.
    #[error("cut {cut} is out of range: cuts must lie in 1..={max} for a model with {ops} operators (cut c splits before operator position c)", max = ops.saturating_sub(1))]
    CutOutOfRange {
        /// The cut.
        cut: usize,
        /// Operators in the model.
        ops: usize,
    },
    /// Two equal cuts, which would leave the segment between them empty.
    #[error("cut {cut} appears twice; segment {segment} would be empty")]
    EmptySegment {
        /// The repeated cut.
        cut: usize,
        /// The segment that would be empty.
        segment: usize,
    },
    /// A cut not greater than the one before it.
    #[error("cuts must be strictly increasing, but {cut} follows {previous}")]
    NotIncreasing {
        /// The earlier cut.
        previous: usize,
        /// The offending cut.
        cut: usize,
    },
    /// A layout's replica counts do not fit its segments.
    #[error("a layout with {segments} segments needs {segments} replica counts of at least 1, got {replicas:?}")]
    BadReplicas {
        /// Segments of the layout.
        segments: usize,
        /// The replica counts given.
        replicas: Vec<usize>,
    },
    /// No layout with this many Edge TPU segments exists: every Edge TPU segment needs an
    /// operator the Edge TPU maps and nothing else the compiler would leave on the CPU.
    #[error("cannot plan {tpus} Edge TPU segment(s): the model has too few operators the Edge TPU compiler maps whole (try fewer TPUs, or --allow-fewer)")]
    NoTpuLayout {
        /// Edge TPU segments asked for.
        tpus: usize,
    },
    /// The cut list does not match the requested number of segments.
    #[error("{segments} segments need {} cuts, but {cuts} were given", segments - 1)]
    WrongCutCount {
        /// Segments asked for.
        segments: usize,
        /// Cuts given.
        cuts: usize,
    },
}

/// A validated cut list for a model with a known number of operators.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cuts {
    cuts: Vec<usize>,
    ops: usize,
}

impl Cuts {
    /// Validates `cuts` for a model of `ops` operators: each in `1..ops`, strictly increasing.
    /// An empty list is one segment holding every operator.
    pub fn new(cuts: Vec<usize>, ops: usize) -> Result<Cuts, PlanError> {
        if cuts.len() + 1 > ops {
            return Err(PlanError::TooManySegments {
                segments: cuts.len() + 1,
                ops,
            });
        }
        for (i, &cut) in cuts.iter().enumerate() {
            if cut == 0 || cut >= ops {
                return Err(PlanError::CutOutOfRange { cut, ops });
            }
            if i > 0 {
                let previous = cuts[i - 1];
                if cut == previous {
                    return Err(PlanError::EmptySegment { cut, segment: i });
                }
                if cut < previous {
                    return Err(PlanError::NotIncreasing { previous, cut });
                }
            }
        }
        Ok(Cuts { cuts, ops })
    }

    /// Checks that `segments` segments can be made from `ops` operators.
    pub fn check_segment_count(segments: usize, ops: usize) -> Result<(), PlanError> {
        if segments == 0 {
            return Err(PlanError::NoSegments);
        }
        if segments > ops {
            return Err(PlanError::TooManySegments { segments, ops });
        }
        Ok(())
    }

    /// The cut positions.
    pub fn positions(&self) -> &[usize] {
        &self.cuts
    }

    /// Number of operators of the model the cuts are for.
    pub fn op_count(&self) -> usize {
        self.ops
    }

    /// Number of segments (cuts + 1).
    pub fn segment_count(&self) -> usize {
        self.cuts.len() + 1
    }

    /// The position range of segment `i`. Panics if `i >= segment_count()`.
    pub fn segment(&self, i: usize) -> Range<usize> {
        assert!(
            i < self.segment_count(),
            "segment {i} of {}",
            self.segment_count()
        );
        let start = if i == 0 { 0 } else { self.cuts[i - 1] };
        let end = self.cuts.get(i).copied().unwrap_or(self.ops);
        start..end
    }

    /// The position ranges of all segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..self.segment_count()).map(|i| self.segment(i))
    }

    /// The segment holding position `pos`. Panics if `pos >= op_count()`.
    pub fn segment_of(&self, pos: usize) -> usize {
        assert!(pos < self.ops, "position {pos} of {} operators", self.ops);
        // Number of cuts at or before `pos`.
        self.cuts.partition_point(|&c| c <= pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_cuts_give_segments() {
        let c = Cuts::new(vec![2, 5], 8).unwrap();
        assert_eq!(c.segment_count(), 3);
        assert_eq!(c.segments().collect::<Vec<_>>(), vec![0..2, 2..5, 5..8]);
        assert_eq!(
            (0..8).map(|p| c.segment_of(p)).collect::<Vec<_>>(),
            vec![0, 0, 1, 1, 1, 2, 2, 2]
        );
        let one = Cuts::new(vec![], 3).unwrap();
        assert_eq!(one.segments().collect::<Vec<_>>(), vec![0..3]);
    }

    #[test]
    fn bad_cuts_are_rejected_with_the_reason() {
        assert_eq!(
            Cuts::new(vec![0], 4),
            Err(PlanError::CutOutOfRange { cut: 0, ops: 4 })
        );
        assert_eq!(
            Cuts::new(vec![4], 4),
            Err(PlanError::CutOutOfRange { cut: 4, ops: 4 })
        );
        assert_eq!(
            Cuts::new(vec![2, 2], 4),
            Err(PlanError::EmptySegment { cut: 2, segment: 1 })
        );
        assert_eq!(
            Cuts::new(vec![3, 1], 4),
            Err(PlanError::NotIncreasing {
                previous: 3,
                cut: 1
            })
        );
        assert_eq!(
            Cuts::new(vec![1, 2, 3], 3),
            Err(PlanError::TooManySegments {
                segments: 4,
                ops: 3
            })
        );
        assert_eq!(Cuts::check_segment_count(0, 3), Err(PlanError::NoSegments));
        assert!(Cuts::check_segment_count(3, 3).is_ok());
        let msg = PlanError::CutOutOfRange { cut: 9, ops: 4 }.to_string();
        assert!(msg.contains("1..=3"), "{msg}");
    }
}
