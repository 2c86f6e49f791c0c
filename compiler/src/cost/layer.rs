//! One operator as the cost model sees it: what kind of work it does, how much, and how many
//! parameter bytes the Edge TPU compiler stores for it.

use super::calibration as cal;
use tpupipe_runtime::ByteCount;

/// The cost class of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// FULLY_CONNECTED: weight-read bound; streamed weights are read once.
    FullyConnected,
    /// CONV_2D and other MAC-array convolutions; streamed weights are fetched several times.
    Conv,
    /// DEPTHWISE_CONV_2D.
    DepthwiseConv,
    /// Elementwise arithmetic, activations, pooling, reductions, (de)quantisation.
    Elementwise,
    /// Data movement without arithmetic (reshape, concatenation, padding, ...).
    Other,
}

/// One operator's cost inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layer {
    /// Its cost class.
    pub kind: LayerKind,
    /// Multiply-accumulates (elements for elementwise work).
    pub macs: u64,
    /// MACs counted on the padded layout the MAC array works on (equal to `macs` except for
    /// convolutions).
    pub padded_macs: u64,
    /// Parameter bytes in the model file.
    pub param_bytes: ByteCount,
    /// Parameter bytes the Edge TPU compiler stores (padded layout); what the cache holds.
    pub stored_bytes: ByteCount,
    /// Output positions (batch x height x width) of a convolution; 0 for other kinds. Sets how
    /// often streamed weights are re-fetched ([`Layer::stream_refetch`]).
    pub positions: u64,
}

fn align(x: u64, to: u64) -> u64 {
    x.div_ceil(to).saturating_mul(to)
}

impl Layer {
    /// A FULLY_CONNECTED layer with `in_features` x `out_features` weights applied to `batch`
    /// rows; `param_bytes` is what the file holds (weights plus bias).
    pub fn fully_connected(
        in_features: u64,
        out_features: u64,
        batch: u64,
        param_bytes: u64,
    ) -> Layer {
        let (i, o) = (
            align(in_features, cal::FC_IN_ALIGN),
            align(out_features, cal::FC_OUT_ALIGN),
        );
        let macs = batch
            .saturating_mul(in_features)
            .saturating_mul(out_features);
        Layer {
            kind: LayerKind::FullyConnected,
            positions: 0,
            macs,
            padded_macs: macs,
            param_bytes: ByteCount(param_bytes),
            stored_bytes: ByteCount(
                i.saturating_mul(o)
                    .saturating_add(cal::FC_PER_OUTPUT_BYTES.saturating_mul(o))
                    .max(param_bytes),
            ),
        }
    }

    /// A CONV_2D layer producing `positions` output pixels (batch x height x width) from a
    /// `kernel_area` (kh x kw) filter over `in_ch` input and `out_ch` output channels.
    pub fn conv2d(
        positions: u64,
        kernel_area: u64,
        in_ch: u64,
        out_ch: u64,
        param_bytes: u64,
    ) -> Layer {
        let (i, o) = (
            align(in_ch, cal::CONV_IN_ALIGN),
            align(out_ch, cal::CONV_OUT_ALIGN),
        );
        let per_pos = kernel_area.saturating_mul(in_ch).saturating_mul(out_ch);
        let padded_per_pos = kernel_area.saturating_mul(i).saturating_mul(o);
        Layer {
            kind: LayerKind::Conv,
            positions,
            macs: positions.saturating_mul(per_pos),
            padded_macs: positions.saturating_mul(padded_per_pos),
            param_bytes: ByteCount(param_bytes),
            stored_bytes: ByteCount(
                padded_per_pos
                    .saturating_add(cal::CONV_PER_OUTPUT_BYTES.saturating_mul(o))
                    .max(param_bytes),
            ),
        }
    }

    /// A DEPTHWISE_CONV_2D layer over `channels` channels (multiplier folded in).
    pub fn depthwise(positions: u64, kernel_area: u64, channels: u64, param_bytes: u64) -> Layer {
        let c = align(channels, cal::CONV_OUT_ALIGN);
        Layer {
            kind: LayerKind::DepthwiseConv,
            positions,
            macs: positions
                .saturating_mul(kernel_area)
                .saturating_mul(channels),
            padded_macs: positions.saturating_mul(kernel_area).saturating_mul(c),
            param_bytes: ByteCount(param_bytes),
            stored_bytes: ByteCount(
                kernel_area
                    .saturating_mul(c)
                    .saturating_add(cal::CONV_PER_OUTPUT_BYTES.saturating_mul(c))
                    .max(param_bytes),
            ),
        }
    }

    /// Elementwise work over `elements` elements with `param_bytes` of constants.
    pub fn elementwise(elements: u64, param_bytes: u64) -> Layer {
        Layer {
            kind: LayerKind::Elementwise,
            positions: 0,
            macs: elements,
            padded_macs: elements,
            param_bytes: ByteCount(param_bytes),
            stored_bytes: ByteCount(param_bytes),
        }
    }

    /// Data movement without arithmetic.
    pub fn other(param_bytes: u64) -> Layer {
        Layer {
            kind: LayerKind::Other,
            positions: 0,
            macs: 0,
            padded_macs: 0,
            param_bytes: ByteCount(param_bytes),
            stored_bytes: ByteCount(param_bytes),
        }
    }

    /// Compute time at the calibrated clock, ms, with the weights on chip.
    pub fn compute_ms(&self) -> f64 {
        match self.kind {
            LayerKind::FullyConnected => self.macs as f64 / 1e6 * cal::FC_MS_PER_MMAC,
            LayerKind::Conv | LayerKind::DepthwiseConv => {
                cal::CONV_LAYER_FIXED_MS
                    + self.padded_macs as f64 / 1e9 * cal::CONV_MS_PER_PADDED_GMAC
            }
            LayerKind::Elementwise => self.macs as f64 / 1e6 * cal::ELEMENTWISE_MS_PER_MELEM,
            LayerKind::Other => 0.0,
        }
    }

    /// How many times this layer's weights cross the link per inference when streamed:
    /// convolutions re-fetch them once per [`cal::CONV_POSITIONS_PER_FETCH`] output positions
    /// (3.34 times at 64x64), but at least once; other layers read them once.
    pub fn stream_refetch(&self) -> f64 {
        match self.kind {
            LayerKind::Conv | LayerKind::DepthwiseConv => {
                (self.positions as f64 / cal::CONV_POSITIONS_PER_FETCH).max(1.0)
            }
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_layouts_pad_as_fitted() {
        // FC 64 -> 100: in stays 64, out pads to 104.
        let fc = Layer::fully_connected(64, 100, 1, 64 * 100 + 400);
        assert_eq!(fc.stored_bytes, ByteCount(64 * 104 + 10 * 104));
        assert_eq!(fc.macs, 6400);
        // Conv 3 -> 32, 3x3: in pads to 4, out to 64.
        let cv = Layer::conv2d(4096, 9, 3, 32, 9 * 3 * 32 + 128);
        assert_eq!(cv.stored_bytes, ByteCount(9 * 4 * 64 + 8 * 64));
        assert_eq!(cv.padded_macs, 4096 * 9 * 4 * 64);
        assert!(cv.compute_ms() > 0.0);
        // Never fewer stored bytes than the file holds.
        assert_eq!(
            Layer::fully_connected(1, 1, 1, 1 << 20).stored_bytes,
            ByteCount(1 << 20)
        );
    }

    #[test]
    fn conv_refetch_grows_with_output_positions_from_one() {
        let conv = |side: u64| Layer::conv2d(side * side, 9, 256, 256, 9 * 256 * 256);
        // Small spatial sizes (ResNet's 14x14 and 7x7 stages) stream their weights once.
        assert_eq!(conv(7).stream_refetch(), 1.0);
        assert_eq!(conv(14).stream_refetch(), 1.0);
        // The calibration family's 64x64 layers re-fetch 3.34 times.
        assert!((conv(64).stream_refetch() - cal::CONV_STREAM_REFETCH_AT_64X64).abs() < 1e-9);
        // Monotone in between and beyond.
        let r: Vec<f64> = [28, 35, 40, 56, 64, 112]
            .iter()
            .map(|&s| conv(s).stream_refetch())
            .collect();
        assert!(r.windows(2).all(|w| w[0] <= w[1]), "{r:?}");
        assert!(r[2] > 1.0 && r[5] > r[4]);
        // FC weights are read once whatever the batch.
        assert_eq!(
            Layer::fully_connected(64, 64, 4096, 64 * 64).stream_refetch(),
            1.0
        );
    }
}
