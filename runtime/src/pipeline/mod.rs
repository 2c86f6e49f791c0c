//! The pipeline engine: runs a segmented model as a pipeline, one worker thread per stage (and
//! per replica of a replicated stage), items flowing through in push order as fast as the slowest
//! stage allows.
//!
//! - [`spec`]: the topology ([`PipelineSpec`]): model inputs, stages with their inputs' sources,
//!   outputs. Checked by [`PipelineSpec::validate`] before any thread starts.
//! - [`executor`]: what a stage runs ([`StageExecutor`], one per replica, made by an
//!   [`ExecutorFactory`]). [`cpu`] implements it over the CPU interpreter and builds a spec from
//!   segment `.tflite` files; the Edge TPU backend implements the same trait.
//! - [`by_name`]: a spec from stages that name their boundary tensors ([`spec_by_name`]), as
//!   segment files and plans do.
//! - [`Pipeline`]: `infer` (one item, the latency path), `push`/`pop` (streaming),
//!   `run_iter` (keeps the pipeline full from one thread), `close`, `stats`.
//!
//! How it differs from libcoral's `PipelinedModelRunner`: every queue is bounded (a producer
//! that runs ahead waits); a tensor read further down is handed straight to its readers, never
//! copied through the stages in between; buffers come from pools sized from the spec and go
//! back when their last reader is done, so a stream allocates nothing per item; a bad spec, a bad
//! input, a failing or panicking stage are errors (naming the stage and the item), never an
//! abort; dropping the pipeline joins every thread.
//!
//! ```
//! use tpupipe_runtime::pipeline::*;
//! use tpupipe_runtime::{ByteCount, ElementType};
//!
//! struct AddOne;
//! impl StageExecutor for AddOne {
//!     fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
//!         for (o, i) in outputs[0].iter_mut().zip(inputs[0]) {
//!             *o = i.wrapping_add(1);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let t = |name: &str| TensorSpec::new(name, ElementType::U8, vec![4]).unwrap();
//! let spec = PipelineSpec {
//!     inputs: vec![t("x")],
//!     stages: vec![
//!         StageSpec {
//!             name: "first".into(),
//!             inputs: vec![StageInput { source: Source::ModelInput(0), tensor: t("x") }],
//!             outputs: vec![t("y")],
//!             replicas: 1,
//!         },
//!         StageSpec {
//!             name: "second".into(),
//!             inputs: vec![StageInput { source: Source::Stage { stage: 0, output: 0 }, tensor: t("y") }],
//!             outputs: vec![t("z")],
//!             replicas: 2,
//!         },
//!     ],
//!     outputs: vec![OutputSpec { name: "z".into(), source: Source::Stage { stage: 1, output: 0 } }],
//! };
//! let factory = |_stage: usize, _replica: usize| -> Result<Box<dyn StageExecutor>, StageError> {
//!     Ok(Box::new(AddOne))
//! };
//! let mut pipeline = Pipeline::new(spec, factory, PipelineOptions::default()).unwrap();
//! let out = pipeline.infer(&[Input::u8(&[1, 2, 3, 4])]).unwrap();
//! assert_eq!(out.by_name("z"), Some(&[3, 4, 5, 6][..]));
//! drop(out);
//!
//! let items: Vec<Vec<u8>> = (0..10u8).map(|k| vec![k; 4]).collect();
//! let results: Vec<u8> = pipeline
//!     .run_iter(items.iter().map(|d| [Input::bytes(d)]))
//!     .map(|r| r.unwrap().get(0).unwrap()[0])
//!     .collect();
//! assert_eq!(results, (2..12).collect::<Vec<u8>>());
//! # let _ = ByteCount::ZERO;
//! ```

pub mod by_name;
pub mod cpu;
pub mod engine;
pub mod error;
pub mod executor;
pub mod from_plan;
pub mod input;
pub mod options;
pub mod outputs;
mod pool;
mod receive;
mod shared;
pub mod spec;
pub mod stats;
mod topology;
mod worker;

pub use by_name::{spec_by_name, MatchError, NamedStage};
pub use engine::{Pipeline, RunIter};
pub use error::{InputError, PipelineError, SpecError, StageError};
pub use executor::{ExecutorFactory, StageExecutor};
pub use from_plan::{
    read_segments, BackendChoice, PlanPipeline, PlanPipelineError, PlanPipelineOptions,
    SegmentBytes, SegmentModels, StagePlacement,
};
pub use input::Input;
pub use options::{FailurePolicy, PipelineOptions};
pub use outputs::Outputs;
pub use spec::{OutputSpec, PipelineSpec, Source, StageInput, StageSpec, TensorSpec};
pub use stats::{LatencyStats, PipelineStats, PoolStats, ReplicaStats, StageStats};
