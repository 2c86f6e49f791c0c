//! Why a model's operator graph cannot be analysed.

use thiserror::Error;
use tpupipe_runtime::{ModelError, OpIndex, TensorId};

/// A structural problem in the main subgraph's dataflow, or a model that failed to load. Every
/// variant names the tensors and operators involved so the CLI can print one clear line.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GraphError {
    /// The model itself is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The main subgraph has no operators.
    #[error("the main subgraph has no operators; there is nothing to analyse")]
    Empty,
    /// The operators' data dependencies form a cycle, so no execution order exists.
    #[error("the operators form a cycle, so they have no execution order: {path}")]
    Cycle {
        /// The operators on the cycle, in dependency order (each one feeds the next, the last
        /// feeds the first).
        ops: Vec<OpIndex>,
        /// The cycle spelled out, e.g. `op3 (ADD) -> op5 (CONV_2D) -> op3 (ADD)`.
        path: String,
    },
    /// A tensor is written by two operators, or written by an operator although it is a model
    /// input or a constant.
    #[error("tensor {tensor} ('{name}') is produced twice: by {first} and by {second}")]
    ProducedTwice {
        /// The tensor.
        tensor: TensorId,
        /// Its name in the file.
        name: String,
        /// The first producer (`op3`, `the model inputs` or `constant data`).
        first: String,
        /// The second producer.
        second: String,
    },
    /// An operator reads a tensor that no operator produces and that is neither a model input
    /// nor a constant (nor a variable tensor).
    #[error(
        "{op} ({kind}) reads tensor {tensor} ('{name}'), which no operator produces and which is \
         neither a model input nor a constant"
    )]
    Unproduced {
        /// The reading operator.
        op: OpIndex,
        /// Its kind, e.g. `CONV_2D`.
        kind: String,
        /// The tensor read.
        tensor: TensorId,
        /// Its name in the file.
        name: String,
    },
    /// The liveness table (tensors alive across every cut) would be unreasonably large; only a
    /// pathological or hostile file gets here.
    #[error(
        "the graph is too large to analyse: its liveness table would hold {entries} entries \
         (limit {limit}); many tensors are alive across many operators"
    )]
    TooLarge {
        /// Entries the table would need.
        entries: u64,
        /// The limit, [`super::MAX_LIVE_ENTRIES`].
        limit: u64,
    },
    /// A model output is neither produced by an operator nor a model input.
    #[error("model output {tensor} ('{name}') is not produced by any operator (nor is it a model input)")]
    OutputNotProduced {
        /// The tensor.
        tensor: TensorId,
        /// Its name in the file.
        name: String,
    },
}
