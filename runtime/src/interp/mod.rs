//! The pure-Rust int8 TFLite interpreter.
//!
//! [`Interpreter::new`] validates a model's main subgraph and prepares one kernel per operator
//! (see [`kernel`] for the contract and [`registry`] for which operators exist); each
//! [`Interpreter::invoke`] then runs them in file order over one preallocated [`arena`].

pub mod arena;
pub mod error;
pub mod interpreter;
pub mod kernel;
pub mod math;
pub mod ops;
pub mod registry;

pub use error::{EvalError, LoadError, RunError};
pub use interpreter::{Interpreter, Options, TensorDesc};
