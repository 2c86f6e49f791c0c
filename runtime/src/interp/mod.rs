//! The pure-Rust int8 TFLite interpreter.
//!
//! See [`kernel`] for the contract between the interpreter and its kernels.

pub mod error;
pub mod kernel;
pub mod ops;
pub mod registry;

pub use error::{EvalError, LoadError, RunError};
