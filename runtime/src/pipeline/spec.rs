//! The pipeline's topology: which tensors enter, which stages run, where every stage input comes
//! from and which tensors leave. [`PipelineSpec::validate`] checks it before any thread starts.

use super::error::SpecError;
use crate::dtype::ElementType;
use crate::ids::ByteCount;
use std::collections::HashSet;

/// One tensor crossing a pipeline boundary (a model input, a stage input or a stage output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The tensor's name (the `.tflite` tensor name for segments).
    pub name: String,
    /// The element type.
    pub dtype: ElementType,
    /// The static shape.
    pub shape: Vec<usize>,
    /// The size of the tensor's data.
    pub bytes: ByteCount,
}

impl TensorSpec {
    /// A tensor whose byte size follows from its type and shape. `None` for types without a
    /// fixed element size.
    pub fn new(name: impl Into<String>, dtype: ElementType, shape: Vec<usize>) -> Option<Self> {
        let elem = dtype.size_bytes()?;
        let count: usize = shape.iter().product();
        Some(TensorSpec {
            name: name.into(),
            dtype,
            shape,
            bytes: ByteCount((count * elem) as u64),
        })
    }

    /// The byte size as a `usize`, for buffer lengths.
    pub fn len(&self) -> usize {
        self.bytes.bytes() as usize
    }

    /// True when the tensor holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes == ByteCount::ZERO
    }
}

/// Where a stage input or a pipeline output comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The pipeline's input at this position (given by the host with each item).
    ModelInput(usize),
    /// Output `output` of stage `stage` (which must come earlier in the pipeline).
    Stage {
        /// The producing stage's position.
        stage: usize,
        /// The position among that stage's outputs.
        output: usize,
    },
}

/// One input of a stage: where it comes from and what the stage expects to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageInput {
    /// The producer.
    pub source: Source,
    /// What the stage expects (type and byte size must agree with the producer's tensor).
    pub tensor: TensorSpec,
}

/// One stage: an executor run on each item, possibly replicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSpec {
    /// A name for errors and statistics (a segment file name, say).
    pub name: String,
    /// The inputs, in the order the executor receives them.
    pub inputs: Vec<StageInput>,
    /// The outputs, in the order the executor writes them.
    pub outputs: Vec<TensorSpec>,
    /// How many copies of the stage run side by side, taking items in turn (at least 1).
    pub replicas: usize,
}

/// One pipeline output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The name the caller asks for it by.
    pub name: String,
    /// The producer: a stage output, or a model input forwarded from the host.
    pub source: Source,
}

/// The whole topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineSpec {
    /// The tensors the host gives with every item, in order.
    pub inputs: Vec<TensorSpec>,
    /// The tensors every result holds, in order.
    pub outputs: Vec<OutputSpec>,
    /// The stages, in pipeline order.
    pub stages: Vec<StageSpec>,
}

impl PipelineSpec {
    /// The tensor a source names, if it exists.
    pub fn source_tensor(&self, source: Source) -> Option<&TensorSpec> {
        match source {
            Source::ModelInput(i) => self.inputs.get(i),
            Source::Stage { stage, output } => self.stages.get(stage)?.outputs.get(output),
        }
    }

    /// The tensor behind output `i`.
    pub fn output_tensor(&self, i: usize) -> Option<&TensorSpec> {
        self.source_tensor(self.outputs.get(i)?.source)
    }

    /// Checks the topology: at least one stage, every replica count at least 1, every tensor's
    /// size consistent with its type and shape, names unique, every source pointing backwards at
    /// an existing tensor with the same type and size, and every model input and stage output
    /// read by someone (a later stage or a pipeline output).
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.stages.is_empty() {
            return Err(SpecError::NoStages);
        }
        if self.outputs.is_empty() {
            return Err(SpecError::NoOutputs);
        }
        let mut names = HashSet::new();
        for t in &self.inputs {
            check_tensor(t)?;
            if !names.insert(t.name.as_str()) {
                return Err(SpecError::DuplicateTensor {
                    name: t.name.clone(),
                });
            }
        }
        let mut input_read = vec![false; self.inputs.len()];
        let mut output_read: Vec<Vec<bool>> = self
            .stages
            .iter()
            .map(|s| vec![false; s.outputs.len()])
            .collect();
        for (s, stage) in self.stages.iter().enumerate() {
            if stage.replicas == 0 {
                return Err(SpecError::NoReplicas {
                    stage: s,
                    name: stage.name.clone(),
                });
            }
            if stage.outputs.is_empty() {
                return Err(SpecError::StageWithoutOutputs {
                    stage: s,
                    name: stage.name.clone(),
                });
            }
            for (k, input) in stage.inputs.iter().enumerate() {
                check_tensor(&input.tensor)?;
                let producer = self.check_source(input.source, Some(s)).map_err(|why| {
                    SpecError::BadSource {
                        consumer: format!("stage {s} ('{}') input {k}", stage.name),
                        tensor: input.tensor.name.clone(),
                        why,
                    }
                })?;
                if producer.dtype != input.tensor.dtype || producer.bytes != input.tensor.bytes {
                    return Err(SpecError::Mismatch {
                        stage: s,
                        name: stage.name.clone(),
                        input: k,
                        tensor: input.tensor.name.clone(),
                        expected: describe(&input.tensor),
                        produced: describe(producer),
                    });
                }
                mark(input.source, &mut input_read, &mut output_read);
            }
            for t in &stage.outputs {
                check_tensor(t)?;
                if !names.insert(t.name.as_str()) {
                    return Err(SpecError::DuplicateTensor {
                        name: t.name.clone(),
                    });
                }
            }
        }
        let mut output_names = HashSet::new();
        for (k, out) in self.outputs.iter().enumerate() {
            if !output_names.insert(out.name.as_str()) {
                return Err(SpecError::DuplicateOutput {
                    name: out.name.clone(),
                });
            }
            self.check_source(out.source, None)
                .map_err(|why| SpecError::BadSource {
                    consumer: format!("pipeline output {k}"),
                    tensor: out.name.clone(),
                    why,
                })?;
            mark(out.source, &mut input_read, &mut output_read);
        }
        if let Some(i) = input_read.iter().position(|r| !r) {
            return Err(SpecError::UnusedInput {
                input: i,
                name: self.inputs[i].name.clone(),
            });
        }
        for (s, outs) in output_read.iter().enumerate() {
            if let Some(k) = outs.iter().position(|r| !r) {
                return Err(SpecError::UnusedOutput {
                    stage: s,
                    stage_name: self.stages[s].name.clone(),
                    output: k,
                    name: self.stages[s].outputs[k].name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The tensor `source` names, when it exists and (for a stage consumer) comes from an
    /// earlier stage or the host.
    fn check_source(&self, source: Source, consumer: Option<usize>) -> Result<&TensorSpec, String> {
        match source {
            Source::ModelInput(i) => self.inputs.get(i).ok_or_else(|| {
                format!(
                    "model input {i} does not exist (the pipeline has {})",
                    self.inputs.len()
                )
            }),
            Source::Stage { stage, output } => {
                if let Some(c) = consumer {
                    if stage >= c {
                        return Err(format!(
                            "stage {stage} does not come before the consuming stage {c}"
                        ));
                    }
                }
                let producer = self
                    .stages
                    .get(stage)
                    .ok_or_else(|| format!("stage {stage} does not exist"))?;
                producer.outputs.get(output).ok_or_else(|| {
                    format!(
                        "stage {stage} ('{}') has no output {output} (it has {})",
                        producer.name,
                        producer.outputs.len()
                    )
                })
            }
        }
    }
}

fn mark(source: Source, inputs: &mut [bool], outputs: &mut [Vec<bool>]) {
    match source {
        Source::ModelInput(i) => inputs[i] = true,
        Source::Stage { stage, output } => outputs[stage][output] = true,
    }
}

fn describe(t: &TensorSpec) -> String {
    format!(
        "'{}' {} {:?}, {} bytes",
        t.name,
        t.dtype,
        t.shape,
        t.bytes.bytes()
    )
}

fn check_tensor(t: &TensorSpec) -> Result<(), SpecError> {
    if let Some(elem) = t.dtype.size_bytes() {
        let count: u64 = t.shape.iter().map(|&d| d as u64).product();
        if count * elem as u64 != t.bytes.bytes() {
            return Err(SpecError::BadSize {
                tensor: t.name.clone(),
                dtype: t.dtype,
                shape: t.shape.clone(),
                bytes: t.bytes,
            });
        }
    }
    Ok(())
}
