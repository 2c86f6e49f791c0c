//! Synthetic full-int8 TFLite models of the two families the Edge TPU cost model is calibrated on
//! (see `shared/calibration/README.md`), with seeded random weights:
//!
//! - [`fc`]: a 64-wide input, `L` x (`FULLY_CONNECTED(N)`, `TANH`), then `FULLY_CONNECTED(10)`;
//! - [`conv`]: an `H x W x 3` image, `L` x `CONV_2D(F, 3x3, SAME, stride 1, fused ReLU)`;
//!
//! each optionally residual (an `ADD` every second layer from the third on, adding the output of
//! the layer two before) and optionally with float I/O (`QUANTIZE` / `DEQUANTIZE` at the ends).
//!
//! How a model is made: the float network is drawn (Glorot-uniform weights, small uniform biases,
//! see `net::glorot_layer`), run on random inputs uniform in [-1, 1) to record the range of every
//! activation (`net::FloatNet::calibrate`, the converter's calibration with a random
//! representative dataset), then quantized with the converter's rules ([`quant`]) and written with
//! [`builder::ModelBuilder`] ([`emit`]). The same spec and seed always give the same bytes.

pub mod builder;
pub mod conv;
pub mod emit;
pub mod fc;
pub mod net;
pub mod quant;
pub mod rng;

pub use builder::{BuildError, ModelBuilder};
pub use conv::{synth_conv, ConvSpec};
pub use fc::{synth_fc, FcSpec};
pub use quant::WeightGranularity;

/// Most parameters a synthetic model may have (their float copies take 4 bytes each while the
/// model is generated).
pub const MAX_SYNTH_PARAMS: u64 = 256 << 20;

/// Multiply-accumulates the calibration run may spend; larger models calibrate on fewer samples
/// (and conv models on a smaller image, see [`net`]).
pub const CALIBRATION_MAC_BUDGET: u64 = 400_000_000;

/// Why a synthetic model could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The requested family parameters are out of range.
    #[error("invalid synth parameters: {0}")]
    InvalidSpec(String),
    /// The model could not be assembled.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Stream ids of the seeded generator: weights and calibration inputs draw from separate streams.
pub(crate) mod streams {
    /// Weights and biases.
    pub const WEIGHTS: u64 = 1;
    /// Calibration inputs.
    pub const CALIBRATION: u64 = 2;
}
