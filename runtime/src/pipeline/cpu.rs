//! The CPU backend: a [`StageExecutor`] over the pure-Rust interpreter, and
//! [`CpuPipelineBuilder`], which turns a list of segment `.tflite` files into a
//! [`PipelineSpec`] and a factory of executors.
//!
//! Segments are joined by tensor name, as the segment files are written
//! ([`super::by_name`] says how).

use super::by_name::{spec_by_name, MatchError, NamedStage};
use super::engine::Pipeline;
use super::error::{PipelineError, StageError};
use super::executor::{ExecutorFactory, StageExecutor};
use super::options::PipelineOptions;
use super::spec::{PipelineSpec, TensorSpec};
use crate::ids::ByteCount;
use crate::interp::{Interpreter, LoadError, TensorDesc};
use crate::model::{ModelError, ModelView};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// Runs one segment on the CPU interpreter.
#[derive(Debug)]
pub struct CpuExecutor {
    interp: Interpreter,
}

impl CpuExecutor {
    /// An executor for the model (or segment) `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<CpuExecutor, StageError> {
        let view = ModelView::parse(bytes).map_err(LoadError::Model)?;
        Ok(CpuExecutor {
            interp: Interpreter::new(&view)?,
        })
    }

    /// An executor over an interpreter already loaded.
    pub fn new(interp: Interpreter) -> CpuExecutor {
        CpuExecutor { interp }
    }

    /// The interpreter.
    pub fn interpreter(&self) -> &Interpreter {
        &self.interp
    }
}

impl StageExecutor for CpuExecutor {
    fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
        if inputs.len() != self.interp.input_count() || outputs.len() != self.interp.output_count()
        {
            return Err(StageError::Failed(format!(
                "the segment has {} inputs and {} outputs, but {} and {} buffers were given",
                self.interp.input_count(),
                self.interp.output_count(),
                inputs.len(),
                outputs.len()
            )));
        }
        for (i, data) in inputs.iter().enumerate() {
            self.interp.set_input(i, data)?;
        }
        self.interp.invoke()?;
        for (k, out) in outputs.iter_mut().enumerate() {
            let bytes = self.interp.output_bytes(k)?;
            if bytes.len() != out.len() {
                return Err(StageError::Failed(format!(
                    "output {k} has {} bytes, the buffer {}",
                    bytes.len(),
                    out.len()
                )));
            }
            out.copy_from_slice(bytes);
        }
        Ok(())
    }
}

/// Why a CPU pipeline could not be built from segment files.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CpuPipelineError {
    /// No segment was given.
    #[error("no segments given")]
    NoSegments,
    /// A segment file could not be read.
    #[error("cannot read segment {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// A segment is not a model the interpreter can load.
    #[error("segment {segment} ('{name}'): {source}")]
    Load {
        /// The segment's position.
        segment: usize,
        /// Its name.
        name: String,
        /// The loader's error.
        source: Box<LoadError>,
    },
    /// A boundary tensor's type has no fixed size.
    #[error(
        "segment {segment} ('{name}'): tensor '{tensor}' has type {dtype}, which has no fixed size"
    )]
    UnsizedTensor {
        /// The segment's position.
        segment: usize,
        /// Its name.
        name: String,
        /// The tensor.
        tensor: String,
        /// Its type.
        dtype: crate::ElementType,
    },
    /// The segments do not chain by tensor name.
    #[error(transparent)]
    Match(#[from] MatchError),
    /// A replica count for a stage that does not exist.
    #[error("replicas given for stage {stage}, but there are {stages} segments")]
    NoSuchStage {
        /// The stage asked for.
        stage: usize,
        /// How many there are.
        stages: usize,
    },
    /// The pipeline refused the spec or could not start.
    #[error(transparent)]
    Pipeline(Box<PipelineError>),
}

impl From<PipelineError> for CpuPipelineError {
    fn from(e: PipelineError) -> Self {
        CpuPipelineError::Pipeline(Box::new(e))
    }
}

/// One loaded segment.
struct Segment {
    name: String,
    bytes: Arc<[u8]>,
    inputs: Vec<TensorDesc>,
    outputs: Vec<TensorDesc>,
    /// The interpreter loaded to read the segment's I/O, handed to its first replica.
    probe: Option<Interpreter>,
}

/// Builds a CPU pipeline from segment files (see the module docs for how they are matched).
pub struct CpuPipelineBuilder {
    segments: Vec<Segment>,
    model_inputs: Option<Vec<String>>,
    model_outputs: Option<Vec<String>>,
    replicas: Vec<usize>,
}

impl std::fmt::Debug for CpuPipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuPipelineBuilder")
            .field("segments", &self.segments.len())
            .field("model_inputs", &self.model_inputs)
            .field("model_outputs", &self.model_outputs)
            .field("replicas", &self.replicas)
            .finish()
    }
}

impl CpuPipelineBuilder {
    /// Reads and loads the segment files, in pipeline order.
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, CpuPipelineError> {
        let mut named = Vec::with_capacity(paths.len());
        for p in paths {
            let path = p.as_ref();
            let bytes = std::fs::read(path).map_err(|e| CpuPipelineError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            named.push((name, bytes));
        }
        Self::from_bytes(named)
    }

    /// Loads segments given as (name, bytes), in pipeline order.
    pub fn from_bytes(segments: Vec<(String, Vec<u8>)>) -> Result<Self, CpuPipelineError> {
        if segments.is_empty() {
            return Err(CpuPipelineError::NoSegments);
        }
        let mut loaded = Vec::with_capacity(segments.len());
        for (i, (name, bytes)) in segments.into_iter().enumerate() {
            let load_error = |source: LoadError| CpuPipelineError::Load {
                segment: i,
                name: name.clone(),
                source: Box::new(source),
            };
            let view = ModelView::parse(&bytes)
                .map_err(|e: ModelError| load_error(LoadError::Model(e)))?;
            let interp = Interpreter::new(&view).map_err(load_error)?;
            let inputs = interp.inputs().cloned().collect();
            let outputs = interp.outputs().cloned().collect();
            loaded.push(Segment {
                name,
                bytes: bytes.into(),
                inputs,
                outputs,
                probe: Some(interp),
            });
        }
        let n = loaded.len();
        Ok(CpuPipelineBuilder {
            segments: loaded,
            model_inputs: None,
            model_outputs: None,
            replicas: vec![1; n],
        })
    }

    /// Names the model inputs, in the order items give them.
    pub fn model_inputs(mut self, names: Vec<String>) -> Self {
        self.model_inputs = Some(names);
        self
    }

    /// Names the model outputs, in the order results hold them.
    pub fn model_outputs(mut self, names: Vec<String>) -> Self {
        self.model_outputs = Some(names);
        self
    }

    /// Runs `count` copies of segment `stage` side by side.
    pub fn replicas(mut self, stage: usize, count: usize) -> Result<Self, CpuPipelineError> {
        let stages = self.segments.len();
        let slot = self
            .replicas
            .get_mut(stage)
            .ok_or(CpuPipelineError::NoSuchStage { stage, stages })?;
        *slot = count;
        Ok(self)
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The pipeline topology of these segments.
    pub fn spec(&self) -> Result<PipelineSpec, CpuPipelineError> {
        let tensor = |segment: usize, d: &TensorDesc| -> Result<TensorSpec, CpuPipelineError> {
            if d.dtype.size_bytes().is_none() {
                return Err(CpuPipelineError::UnsizedTensor {
                    segment,
                    name: self.segments[segment].name.clone(),
                    tensor: d.name.clone(),
                    dtype: d.dtype,
                });
            }
            Ok(TensorSpec {
                name: d.name.clone(),
                dtype: d.dtype,
                shape: d.shape.clone(),
                bytes: ByteCount(d.byte_size as u64),
            })
        };
        let stages = self
            .segments
            .iter()
            .enumerate()
            .map(|(s, seg)| {
                Ok(NamedStage {
                    name: seg.name.clone(),
                    inputs: seg
                        .inputs
                        .iter()
                        .map(|d| tensor(s, d))
                        .collect::<Result<_, CpuPipelineError>>()?,
                    outputs: seg
                        .outputs
                        .iter()
                        .map(|d| tensor(s, d))
                        .collect::<Result<_, CpuPipelineError>>()?,
                    replicas: self.replicas[s],
                })
            })
            .collect::<Result<Vec<_>, CpuPipelineError>>()?;
        Ok(spec_by_name(
            stages,
            self.model_inputs.as_deref(),
            self.model_outputs.as_deref(),
        )?)
    }

    /// The spec and a factory making one interpreter per replica (the first replica of each
    /// stage gets the interpreter loaded by the builder).
    pub fn into_parts(self) -> Result<(PipelineSpec, CpuFactory), CpuPipelineError> {
        let spec = self.spec()?;
        let segments = self
            .segments
            .into_iter()
            .map(|s| (s.bytes, s.probe))
            .collect();
        Ok((spec, CpuFactory { segments }))
    }

    /// Builds and starts the pipeline.
    pub fn build(self, options: PipelineOptions) -> Result<Pipeline, CpuPipelineError> {
        let (spec, factory) = self.into_parts()?;
        Ok(Pipeline::new(spec, factory, options)?)
    }
}

/// Makes a [`CpuExecutor`] for each replica of each segment.
pub struct CpuFactory {
    segments: Vec<(Arc<[u8]>, Option<Interpreter>)>,
}

impl std::fmt::Debug for CpuFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuFactory")
            .field("segments", &self.segments.len())
            .finish()
    }
}

impl ExecutorFactory for CpuFactory {
    fn create(
        &mut self,
        stage: usize,
        _replica: usize,
    ) -> Result<Box<dyn StageExecutor>, StageError> {
        let (bytes, probe) = self
            .segments
            .get_mut(stage)
            .ok_or_else(|| StageError::Failed(format!("no segment {stage}")))?;
        match probe.take() {
            Some(interp) => Ok(Box::new(CpuExecutor::new(interp))),
            None => Ok(Box::new(CpuExecutor::from_bytes(bytes)?)),
        }
    }
}
