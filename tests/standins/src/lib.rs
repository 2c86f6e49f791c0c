//! # tpupipe-standins
//!
//! Stand-ins for closed tools tpupipe drives, for tests on machines that cannot have them.
//!
//! The binary `edgetpu_compiler` follows the real Edge TPU Compiler's contract point by point
//! (`../shared/docs/edgetpu-compiler-facts.md`): its flags ([`flags`]), its stdout and log
//! formats ([`text`]), which operators map and how they are grouped ([`mapping`]), the compiled
//! model it writes ([`rewrite`], [`options`], [`package`]), and its failure modes, triggered by
//! the input or injected for tests ([`faults`], played by [`play`]). [`app`] ties them into one
//! run; [`console`] prints.
//!
//! It does not compile anything for a real Edge TPU. Each custom op carries, under a private
//! custom option key ([`options::SEGMENT_KEY`]), a standalone `.tflite` of exactly the operators
//! it replaces, which the stand-in libedgetpu executes on the CPU.
//!
//! Environment: `TPUPIPE_STANDIN_VERSION` (the version to play, [`version`]),
//! `TPUPIPE_STANDIN_FAIL`, `TPUPIPE_STANDIN_FAIL_ONLY`, `TPUPIPE_STANDIN_STATE_DIR`,
//! `TPUPIPE_STANDIN_MAX_MAPPED_OPS` ([`faults`]).

#![warn(missing_docs)]

pub mod app;
pub mod compile;
pub mod console;
pub mod faults;
pub mod flags;
pub mod limits;
pub mod mapping;
pub mod options;
pub mod package;
pub mod play;
pub mod rewrite;
pub mod text;
pub mod version;
