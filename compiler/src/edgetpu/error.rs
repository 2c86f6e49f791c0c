//! Why a segment could not be compiled for the Edge TPU, in words a user can act on.

use super::discovery::CompilerVersion;
use super::report::OpStatus;
use std::path::PathBuf;
use thiserror::Error;

/// Who gave up waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutBy {
    /// The compiler's own `--timeout_sec` timer ("Compilation timeout").
    Compiler,
    /// tpupipe's wall-clock limit (the child was killed).
    Driver,
}

/// An operator left on the CPU, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuOp {
    /// The operator (`DEQUANTIZE`, `CUSTOM(...)`).
    pub operator: String,
    /// The tensors it writes (to find it in the model).
    pub outputs: Vec<String>,
    /// Why it is not on the Edge TPU, from the operation log, when known.
    pub status: Option<OpStatus>,
}

impl std::fmt::Display for CpuOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} writing '{}'",
            self.operator,
            self.outputs.join("', '")
        )?;
        if let Some(s) = &self.status {
            write!(f, " ({s})")?;
        }
        Ok(())
    }
}

fn list(ops: &[CpuOp]) -> String {
    ops.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A failure of the Edge TPU compiler driver. Every variant about a segment names it
/// (`segment 2 (model_segment_2_of_4)`).
#[derive(Debug, Error)]
pub enum DriverError {
    /// No compiler on this machine.
    #[error("edgetpu_compiler not found ({searched}); install the Edge TPU Compiler (Debian package `edgetpu-compiler` from Coral's apt repository, x86-64 Linux only) or set TPUPIPE_EDGETPU_COMPILER to its path; builds without it (offline, ARM hosts) use the compiled-segment cache instead")]
    NotFound {
        /// Where it was looked for.
        searched: String,
    },
    /// The compiler could not be started or did not tell its version.
    #[error("'{}' did not report a version with --version: {reason}", path.display())]
    Version {
        /// The compiler path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The found compiler is too old for an option that was asked for.
    #[error("{option} needs edgetpu_compiler {since} or newer, but '{}' is version {version}; upgrade the compiler or drop the option", path.display())]
    Unsupported {
        /// The compiler path.
        path: PathBuf,
        /// Its version.
        version: CompilerVersion,
        /// The option.
        option: &'static str,
        /// The first version with it.
        since: &'static str,
    },
    /// The job cannot be compiled as given.
    #[error("{segment}: {reason}")]
    InvalidJob {
        /// The segment.
        segment: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The runtime version asked for is newer than the compiler can target.
    #[error("--min_runtime_version {asked} is newer than edgetpu_compiler {version} ('{}') can target (at most {max}); upgrade the compiler (16.0 targets runtime 14) or ask for an older runtime", path.display())]
    RuntimeTooNew {
        /// The compiler path.
        path: PathBuf,
        /// Its version.
        version: CompilerVersion,
        /// The runtime version asked for.
        asked: u32,
        /// The newest it targets.
        max: u32,
    },
    /// A local file operation failed.
    #[error("{segment}: could not {what}: {source}")]
    Io {
        /// The segment.
        segment: String,
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The compiler could not be started.
    #[error("{segment}: could not run '{}': {source}", path.display())]
    Spawn {
        /// The segment.
        segment: String,
        /// The compiler path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The segment is not quantized.
    #[error("{segment}: edgetpu_compiler says the model is not quantized; the Edge TPU needs full-integer (int8/uint8) models: convert with post-training full-integer quantization")]
    NotQuantized {
        /// The segment.
        segment: String,
    },
    /// An op version newer than the compiler's TFLite.
    #[error("{segment}: edgetpu_compiler does not know {op} version {version} (its TFLite is older than the converter's); convert the model with an older TFLite op set (an older TensorFlow converter) so {op} is written with an older version")]
    OpVersionTooNew {
        /// The segment.
        segment: String,
        /// The builtin.
        op: String,
        /// Its version.
        version: u32,
    },
    /// The compiler refused the file.
    #[error("{segment}: edgetpu_compiler refused the model as invalid: {detail}")]
    InvalidModel {
        /// The segment.
        segment: String,
        /// The compiler's reason.
        detail: String,
    },
    /// Dynamic tensor sizes.
    #[error("{segment}: the model has dynamic-sized tensors; the Edge TPU needs static shapes (convert with a fixed batch size and input size)")]
    DynamicShapes {
        /// The segment.
        segment: String,
    },
    /// Activations too large for the Edge TPU.
    #[error("{segment}: compilation failed due to large activation tensors; cut the model into more or different segments (the activations crossing the Edge TPU are too large), or lower the input resolution")]
    LargeActivations {
        /// The segment.
        segment: String,
    },
    /// Operators stayed on the CPU where the options require the whole segment on the TPU.
    #[error("{segment}: {} operator(s) are not supported by the Edge TPU and would run on the CPU: {}", ops.len(), list(ops))]
    UnsupportedOps {
        /// The segment.
        segment: String,
        /// The operators left on the CPU.
        ops: Vec<CpuOp>,
    },
    /// Nothing of the segment was mapped.
    #[error("{segment}: no operator was mapped to the Edge TPU (the output has no edgetpu-custom-op); the segment would run entirely on the CPU")]
    NothingMapped {
        /// The segment.
        segment: String,
    },
    /// A timeout.
    #[error("{segment}: edgetpu_compiler did not finish within {seconds} s ({}); this is usually caused by large activations: cut the model into more segments, or raise the timeout", match by { TimeoutBy::Compiler => "the compiler's own timeout", TimeoutBy::Driver => "killed by tpupipe" })]
    Timeout {
        /// The segment.
        segment: String,
        /// The limit.
        seconds: u64,
        /// Whose limit.
        by: TimeoutBy,
    },
    /// The compiler crashed.
    #[error("{segment}: edgetpu_compiler crashed ({cause}); this is a compiler bug: try other cut points (e.g. a different number of segments)")]
    Crashed {
        /// The segment.
        segment: String,
        /// The signal or exception.
        cause: String,
    },
    /// "Internal compiler error", also on the retry.
    #[error("{segment}: edgetpu_compiler reported an internal compiler error {attempts} time(s); try other cut points or another compiler version")]
    InternalError {
        /// The segment.
        segment: String,
        /// How many runs failed so.
        attempts: u32,
    },
    /// Another failure.
    #[error("{segment}: edgetpu_compiler failed (exit status {status}): {reason}")]
    CompileFailed {
        /// The segment.
        segment: String,
        /// The exit status.
        status: i32,
        /// The compiler's last message.
        reason: String,
    },
    /// Success reported, but no output file.
    #[error("{segment}: edgetpu_compiler reported success but wrote no '{}'", path.display())]
    OutputMissing {
        /// The segment.
        segment: String,
        /// The expected file.
        path: PathBuf,
    },
    /// The output file is not what a compile must produce.
    #[error("{segment}: the compiled model is not usable: {detail}")]
    BadOutput {
        /// The segment.
        segment: String,
        /// What is wrong.
        detail: String,
    },
    /// The compiler's stdout or log could not be read.
    #[error("{segment}: could not read edgetpu_compiler's report: {detail}")]
    Report {
        /// The segment.
        segment: String,
        /// What is wrong.
        detail: String,
    },
}
