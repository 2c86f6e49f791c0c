//! Interpreter errors: refused at load time, or failed at run time.

use crate::ids::OpIndex;
use crate::model::ModelError;
use thiserror::Error;

/// Why a model cannot be loaded into the interpreter. Everything the interpreter cannot execute
/// is found here, before the first inference.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LoadError {
    /// The model itself is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An operator (or one of its versions, types or options) is not supported.
    #[error("op {op} ({kind}): {reason}")]
    Unsupported {
        /// The operator's index.
        op: OpIndex,
        /// The operator's name (`CONV_2D`).
        kind: String,
        /// What exactly is not supported.
        reason: String,
    },
    /// An operator's tensors are inconsistent with its definition (shapes, types, quantization).
    #[error("op {op} ({kind}): invalid operator: {reason}")]
    Invalid {
        /// The operator's index.
        op: OpIndex,
        /// The operator's name.
        kind: String,
        /// What is wrong.
        reason: String,
    },
    /// Something about the graph as a whole (an op reads a tensor nothing produced, ...).
    #[error("{0}")]
    Graph(String),
}

/// Why an inference failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RunError {
    /// No input or output tensor has this name.
    #[error("no {what} tensor named '{name}' (the model's {what}s are: {available})")]
    UnknownTensor {
        /// "input" or "output".
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        available: String,
    },
    /// Input/output index out of range.
    #[error("{what} index {index} is out of range (the model has {count} {what}s)")]
    BadIndex {
        /// "input" or "output".
        what: &'static str,
        /// The index asked for.
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// Data of the wrong size or type for a tensor.
    #[error("tensor '{name}': {reason}")]
    BadData {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A kernel failed while running.
    #[error("op {op} ({kind}) failed: {reason}")]
    Kernel {
        /// The operator's index.
        op: OpIndex,
        /// The operator's name.
        kind: String,
        /// What went wrong.
        reason: String,
    },
}

/// What a kernel returns when it cannot run; the interpreter adds the op index and kind.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{0}")]
pub struct EvalError(pub String);
