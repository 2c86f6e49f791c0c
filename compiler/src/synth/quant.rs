//! Quantization parameters for synthetic models, chosen as the TFLite converter chooses them for
//! full-integer post-training quantization:
//!
//! - activations: int8, asymmetric, from the calibrated range `[min, max]` widened to contain 0:
//!   `scale = (max - min) / 255`, `zero_point = round(-128 - min / scale)` (so a ReLU output,
//!   with `min = 0`, gets zero point -128);
//! - weights: int8, symmetric (zero point 0) over the narrow range [-127, 127], one scale per
//!   output channel (axis 0) or one per tensor: `scale = max|w| / 127`;
//! - biases: int32 with `scale[c] = input_scale * weight_scale[c]` and zero point 0;
//! - TANH outputs: scale 1/128, zero point 0 (required by TFLite's int8 TANH kernel).
//!
//! The calibrated ranges come from a float simulation of the network (see `net.rs`).

use tpupipe_runtime::Quantization;

/// Smallest activation range used; a tensor that stayed constant during calibration (a dead ReLU
/// layer, say) still needs a positive scale.
pub(crate) const MIN_ACTIVATION_RANGE: f32 = 1e-3;

/// The fixed output quantization of int8 TANH: scale 1/128, zero point 0.
pub(crate) const TANH_OUTPUT_SCALE: f32 = 1.0 / 128.0;

/// Per-tensor quantization with one scale and zero point.
pub fn per_tensor(scale: f32, zero_point: i64) -> Quantization {
    Quantization {
        scale: vec![scale],
        zero_point: vec![zero_point],
        axis: 0,
    }
}

/// Symmetric per-axis quantization (zero points 0) along `axis`.
pub fn per_axis(scales: Vec<f32>, axis: i32) -> Quantization {
    let zero_point = vec![0; scales.len()];
    Quantization {
        scale: scales,
        zero_point,
        axis,
    }
}

/// The range of values a tensor took during calibration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RangeObserver {
    /// Smallest value seen (`+inf` before any).
    pub min: f32,
    /// Largest value seen (`-inf` before any).
    pub max: f32,
}

impl Default for RangeObserver {
    fn default() -> Self {
        RangeObserver {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }
}

impl RangeObserver {
    /// Records every value of `values`.
    pub fn observe(&mut self, values: &[f32]) {
        for &v in values {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    /// The asymmetric int8 parameters for the observed range (see the module docs).
    pub fn int8_params(&self) -> (f32, i64) {
        asymmetric_int8(self.min, self.max)
    }
}

/// Asymmetric int8 `(scale, zero_point)` covering `[min, max]` (widened to contain 0 and to at
/// least [`MIN_ACTIVATION_RANGE`]). Non-finite bounds count as 0.
pub(crate) fn asymmetric_int8(min: f32, max: f32) -> (f32, i64) {
    let lo = if min.is_finite() { min.min(0.0) } else { 0.0 };
    let mut hi = if max.is_finite() { max.max(0.0) } else { 0.0 };
    if hi - lo < MIN_ACTIVATION_RANGE {
        hi = lo + MIN_ACTIVATION_RANGE;
    }
    let scale = (hi - lo) / 255.0;
    let zero_point = (-128.0 - f64::from(lo) / f64::from(scale)).round() as i64;
    (scale, zero_point.clamp(-128, 127))
}

/// How weights are quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightGranularity {
    /// One scale per output channel (axis 0), as the converter writes for conv.
    #[default]
    PerChannel,
    /// One scale for the whole tensor.
    PerTensor,
}

/// Symmetric int8 weights with their scales.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QuantizedWeights {
    /// The int8 values, same layout as the float weights (output channel first).
    pub values: Vec<i8>,
    /// One scale per output channel, or a single scale.
    pub scales: Vec<f32>,
}

impl QuantizedWeights {
    /// The weight scale that applies to output channel `c`.
    pub fn scale_of(&self, c: usize) -> f32 {
        if self.scales.len() == 1 {
            self.scales[0]
        } else {
            self.scales[c]
        }
    }

    /// The tensor quantization: per-axis along 0, or per-tensor, zero points 0.
    pub fn quantization(&self) -> Quantization {
        if self.scales.len() == 1 {
            per_tensor(self.scales[0], 0)
        } else {
            per_axis(self.scales.clone(), 0)
        }
    }
}

fn symmetric_scale(max_abs: f32) -> f32 {
    if max_abs > 0.0 && max_abs.is_finite() {
        max_abs / 127.0
    } else {
        1.0
    }
}

/// Quantizes `weights` laid out as `out_channels` equal slices (output channel first).
///
/// Panics if `out_channels` is 0 or does not divide the length; callers build the weights.
pub(crate) fn quantize_weights(
    weights: &[f32],
    out_channels: usize,
    granularity: WeightGranularity,
) -> QuantizedWeights {
    assert!(out_channels > 0 && weights.len() % out_channels == 0);
    let per = weights.len() / out_channels;
    let max_abs = |w: &[f32]| w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scales: Vec<f32> = match granularity {
        WeightGranularity::PerChannel => weights
            .chunks(per.max(1))
            .map(|c| symmetric_scale(max_abs(c)))
            .collect(),
        WeightGranularity::PerTensor => vec![symmetric_scale(max_abs(weights))],
    };
    let values = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let s = if scales.len() == 1 {
                scales[0]
            } else {
                scales[i / per]
            };
            (w / s).round().clamp(-127.0, 127.0) as i8
        })
        .collect();
    QuantizedWeights { values, scales }
}

/// Quantizes a bias for an op with this input scale and these weights: int32 values and the
/// bias quantization (`input_scale * weight_scale`, zero points 0, per-axis when the weights are).
pub(crate) fn quantize_bias(
    bias: &[f32],
    input_scale: f32,
    weights: &QuantizedWeights,
) -> (Vec<i32>, Quantization) {
    let values = bias
        .iter()
        .enumerate()
        .map(|(c, &b)| {
            let s = f64::from(input_scale) * f64::from(weights.scale_of(c));
            (f64::from(b) / s)
                .round()
                .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
        })
        .collect();
    let scales: Vec<f32> = weights.scales.iter().map(|&w| input_scale * w).collect();
    let quant = if scales.len() == 1 {
        per_tensor(scales[0], 0)
    } else {
        per_axis(scales, 0)
    };
    (values, quant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_range_gets_zero_point_minus_128() {
        let (s, z) = asymmetric_int8(0.0, 6.0);
        assert_eq!(z, -128);
        assert!((s - 6.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn symmetric_range_centres_the_zero_point() {
        let (s, z) = asymmetric_int8(-2.0, 2.0);
        assert!((s - 4.0 / 255.0).abs() < 1e-7);
        assert!(z == 0 || z == -1, "{z}");
        // Real 0 is exactly representable: q = z.
        assert!(((-128.0 - (-2.0) / s) - z as f32).abs() <= 0.5 + 1e-4);
    }

    #[test]
    fn range_is_widened_to_contain_zero_and_to_a_minimum() {
        let (s, z) = asymmetric_int8(3.0, 5.0);
        assert_eq!(z, -128);
        assert!((s - 5.0 / 255.0).abs() < 1e-7);
        let (s, z) = asymmetric_int8(0.0, 0.0);
        assert!(s > 0.0);
        assert_eq!(z, -128);
        let (s, z) = asymmetric_int8(-5.0, -3.0);
        assert_eq!(z, 127);
        assert!((s - 5.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn weights_quantize_per_channel_and_per_tensor() {
        let w = [0.5, -1.0, 0.25, 0.1, 0.2, -0.05];
        let q = quantize_weights(&w, 2, WeightGranularity::PerChannel);
        assert_eq!(q.scales, vec![1.0 / 127.0, 0.2 / 127.0]);
        assert_eq!(q.values, vec![64, -127, 32, 64, 127, -32]);
        let q = quantize_weights(&w, 2, WeightGranularity::PerTensor);
        assert_eq!(q.scales, vec![1.0 / 127.0]);
        assert_eq!(q.values[1], -127);
        assert_eq!(q.values[4], 25);
        assert_eq!(q.quantization().zero_point, vec![0]);
    }

    #[test]
    fn bias_scale_is_input_times_weight_scale() {
        let q = QuantizedWeights {
            values: vec![1, 2],
            scales: vec![0.5, 0.25],
        };
        let (v, quant) = quantize_bias(&[1.0, -1.0], 0.1, &q);
        assert_eq!(v, vec![20, -40]);
        assert_eq!(quant.scale, vec![0.05, 0.025]);
        assert_eq!(quant.zero_point, vec![0, 0]);
    }

    #[test]
    fn observer_tracks_extremes() {
        let mut o = RangeObserver::default();
        o.observe(&[0.5, -0.25]);
        o.observe(&[2.0]);
        assert_eq!((o.min, o.max), (-0.25, 2.0));
    }
}
