//! MAXIMUM and MINIMUM for int8 and uint8, with numpy-style broadcasting.
//!
//! Like TFLite's builtin kernels, the comparison is on the raw quantized values: the converter
//! gives both inputs and the output the same quantization, and TFLite does not requantize.

use super::checks::first_output;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::interp::math::broadcast::Broadcast;

struct MinMaxKernel {
    maximum: bool,
    signed: bool,
    broadcast: Broadcast,
    a_len: usize,
    b_len: usize,
}

impl Kernel for MinMaxKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (Some(Some(a)), Some(Some(b))) = (inputs.first(), inputs.get(1)) else {
            return Err(EvalError("two input tensors are required".into()));
        };
        let output = first_output(outputs)?;
        let n = self.broadcast.out_len();
        if a.len() != self.a_len || b.len() != self.b_len || output.len() != n {
            return Err(EvalError(format!(
                "expected {}, {} and {n} bytes, got {}, {} and {}",
                self.a_len,
                self.b_len,
                a.len(),
                b.len(),
                output.len()
            )));
        }
        // Order the bytes as the values they encode (flip the sign bit for int8).
        let key = if self.signed { 0x80u8 } else { 0 };
        let pick = |x: u8, y: u8| {
            let greater = (x ^ key) > (y ^ key);
            if greater == self.maximum {
                x
            } else {
                y
            }
        };
        if self.broadcast.is_elementwise() {
            for ((o, &x), &y) in output.iter_mut().zip(a.iter()).zip(b.iter()) {
                *o = pick(x, y);
            }
        } else {
            self.broadcast
                .for_each(|o, i, j| output[o] = pick(a[i], b[j]));
        }
        Ok(())
    }
}

fn prepare(ctx: &PrepareCtx<'_>, maximum: bool) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid(format!(
            "expected 2 inputs and 1 output, found {} and {}",
            ctx.inputs.len(),
            ctx.outputs.len()
        )));
    }
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    if !a.dtype.is_8bit() {
        return Err(ctx.unsupported(format!(
            "input type {} is not supported (only int8 and uint8)",
            a.dtype
        )));
    }
    if b.dtype != a.dtype || out.dtype != a.dtype {
        return Err(ctx.invalid(format!(
            "input and output types must match, found {}, {} and {}",
            a.dtype, b.dtype, out.dtype
        )));
    }
    let broadcast = Broadcast::new(&a.shape, &b.shape).map_err(|e| ctx.invalid(e.0))?;
    if broadcast.out_shape() != out.shape.as_slice() {
        return Err(ctx.invalid(format!(
            "output shape {:?} is not the broadcast shape {:?}",
            out.shape,
            broadcast.out_shape()
        )));
    }
    Ok(Box::new(MinMaxKernel {
        maximum,
        signed: a.dtype == ElementType::I8,
        a_len: a.num_elements(),
        b_len: b.num_elements(),
        broadcast,
    }))
}

/// Prepares MAXIMUM.
pub fn prepare_maximum(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare(ctx, true)
}

/// Prepares MINIMUM.
pub fn prepare_minimum(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare(ctx, false)
}
