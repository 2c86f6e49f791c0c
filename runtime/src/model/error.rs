//! Errors found while reading a `.tflite` file.

use thiserror::Error;

/// Why a byte buffer is not a model tpupipe can use. Every variant names the offending element so
/// that the CLI can print one clear line.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    /// The bytes are not a TFLite flatbuffer at all.
    #[error("not a TFLite model: {0}")]
    NotTflite(String),
    /// The flatbuffer verifier rejected the file (truncated, corrupt or hostile offsets).
    #[error("corrupt TFLite model: flatbuffer verification failed: {0}")]
    Verifier(String),
    /// A table refers to an index outside the table it points into.
    #[error("corrupt TFLite model: {what} index {index} is out of range (only {len} entries)")]
    IndexOutOfRange {
        /// What kind of reference it is, with its location (e.g. "subgraph 0 op 3 input").
        what: String,
        /// The index found.
        index: i64,
        /// The size of the table it indexes.
        len: usize,
    },
    /// Some other structural inconsistency.
    #[error("invalid TFLite model: {0}")]
    Invalid(String),
    /// A tensor declares a shape whose size is absurd or overflows.
    #[error("invalid TFLite model: tensor {tensor} ('{name}') declares shape {shape:?}, {detail}")]
    BadShape {
        /// Tensor index.
        tensor: u32,
        /// Tensor name.
        name: String,
        /// The declared shape.
        shape: Vec<i32>,
        /// What is wrong with it.
        detail: String,
    },
    /// The model was already compiled by edgetpu_compiler; it cannot be split or run on the CPU.
    #[error(
        "the model is already compiled for the Edge TPU (it contains '{0}' custom ops); \
         give tpupipe the original quantized .tflite instead"
    )]
    AlreadyCompiled(String),
    /// The operation needs a single-subgraph model.
    #[error("the model has {0} subgraphs; tpupipe handles single-subgraph models only (control flow ops such as WHILE/IF are not supported)")]
    MultipleSubgraphs(usize),
    /// The operation needs static shapes.
    #[error("tensor {tensor} ('{name}') has a dynamic shape signature {signature:?}; tpupipe needs static shapes (convert with a fixed batch size, e.g. keras.Input(..., batch_size=1))")]
    DynamicShape {
        /// Tensor index.
        tensor: u32,
        /// Tensor name.
        name: String,
        /// The shape signature with -1 entries.
        signature: Vec<i32>,
    },
}
