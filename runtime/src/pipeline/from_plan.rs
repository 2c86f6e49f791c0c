//! A pipeline from a [`Plan`]: the segments it names (files beside the plan, or bytes embedded
//! by generated code), checked against the plan before any thread starts, each stage on the
//! backend chosen for it.
//!
//! Checks on load, each an error naming the segment and the tensor:
//!
//! - the plan holds together: segments in order, every boundary tensor produced exactly once
//!   (by the host or by one segment) and read by a later segment or returned as a model output;
//! - every segment's file is present and loads;
//! - each segment model's inputs and outputs are the plan's, by name and in order, with the byte
//!   sizes the plan's routing records.
//!
//! Routing follows the plan: a tensor read further down goes straight from the segment that
//! produces it to every segment that reads it, and a model input that is also an output is
//! forwarded from the host.

use super::cpu::CpuExecutor;
use super::engine::Pipeline;
use super::error::{PipelineError, StageError};
use super::executor::StageExecutor;
use super::options::PipelineOptions;
use super::spec::{OutputSpec, PipelineSpec, Source, StageInput, StageSpec, TensorSpec};
use crate::dtype::ElementType;
use crate::ids::ByteCount;
use crate::interp::{Interpreter, LoadError, TensorDesc};
use crate::model::ModelView;
use crate::plan::{Device, Plan, Route};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// The bytes of one segment model: embedded in the binary, or read from a file.
#[derive(Clone, Debug)]
pub enum SegmentBytes {
    /// Embedded (`include_bytes!` in generated code).
    Static(&'static [u8]),
    /// Read at run time.
    Shared(Arc<[u8]>),
}

impl std::ops::Deref for SegmentBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SegmentBytes::Static(b) => b,
            SegmentBytes::Shared(b) => b,
        }
    }
}

/// One segment's models: the uncompiled one (for the CPU) and the compiled one (for an Edge
/// TPU), either of which may be absent.
#[derive(Clone, Debug, Default)]
pub struct SegmentModels {
    /// The uncompiled segment (`<stem>_segment_<i>_of_<N>.tflite`), run by the interpreter.
    pub cpu: Option<SegmentBytes>,
    /// The compiled segment (`..._edgetpu.tflite`), run by libedgetpu.
    pub edgetpu: Option<SegmentBytes>,
}

/// Which backend runs the stages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// Every stage on the CPU interpreter.
    Cpu,
    /// Every Edge TPU stage of the plan on an Edge TPU (CPU stages of the plan stay on the CPU);
    /// an error if that is not possible.
    EdgeTpu,
    /// Edge TPUs where the plan puts them and they are available; otherwise, when CPU fallback
    /// is allowed, the CPU.
    #[default]
    Auto,
}

/// Where one stage ended up, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagePlacement {
    /// The stage's position.
    pub stage: usize,
    /// The device that runs it.
    pub device: Device,
    /// What it runs on: `cpu`, or the Edge TPU's path.
    pub detail: String,
    /// Why it is not where the plan put it (a CPU fallback), if so.
    pub fallback_reason: Option<String>,
}

/// Why a pipeline could not be built from a plan.
#[derive(Debug, Error)]
pub enum PlanPipelineError {
    /// The plan has no segments.
    #[error("the plan has no segments")]
    NoSegments,
    /// A segment's index is not its position.
    #[error("segment at position {position} says it is segment {index}")]
    SegmentOrder {
        /// Its position in the plan.
        position: usize,
        /// The index it records.
        index: usize,
    },
    /// The plan's routing does not hold together.
    #[error("the plan's routing of '{tensor}' is inconsistent: {why}")]
    Routing {
        /// The tensor.
        tensor: String,
        /// What is wrong.
        why: String,
    },
    /// A segment file is missing or unreadable.
    #[error("segment {segment}: cannot read {}", path.display())]
    Read {
        /// The segment.
        segment: usize,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The models for the plan's segments were given, but not as many as it has segments.
    #[error("the plan has {plan} segments, but models for {given} were given")]
    SegmentCount {
        /// Segments in the plan.
        plan: usize,
        /// Segment models given.
        given: usize,
    },
    /// A stage must run on the CPU but its uncompiled segment is absent.
    #[error(
        "segment {segment} must run on the CPU, but its uncompiled model is not available{hint}"
    )]
    NoCpuModel {
        /// The segment.
        segment: usize,
        /// What to do about it.
        hint: String,
    },
    /// A segment model does not load.
    #[error("segment {segment}: the model does not load")]
    Load {
        /// The segment.
        segment: usize,
        /// The loader's error.
        #[source]
        source: LoadError,
    },
    /// A segment model's inputs or outputs are not the plan's.
    #[error("segment {segment}: {what} of the model are {found:?}, the plan says {planned:?}")]
    Interface {
        /// The segment.
        segment: usize,
        /// `inputs` or `outputs`.
        what: &'static str,
        /// The model's tensor names.
        found: Vec<String>,
        /// The plan's.
        planned: Vec<String>,
    },
    /// A tensor's size in a segment model is not the plan's.
    #[error("segment {segment}: tensor '{tensor}' has {found} bytes in the model, the plan says {planned}")]
    Size {
        /// The segment.
        segment: usize,
        /// The tensor.
        tensor: String,
        /// Bytes in the model.
        found: u64,
        /// Bytes in the plan.
        planned: u64,
    },
    /// An Edge TPU was asked for and cannot be used.
    #[error("segment {segment} cannot run on an Edge TPU: {reason}")]
    EdgeTpuUnavailable {
        /// The segment.
        segment: usize,
        /// Why.
        reason: String,
    },
    /// The pipeline refused the spec or an executor could not be made.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// How [`PlanPipeline::new`] builds the pipeline.
#[derive(Clone, Debug, Default)]
pub struct PlanPipelineOptions {
    /// Which backend runs the stages.
    pub backend: BackendChoice,
    /// With [`BackendChoice::Auto`], run a stage on the CPU when no Edge TPU can take it.
    pub cpu_fallback: bool,
    /// Queue depth and failure policy.
    pub pipeline: PipelineOptions,
    /// Where the libraries and lock files are (default: from the environment).
    #[cfg(feature = "edgetpu")]
    pub edgetpu: Option<crate::edgetpu::BackendConfig>,
    /// Which Edge TPU runs which stage: automatic, or one device per Edge TPU stage replica
    /// in stage order (`usb:0,usb:1`, see [`crate::edgetpu::Assignment::parse_list`]).
    #[cfg(feature = "edgetpu")]
    pub devices: crate::edgetpu::Assignment,
    /// How each Edge TPU stage is set up (delegate options, warm-up).
    #[cfg(feature = "edgetpu")]
    pub stage: crate::edgetpu::StageOptions,
}

/// A pipeline built from a plan, with where each stage runs.
pub struct PlanPipeline {
    /// The running pipeline.
    pub pipeline: Pipeline,
    /// Where each stage runs, in stage order.
    pub placements: Vec<StagePlacement>,
}

impl std::fmt::Debug for PlanPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanPipeline")
            .field("placements", &self.placements)
            .finish_non_exhaustive()
    }
}

/// Reads the segment models a plan names from `dir` (the plan's directory): the uncompiled file
/// of each segment, and the compiled one where the plan names it and it exists.
pub fn read_segments(plan: &Plan, dir: &Path) -> Result<Vec<SegmentModels>, PlanPipelineError> {
    plan.segments
        .iter()
        .map(|s| {
            let read = |name: &str| -> Result<SegmentBytes, PlanPipelineError> {
                let path = dir.join(name);
                std::fs::read(&path)
                    .map(|b| SegmentBytes::Shared(b.into()))
                    .map_err(|source| PlanPipelineError::Read {
                        segment: s.index,
                        path,
                        source,
                    })
            };
            Ok(SegmentModels {
                cpu: Some(read(&s.file)?),
                edgetpu: match &s.edgetpu_file {
                    Some(f) if dir.join(f).exists() || s.device() == Device::EdgeTpu => {
                        Some(read(f)?)
                    }
                    _ => None,
                },
            })
        })
        .collect()
}

impl PlanPipeline {
    /// Checks `plan` against its segment `models` (one entry per segment, in order) and starts
    /// the pipeline.
    pub fn new(
        plan: &Plan,
        models: Vec<SegmentModels>,
        options: &PlanPipelineOptions,
    ) -> Result<PlanPipeline, PlanPipelineError> {
        check_plan(plan)?;
        if models.len() != plan.segments.len() {
            return Err(PlanPipelineError::SegmentCount {
                plan: plan.segments.len(),
                given: models.len(),
            });
        }
        let mut placements = Vec::with_capacity(models.len());
        let mut chosen: Vec<SegmentBytes> = Vec::with_capacity(models.len());
        let mut stages = Vec::with_capacity(models.len());
        let routes: HashMap<&str, &Route> = plan
            .routing
            .iter()
            .map(|r| (r.tensor.as_str(), r))
            .collect();
        let mut tpu = tpu::Opener::new(plan, &models, options);
        for (i, (segment, m)) in plan.segments.iter().zip(&models).enumerate() {
            let (placement, bytes) = place(i, segment.device(), m, options, &mut tpu)?;
            // The uncompiled model defines the segment's interface (a compiled model keeps the
            // same tensors); check it against the plan.
            let interface_model = m.cpu.as_ref().unwrap_or(&bytes);
            let (inputs, outputs) = segment_interface(i, interface_model)?;
            check_names(i, "inputs", &inputs, &segment.inputs)?;
            check_names(i, "outputs", &outputs, &segment.outputs)?;
            for d in inputs.iter().chain(&outputs) {
                if let Some(r) = routes.get(d.name.as_str()) {
                    if r.bytes != d.byte_size as u64 {
                        return Err(PlanPipelineError::Size {
                            segment: i,
                            tensor: d.name.clone(),
                            found: d.byte_size as u64,
                            planned: r.bytes,
                        });
                    }
                }
            }
            stages.push((inputs, outputs));
            placements.push(placement);
            chosen.push(bytes);
        }
        let spec = spec_from_plan(plan, &stages)?;
        let devices: Vec<Device> = placements.iter().map(|p| p.device).collect();
        let mut opened = tpu.into_stages();
        let factory =
            move |stage: usize, replica: usize| -> Result<Box<dyn StageExecutor>, StageError> {
                match devices[stage] {
                    Device::Cpu => Ok(Box::new(CpuExecutor::from_bytes(&chosen[stage])?)),
                    Device::EdgeTpu => opened.take(stage, replica),
                }
            };
        let pipeline = Pipeline::new(spec, factory, options.pipeline.clone())?;
        Ok(PlanPipeline {
            pipeline,
            placements,
        })
    }
}

/// The device and model bytes for one stage.
fn place(
    segment: usize,
    planned: Device,
    models: &SegmentModels,
    options: &PlanPipelineOptions,
    tpu: &mut tpu::Opener,
) -> Result<(StagePlacement, SegmentBytes), PlanPipelineError> {
    let cpu =
        |reason: Option<String>| -> Result<(StagePlacement, SegmentBytes), PlanPipelineError> {
            let bytes = models
                .cpu
                .clone()
                .ok_or_else(|| PlanPipelineError::NoCpuModel {
                    segment,
                    hint: if models.edgetpu.is_some() {
                        " (only the compiled model is present; run it on an Edge TPU)".to_string()
                    } else {
                        String::new()
                    },
                })?;
            Ok((
                StagePlacement {
                    stage: segment,
                    device: Device::Cpu,
                    detail: "cpu".to_string(),
                    fallback_reason: reason,
                },
                bytes,
            ))
        };
    if planned == Device::Cpu || options.backend == BackendChoice::Cpu {
        return cpu(None);
    }
    match tpu.open(segment, models) {
        Ok((detail, bytes)) => Ok((
            StagePlacement {
                stage: segment,
                device: Device::EdgeTpu,
                detail,
                fallback_reason: None,
            },
            bytes,
        )),
        Err(reason) if options.backend == BackendChoice::Auto && options.cpu_fallback => {
            cpu(Some(reason))
        }
        Err(reason) => Err(PlanPipelineError::EdgeTpuUnavailable { segment, reason }),
    }
}

/// The inputs and outputs of a segment model, as the interpreter sees them.
fn segment_interface(
    segment: usize,
    bytes: &[u8],
) -> Result<(Vec<TensorDesc>, Vec<TensorDesc>), PlanPipelineError> {
    let load = |source| PlanPipelineError::Load { segment, source };
    let view = ModelView::parse(bytes).map_err(|e| load(LoadError::Model(e)))?;
    let interp = Interpreter::new(&view).map_err(load)?;
    Ok((
        interp.inputs().cloned().collect(),
        interp.outputs().cloned().collect(),
    ))
}

fn check_names(
    segment: usize,
    what: &'static str,
    found: &[TensorDesc],
    planned: &[String],
) -> Result<(), PlanPipelineError> {
    let names: Vec<String> = found.iter().map(|d| d.name.clone()).collect();
    if names != planned {
        return Err(PlanPipelineError::Interface {
            segment,
            what,
            found: names,
            planned: planned.to_vec(),
        });
    }
    Ok(())
}

/// The plan's own consistency: segment order, and every boundary tensor produced once and read.
fn check_plan(plan: &Plan) -> Result<(), PlanPipelineError> {
    if plan.segments.is_empty() {
        return Err(PlanPipelineError::NoSegments);
    }
    for (position, s) in plan.segments.iter().enumerate() {
        if s.index != position {
            return Err(PlanPipelineError::SegmentOrder {
                position,
                index: s.index,
            });
        }
    }
    let bad = |tensor: &str, why: String| PlanPipelineError::Routing {
        tensor: tensor.to_string(),
        why,
    };
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for r in &plan.routing {
        if seen.insert(r.tensor.as_str(), ()).is_some() {
            return Err(bad(&r.tensor, "it is routed twice".into()));
        }
        let producers: Vec<usize> = plan
            .segments
            .iter()
            .filter(|s| s.outputs.contains(&r.tensor))
            .map(|s| s.index)
            .collect();
        match (r.producer, producers.as_slice()) {
            (None, []) => {
                if !plan.model_inputs.contains(&r.tensor) {
                    return Err(bad(
                        &r.tensor,
                        "no segment produces it and it is no model input".into(),
                    ));
                }
            }
            (Some(p), [q]) if p == *q => {}
            (p, found) => {
                return Err(bad(
                    &r.tensor,
                    format!(
                        "the routing says it is produced by {p:?}, segments {found:?} output it"
                    ),
                ))
            }
        }
        for &c in &r.consumers {
            let reads = plan
                .segments
                .get(c)
                .is_some_and(|s| s.inputs.contains(&r.tensor));
            if !reads || r.producer.is_some_and(|p| p >= c) {
                return Err(bad(
                    &r.tensor,
                    format!("segment {c} is listed as reading it, but cannot"),
                ));
            }
        }
        if r.consumers.is_empty() && !r.model_output {
            return Err(bad(
                &r.tensor,
                "nothing reads it and it is no model output".into(),
            ));
        }
    }
    for s in &plan.segments {
        for t in s.inputs.iter().chain(&s.outputs) {
            if !seen.contains_key(t.as_str()) {
                return Err(bad(
                    t,
                    format!("segment {} uses it, but it is not routed", s.index),
                ));
            }
        }
    }
    for t in &plan.model_outputs {
        if !plan
            .routing
            .iter()
            .any(|r| &r.tensor == t && (r.model_output || r.producer.is_none()))
        {
            return Err(bad(t, "it is a model output, but not routed as one".into()));
        }
    }
    Ok(())
}

/// The pipeline topology the plan describes, with the segment models' tensor types.
fn spec_from_plan(
    plan: &Plan,
    stages: &[(Vec<TensorDesc>, Vec<TensorDesc>)],
) -> Result<PipelineSpec, PlanPipelineError> {
    let tensor = |d: &TensorDesc| TensorSpec {
        name: d.name.clone(),
        dtype: d.dtype,
        shape: d.shape.clone(),
        bytes: ByteCount(d.byte_size as u64),
    };
    // Where each tensor comes from.
    let mut source: HashMap<&str, Source> = HashMap::new();
    let mut inputs = Vec::with_capacity(plan.model_inputs.len());
    for (k, name) in plan.model_inputs.iter().enumerate() {
        source.insert(name.as_str(), Source::ModelInput(k));
        let route = plan.routing.iter().find(|r| &r.tensor == name);
        let read = stages
            .iter()
            .flat_map(|(ins, _)| ins.iter())
            .find(|d| &d.name == name);
        inputs.push(match (read, route) {
            (Some(d), _) => tensor(d),
            (None, Some(r)) => TensorSpec {
                name: name.clone(),
                dtype: dtype_named(&r.dtype).ok_or_else(|| PlanPipelineError::Routing {
                    tensor: name.clone(),
                    why: format!("unknown element type '{}'", r.dtype),
                })?,
                shape: r.shape.clone(),
                bytes: ByteCount(r.bytes),
            },
            (None, None) => {
                return Err(PlanPipelineError::Routing {
                    tensor: name.clone(),
                    why: "a model input that is neither read nor routed".into(),
                })
            }
        });
    }
    for (s, (_, outs)) in stages.iter().enumerate() {
        for (o, d) in outs.iter().enumerate() {
            source.insert(
                d.name.as_str(),
                Source::Stage {
                    stage: s,
                    output: o,
                },
            );
        }
    }
    let find = |name: &str| {
        source
            .get(name)
            .copied()
            .ok_or_else(|| PlanPipelineError::Routing {
                tensor: name.to_string(),
                why: "nothing produces it".into(),
            })
    };
    let mut stage_specs = Vec::with_capacity(stages.len());
    for (s, (ins, outs)) in stages.iter().enumerate() {
        let segment = &plan.segments[s];
        stage_specs.push(StageSpec {
            name: segment.file.clone(),
            inputs: ins
                .iter()
                .map(|d| {
                    Ok(StageInput {
                        source: find(&d.name)?,
                        tensor: tensor(d),
                    })
                })
                .collect::<Result<_, PlanPipelineError>>()?,
            outputs: outs.iter().map(tensor).collect(),
            replicas: segment.replica_count(),
        });
    }
    let outputs = plan
        .model_outputs
        .iter()
        .map(|name| {
            Ok(OutputSpec {
                name: name.clone(),
                source: find(name)?,
            })
        })
        .collect::<Result<_, PlanPipelineError>>()?;
    Ok(PipelineSpec {
        inputs,
        stages: stage_specs,
        outputs,
    })
}

/// The element type a plan's routing names (`int8`, `float32`, ...).
fn dtype_named(name: &str) -> Option<ElementType> {
    use ElementType::*;
    [F32, F16, I8, U8, I16, I32, I64, Bool]
        .into_iter()
        .find(|t| t.name() == name)
}

/// Opening Edge TPU stages for a plan: the backend opened once (lazily, on the first stage that
/// wants it), a device locked per replica, every stage opened before the pipeline starts so that
/// a failure can fall back to the CPU.
#[cfg(feature = "edgetpu")]
mod tpu {
    use super::{PlanPipelineOptions, SegmentBytes, SegmentModels};
    use crate::edgetpu::{Assignment, EdgeTpuBackend, EdgeTpuError, EdgeTpuStage};
    use crate::pipeline::{StageError, StageExecutor};
    use crate::plan::Plan;
    use std::collections::HashMap;

    impl StageExecutor for EdgeTpuStage {
        fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
            EdgeTpuStage::run(self, inputs, outputs).map_err(|e| StageError::Failed(e.to_string()))
        }
    }

    pub(super) struct Opener {
        backend: Option<Result<EdgeTpuBackend, String>>,
        options: PlanPipelineOptions,
        replicas: Vec<usize>,
        /// Explicit devices not yet given to a replica, in order.
        explicit: Option<std::vec::IntoIter<crate::edgetpu::DeviceSpec>>,
        stages: HashMap<(usize, usize), EdgeTpuStage>,
    }

    impl Opener {
        pub(super) fn new(
            plan: &Plan,
            _models: &[SegmentModels],
            options: &PlanPipelineOptions,
        ) -> Opener {
            let explicit = match &options.devices {
                Assignment::Automatic => None,
                Assignment::Explicit(list) => Some(list.clone().into_iter()),
            };
            Opener {
                backend: None,
                options: options.clone(),
                replicas: plan.segments.iter().map(|s| s.replica_count()).collect(),
                explicit,
                stages: HashMap::new(),
            }
        }

        fn backend(&mut self) -> Result<&EdgeTpuBackend, String> {
            let config = self.options.edgetpu.clone();
            self.backend
                .get_or_insert_with(|| {
                    let config = config.unwrap_or_else(crate::edgetpu::BackendConfig::from_env);
                    EdgeTpuBackend::open(&config).map_err(|e| e.to_string())
                })
                .as_ref()
                .map_err(Clone::clone)
        }

        /// Opens every replica of `segment` on its own Edge TPU; returns where they run.
        pub(super) fn open(
            &mut self,
            segment: usize,
            models: &SegmentModels,
        ) -> Result<(String, SegmentBytes), String> {
            let bytes = models.edgetpu.clone().ok_or_else(|| {
                "the plan has no compiled model for it (compile it with `tpupipe compile`)"
                    .to_string()
            })?;
            let replicas = self.replicas[segment];
            let mut explicit: Vec<Assignment> = Vec::new();
            if let Some(list) = &mut self.explicit {
                for _ in 0..replicas {
                    let spec = list.next().ok_or_else(|| {
                        format!("--devices names fewer devices than the plan's Edge TPU stages need (segment {segment})")
                    })?;
                    explicit.push(Assignment::Explicit(vec![spec]));
                }
            }
            let stage_options = self.options.stage;
            let backend = self.backend()?;
            let mut opened = Vec::with_capacity(replicas);
            for r in 0..replicas {
                let assignment = explicit.get(r).cloned().unwrap_or(Assignment::Automatic);
                let lock = backend
                    .reserve(1, &assignment)
                    .map_err(|e| describe(&e))?
                    .pop()
                    .ok_or("no device was reserved")?;
                let stage = backend
                    .open_stage(segment, bytes.to_vec(), lock, &stage_options)
                    .map_err(|e| describe(&e))?;
                opened.push(stage);
            }
            let detail = opened
                .iter()
                .map(|s| s.device().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            for (r, stage) in opened.into_iter().enumerate() {
                self.stages.insert((segment, r), stage);
            }
            Ok((detail, bytes))
        }

        pub(super) fn into_stages(self) -> Opened {
            Opened {
                stages: self.stages,
            }
        }
    }

    fn describe(e: &EdgeTpuError) -> String {
        e.to_string()
    }

    /// The opened stages, handed to the pipeline's executor factory.
    pub(super) struct Opened {
        stages: HashMap<(usize, usize), EdgeTpuStage>,
    }

    impl Opened {
        pub(super) fn take(
            &mut self,
            stage: usize,
            replica: usize,
        ) -> Result<Box<dyn StageExecutor>, StageError> {
            self.stages
                .remove(&(stage, replica))
                .map(|s| Box::new(s) as Box<dyn StageExecutor>)
                .ok_or_else(|| StageError::Failed("the Edge TPU stage was not opened".into()))
        }
    }
}

/// Without the `edgetpu` feature no stage can run on an Edge TPU.
#[cfg(not(feature = "edgetpu"))]
mod tpu {
    use super::{PlanPipelineOptions, SegmentBytes, SegmentModels};
    use crate::pipeline::{StageError, StageExecutor};
    use crate::plan::Plan;

    pub(super) struct Opener;

    impl Opener {
        pub(super) fn new(_: &Plan, _: &[SegmentModels], _: &PlanPipelineOptions) -> Opener {
            Opener
        }

        pub(super) fn open(
            &mut self,
            _segment: usize,
            _models: &SegmentModels,
        ) -> Result<(String, SegmentBytes), String> {
            Err("this build of tpupipe has no Edge TPU backend (feature `edgetpu`)".into())
        }

        pub(super) fn into_stages(self) -> Opened {
            Opened
        }
    }

    pub(super) struct Opened;

    impl Opened {
        pub(super) fn take(
            &mut self,
            _: usize,
            _: usize,
        ) -> Result<Box<dyn StageExecutor>, StageError> {
            Err(StageError::Failed(
                "this build has no Edge TPU backend".into(),
            ))
        }
    }
}
