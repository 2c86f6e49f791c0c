//! How a pipeline is run: queue depth and what a stage failure does.

/// What a stage failure (an error or a panic in an executor) does to the pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Only the failing item gets an error result; the pipeline goes on with the next item.
    #[default]
    FailItem,
    /// The failing item gets its error; every later item still in flight gets
    /// [`PipelineError::ClosedByFailure`](super::PipelineError::ClosedByFailure), and every
    /// later push is refused with it. Items pushed before the failing one complete normally.
    ClosePipeline,
}

/// Options of [`Pipeline::new`](super::Pipeline::new).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineOptions {
    /// Items each queue between two stages (and to the results) holds before its producer
    /// waits; at least 1. Default 2.
    pub queue_depth: usize,
    /// What a stage failure does. Default [`FailurePolicy::FailItem`].
    pub failure_policy: FailurePolicy,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            queue_depth: 2,
            failure_policy: FailurePolicy::FailItem,
        }
    }
}

impl PipelineOptions {
    /// These options with another queue depth.
    pub fn with_queue_depth(mut self, depth: usize) -> Self {
        self.queue_depth = depth;
        self
    }

    /// These options with another failure policy.
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }
}
