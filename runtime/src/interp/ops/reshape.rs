//! RESHAPE, SQUEEZE and EXPAND_DIMS: the output shape is static, so these copy bytes.

use super::operands::same_count;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};

struct Copy;

/// Prepares RESHAPE, SQUEEZE or EXPAND_DIMS (the shape operand, if any, is not needed: the
/// output's declared shape is used).
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(2)?;
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    same_count(ctx, input, output)?;
    if input.dtype != output.dtype {
        return Err(ctx.invalid(format!(
            "input type {} differs from output type {}",
            input.dtype, output.dtype
        )));
    }
    if input.dtype.size_bytes().is_none() {
        return Err(ctx.unsupported(format!("type {} is not supported", input.dtype)));
    }
    Ok(Box::new(Copy))
}

impl Kernel for Copy {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        outputs[0].copy_from_slice(input);
        Ok(())
    }
}
