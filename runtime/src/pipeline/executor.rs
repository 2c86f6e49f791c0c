//! What a stage runs: one [`StageExecutor`] per replica, made by an [`ExecutorFactory`].

use super::error::StageError;

/// Runs one stage on one item. The Edge TPU backend and the CPU backend
/// ([`CpuExecutor`](super::cpu::CpuExecutor)) implement it; each replica owns its own instance
/// and runs it on its own thread.
pub trait StageExecutor: Send {
    /// Runs one item: `inputs` in the stage's input order, results written into `outputs` (the
    /// stage's output order, buffers of exactly the spec's byte sizes). The buffers are recycled,
    /// so an output holds the previous item's bytes until the executor overwrites it.
    ///
    /// An error fails this item only (or closes the pipeline, as the
    /// [`FailurePolicy`](super::FailurePolicy) says); the executor is then used for later items.
    /// A panic is caught and treated like an error.
    fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError>;
}

impl<T: StageExecutor + ?Sized> StageExecutor for Box<T> {
    fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
        (**self).run(inputs, outputs)
    }
}

/// Makes the executor of each stage replica, on the thread that builds the pipeline.
pub trait ExecutorFactory {
    /// The executor for replica `replica` of stage `stage` (positions in the spec).
    fn create(
        &mut self,
        stage: usize,
        replica: usize,
    ) -> Result<Box<dyn StageExecutor>, StageError>;
}

impl<F> ExecutorFactory for F
where
    F: FnMut(usize, usize) -> Result<Box<dyn StageExecutor>, StageError>,
{
    fn create(
        &mut self,
        stage: usize,
        replica: usize,
    ) -> Result<Box<dyn StageExecutor>, StageError> {
        self(stage, replica)
    }
}
