//! LOGISTIC and TANH for int8/uint8, and the byte-table kernel shared by every unary 8-bit op.
//!
//! TFLite's builtin LOGISTIC and TANH kernels (the `kGenericOptimized` registrations that the
//! builtin op resolver uses) precompute a 256-entry table with single-precision math
//! (`LUTPopulate`) and look values up; this module does the same (see [`crate::interp::math::lut`]).
//!
//! Every other unary 8-bit op in this family (RELU, LEAKY_RELU, HARD_SWISH, ...) is a pure function
//! of one input byte too, so its kernel evaluates TFLite's exact integer formula once per possible
//! input value at prepare time and runs as a [`ByteTableKernel`].

use super::checks::{same_len, single_io, unary_8bit, Quant8};
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
        let (input, output) = single_io(inputs, outputs)?;
        same_len(input, output, self.len)?;
        for (o, &i) in output.iter_mut().zip(input.iter()) {
            *o = self.table[i as usize];
        }
        Ok(())
    }
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
