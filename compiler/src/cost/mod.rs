//! The Edge TPU cost model: predicted time of one TPU running one segment, and of a pipeline of
//! segments.
//!
//! One segment on one TPU costs
//!
//! ```text
//! invoke overhead + inputs in + outputs out + clock x (sum of layer compute)
//!   + [any streamed] stream setup + sum over streamed layers of stored bytes x link rate x refetch
//! ```
//!
//! where refetch is 1, except for convolutions with many output positions, whose streamed
//! weights are re-fetched per block of positions ([`Layer::stream_refetch`]).
//!
//! - which layers are cached follows the compiler's whole-layer, execution-order rule
//!   (`cost/cache.rs`) over the padded layout the compiler stores ([`layer`]);
//! - link rates and invoke overhead depend on the [`Interface`], compute on the [`Clock`];
//! - every constant comes from [`calibration`], fitted to `../shared/calibration`.
//!
//! [`pipeline`] combines segment times into throughput and latency; [`synthetic`] builds the
//! calibration families without model files; [`from_graph`] adapts a real
//! [`Graph`](crate::graph::Graph).

pub mod cache;
pub mod calibration;
pub mod from_graph;
pub mod interface;
pub mod layer;
pub mod pipeline;
pub mod synthetic;

pub(crate) use interface::{compute_scale, Link};
pub use interface::{Clock, HostLink, Interface};
pub use layer::{Layer, LayerKind};

use calibration::MIB;
use serde::Serialize;
use std::ops::Range;
use tpupipe_runtime::ByteCount;

/// What the cost model needs to know about a model: its layers in execution order and the
/// activation bytes crossing the boundary of any range of positions.
pub trait CostSource {
    /// The layers, one per position.
    fn layers(&self) -> &[Layer];
    /// Activation bytes (entering, leaving) the positions `range`: every tensor read in the
    /// range but produced outside it, and every tensor produced in it that is read later or is
    /// a model output.
    fn io_bytes(&self, range: Range<usize>) -> (u64, u64);
    /// Bytes of the activations live across cut `cut` (produced before it, read at or after it).
    fn cut_bytes(&self, cut: usize) -> u64;
    /// `io_bytes(start..end)` for every `end` in `start+1..=len`, in order. Implementations may
    /// compute the row incrementally; the default calls [`CostSource::io_bytes`].
    fn io_row(&self, start: usize) -> Vec<(u64, u64)> {
        (start + 1..=self.layers().len())
            .map(|end| self.io_bytes(start..end))
            .collect()
    }
}

/// The cost model for one TPU configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    /// How the host reaches each TPU.
    pub interface: Interface,
    /// The TPU clock.
    pub clock: Clock,
    /// On-chip parameter budget per segment.
    pub budget: ByteCount,
    /// Whether the TPUs of a pipeline share one host wire.
    pub host_link: HostLink,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel::new(Interface::Usb3, Clock::Max)
    }
}

/// The predicted cost of one segment on one TPU, with its parts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SegmentEstimate {
    /// Parameter bytes in the file.
    pub param_bytes: u64,
    /// Stored parameter bytes cached on chip.
    pub on_chip_bytes: u64,
    /// Stored parameter bytes streamed per inference.
    pub off_chip_bytes: u64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Activation bytes entering the segment.
    pub bytes_in: u64,
    /// Activation bytes leaving the segment.
    pub bytes_out: u64,
    /// Invoke overhead, ms.
    pub overhead_ms: f64,
    /// Input transfer, ms.
    pub input_ms: f64,
    /// Output transfer, ms.
    pub output_ms: f64,
    /// Compute with weights on chip, ms.
    pub compute_ms: f64,
    /// Parameter streaming, ms.
    pub stream_ms: f64,
    /// The total, ms.
    pub total_ms: f64,
    /// Time the host wire is busy for this segment per inference (inputs, outputs and streamed
    /// parameters at the wire rate; no invoke overhead or host re-layout), ms. Part of
    /// `total_ms`.
    pub link_ms: f64,
}

/// Running sums over a segment grown one layer at a time at its end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SegmentSums {
    fill: cache::Filler,
    param_bytes: u64,
    macs: u64,
    compute_ms: f64,
    /// Sum over streamed layers of stored bytes x refetch.
    stream_weighted_bytes: f64,
    /// Sum over all parameter layers of stored bytes x refetch (to weight profiled streams).
    all_weighted_bytes: f64,
    all_stored: u64,
}

impl SegmentSums {
    /// Appends one layer under the given cache budget.
    pub fn push(&mut self, layer: &Layer, budget: ByteCount) {
        let cached = self.fill.push(layer.stored_bytes, budget);
        let weighted = layer.stored_bytes.bytes() as f64 * layer.stream_refetch();
        if !cached {
            self.stream_weighted_bytes += weighted;
        }
        self.all_weighted_bytes += weighted;
        self.all_stored += layer.stored_bytes.bytes();
        self.param_bytes += layer.param_bytes.bytes();
        self.macs = self.macs.saturating_add(layer.macs);
        self.compute_ms += layer.compute_ms();
    }
}

impl CostModel {
    /// The model for an interface and clock with the calibrated cache budget.
    pub fn new(interface: Interface, clock: Clock) -> CostModel {
        CostModel {
            interface,
            clock,
            budget: ByteCount(calibration::ON_CHIP_BUDGET_BYTES),
            host_link: HostLink::Dedicated,
        }
    }

    /// The same model with the TPUs wired as `host_link` says.
    pub fn with_host_link(self, host_link: HostLink) -> CostModel {
        CostModel { host_link, ..self }
    }

    /// The cache budget of a segment reading `bytes_in` activation bytes: the calibrated budget,
    /// less when a large input activation needs room on chip (see
    /// [`calibration::INPUT_LIMITED_BUDGET_BYTES`]).
    pub fn budget_for(&self, bytes_in: u64) -> ByteCount {
        let limited = calibration::INPUT_LIMITED_BUDGET_BYTES.saturating_sub(bytes_in);
        ByteCount(self.budget.bytes().min(limited))
    }

    /// Predicts one segment made of `layers` (execution order) that reads `bytes_in` and writes
    /// `bytes_out` activation bytes.
    pub fn segment(&self, layers: &[Layer], bytes_in: u64, bytes_out: u64) -> SegmentEstimate {
        let budget = self.budget_for(bytes_in);
        let mut sums = SegmentSums::default();
        for l in layers {
            sums.push(l, budget);
        }
        self.finish(&sums, bytes_in, bytes_out)
    }

    /// Turns running sums into an estimate.
    pub(crate) fn finish(
        &self,
        sums: &SegmentSums,
        bytes_in: u64,
        bytes_out: u64,
    ) -> SegmentEstimate {
        self.finish_with(
            sums,
            bytes_in,
            bytes_out,
            sums.fill.on_chip,
            sums.fill.off_chip,
            sums.stream_weighted_bytes,
        )
    }

    /// Like [`CostModel::finish`], but with on-chip and off-chip bytes reported by the real
    /// compiler (a profile). Streamed bytes are weighted by the segment's average refetch factor.
    pub(crate) fn finish_with_placement(
        &self,
        sums: &SegmentSums,
        bytes_in: u64,
        bytes_out: u64,
        on_chip: u64,
        off_chip: u64,
    ) -> SegmentEstimate {
        let refetch = if sums.all_stored > 0 {
            sums.all_weighted_bytes / sums.all_stored as f64
        } else {
            1.0
        };
        self.finish_with(
            sums,
            bytes_in,
            bytes_out,
            on_chip,
            off_chip,
            off_chip as f64 * refetch,
        )
    }

    fn finish_with(
        &self,
        sums: &SegmentSums,
        bytes_in: u64,
        bytes_out: u64,
        on_chip: u64,
        off_chip: u64,
        stream_weighted: f64,
    ) -> SegmentEstimate {
        let link = Link::of(self.interface);
        let overhead_ms = link.invoke_overhead_ms;
        let input_ms = bytes_in as f64 / MIB * link.host_to_device_ms_per_mib;
        let output_ms = bytes_out as f64 / MIB * link.device_to_host_ms_per_mib;
        let compute_ms = sums.compute_ms * compute_scale(self.clock);
        let streamed_wire_ms = stream_weighted / MIB * link.host_to_device_ms_per_mib;
        let stream_ms = if off_chip > 0 {
            calibration::STREAM_SETUP_MS + streamed_wire_ms
        } else {
            0.0
        };
        let link_ms = (bytes_in + bytes_out) as f64 / MIB * link.wire_ms_per_mib
            + if off_chip > 0 { streamed_wire_ms } else { 0.0 };
        SegmentEstimate {
            param_bytes: sums.param_bytes,
            on_chip_bytes: on_chip,
            off_chip_bytes: off_chip,
            macs: sums.macs,
            bytes_in,
            bytes_out,
            overhead_ms,
            input_ms,
            output_ms,
            compute_ms,
            stream_ms,
            total_ms: overhead_ms + input_ms + output_ms + compute_ms + stream_ms,
            link_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_costs_more_than_caching_and_large_convs_stream_dearer_than_fc() {
        let m = CostModel::default();
        let fc_small = vec![Layer::fully_connected(1000, 1000, 1, 1_004_000)];
        let fc_big = vec![Layer::fully_connected(4000, 4000, 1, 16_016_000)];
        let a = m.segment(&fc_small, 1000, 1000);
        let b = m.segment(&fc_big, 4000, 4000);
        assert_eq!(a.off_chip_bytes, 0);
        assert!(b.off_chip_bytes > 0 && b.on_chip_bytes == 0);
        assert!(b.stream_ms > 10.0 * a.compute_ms);
        let per_mib = |e: &SegmentEstimate| {
            (e.stream_ms - calibration::STREAM_SETUP_MS) / (e.off_chip_bytes as f64 / MIB)
        };
        // A 64x64 conv re-fetches its streamed weights; an 8x8 one reads them once, like FC.
        let conv_64 = m.segment(&[Layer::conv2d(4096, 9, 1024, 1024, 9 << 20)], 0, 0);
        let conv_8 = m.segment(&[Layer::conv2d(64, 9, 1024, 1024, 9 << 20)], 0, 0);
        assert!(conv_64.off_chip_bytes > 0 && conv_8.off_chip_bytes > 0);
        assert!(per_mib(&conv_64) > 3.0 * per_mib(&b));
        assert!((per_mib(&conv_8) - per_mib(&b)).abs() < 1e-9);
        assert!(
            (a.total_ms - (a.overhead_ms + a.input_ms + a.output_ms + a.compute_ms + a.stream_ms))
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn slower_clock_and_link_cost_more() {
        let layers = vec![Layer::conv2d(4096, 9, 64, 64, 9 * 64 * 64)];
        let fast = CostModel::new(Interface::Usb3, Clock::Max).segment(&layers, 1 << 20, 1 << 20);
        let slow = CostModel::new(Interface::Usb2, Clock::Std).segment(&layers, 1 << 20, 1 << 20);
        assert!((slow.compute_ms - 2.0 * fast.compute_ms).abs() < 1e-9);
        assert!(slow.input_ms > 4.0 * fast.input_ms);
    }
}
