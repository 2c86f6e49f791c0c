//! The pipeline's errors: a spec that does not hold together, a stage that failed, an input the
//! pipeline cannot take, a pipeline that is closed.

use crate::dtype::ElementType;
use crate::ids::ByteCount;
use crate::interp::{LoadError, RunError};
use thiserror::Error;

/// Why a [`PipelineSpec`](super::PipelineSpec) is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// The pipeline has no stage.
    #[error("the pipeline has no stages")]
    NoStages,
    /// The pipeline has no output.
    #[error("the pipeline has no outputs")]
    NoOutputs,
    /// A stage asks for zero replicas.
    #[error("stage {stage} ('{name}') has 0 replicas; at least 1 is needed")]
    NoReplicas {
        /// The stage's position.
        stage: usize,
        /// The stage's name.
        name: String,
    },
    /// A stage writes nothing, so nothing could come of it.
    #[error("stage {stage} ('{name}') has no outputs")]
    StageWithoutOutputs {
        /// The stage's position.
        stage: usize,
        /// The stage's name.
        name: String,
    },
    /// Two tensors (model inputs or stage outputs) share a name.
    #[error("tensor '{name}' is produced more than once (as a model input or a stage output)")]
    DuplicateTensor {
        /// The name.
        name: String,
    },
    /// Two pipeline outputs share a name.
    #[error("two pipeline outputs are called '{name}'")]
    DuplicateOutput {
        /// The name.
        name: String,
    },
    /// A tensor's byte size does not follow from its type and shape.
    #[error("tensor '{tensor}': {bytes} bytes do not hold {dtype} of shape {shape:?}", bytes = bytes.bytes())]
    BadSize {
        /// The tensor's name.
        tensor: String,
        /// Its type.
        dtype: ElementType,
        /// Its shape.
        shape: Vec<usize>,
        /// The byte size given.
        bytes: ByteCount,
    },
    /// A source points at nothing, or forwards.
    #[error("{consumer} ('{tensor}'): {why}")]
    BadSource {
        /// Who reads (`stage 2 ('seg2') input 0`, `pipeline output 1`).
        consumer: String,
        /// The tensor read.
        tensor: String,
        /// What is wrong with the source.
        why: String,
    },
    /// A stage expects another type or size than its producer writes.
    #[error("stage {stage} ('{name}') input {input} expects {expected}, but its source produces {produced}")]
    Mismatch {
        /// The consuming stage.
        stage: usize,
        /// Its name.
        name: String,
        /// The input's position.
        input: usize,
        /// The input tensor's name.
        tensor: String,
        /// What the stage expects.
        expected: String,
        /// What the producer writes.
        produced: String,
    },
    /// A model input nobody reads.
    #[error("model input {input} ('{name}') is read by no stage and is no output")]
    UnusedInput {
        /// The input's position.
        input: usize,
        /// Its name.
        name: String,
    },
    /// A stage output nobody reads.
    #[error("output {output} ('{name}') of stage {stage} ('{stage_name}') is read by no later stage and is no pipeline output")]
    UnusedOutput {
        /// The producing stage.
        stage: usize,
        /// Its name.
        stage_name: String,
        /// The output's position.
        output: usize,
        /// The tensor's name.
        name: String,
    },
}

/// What a [`StageExecutor`](super::StageExecutor) reports when it cannot run an item.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StageError {
    /// The CPU interpreter could not load a segment.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The CPU interpreter failed on the item.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The executor panicked; the message is the panic's payload.
    #[error("panicked: {0}")]
    Panicked(String),
    /// Any other failure (a device error, an injected fault).
    #[error("{0}")]
    Failed(String),
}

/// Why an item's inputs were refused (before anything was queued).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Not as many tensors as the pipeline has inputs.
    #[error("{given} input tensors given; the pipeline takes {expected} ({names})")]
    Count {
        /// How many were given.
        given: usize,
        /// How many the pipeline takes.
        expected: usize,
        /// The input names, comma-separated.
        names: String,
    },
    /// Some inputs named, others not.
    #[error("input {index} has no name while others do: give every input by name or none")]
    MixedNaming {
        /// The first unnamed input.
        index: usize,
    },
    /// No pipeline input has this name.
    #[error("no pipeline input is called '{name}' (the inputs are: {names})")]
    UnknownName {
        /// The name given.
        name: String,
        /// The input names, comma-separated.
        names: String,
    },
    /// An input given twice by name.
    #[error("input '{name}' is given more than once")]
    Repeated {
        /// The name.
        name: String,
    },
    /// The declared element type is not the input's.
    #[error("input '{name}' holds {expected}, but {given} data was given")]
    DType {
        /// The input's name.
        name: String,
        /// The input's type.
        expected: ElementType,
        /// The type given.
        given: ElementType,
    },
    /// The data has the wrong length.
    #[error("input '{name}' takes {expected} bytes, but {given} were given")]
    Size {
        /// The input's name.
        name: String,
        /// Its byte size.
        expected: usize,
        /// The length given.
        given: usize,
    },
}

/// Why [`Pipeline`](super::Pipeline) construction, a push or an item failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PipelineError {
    /// The spec does not hold together.
    #[error("invalid pipeline spec: {0}")]
    Spec(#[from] SpecError),
    /// An option is out of range.
    #[error("invalid pipeline option: {0}")]
    Options(String),
    /// The factory could not make a stage's executor.
    #[error("cannot create the executor of stage {stage} ('{name}') replica {replica}: {cause}")]
    CreateExecutor {
        /// The stage's position.
        stage: usize,
        /// Its name.
        name: String,
        /// The replica.
        replica: usize,
        /// The factory's error.
        cause: Box<StageError>,
    },
    /// A worker thread could not be started.
    #[error("cannot start a pipeline worker thread: {0}")]
    Spawn(String),
    /// The item's inputs were refused; nothing was queued.
    #[error("bad pipeline input: {0}")]
    Input(#[from] InputError),
    /// A stage failed on this item.
    #[error("item {item}: stage {stage} ('{name}') replica {replica} failed: {cause}")]
    Stage {
        /// The item's sequence number (0 for the first item pushed).
        item: u64,
        /// The failing stage's position.
        stage: usize,
        /// Its name.
        name: String,
        /// The replica that ran the item.
        replica: usize,
        /// What went wrong.
        cause: Box<StageError>,
    },
    /// The pipeline was closed by [`Pipeline::close`](super::Pipeline::close) or is shutting
    /// down; nothing more is accepted.
    #[error("the pipeline is closed")]
    Closed,
    /// An earlier item's stage failure closed the pipeline
    /// ([`FailurePolicy::ClosePipeline`](super::FailurePolicy::ClosePipeline)); this item was
    /// refused or dropped because of it.
    #[error("the pipeline was closed by an earlier failure: {cause}")]
    ClosedByFailure {
        /// The failure that closed it.
        cause: Box<PipelineError>,
    },
    /// `infer` or `run_iter` was called while streamed items were still outstanding.
    #[error("{outstanding} pushed item(s) have not been popped yet; pop them before using infer or run_iter")]
    StreamActive {
        /// Items pushed and not yet popped.
        outstanding: usize,
    },
    /// A worker thread ended without handing on an item (an internal error, never expected).
    #[error("a pipeline worker thread ended unexpectedly; the item was lost")]
    WorkerLost,
}
