//! Building a [`PipelineSpec`] from stages that declare their boundary tensors by name, as
//! segment files do (the CPU backend's segments, Edge TPU-compiled segments, a plan's segment
//! I/O lists).
//!
//! Each stage input is the output of the latest earlier stage that writes a tensor of that name,
//! or else a model input. Model inputs and outputs can be named explicitly (in the order the
//! caller wants them); otherwise the inputs are the names no earlier stage writes, in order of
//! first use, and the outputs are the stage outputs no later stage reads, in stage order. A named
//! model output may also be a model input (forwarded from the host).

use super::spec::{OutputSpec, PipelineSpec, Source, StageInput, StageSpec, TensorSpec};
use std::collections::HashMap;
use thiserror::Error;

/// One stage as its boundary tensors name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedStage {
    /// The stage's name (a segment file name, say).
    pub name: String,
    /// The tensors it reads, in its executor's input order.
    pub inputs: Vec<TensorSpec>,
    /// The tensors it writes, in its executor's output order.
    pub outputs: Vec<TensorSpec>,
    /// Copies of the stage running side by side.
    pub replicas: usize,
}

/// Why stages could not be joined by name.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MatchError {
    /// No stage was given.
    #[error("no segments given")]
    NoStages,
    /// A stage reads a tensor that is neither a named model input nor written earlier.
    #[error("segment {stage} ('{name}') reads '{tensor}', which no earlier segment writes and which is not a model input")]
    MissingSource {
        /// The stage's position.
        stage: usize,
        /// Its name.
        name: String,
        /// The tensor.
        tensor: String,
    },
    /// A named model input is read by no stage.
    #[error("model input '{0}' is read by no segment")]
    UnknownInput(String),
    /// A named model output is written by no stage and is no model input.
    #[error("model output '{0}' is written by no segment and is no model input")]
    UnknownOutput(String),
}

/// Joins `stages` by tensor name into a spec (see the module docs). The result still has to
/// pass [`PipelineSpec::validate`] (which [`Pipeline::new`](super::Pipeline::new) runs): sizes
/// and types are checked there.
pub fn spec_by_name(
    stages: Vec<NamedStage>,
    model_inputs: Option<&[String]>,
    model_outputs: Option<&[String]>,
) -> Result<PipelineSpec, MatchError> {
    if stages.is_empty() {
        return Err(MatchError::NoStages);
    }
    // Names read before any stage writes them, in order of first use.
    let mut written: HashMap<&str, ()> = HashMap::new();
    let mut first_use: Vec<&TensorSpec> = Vec::new();
    for stage in &stages {
        for t in &stage.inputs {
            if !written.contains_key(t.name.as_str()) && !first_use.iter().any(|u| u.name == t.name)
            {
                first_use.push(t);
            }
        }
        for t in &stage.outputs {
            written.insert(t.name.as_str(), ());
        }
    }
    let inputs: Vec<TensorSpec> = match model_inputs {
        Some(names) => names
            .iter()
            .map(|name| {
                first_use
                    .iter()
                    .find(|t| &t.name == name)
                    .map(|t| (*t).clone())
                    .ok_or_else(|| MatchError::UnknownInput(name.clone()))
            })
            .collect::<Result<_, _>>()?,
        None => first_use.iter().map(|t| (*t).clone()).collect(),
    };

    let mut produced: HashMap<&str, Source> = HashMap::new();
    let mut specs = Vec::with_capacity(stages.len());
    for (s, stage) in stages.iter().enumerate() {
        let mut stage_inputs = Vec::with_capacity(stage.inputs.len());
        for t in &stage.inputs {
            let source = match produced.get(t.name.as_str()) {
                Some(&src) => src,
                None => match inputs.iter().position(|i| i.name == t.name) {
                    Some(i) => Source::ModelInput(i),
                    None => {
                        return Err(MatchError::MissingSource {
                            stage: s,
                            name: stage.name.clone(),
                            tensor: t.name.clone(),
                        })
                    }
                },
            };
            stage_inputs.push(StageInput {
                source,
                tensor: t.clone(),
            });
        }
        for (k, t) in stage.outputs.iter().enumerate() {
            produced.insert(
                t.name.as_str(),
                Source::Stage {
                    stage: s,
                    output: k,
                },
            );
        }
        specs.push(StageSpec {
            name: stage.name.clone(),
            inputs: stage_inputs,
            outputs: stage.outputs.clone(),
            replicas: stage.replicas,
        });
    }

    let outputs = match model_outputs {
        Some(names) => names
            .iter()
            .map(|name| {
                let source = produced
                    .get(name.as_str())
                    .copied()
                    .or_else(|| {
                        inputs
                            .iter()
                            .position(|t| &t.name == name)
                            .map(Source::ModelInput)
                    })
                    .ok_or_else(|| MatchError::UnknownOutput(name.clone()))?;
                Ok(OutputSpec {
                    name: name.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, MatchError>>()?,
        None => {
            let mut outs = Vec::new();
            for (s, stage) in stages.iter().enumerate() {
                for (k, t) in stage.outputs.iter().enumerate() {
                    let read_later = stages[s + 1..]
                        .iter()
                        .any(|later| later.inputs.iter().any(|i| i.name == t.name));
                    if !read_later {
                        outs.push(OutputSpec {
                            name: t.name.clone(),
                            source: Source::Stage {
                                stage: s,
                                output: k,
                            },
                        });
                    }
                }
            }
            outs
        }
    };
    Ok(PipelineSpec {
        inputs,
        outputs,
        stages: specs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ElementType;

    fn t(name: &str) -> TensorSpec {
        TensorSpec::new(name, ElementType::I8, vec![4]).unwrap()
    }

    fn stage(name: &str, inputs: &[&str], outputs: &[&str]) -> NamedStage {
        NamedStage {
            name: name.into(),
            inputs: inputs.iter().map(|n| t(n)).collect(),
            outputs: outputs.iter().map(|n| t(n)).collect(),
            replicas: 1,
        }
    }

    #[test]
    fn skip_connections_and_default_io() {
        let spec = spec_by_name(
            vec![
                stage("s0", &["x"], &["a"]),
                stage("s1", &["a"], &["b"]),
                stage("s2", &["b", "a", "x"], &["c"]),
            ],
            None,
            None,
        )
        .unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.inputs, vec![t("x")]);
        let sources: Vec<Source> = spec.stages[2].inputs.iter().map(|i| i.source).collect();
        assert_eq!(
            sources,
            vec![
                Source::Stage {
                    stage: 1,
                    output: 0
                },
                Source::Stage {
                    stage: 0,
                    output: 0
                },
                Source::ModelInput(0)
            ]
        );
        assert_eq!(spec.outputs.len(), 1);
        assert_eq!(spec.outputs[0].name, "c");
    }

    #[test]
    fn named_io_with_an_early_and_a_forwarded_output() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let spec = spec_by_name(
            vec![
                stage("s0", &["y", "x"], &["a"]),
                stage("s1", &["a"], &["b"]),
            ],
            Some(&names(&["x", "y"])),
            Some(&names(&["b", "a", "y"])),
        )
        .unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.stages[0].inputs[0].source, Source::ModelInput(1));
        assert_eq!(
            spec.outputs[1].source,
            Source::Stage {
                stage: 0,
                output: 0
            }
        );
        assert_eq!(spec.outputs[2].source, Source::ModelInput(1));
    }

    #[test]
    fn mismatches_are_named() {
        let e = spec_by_name(
            vec![stage("s0", &["a"], &["b"]), stage("s1", &["q"], &["c"])],
            Some(&["a".to_string()]),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(e, MatchError::MissingSource { stage: 1, ref tensor, .. } if tensor == "q")
        );
        let e =
            spec_by_name(vec![stage("s0", &["a"], &["b"])], None, Some(&["z".into()])).unwrap_err();
        assert_eq!(e, MatchError::UnknownOutput("z".into()));
        let e =
            spec_by_name(vec![stage("s0", &["a"], &["b"])], Some(&["z".into()]), None).unwrap_err();
        assert_eq!(e, MatchError::UnknownInput("z".into()));
        assert_eq!(spec_by_name(vec![], None, None), Err(MatchError::NoStages));
    }
}
