//! Which kernel prepares which builtin operator.
//!
//! One match arm per operator. Operators not listed are refused at load time.

use super::error::LoadError;
use super::kernel::{Kernel, PrepareCtx};
#[allow(unused_imports)]
use super::ops;
#[allow(unused_imports)]
use crate::schema::BuiltinOperator as B;

/// Prepares the kernel for the operator described by `ctx`.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let code = ctx
        .op
        .kind()
        .builtin()
        .ok_or_else(|| ctx.unsupported("custom operators are not supported by the CPU interpreter"))?;
    #[allow(clippy::match_single_binding)]
    match code {
        // -- core ops (conv, fully connected, pooling, elementwise arithmetic, quantize, reshape) --
        // -- activations and lookup-table ops --
        // -- data movement and shape ops --
        _ => Err(ctx.unsupported("this operator is not supported by the CPU interpreter")),
    }
}
