//! LOGISTIC and TANH for int8/uint8, and the byte-table kernel shared by every unary 8-bit op.
//!
//! TFLite's builtin LOGISTIC and TANH kernels (the `kGenericOptimized` registrations that the
//! builtin op resolver uses) precompute a 256-entry table with single-precision math
//! (`LUTPopulate`) and look values up; this module does the same (see [`crate::interp::math::lut`]).
//!
//! Every other unary 8-bit op in this family (RELU, LEAKY_RELU, HARD_SWISH, ...) is a pure function
//! of one input byte too, so its kernel evaluates TFLite's exact integer formula once per possible
//! input value at prepare time and runs as a [`ByteTableKernel`].

use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::interp::math::lut::{self, Byte, ByteTable};

/// A unary 8-bit op reduced to a lookup table indexed by the input byte.
pub struct ByteTableKernel {
    table: ByteTable,
    len: usize,
}

impl ByteTableKernel {
    /// A kernel mapping `len` input bytes through `table`.
    pub fn new(table: ByteTable, len: usize) -> Self {
        ByteTableKernel { table, len }
    }
}

impl Kernel for ByteTableKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| EvalError("missing input tensor".into()))?;
        let output = outputs
            .first_mut()
            .ok_or_else(|| EvalError("missing output tensor".into()))?;
        if input.len() != self.len || output.len() != self.len {
            return Err(EvalError(format!(
                "expected {} input and output bytes, got {} and {}",
                self.len,
                input.len(),
                output.len()
            )));
        }
        for (o, &i) in output.iter_mut().zip(input.iter()) {
            *o = self.table[i as usize];
        }
        Ok(())
    }
}

/// The quantization of an 8-bit tensor: its type, scale and zero point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quant8 {
    /// `I8` or `U8`.
    pub dtype: ElementType,
    /// The per-tensor scale.
    pub scale: f32,
    /// The zero point.
    pub zero_point: i32,
}

/// Checks a unary op: one input, one output, same 8-bit type, same element count, per-tensor
/// quantization on both. Returns the input and output quantization and the element count.
pub fn unary_8bit(ctx: &PrepareCtx<'_>) -> Result<(Quant8, Quant8, usize), LoadError> {
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid(format!(
            "expected 1 input and 1 output, found {} and {}",
            ctx.inputs.len(),
            ctx.outputs.len()
        )));
    }
    if !input.dtype.is_8bit() {
        return Err(ctx.unsupported(format!(
            "input type {} is not supported (only int8 and uint8)",
            input.dtype
        )));
    }
    if output.dtype != input.dtype {
        return Err(ctx.invalid(format!(
            "output type {} differs from input type {}",
            output.dtype, input.dtype
        )));
    }
    if input.shape != output.shape {
        return Err(ctx.invalid(format!(
            "output shape {:?} differs from input shape {:?}",
            output.shape, input.shape
        )));
    }
    let qin = quant8(ctx, input)?;
    let qout = quant8(ctx, output)?;
    Ok((qin, qout, input.num_elements()))
}

/// The per-tensor quantization of an 8-bit tensor, or a clear refusal.
pub fn quant8(
    ctx: &PrepareCtx<'_>,
    t: &crate::interp::kernel::TensorInfo<'_>,
) -> Result<Quant8, LoadError> {
    let Some((scale, zero_point)) = t.scale_zp() else {
        return Err(ctx.unsupported(format!(
            "tensor '{}' ({}) must have per-tensor quantization parameters",
            t.name, t.dtype
        )));
    };
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ctx.invalid(format!("tensor '{}' has an invalid scale {scale}", t.name)));
    }
    let (lo, hi) = match t.dtype {
        ElementType::I8 => (-128, 127),
        _ => (0, 255),
    };
    if !(lo..=hi).contains(&zero_point) {
        return Err(ctx.invalid(format!(
            "tensor '{}' has zero point {zero_point} outside the {} range",
            t.name, t.dtype
        )));
    }
    Ok(Quant8 {
        dtype: t.dtype,
        scale,
        zero_point,
    })
}

/// Builds a byte table for `dtype` from a function of the (integer) input value.
pub fn table_for(dtype: ElementType, f: impl FnMut(i32) -> i32) -> ByteTable {
    match dtype {
        ElementType::I8 => lut::table_from_fn::<i8>(f),
        _ => lut::table_from_fn::<u8>(f),
    }
}

fn populate(qin: Quant8, qout: Quant8, transform: fn(f32) -> f32) -> ByteTable {
    fn go<T: Byte>(qin: Quant8, qout: Quant8, transform: fn(f32) -> f32) -> ByteTable {
        lut::lut_populate::<T>(
            qin.scale,
            qin.zero_point,
            qout.scale,
            qout.zero_point,
            transform,
        )
    }
    match qin.dtype {
        ElementType::I8 => go::<i8>(qin, qout, transform),
        _ => go::<u8>(qin, qout, transform),
    }
}

/// Prepares LOGISTIC (int8/uint8): the output scale must be exactly 1/256, as TFLite requires.
pub fn prepare_logistic(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    let (qin, qout, len) = unary_8bit(ctx)?;
    if f64::from(qout.scale) != 1.0 / 256.0 {
        return Err(ctx.invalid(format!(
            "output scale must be 1/256 for {} LOGISTIC, found {}",
            qout.dtype, qout.scale
        )));
    }
    Ok(Box::new(ByteTableKernel::new(
        populate(qin, qout, lut::logistic_f32),
        len,
    )))
}

/// Prepares TANH (int8/uint8): any output quantization (TFLite's table honours it).
pub fn prepare_tanh(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    let (qin, qout, len) = unary_8bit(ctx)?;
    Ok(Box::new(ByteTableKernel::new(
        populate(qin, qout, lut::tanh_f32),
        len,
    )))
}
