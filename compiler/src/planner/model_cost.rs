//! Candidate segment costs from the cost model, for any [`CostSource`] (a real model's graph or
//! a synthetic one).

use super::strategy::SegmentCostFn;
use crate::cost::{CostModel, CostSource, HostLink, SegmentEstimate, SegmentSums};
use std::ops::Range;

/// The cost model applied to a model's candidate segments.
pub struct ModelCost<'s> {
    source: &'s dyn CostSource,
    model: CostModel,
}

impl<'s> ModelCost<'s> {
    /// Costs `source`'s segments with `model`.
    pub fn new(source: &'s dyn CostSource, model: CostModel) -> Self {
        ModelCost { source, model }
    }

    /// The cost model.
    pub fn model(&self) -> &CostModel {
        &self.model
    }

    /// The model description.
    pub fn source(&self) -> &'s dyn CostSource {
        self.source
    }

    /// Running sums of positions `range` for a segment reading `bytes_in` bytes.
    pub(crate) fn sums(&self, range: Range<usize>, bytes_in: u64) -> SegmentSums {
        let budget = self.model.budget_for(bytes_in);
        let mut sums = SegmentSums::default();
        for l in &self.source.layers()[range] {
            sums.push(l, budget);
        }
        sums
    }

    /// The full prediction for positions `range`.
    pub fn estimate(&self, range: Range<usize>) -> SegmentEstimate {
        let (bytes_in, bytes_out) = self.source.io_bytes(range.clone());
        self.model
            .finish(&self.sums(range, bytes_in), bytes_in, bytes_out)
    }

    /// The prediction for positions `range` with the compiler's reported on-chip and off-chip
    /// bytes in place of the cache model's.
    pub fn estimate_with_placement(
        &self,
        range: Range<usize>,
        on_chip: u64,
        off_chip: u64,
    ) -> SegmentEstimate {
        let (bytes_in, bytes_out) = self.source.io_bytes(range.clone());
        self.model.finish_with_placement(
            &self.sums(range, bytes_in),
            bytes_in,
            bytes_out,
            on_chip,
            off_chip,
        )
    }
}

impl SegmentCostFn for ModelCost<'_> {
    fn len(&self) -> usize {
        self.source.layers().len()
    }

    fn stage_ms(&self, range: Range<usize>) -> f64 {
        self.estimate(range).total_ms
    }

    fn cut_bytes(&self, cut: usize) -> u64 {
        self.source.cut_bytes(cut)
    }

    fn row(&self, start: usize) -> Vec<f64> {
        self.estimate_row(start).map(|e| e.total_ms).collect()
    }

    fn shared_link(&self) -> bool {
        self.model.host_link == HostLink::Shared
    }

    fn link_ms(&self, range: Range<usize>) -> f64 {
        self.estimate(range).link_ms
    }

    fn rows(&self, start: usize) -> (Vec<f64>, Vec<f64>) {
        self.estimate_row(start)
            .map(|e| (e.total_ms, e.link_ms))
            .unzip()
    }
}

impl ModelCost<'_> {
    /// `estimate(start..end)` for every `end` in `start+1..=len`, incrementally over the end
    /// position; the sums are rebuilt only when a wider input changes the cache budget (rare: a
    /// later operator reading another outside tensor).
    fn estimate_row(&self, start: usize) -> impl Iterator<Item = SegmentEstimate> + '_ {
        let io = self.source.io_row(start);
        let layers = self.source.layers();
        let mut sums = SegmentSums::default();
        let mut budget = None;
        io.into_iter()
            .enumerate()
            .map(move |(i, (bytes_in, bytes_out))| {
                let end = start + 1 + i;
                let b = self.model.budget_for(bytes_in);
                if budget == Some(b) {
                    sums.push(&layers[end - 1], b);
                } else {
                    sums = self.sums(start..end, bytes_in);
                    budget = Some(b);
                }
                self.model.finish(&sums, bytes_in, bytes_out)
            })
    }
}
