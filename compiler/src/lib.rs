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
//! - [`compile`]: compiling the segments with `edgetpu_compiler`; [`cache`]: the verified
//!   artifact cache of compiled builds; [`compiled_model`]: what a compiled model holds.
//! - [`synth`]: the paper's synthetic model families; [`svg`]: charts of simulated throughput.
//!
//! The types most callers need are re-exported at the crate root ([`Builder`], [`Graph`],
//! [`Cuts`], [`CostModel`], [`Split`] and their errors, ...); module paths stay valid.
//!
//! The plan the compiler writes is a runtime type ([`tpupipe_runtime::plan`]), since the final
//! binary reads it without this crate.

#![warn(missing_docs)]

pub mod builder;
pub mod cache;
pub mod codegen;
pub mod compile;
pub mod compiled_model;
pub mod cost;
pub mod edgetpu;
mod error;
pub mod graph;
pub mod loaded_model;
pub mod model_file;
pub mod placement;
pub mod planner;
pub mod segment;
pub mod split;
pub mod svg;
pub mod synth;

// The types callers reach for; each stays at its module path too.
pub use builder::{Builder, SplitOutcome};
pub use compile::{CompileError, CompileOutcome};
pub use cost::{CostModel, SegmentEstimate};
pub use error::Error;
pub use graph::{Graph, GraphError, OpInfo, SegmentIo};
pub use loaded_model::LoadedModel;
pub use model_file::ModelFile;
pub use planner::context::{PlanContext, PlanningError, SearchOptions};
pub use planner::layout::Layout;
pub use planner::report::PlanReport;
pub use planner::{Cuts, PlanError};
pub use segment::{Route, SegmentBytes, SegmentError, SegmentSpec};
pub use split::Split;
pub use tpupipe_runtime::plan::{Clock, Device, HostLink, Interface, Plan, Profile, Strategy};
