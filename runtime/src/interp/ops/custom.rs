//! Which kernel prepares which custom operator, by its custom code.
//!
//! Custom operators not listed are refused at load time, naming the code.

use super::detection;
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx};

/// Prepares the kernel of the custom operator `code`.
pub fn prepare(ctx: &PrepareCtx<'_>, code: &str) -> Result<Box<dyn Kernel>, LoadError> {
    match code {
        detection::CUSTOM_CODE => detection::prepare(ctx),
        _ => Err(ctx.unsupported(format!(
            "custom operator '{code}' is not supported by the CPU interpreter (it supports {})",
            detection::CUSTOM_CODE
        ))),
    }
}
