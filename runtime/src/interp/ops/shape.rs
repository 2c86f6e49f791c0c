//! SHAPE: the input's (static) shape as an int32 or int64 vector.
//!
//! Shapes are fixed at load time, so the output bytes are computed once at prepare. A model with a
//! dynamic batch runs with its declared shape (batch 1), exactly as the TFLite interpreter does
//! before any resize.

use super::movement::require_shape;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};

struct ShapeKernel {
    bytes: Vec<u8>,
}

impl Kernel for ShapeKernel {
    fn eval(
        &mut self,
        _inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let out = outputs
            .get_mut(0)
            .ok_or_else(|| EvalError("SHAPE has no output buffer".into()))?;
        if out.len() != self.bytes.len() {
            return Err(EvalError(format!(
                "output buffer holds {} bytes, SHAPE writes {}",
                out.len(),
                self.bytes.len()
            )));
        }
        out.copy_from_slice(&self.bytes);
        Ok(())
    }
}

/// Prepares SHAPE.
pub fn prepare_shape(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(1)?;
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("SHAPE takes one input and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    if let Some(opts) = ctx.op.raw().builtin_options_as_shape_options() {
        let declared = ElementType::from_schema(opts.out_type());
        if declared != output.dtype {
            return Err(ctx.invalid(format!(
                "out_type is {declared} but the output tensor is {}",
                output.dtype
            )));
        }
    }
    if !matches!(output.dtype, ElementType::I32 | ElementType::I64) {
        return Err(ctx.invalid(format!(
            "SHAPE output must be int32 or int64, found {}",
            output.dtype
        )));
    }
    require_shape(ctx, output, &[input.shape.len()])?;
    let mut bytes = Vec::new();
    for &d in &input.shape {
        match output.dtype {
            ElementType::I32 => {
                let v = i32::try_from(d)
                    .map_err(|_| ctx.invalid(format!("dimension {d} does not fit in int32")))?;
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            _ => bytes.extend_from_slice(&(d as i64).to_le_bytes()),
        }
    }
    Ok(Box::new(ShapeKernel { bytes }))
}
