//! Test support shared by the workspace's integration tests (never a dependency of a library):
//!
//! - [`model_builder`]: hand-built TFLite models and canned graphs;
//! - [`paths`]: the repository's fixture directories and `../shared`, with a printed skip where
//!   shared material is absent;
//! - [`cli`]: running the `tpupipe` binary and reading what it printed.

#![warn(missing_docs)]

pub mod cli;
pub mod model_builder;
pub mod paths;

pub use model_builder::*;
