//! Why code could not be generated, and which argument of the macro is at fault.

use crate::planner::context::PlanningError;
use std::path::PathBuf;
use thiserror::Error;

/// Why [`expand`](super::expand) or [`Builder::generate`](crate::Builder::generate) failed.
#[derive(Debug, Error)]
pub enum CodegenError {
    /// Loading, planning or splitting the model failed.
    #[error(transparent)]
    Compiler(#[from] crate::Error),
    /// The Edge TPU backend's compiled segments could not be had: the compiler failed, or it is
    /// absent (or forbidden offline) and the artifact cache holds no build of this model.
    #[error("backend \"edgetpu\": the segments could not be compiled or found in the cache")]
    Compile(#[source] crate::compile::CompileError),
    /// The profile could not be read for the artifact key.
    #[error("cannot read profile {}", path.display())]
    ReadProfile {
        /// The profile.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The artifact directory could not be written or read.
    #[error("artifact directory: cannot use {}", path.display())]
    Artifacts {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The artifact manifest does not describe the files.
    #[error("artifact manifest {}: {why}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The stored plan does not parse.
    #[error("artifact plan {} does not parse", path.display())]
    PlanJson {
        /// The plan file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The plan does not describe the model.
    #[error("the plan does not match the model: {why}")]
    PlanMismatch {
        /// What differs.
        why: String,
    },
    /// `generate` ran outside a build script (no `OUT_DIR`).
    #[error("OUT_DIR is not set: Builder::generate runs in a build script (build.rs)")]
    NoOutDir,
    /// The generated file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// What a [`CodegenError`] is about, so the macro can point at the argument at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// The model file or its contents.
    Model,
    /// The TPU count (or the cuts).
    Tpus,
    /// The strategy.
    Strategy,
    /// The profile.
    Profile,
    /// The backend.
    Backend,
    /// Nothing the arguments say (the file system, the environment).
    Environment,
}

impl CodegenError {
    /// The argument at fault.
    pub fn culprit(&self) -> Culprit {
        use crate::Error as E;
        match self {
            CodegenError::Compiler(e) => match e {
                E::Plan(_) | E::Planning(PlanningError::Plan(_)) => Culprit::Tpus,
                E::Planning(_) => Culprit::Strategy,
                E::Profile(_) => Culprit::Profile,
                E::NoOutputDir | E::CreateDir { .. } | E::Write { .. } => Culprit::Environment,
                _ => Culprit::Model,
            },
            CodegenError::Compile(_) => Culprit::Backend,
            CodegenError::ReadProfile { .. } => Culprit::Profile,
            CodegenError::PlanMismatch { .. } => Culprit::Model,
            CodegenError::Artifacts { .. }
            | CodegenError::Manifest { .. }
            | CodegenError::PlanJson { .. }
            | CodegenError::NoOutDir
            | CodegenError::Write { .. } => Culprit::Environment,
        }
    }

    /// The message with every cause, `: `-separated (one line for a `compile_error!`).
    pub fn full_message(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.ends_with(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        text
    }
}
