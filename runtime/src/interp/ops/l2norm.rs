//! L2_NORMALIZATION for int8 and uint8, over the last dimension.
//!
//! Per row, the sum of squared zero-point-relative inputs gives a fixed-point `1/sqrt` multiplier
//! (TFLite's `GetInvSqrtQuantizedMultiplierExp`); each input is then scaled to the fixed output
//! quantization (scale 1/128; zero point 0 for int8, 128 for uint8). int8 follows
//! `reference_integer_ops::L2Normalization` (`MultiplyByQuantizedMultiplier` with the output
//! shift folded in), uint8 follows `optimized_ops::L2Normalization`
//! (`MultiplyByQuantizedMultiplierSmallerThanOneExp` of `128 * diff`).

use super::checks::{for_each_row, single_io, unary_8bit};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::interp::math::multiplier::{
    get_inv_sqrt_quantized_multiplier_exp, multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_smaller_than_one_exp, QuantizedMultiplier,
};
use crate::schema::ActivationFunctionType;

struct L2NormKernel {
    signed: bool,
    input_zero_point: i32,
    rows: usize,
    depth: usize,
}

impl L2NormKernel {
    fn row(&self, input: &[u8], output: &mut [u8]) {
        let decode = |b: u8| {
            if self.signed {
                i32::from(b as i8)
            } else {
                i32::from(b)
            }
        };
        let mut acc: i32 = 0;
        for &b in input {
            let d = decode(b) - self.input_zero_point;
            acc = acc.wrapping_add(d * d);
        }
        let inv = get_inv_sqrt_quantized_multiplier_exp(acc, -1);
        for (o, &b) in output.iter_mut().zip(input) {
            let d = decode(b) - self.input_zero_point;
            *o = if self.signed {
                const OUTPUT_SCALE_SHIFT: i32 = 7;
                let m = QuantizedMultiplier {
                    multiplier: inv.multiplier,
                    shift: inv.shift + OUTPUT_SCALE_SHIFT,
                };
                multiply_by_quantized_multiplier(d, m).clamp(-128, 127) as i8 as u8
            } else {
                let rescaled = multiply_by_quantized_multiplier_smaller_than_one_exp(128 * d, inv);
                (128 + rescaled).clamp(0, 255) as u8
            };
        }
    }
}

impl Kernel for L2NormKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, output) = single_io(inputs, outputs)?;
        for_each_row(input, output, self.rows, self.depth, |i, o| self.row(i, o))
    }
}

/// Prepares L2_NORMALIZATION (int8/uint8, no fused activation).
pub fn prepare_l2norm(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(2)?;
    let (qin, qout, _) = unary_8bit(ctx)?;
    let input = ctx.input(0)?;
    if input.shape.is_empty() {
        return Err(ctx.invalid("input must have at least one dimension"));
    }
    if let Some(options) = ctx.op.raw().builtin_options_as_l2_norm_options() {
        let act = options.fused_activation_function();
        if act != ActivationFunctionType::NONE {
            return Err(ctx.unsupported(format!(
                "fused activation {act:?} is not supported (TFLite supports none)"
            )));
        }
    }
    let want_zp = if qin.dtype == ElementType::I8 { 0 } else { 128 };
    if f64::from(qout.scale) != 1.0 / 128.0 || qout.zero_point != want_zp {
        return Err(ctx.invalid(format!(
            "{} output must have scale 1/128 and zero point {want_zp}, found {} and {}",
            qout.dtype, qout.scale, qout.zero_point
        )));
    }
    let depth = *input.shape.last().expect("rank checked above");
    let rows = input.num_elements().checked_div(depth).unwrap_or(0);
    Ok(Box::new(L2NormKernel {
        signed: qin.dtype == ElementType::I8,
        input_zero_point: qin.zero_point,
        rows,
        depth,
    }))
}
