//! # tpupipe-runtime
//!
//! The runtime half of tpupipe:
//!
//! - [`schema`]: the TFLite flatbuffer schema (generated, committed).
//! - [`model`]: a verified, zero-copy view of a `.tflite` file ([`model::ModelView`]).
//! - [`ids`], [`dtype`], [`quant`]: the small value types everything else speaks in.
//!
//! The CPU interpreter and the Edge TPU pipeline build on the model view.

#![warn(missing_docs)]

// The generated schema names `alloc::` paths (object API); declaring the crate here puts it in the
// extern prelude for every module.
extern crate alloc;

pub mod dtype;
#[cfg(feature = "edgetpu")]
pub mod edgetpu;
pub mod ids;
pub mod interp;
pub mod model;
pub mod quant;
pub mod schema;

pub use dtype::ElementType;
pub use ids::{BufferIndex, ByteCount, OpIndex, SubgraphIndex, TensorId};
pub use model::{ModelError, ModelView, OpKind, OperatorView, SubgraphView, TensorView};
pub use quant::Quantization;
