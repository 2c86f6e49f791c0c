//! The runtime's error at its boundary: what generated code and applications see
//! (`tpupipe::Error`). Each variant wraps the error of the part that failed, unchanged.

use thiserror::Error;

/// Anything the runtime can fail with.
#[derive(Debug, Error)]
pub enum Error {
    /// A model file is not a valid TFLite model.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// The interpreter cannot run a model.
    #[error(transparent)]
    Load(#[from] crate::interp::LoadError),
    /// The interpreter failed on an inference.
    #[error(transparent)]
    Run(#[from] crate::interp::RunError),
    /// A pipeline could not be built from a plan.
    #[error(transparent)]
    PlanPipeline(#[from] crate::pipeline::PlanPipelineError),
    /// The pipeline refused an item or a stage failed.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    /// A profile is unusable.
    #[error(transparent)]
    Profile(#[from] crate::plan::ProfileError),
}
