//! SOFTMAX for int8 -> int8 and uint8 -> uint8, over the last dimension.
//!
//! TFLite's builtin SOFTMAX kernel (`kGenericOptimized`) on x86-64 handles 8-bit inputs with a
//! single-precision `exp` table (`PopulateSoftmaxLookupTable`, see
//! [`crate::interp::math::lut::softmax_exp_table`]) and `optimized_ops::Softmax`: per row, the
//! table entries of every element are summed in order in `f32`, each entry is multiplied by
//! `1 / (sum * output_scale)`, and the result is rounded (half away from zero for int8; `+0.5` and
//! truncation for uint8) and offset by the output zero point. (The 16-bit-table variant
//! `SoftmaxInt8LUT` is only compiled for aarch64 with clang.)

use super::checks::{for_each_row, single_io, unary_8bit};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::interp::math::lut::softmax_exp_table;

struct SoftmaxKernel {
    signed: bool,
    table: [f32; 256],
    output_scale: f32,
    output_zero_point: i32,
    rows: usize,
    depth: usize,
}

impl SoftmaxKernel {
    fn row(&self, input: &[u8], output: &mut [u8]) {
        let decode = |b: u8| {
            if self.signed {
                i32::from(b as i8)
            } else {
                i32::from(b)
            }
        };
        let max = input.iter().map(|&b| decode(b)).max().unwrap_or(0);
        // table[255 - (max - x)] = exp(-scale * beta * (max - x)).
        let entry = |b: u8| self.table[(255 - (max - decode(b))) as usize];
        let mut sum = 0.0f32;
        for &b in input {
            sum += entry(b);
        }
        let inv_sum = 1.0f32 / (sum * self.output_scale);
        let (lo, hi) = if self.signed { (-128, 127) } else { (0, 255) };
        for (o, &b) in output.iter_mut().zip(input) {
            let prob = entry(b) * inv_sum;
            let q = if self.signed {
                prob.round() as i32 + self.output_zero_point
            } else {
                // The non-aarch64 uint8 specialization: add one half and truncate.
                (prob + 0.5f32) as i32
            };
            *o = q.clamp(lo, hi) as u8;
        }
    }
}

impl Kernel for SoftmaxKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, output) = single_io(inputs, outputs)?;
        for_each_row(input, output, self.rows, self.depth, |i, o| self.row(i, o))
    }
}

/// Prepares SOFTMAX (8-bit input and output of the same type).
pub fn prepare_softmax(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    if ctx.inputs.len() == 1 && ctx.outputs.len() == 1 {
        let (input, output) = (ctx.input(0)?, ctx.output(0)?);
        if input.dtype.is_8bit() && output.dtype != input.dtype {
            // Refused as unsupported, not invalid: TFLite also has e.g. int8 -> int16 SOFTMAX.
            return Err(ctx.unsupported(format!(
                "{} input with {} output is not supported (only matching 8-bit types)",
                input.dtype, output.dtype
            )));
        }
    }
    let (qin, qout, _) = unary_8bit(ctx)?;
    let input = ctx.input(0)?;
    if input.shape.is_empty() {
        return Err(ctx.invalid("input must have at least one dimension"));
    }
    if input.dtype == ElementType::I8 {
        // TF_LITE_ENSURE_EQ(zero_point, -128) and TF_LITE_ENSURE_NEAR(scale, 1/256, 0.001/256).
        if qout.zero_point != -128 {
            return Err(ctx.invalid(format!(
                "int8 output zero point must be -128, found {}",
                qout.zero_point
            )));
        }
        if (qout.scale - 1.0 / 256.0).abs() > 0.001 * (1.0 / 256.0) {
            return Err(ctx.invalid(format!(
                "int8 output scale must be 1/256, found {}",
                qout.scale
            )));
        }
    }
    let beta = ctx
        .op
        .raw()
        .builtin_options_as_softmax_options()
        .map_or(0.0, |o| o.beta());
    if !beta.is_finite() {
        return Err(ctx.invalid(format!("beta {beta} is not finite")));
    }
    let depth = *input.shape.last().expect("rank checked above");
    let rows = input.num_elements().checked_div(depth).unwrap_or(0);
    Ok(Box::new(SoftmaxKernel {
        signed: input.dtype == ElementType::I8,
        table: softmax_exp_table(qin.scale, beta),
        output_scale: qout.scale,
        output_zero_point: qout.zero_point,
        rows,
        depth,
    }))
}
