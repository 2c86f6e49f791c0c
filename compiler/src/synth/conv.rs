//! The convolution family: `[1, H, W, 3]` -> `L` x `CONV_2D(F, 3x3, SAME, stride 1, fused ReLU)`,
//! as Keras `Conv2D(F, 3, padding="same", activation="relu")` layers convert.
//!
//! With `residual`, layer `i` (1-based) for odd `i >= 3` adds the output of layer `i - 2` (`ADD`
//! after the fused ReLU); the first layer maps 3 -> F channels, so skips start after it.

use super::emit::{emit, EmitOptions};
use super::net::{glorot_layer, keras_layer_name, FloatLayer, FloatNet, Spatial, KERNEL};
use super::quant::WeightGranularity;
use super::rng::SynthRng;
use super::{streams, SynthError, CALIBRATION_MAC_BUDGET, MAX_SYNTH_PARAMS};
use tpupipe_runtime::schema::BuiltinOperator;

/// Channels of the conv family's input image.
pub const CONV_INPUT_CHANNELS: usize = 3;
/// Most calibration images (fewer for large models, see [`ConvSpec::calibration_plan`]).
pub const CONV_CALIBRATION_SAMPLES: u64 = 4;
/// Smallest image side the calibration shrinks to before it drops samples.
pub const MIN_CALIBRATION_SIDE: usize = 4;

/// Parameters of a conv-family model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Filters `F` of every convolution.
    pub filters: usize,
    /// Number `L` of convolutions (the calibration models have 5).
    pub layers: usize,
    /// Side of the square input image (64 in the calibration models).
    pub input: usize,
    /// Add a skip connection every second layer from the third on.
    pub residual: bool,
    /// Float32 input and output (QUANTIZE / DEQUANTIZE at the ends).
    pub float_io: bool,
    /// Seed of the random weights.
    pub seed: u64,
}

impl ConvSpec {
    /// A plain (non-residual, int8 I/O, seed 0) model.
    pub fn new(filters: usize, layers: usize, input: usize) -> Self {
        ConvSpec {
            filters,
            layers,
            input,
            residual: false,
            float_io: false,
            seed: 0,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.filters == 0 {
            return Err(SynthError::InvalidSpec(
                "--filters must be at least 1".into(),
            ));
        }
        if self.layers == 0 {
            return Err(SynthError::InvalidSpec(
                "--layers must be at least 1".into(),
            ));
        }
        if self.input == 0 {
            return Err(SynthError::InvalidSpec("--input must be at least 1".into()));
        }
        if self.residual && self.layers < 3 {
            return Err(SynthError::InvalidSpec(format!(
                "a residual conv model needs at least 3 layers (skips start at layer 3), got {}",
                self.layers
            )));
        }
        let params = self.weight_bytes() + self.bias_bytes() / 4;
        if params > MAX_SYNTH_PARAMS {
            return Err(SynthError::InvalidSpec(format!(
                "{params} parameters is above the limit of {MAX_SYNTH_PARAMS}"
            )));
        }
        let activation = (self.input as u64)
            .checked_mul(self.input as u64)
            .and_then(|p| p.checked_mul(self.filters.max(CONV_INPUT_CHANNELS) as u64));
        match activation {
            Some(a) if a <= tpupipe_runtime::model::MAX_TENSOR_BYTES => Ok(()),
            _ => Err(SynthError::InvalidSpec(format!(
                "a {0}x{0}x{1} activation is too large for a TFLite tensor",
                self.input, self.filters
            ))),
        }
    }

    /// Bytes of int8 weights: `27 F + 9 F^2 (L - 1)`.
    pub fn weight_bytes(&self) -> u64 {
        let f = self.filters as u64;
        let k = (KERNEL * KERNEL) as u64;
        k * CONV_INPUT_CHANNELS as u64 * f + k * f * f * (self.layers as u64).saturating_sub(1)
    }

    /// Bytes of int32 biases: `4 F L`.
    pub fn bias_bytes(&self) -> u64 {
        4 * self.filters as u64 * self.layers as u64
    }

    /// Multiply-accumulates per output pixel of all convolutions.
    pub fn macs_per_pixel(&self) -> u64 {
        self.weight_bytes()
    }

    /// Multiply-accumulates of the CONV_2D ops: `H W (27 F + 9 F^2 (L - 1))` (the calibration
    /// README's `64*64*9*(3F + 4F^2)` for L = 5).
    pub fn macs(&self) -> u64 {
        (self.input * self.input) as u64 * self.macs_per_pixel()
    }

    /// Whether layer `i` (1-based) ends with a skip ADD.
    pub fn has_skip(&self, i: usize) -> bool {
        self.residual && i >= 3 && i % 2 == 1
    }

    /// The operator sequence of the model, in file order.
    pub fn op_sequence(&self) -> Vec<BuiltinOperator> {
        let mut ops = Vec::new();
        if self.float_io {
            ops.push(BuiltinOperator::QUANTIZE);
        }
        for i in 1..=self.layers {
            ops.push(BuiltinOperator::CONV_2D);
            if self.has_skip(i) {
                ops.push(BuiltinOperator::ADD);
            }
        }
        if self.float_io {
            ops.push(BuiltinOperator::DEQUANTIZE);
        }
        ops
    }

    /// The float network with random weights, and the Keras-style name of each layer.
    pub fn float_net(&self) -> (FloatNet, Vec<String>) {
        let mut rng = SynthRng::new(self.seed, streams::WEIGHTS);
        let mut layers = Vec::new();
        let mut names = Vec::new();
        let mut outputs = vec![0usize];
        let mut channels = CONV_INPUT_CHANNELS;
        let mut adds = 0;
        let k2 = KERNEL * KERNEL;
        for i in 1..=self.layers {
            let f = self.filters;
            let (weights, bias) =
                glorot_layer(&mut rng, f * k2 * channels, k2 * channels, k2 * f, f);
            layers.push(FloatLayer::Conv3x3 {
                input: outputs[i - 1],
                weights,
                bias,
                relu: true,
            });
            names.push(keras_layer_name("conv2d", i - 1));
            let mut out = layers.len();
            if self.has_skip(i) {
                layers.push(FloatLayer::Add {
                    a: out,
                    b: outputs[i - 2],
                });
                names.push(keras_layer_name("add", adds));
                adds += 1;
                out = layers.len();
            }
            outputs.push(out);
            channels = f;
        }
        let net = FloatNet {
            input_channels: CONV_INPUT_CHANNELS,
            layers,
        };
        (net, names)
    }

    /// The image layout and number of calibration images: the model's own size with SAME
    /// padding and [`CONV_CALIBRATION_SAMPLES`] images when that fits [`CALIBRATION_MAC_BUDGET`];
    /// otherwise a smaller image with circular padding (down to [`MIN_CALIBRATION_SIDE`]), and
    /// then fewer images (at least one).
    pub fn calibration_plan(&self) -> (Spatial, usize) {
        let per_pixel = self.macs_per_pixel().max(1);
        let samples = CONV_CALIBRATION_SAMPLES;
        let full = (self.input * self.input) as u64 * per_pixel * samples;
        if full <= CALIBRATION_MAC_BUDGET {
            return (Spatial::Same(self.input), samples as usize);
        }
        let side = ((CALIBRATION_MAC_BUDGET / (per_pixel * samples)) as f64).sqrt() as usize;
        if side >= MIN_CALIBRATION_SIDE && side < self.input {
            return (Spatial::Circular(side), samples as usize);
        }
        let side = MIN_CALIBRATION_SIDE.min(self.input);
        let fit = CALIBRATION_MAC_BUDGET / ((side * side) as u64 * per_pixel);
        let spatial = if side == self.input {
            Spatial::Same(side)
        } else {
            Spatial::Circular(side)
        };
        (spatial, fit.clamp(1, samples) as usize)
    }

    /// A one-line description stored in the model.
    pub fn description(&self) -> String {
        format!(
            "tpupipe synth conv: filters={} layers={} input={} residual={} float_io={} seed={}",
            self.filters, self.layers, self.input, self.residual, self.float_io, self.seed
        )
    }
}

/// Writes the conv-family model of `spec` as `.tflite` bytes.
pub fn synth_conv(spec: &ConvSpec) -> Result<Vec<u8>, SynthError> {
    spec.validate()?;
    let (net, names) = spec.float_net();
    let (spatial, samples) = spec.calibration_plan();
    let mut rng = SynthRng::new(spec.seed, streams::CALIBRATION);
    let ranges = net.calibrate(&mut rng, samples, spatial);
    let opts = EmitOptions {
        input_shape: vec![1, spec.input, spec.input, CONV_INPUT_CHANNELS],
        float_io: spec.float_io,
        fc_weights: WeightGranularity::PerChannel,
        description: spec.description(),
    };
    Ok(emit(&net, &ranges, &names, &opts)?)
}
