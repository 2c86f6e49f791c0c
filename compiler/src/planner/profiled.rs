//! The `profiled` strategy's costs: the cost model, with every candidate segment the profile
//! covers replaced by its measurement (latency), or re-predicted from the compiler's reported
//! on-chip/off-chip bytes. Segments the profile lacks keep the model's prediction (times the
//! mean of the profile's `op_scale` factors over the segment, when it has them); segments it
//! marks `failed` cost infinity.

use super::model_cost::ModelCost;
use super::strategy::SegmentCostFn;
use crate::cost::SegmentEstimate;
use std::ops::Range;
use tpupipe_runtime::plan::ProfileIndex;

/// Where a segment's figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostOrigin {
    /// The cost model alone.
    Model,
    /// The cost model with the compiler's on-chip/off-chip bytes from the profile.
    ProfileBytes,
    /// A measured latency from the profile.
    Measured,
    /// The profile marks the segment unusable (its compile failed): infinite cost.
    Failed,
}

/// Model costs overridden by a profile.
pub struct ProfiledCost<'a> {
    base: &'a ModelCost<'a>,
    profile: &'a ProfileIndex,
}

impl<'a> ProfiledCost<'a> {
    /// Combines a model and a validated profile.
    pub fn new(base: &'a ModelCost<'a>, profile: &'a ProfileIndex) -> Self {
        ProfiledCost { base, profile }
    }

    /// The estimate for positions `range` and where its total came from.
    pub fn estimate(&self, range: Range<usize>) -> (SegmentEstimate, CostOrigin) {
        let scale = self.profile.scale(range.start, range.end);
        let scaled = |mut e: SegmentEstimate| {
            e.total_ms *= scale;
            e.link_ms *= scale;
            e
        };
        let Some(entry) = self.profile.get(range.start, range.end) else {
            return (scaled(self.base.estimate(range)), CostOrigin::Model);
        };
        let (mut est, mut origin) = match (entry.on_chip_bytes, entry.off_chip_bytes) {
            (Some(on), Some(off)) => (
                scaled(self.base.estimate_with_placement(range, on, off)),
                CostOrigin::ProfileBytes,
            ),
            _ => (scaled(self.base.estimate(range)), CostOrigin::Model),
        };
        if entry.failed.is_some() {
            // Unusable: no plan takes it while another exists.
            est.total_ms = f64::INFINITY;
            return (est, CostOrigin::Failed);
        }
        if let Some(ms) = entry.latency_ms {
            est.total_ms = ms;
            // The wire time is part of the stage: a measured stage bounds it.
            est.link_ms = est.link_ms.min(ms);
            origin = CostOrigin::Measured;
        }
        (est, origin)
    }
}

impl SegmentCostFn for ProfiledCost<'_> {
    fn len(&self) -> usize {
        self.base.len()
    }

    fn stage_ms(&self, range: Range<usize>) -> f64 {
        self.estimate(range).0.total_ms
    }

    fn cut_bytes(&self, cut: usize) -> u64 {
        self.base.cut_bytes(cut)
    }

    fn row(&self, start: usize) -> Vec<f64> {
        self.rows(start).0
    }

    fn shared_link(&self) -> bool {
        self.base.shared_link()
    }

    fn link_ms(&self, range: Range<usize>) -> f64 {
        self.estimate(range).0.link_ms
    }

    fn rows(&self, start: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut row, mut links) = self.base.rows(start);
        for (i, (ms, link)) in row.iter_mut().zip(links.iter_mut()).enumerate() {
            let end = start + 1 + i;
            let scale = self.profile.scale(start, end);
            *ms *= scale;
            *link *= scale;
            if self.profile.get(start, end).is_some() {
                let (e, _) = self.estimate(start..end);
                *ms = e.total_ms;
                *link = e.link_ms;
            }
        }
        (row, links)
    }
}
