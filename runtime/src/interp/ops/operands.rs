//! Operand checks shared by kernels: element counts and types, and the input, constant filter
//! and output every weighted layer (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) starts from.

use super::quant8::Q8;
use crate::interp::error::LoadError;
use crate::interp::kernel::{PrepareCtx, TensorInfo};

/// Checks two tensors have the same element count.
pub fn same_count(
    ctx: &PrepareCtx<'_>,
    a: &TensorInfo<'_>,
    b: &TensorInfo<'_>,
) -> Result<(), LoadError> {
    if a.num_elements() != b.num_elements() {
        return Err(ctx.invalid(format!(
            "'{}' has shape {:?} but '{}' has shape {:?}",
            a.name, a.shape, b.name, b.shape
        )));
    }
    Ok(())
}

/// The operands a weighted kernel (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) starts from:
/// input 0 and output 0, both 8-bit per-tensor quantized, and the constant filter (input 1) of
/// the input's type.
pub struct WeightedOperands<'c, 'a> {
    /// The data input (input 0).
    pub input: &'c TensorInfo<'a>,
    /// The filter (input 1).
    pub filter: &'c TensorInfo<'a>,
    /// Output 0.
    pub output: &'c TensorInfo<'a>,
    /// The input's quantization.
    pub qin: Q8,
    /// The output's quantization.
    pub qout: Q8,
    /// The filter's constant bytes.
    pub weights: &'a [u8],
}

impl<'c, 'a> WeightedOperands<'c, 'a> {
    /// Reads and checks the operands, refusing a filter whose type differs from the input's or
    /// that is not a constant.
    pub fn of(ctx: &'c PrepareCtx<'a>) -> Result<Self, LoadError> {
        let input = ctx.input(0)?;
        let filter = ctx.input(1)?;
        let output = ctx.output(0)?;
        let qin = Q8::of(ctx, input, "input")?;
        let qout = Q8::of(ctx, output, "output")?;
        if filter.dtype != qin.dtype() {
            return Err(ctx.unsupported(format!(
                "filter type {} with input type {} is not supported",
                filter.dtype, input.dtype
            )));
        }
        let weights = constant_filter(ctx, filter)?;
        Ok(WeightedOperands {
            input,
            filter,
            output,
            qin,
            qout,
            weights,
        })
    }
}

/// The bytes of a filter, which must be a constant tensor.
pub fn constant_filter<'a>(
    ctx: &PrepareCtx<'_>,
    filter: &TensorInfo<'a>,
) -> Result<&'a [u8], LoadError> {
    filter
        .data
        .ok_or_else(|| ctx.unsupported("the filter must be a constant tensor"))
}
