//! # tpupipe-runtime
//!
//! The runtime half of tpupipe:
//!
//! - [`schema`]: the TFLite flatbuffer schema (generated, committed).
//! - [`model`]: a verified, zero-copy view of a `.tflite` file ([`model::ModelView`]).
//! - [`ids`], [`dtype`], [`quant`]: the small value types everything else speaks in.
//! - [`interp`]: the pure-Rust interpreter (CPU stages, fallback, tests).
//! - [`plan`]: the plan the compiler writes and the runtime reads (segments, routing, hardware,
//!   predicted figures) and the profile format; JSON with the `serde` feature.
//! - `npz` (feature `npz`): NumPy `.npy` / `.npz` arrays, the tools' input and output format.
//!
//! The Edge TPU pipeline builds on the model view, the interpreter and the plan.

#![warn(missing_docs)]

// The generated schema names `alloc::` paths (object API); declaring the crate here puts it in the
// extern prelude for every module.
extern crate alloc;

pub mod dtype;
#[cfg(feature = "edgetpu")]
pub mod edgetpu;
mod error;
pub mod ids;
pub mod interp;
pub mod model;
#[cfg(feature = "npz")]
pub mod npz;
pub mod pipeline;
pub mod plan;
pub mod quant;
pub mod schema;

pub use dtype::ElementType;
pub use error::Error;
pub use ids::{BufferIndex, ByteCount, OpIndex, SubgraphIndex, TensorId};
pub use model::{ModelError, ModelView, OpKind, OperatorView, SubgraphView, TensorView};
pub use quant::Quantization;
