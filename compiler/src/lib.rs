//! # tpupipe-compiler
//!
//! The build-time half of tpupipe: reads a TFLite model, analyses its graph, plans where to cut
//! it into segments (one per Edge TPU), and writes each segment as a standalone `.tflite` with
//! its plan. [`Builder`] is the entry point, for the `tpupipe` command line (crate
//! `tpupipe-cli`), Cargo build scripts and the `tpupipe_model!` macro alike.
//!
//! The walk from a model to its segments, one module per step:
//!
//! - [`model_file`]: the file, memory-mapped and verified; [`loaded_model`]: with its graph,
//!   hash and profile.
//! - [`graph`]: execution order, producers and consumers, tensors live across each cut, per-op
//!   parameter bytes and MACs.
//! - [`cost`]: the Edge TPU cost model; [`planner`]: choosing the cuts.
//! - [`split`] and [`segment`]: cutting the model and writing each segment.
//! - [`synth`]: the paper's synthetic model families; [`svg`]: charts of simulated throughput.
//!
//! The plan the compiler writes is a runtime type ([`tpupipe_runtime::plan`]), since the final
//! binary reads it without this crate.

#![warn(missing_docs)]

pub mod builder;
pub mod codegen;
pub mod cost;
pub mod edgetpu;
mod error;
pub mod graph;
pub mod loaded_model;
pub mod model_file;
pub mod planner;
pub mod segment;
pub mod split;
pub mod svg;
pub mod synth;

pub use builder::{Builder, SplitOutcome};
pub use error::Error;
pub use loaded_model::LoadedModel;
pub use model_file::ModelFile;
pub use planner::report::PlanReport;
pub use tpupipe_runtime::plan::{Clock, Device, HostLink, Interface, Plan, Profile, Strategy};
