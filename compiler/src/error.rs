//! The compiler crate's error: what the [`Builder`](crate::Builder) and the model loader return.
//!
//! Each variant is one kind of failure with the data to act on. Messages do not repeat their
//! source: a caller printing the whole chain ([`std::error::Error::source`]) gets each cause once.

use crate::graph::GraphError;
use crate::planner::context::PlanningError;
use crate::planner::PlanError;
use crate::segment::SegmentError;
use std::path::PathBuf;
use thiserror::Error;
use tpupipe_runtime::plan::ProfileError;
use tpupipe_runtime::ModelError;

/// Why a model could not be loaded, planned or split.
#[derive(Debug, Error)]
pub enum Error {
    /// The model file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid TFLite model.
    #[error("{}", path.display())]
    InvalidModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: ModelError,
    },
    /// The model is valid but cannot be split (compiled, several subgraphs, dynamic shapes).
    #[error(transparent)]
    NotSplittable(ModelError),
    /// The graph could not be analysed.
    #[error("{}", path.display())]
    Graph {
        /// The model file.
        path: PathBuf,
        /// What is wrong with its graph.
        #[source]
        source: GraphError,
    },
    /// The segment count or the cuts are not usable.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The planner could not choose or cost the cuts.
    #[error(transparent)]
    Planning(#[from] PlanningError),
    /// The profile is unusable.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A segment could not be written.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// A terminal that writes files was called without an output directory.
    #[error("no output directory: call Builder::out_dir first")]
    NoOutputDir,
    /// The output directory could not be created.
    #[error("cannot create output directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
