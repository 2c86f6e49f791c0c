//! A plan's layout: where to cut, and how many TPUs run each segment.
//!
//! A plain pipeline gives every segment one TPU. With replication
//! ([`replicated`](super::replicated)), a segment may run on several TPUs that take inferences
//! in turn: when one segment is slower than any cut can fix (a model that fits one TPU, or a
//! layer too slow to share), copies of it raise throughput where more cuts would only add
//! transfers.

use super::strategy::segment_ranges;
use serde::Serialize;
use std::ops::Range;

/// Cut positions plus the TPUs given to each segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Layout {
    /// Strictly increasing cut positions (see [`Cuts`](super::Cuts)).
    pub cuts: Vec<usize>,
    /// TPUs running each segment, each at least 1; `cuts.len() + 1` entries.
    pub replicas: Vec<usize>,
}

impl Layout {
    /// One TPU per segment.
    pub fn pipeline(cuts: Vec<usize>) -> Layout {
        let replicas = vec![1; cuts.len() + 1];
        Layout { cuts, replicas }
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.cuts.len() + 1
    }

    /// TPUs used in total.
    pub fn tpus(&self) -> usize {
        self.replicas.iter().sum()
    }

    /// True when some segment runs on more than one TPU.
    pub fn is_replicated(&self) -> bool {
        self.replicas.iter().any(|&r| r > 1)
    }

    /// The segments' position ranges for a model of `len` positions.
    pub fn ranges(&self, len: usize) -> Vec<Range<usize>> {
        segment_ranges(&self.cuts, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_layout_gives_one_tpu_per_segment() {
        let l = Layout::pipeline(vec![2, 5]);
        assert_eq!(l.replicas, vec![1, 1, 1]);
        assert_eq!(
            (l.segment_count(), l.tpus(), l.is_replicated()),
            (3, 3, false)
        );
        assert_eq!(l.ranges(7), vec![0..2, 2..5, 5..7]);
        let r = Layout {
            cuts: vec![3],
            replicas: vec![1, 3],
        };
        assert_eq!((r.tpus(), r.is_replicated()), (4, true));
    }
}
