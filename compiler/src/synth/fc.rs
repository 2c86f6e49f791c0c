//! The fully connected family: `[1, 64]` -> `L` x (`FULLY_CONNECTED(N)`, `TANH`) ->
//! `FULLY_CONNECTED(10)`, as Keras `Dense(N, tanh)` layers convert.
//!
//! With `residual`, layer `i` (1-based) for odd `i >= 3` adds the output of layer `i - 2`
//! after its `TANH` (`ADD`), so every second layer closes a two-layer skip of equal width.

use super::emit::{emit, EmitOptions};
use super::net::{glorot_layer, keras_layer_name, FloatLayer, FloatNet, Spatial};
use super::quant::WeightGranularity;
use super::rng::SynthRng;
use super::{streams, SynthError, CALIBRATION_MAC_BUDGET, MAX_SYNTH_PARAMS};
use tpupipe_runtime::schema::BuiltinOperator;

/// Width of the FC family's input.
pub const FC_INPUT_FEATURES: usize = 64;
/// Width of the FC family's output layer.
pub const FC_OUTPUT_FEATURES: usize = 10;
/// Most calibration samples (fewer for large models, see [`CALIBRATION_MAC_BUDGET`]).
pub const FC_CALIBRATION_SAMPLES: u64 = 64;

/// Parameters of an FC-family model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FcSpec {
    /// Width `N` of the hidden layers.
    pub hidden: usize,
    /// Number `L` of hidden `Dense(N, tanh)` layers (the calibration models have 4).
    pub layers: usize,
    /// Add a skip connection every second layer from the third on.
    pub residual: bool,
    /// Float32 input and output (QUANTIZE / DEQUANTIZE at the ends).
    pub float_io: bool,
    /// Weight quantization granularity.
    pub weights: WeightGranularity,
    /// Seed of the random weights.
    pub seed: u64,
}

impl FcSpec {
    /// A plain (non-residual, int8 I/O, per-channel, seed 0) model with `hidden` x `layers`.
    pub fn new(hidden: usize, layers: usize) -> Self {
        FcSpec {
            hidden,
            layers,
            residual: false,
            float_io: false,
            weights: WeightGranularity::PerChannel,
            seed: 0,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.hidden == 0 {
            return Err(SynthError::InvalidSpec(
                "--hidden must be at least 1".into(),
            ));
        }
        if self.layers == 0 {
            return Err(SynthError::InvalidSpec(
                "--layers must be at least 1".into(),
            ));
        }
        if self.residual && self.layers < 3 {
            return Err(SynthError::InvalidSpec(format!(
                "a residual FC model needs at least 3 layers (skips start at layer 3), got {}",
                self.layers
            )));
        }
        let params = self.weight_bytes() + self.bias_bytes() / 4;
        if params > MAX_SYNTH_PARAMS {
            return Err(SynthError::InvalidSpec(format!(
                "{params} parameters is above the limit of {MAX_SYNTH_PARAMS}"
            )));
        }
        Ok(())
    }

    /// Bytes of int8 weights: `64 N + (L - 1) N^2 + 10 N`.
    pub fn weight_bytes(&self) -> u64 {
        let n = self.hidden as u64;
        FC_INPUT_FEATURES as u64 * n
            + (self.layers as u64).saturating_sub(1) * n * n
            + FC_OUTPUT_FEATURES as u64 * n
    }

    /// Bytes of int32 biases: `4 (L N + 10)`.
    pub fn bias_bytes(&self) -> u64 {
        4 * (self.layers as u64 * self.hidden as u64 + FC_OUTPUT_FEATURES as u64)
    }

    /// Multiply-accumulates of the FULLY_CONNECTED ops: `N (64 + 10 + (L - 1) N)`.
    pub fn macs(&self) -> u64 {
        self.weight_bytes()
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
            ops.push(BuiltinOperator::FULLY_CONNECTED);
            ops.push(BuiltinOperator::TANH);
            if self.has_skip(i) {
                ops.push(BuiltinOperator::ADD);
            }
        }
        ops.push(BuiltinOperator::FULLY_CONNECTED);
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
        // `outputs[i]` is the value holding the output of hidden layer i (outputs[0]: the input).
        let mut outputs = vec![0usize];
        let mut width = FC_INPUT_FEATURES;
        let mut adds = 0;
        let dense_name = |k: usize| keras_layer_name("dense", k);
        let mut push = |layers: &mut Vec<FloatLayer>, l: FloatLayer, name: String| {
            layers.push(l);
            names.push(name);
            layers.len()
        };
        for i in 1..=self.layers {
            let n = self.hidden;
            let (weights, bias) = glorot_layer(&mut rng, n * width, width, n, n);
            let input = outputs[i - 1];
            let name = dense_name(i - 1);
            let fc = push(
                &mut layers,
                FloatLayer::Dense {
                    input,
                    weights,
                    bias,
                },
                name.clone(),
            );
            let mut out = push(&mut layers, FloatLayer::Tanh { input: fc }, name);
            if self.has_skip(i) {
                let name = keras_layer_name("add", adds);
                adds += 1;
                out = push(
                    &mut layers,
                    FloatLayer::Add {
                        a: out,
                        b: outputs[i - 2],
                    },
                    name,
                );
            }
            outputs.push(out);
            width = n;
        }
        let (weights, bias) = glorot_layer(
            &mut rng,
            FC_OUTPUT_FEATURES * width,
            width,
            FC_OUTPUT_FEATURES,
            FC_OUTPUT_FEATURES,
        );
        push(
            &mut layers,
            FloatLayer::Dense {
                input: outputs[self.layers],
                weights,
                bias,
            },
            dense_name(self.layers),
        );
        let net = FloatNet {
            input_channels: FC_INPUT_FEATURES,
            layers,
        };
        (net, names)
    }

    /// Calibration samples: up to [`FC_CALIBRATION_SAMPLES`] within [`CALIBRATION_MAC_BUDGET`].
    pub fn calibration_samples(&self) -> usize {
        (CALIBRATION_MAC_BUDGET / self.macs().max(1)).clamp(1, FC_CALIBRATION_SAMPLES) as usize
    }

    /// A one-line description stored in the model.
    pub fn description(&self) -> String {
        format!(
            "tpupipe synth fc: hidden={} layers={} residual={} float_io={} fc_weights={:?} seed={}",
            self.hidden, self.layers, self.residual, self.float_io, self.weights, self.seed
        )
    }
}

/// Writes the FC-family model of `spec` as `.tflite` bytes.
pub fn synth_fc(spec: &FcSpec) -> Result<Vec<u8>, SynthError> {
    spec.validate()?;
    let (net, names) = spec.float_net();
    let mut rng = SynthRng::new(spec.seed, streams::CALIBRATION);
    let ranges = net.calibrate(&mut rng, spec.calibration_samples(), Spatial::Flat);
    let opts = EmitOptions {
        input_shape: vec![1, FC_INPUT_FEATURES],
        float_io: spec.float_io,
        fc_weights: spec.weights,
        description: spec.description(),
    };
    Ok(emit(&net, &ranges, &names, &opts)?)
}
