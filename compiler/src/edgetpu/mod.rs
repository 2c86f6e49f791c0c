//! Driving `edgetpu_compiler` on planned segments.
//!
//! - [`discovery`]: finding the compiler (`TPUPIPE_EDGETPU_COMPILER`, then `PATH`) and what its
//!   version can do.
//! - [`invoke`]: one temporary directory per segment, the arguments, parallel runs bounded by
//!   the cores, one retry after an internal compiler error, a wall-clock timeout of our own.
//! - [`report`]: the typed [`CompileReport`] from the compiler's stdout and operation log.
//! - [`diagnose`]: the error for a failed run.
//! - [`verify`]: the compiled model is a TFLite file with the Edge TPU custom op and the
//!   segment's inputs and outputs.
//! - [`error`]: [`DriverError`], one variant per cause, each naming the segment.
//!
//! ```no_run
//! use tpupipe_compiler::edgetpu::{CompileOptions, Compiler, SegmentJob};
//! let compiler = Compiler::discover()?;
//! let jobs = vec![SegmentJob { index: 0, stem: "m_segment_0_of_1".into(), model: std::fs::read("m.tflite")? }];
//! for result in compiler.compile_segments(&jobs, &CompileOptions::default()) {
//!     let compiled = result?;
//!     for w in &compiled.report.warnings {
//!         eprintln!("warning: {w}");
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod diagnose;
pub mod discovery;
pub mod error;
pub mod invoke;
pub mod report;
pub mod verify;

pub use discovery::{Compiler, CompilerVersion, COMPILER_ENV};
pub use error::{CpuOp, DriverError, TimeoutBy};
pub use invoke::{CompileOptions, SegmentJob};
pub use report::{CompileReport, OpStatus, OperationRow};

/// One compiled segment.
#[derive(Debug, Clone)]
pub struct CompiledSegment {
    /// The segment's index (as in its [`SegmentJob`]).
    pub index: usize,
    /// The parsed figures and warnings.
    pub report: CompileReport,
    /// The `<stem>_edgetpu.tflite` bytes.
    pub edgetpu_model: Vec<u8>,
    /// The operation log's text.
    pub log: String,
    /// The compiler's stdout.
    pub stdout: String,
}
