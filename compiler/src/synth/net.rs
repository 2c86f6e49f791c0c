//! The float network behind a synthetic model, and its calibration.
//!
//! A [`FloatNet`] is a chain of float layers over numbered values: value 0 is the network input,
//! layer `k` writes value `k + 1`. `FloatNet::calibrate` runs the float network on random inputs
//! and records the range of every value, which is what the TFLite converter does with a
//! representative dataset; the quantized model then takes its activation scales from these ranges
//! (see [`super::quant`]).
//!
//! Convolutions can be simulated on a smaller spatial extent than the model's, with circular
//! padding, so that large models calibrate in bounded time: with wrap-around every position sees
//! a full 3x3 neighbourhood, like the interior of the full-size image, and the inputs are i.i.d.,
//! so the value statistics match the full-size interior (the range is estimated from fewer
//! samples, so rare extremes may saturate slightly, as with a small representative dataset).

use super::quant::RangeObserver;
use super::rng::SynthRng;

/// Spatial kernel size of the convolutions (3x3).
pub(crate) const KERNEL: usize = 3;

/// One float layer.
#[derive(Clone, Debug)]
pub enum FloatLayer {
    /// `y = W x + b`, `W` of shape `[out, in]` (row-major), on a vector.
    Dense {
        /// Input value.
        input: usize,
        /// Weights `[out, in]`.
        weights: Vec<f32>,
        /// Bias `[out]`.
        bias: Vec<f32>,
    },
    /// 3x3 convolution, stride 1, SAME padding, weights `[F, 3, 3, C]`, optional fused ReLU, on
    /// an `[H, W, C]` image.
    Conv3x3 {
        /// Input value.
        input: usize,
        /// Weights `[F, 3, 3, C]`.
        weights: Vec<f32>,
        /// Bias `[F]`.
        bias: Vec<f32>,
        /// Whether ReLU is fused.
        relu: bool,
    },
    /// Elementwise tanh.
    Tanh {
        /// Input value.
        input: usize,
    },
    /// Elementwise sum of two values of equal shape.
    Add {
        /// First operand.
        a: usize,
        /// Second operand.
        b: usize,
    },
}

impl FloatLayer {
    /// The values this layer reads.
    pub fn inputs(&self) -> Vec<usize> {
        match self {
            FloatLayer::Dense { input, .. }
            | FloatLayer::Conv3x3 { input, .. }
            | FloatLayer::Tanh { input } => vec![*input],
            FloatLayer::Add { a, b } => vec![*a, *b],
        }
    }

    /// Output channels (features) of a Dense or Conv layer.
    pub fn out_channels(&self) -> Option<usize> {
        match self {
            FloatLayer::Dense { bias, .. } | FloatLayer::Conv3x3 { bias, .. } => Some(bias.len()),
            _ => None,
        }
    }
}

/// Glorot-uniform weights (Keras' default initializer) for a layer with these fan-in and
/// fan-out, and biases uniform in `[-BIAS_LIMIT, BIAS_LIMIT)` (Keras starts biases at 0; small
/// random biases exercise the bias path of the quantized kernels).
pub(crate) fn glorot_layer(
    rng: &mut SynthRng,
    n_weights: usize,
    fan_in: usize,
    fan_out: usize,
    n_bias: usize,
) -> (Vec<f32>, Vec<f32>) {
    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
    let weights = rng.uniform_vec(n_weights, limit);
    let bias = rng.uniform_vec(n_bias, BIAS_LIMIT);
    (weights, bias)
}

/// The name Keras gives the `k`-th layer (from 0) of kind `base` in a `Sequential` model:
/// `sequential/{base}` for the first, `sequential/{base}_{k}` after it.
pub(crate) fn keras_layer_name(base: &str, k: usize) -> String {
    if k == 0 {
        format!("sequential/{base}")
    } else {
        format!("sequential/{base}_{k}")
    }
}

/// Bound of the random biases.
pub(crate) const BIAS_LIMIT: f32 = 0.1;

/// Spatial layout of a simulation run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spatial {
    /// Vectors (dense networks).
    Flat,
    /// Square images of this side, zero (SAME) padding: exact for the model's own size.
    Same(usize),
    /// Square images of this side with wrap-around padding (a stand-in for the interior of a
    /// larger image).
    Circular(usize),
}

/// A chain of float layers; value 0 is the input with `input_channels` channels (features).
#[derive(Clone, Debug)]
pub struct FloatNet {
    /// Channels (features) of the input value.
    pub input_channels: usize,
    /// The layers in execution order; layer `k` produces value `k + 1`.
    pub layers: Vec<FloatLayer>,
}

fn dense(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let n_in = x.len();
    b.iter()
        .enumerate()
        .map(|(o, &bias)| {
            let row = &w[o * n_in..(o + 1) * n_in];
            bias + row.iter().zip(x).map(|(a, b)| a * b).sum::<f32>()
        })
        .collect()
}

fn conv3x3(x: &[f32], side: usize, circular: bool, w: &[f32], b: &[f32], relu: bool) -> Vec<f32> {
    let c_in = x.len() / (side * side);
    let filters = b.len();
    let mut out = vec![0.0f32; side * side * filters];
    let half = (KERNEL / 2) as isize;
    let mut acc = vec![0.0f32; filters];
    for y in 0..side {
        for xx in 0..side {
            acc.copy_from_slice(b);
            for ky in 0..KERNEL {
                for kx in 0..KERNEL {
                    let sy = y as isize + ky as isize - half;
                    let sx = xx as isize + kx as isize - half;
                    let (sy, sx) = if circular {
                        (sy.rem_euclid(side as isize), sx.rem_euclid(side as isize))
                    } else if sy < 0 || sx < 0 || sy >= side as isize || sx >= side as isize {
                        continue;
                    } else {
                        (sy, sx)
                    };
                    let pix = &x[(sy as usize * side + sx as usize) * c_in..][..c_in];
                    for (f, a) in acc.iter_mut().enumerate() {
                        let wk = &w[((f * KERNEL + ky) * KERNEL + kx) * c_in..][..c_in];
                        *a += wk.iter().zip(pix).map(|(p, q)| p * q).sum::<f32>();
                    }
                }
            }
            let dst = &mut out[(y * side + xx) * filters..][..filters];
            for (d, &a) in dst.iter_mut().zip(&acc) {
                *d = if relu { a.max(0.0) } else { a };
            }
        }
    }
    out
}

impl FloatNet {
    /// Number of values (input plus one per layer).
    pub fn value_count(&self) -> usize {
        self.layers.len() + 1
    }

    /// Runs the network on one input and returns every value.
    pub fn forward(&self, input: Vec<f32>, spatial: Spatial) -> Vec<Vec<f32>> {
        let mut values = Vec::with_capacity(self.value_count());
        values.push(input);
        for layer in &self.layers {
            let v = match layer {
                FloatLayer::Dense {
                    input,
                    weights,
                    bias,
                } => dense(&values[*input], weights, bias),
                FloatLayer::Conv3x3 {
                    input,
                    weights,
                    bias,
                    relu,
                } => {
                    let (side, circular) = match spatial {
                        Spatial::Same(s) => (s, false),
                        Spatial::Circular(s) => (s, true),
                        Spatial::Flat => (1, false),
                    };
                    conv3x3(&values[*input], side, circular, weights, bias, *relu)
                }
                FloatLayer::Tanh { input } => values[*input].iter().map(|v| v.tanh()).collect(),
                FloatLayer::Add { a, b } => values[*a]
                    .iter()
                    .zip(&values[*b])
                    .map(|(x, y)| x + y)
                    .collect(),
            };
            values.push(v);
        }
        values
    }

    /// Runs `samples` inputs uniform in `[-1, 1)` drawn from `rng` and returns the range of every
    /// value over all of them.
    pub(crate) fn calibrate(
        &self,
        rng: &mut SynthRng,
        samples: usize,
        spatial: Spatial,
    ) -> Vec<RangeObserver> {
        let pixels = match spatial {
            Spatial::Flat => 1,
            Spatial::Same(s) | Spatial::Circular(s) => s * s,
        };
        let mut ranges = vec![RangeObserver::default(); self.value_count()];
        for _ in 0..samples {
            let input = rng.uniform_vec(pixels * self.input_channels, 1.0);
            for (r, v) in ranges.iter_mut().zip(self.forward(input, spatial)) {
                r.observe(&v);
            }
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_computes_wx_plus_b() {
        let y = dense(&[1.0, 2.0], &[1.0, 0.0, 0.5, -1.0], &[0.5, 0.0]);
        assert_eq!(y, vec![1.5, -1.5]);
    }

    #[test]
    fn conv_same_padding_sums_the_neighbourhood() {
        // One channel in, one filter of ones: each output sums its (clipped) 3x3 neighbourhood.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let y = conv3x3(&x, 3, false, &[1.0; 9], &[0.0], false);
        assert_eq!(y[4], 45.0);
        assert_eq!(y[0], 1.0 + 2.0 + 4.0 + 5.0);
        let yc = conv3x3(&x, 3, true, &[1.0; 9], &[0.0], false);
        assert!(yc.iter().all(|&v| v == 45.0));
        let yr = conv3x3(&x, 3, false, &[-1.0; 9], &[1.0], true);
        assert!(yr.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn calibration_records_every_value() {
        let net = FloatNet {
            input_channels: 2,
            layers: vec![
                FloatLayer::Dense {
                    input: 0,
                    weights: vec![1.0, 1.0],
                    bias: vec![0.0],
                },
                FloatLayer::Tanh { input: 1 },
                FloatLayer::Add { a: 2, b: 2 },
            ],
        };
        let ranges = net.calibrate(&mut SynthRng::new(1, 1), 50, Spatial::Flat);
        assert_eq!(ranges.len(), 4);
        assert!(ranges[0].min >= -1.0 && ranges[0].max <= 1.0 && ranges[0].max > 0.5);
        assert!(ranges[1].max > 1.0 && ranges[1].min < -1.0);
        assert!(ranges[2].max < 1.0);
        assert!((ranges[3].max - 2.0 * ranges[2].max).abs() < 1e-6);
    }
}
