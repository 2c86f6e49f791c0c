//! RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH and PRELU for int8/uint8.
//!
//! The unary ops follow TFLite's builtin kernels exactly (`ReluX` requantization with clamping,
//! `QuantizeLeakyRelu`'s two multipliers, the 16-bit fixed-point `HardSwish`), evaluated once per
//! possible input byte at prepare time into a [`ByteTableKernel`]. PRELU (`reference_ops::Prelu` /
//! `BroadcastPrelu4DSlow`) has two operands and runs element by element with broadcasting of
//! alpha. Note that TFLite computes the real multipliers of these ops in single precision
//! (`input_scale / output_scale` on `float`s) before `QuantizeMultiplier`; so does this module.

use super::checks::{first_output, quant8, unary_8bit, Quant8};
use super::lut::{table_for, ByteTableKernel};
use super::requant::quantized_bound;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::interp::math::broadcast::Broadcast;
use crate::interp::math::fixedpoint::{rdbpot_i16, sdhm_i16, srdhm_i16};
use crate::interp::math::multiplier::{
    downscale_int32_to_int16_multiplier, multiply_by_quantized_multiplier as mbqm,
    quantize_multiplier, QuantizedMultiplier,
};

fn type_range(dtype: ElementType) -> (i32, i32) {
    match dtype {
        ElementType::I8 => (-128, 127),
        _ => (0, 255),
    }
}

/// The requantizing clamp of TFLite's quantized `ReluX`: the real range `[act_min, act_max]`
/// (`act_max = None` for unbounded) on the output scale.
fn prepare_relu_x(
    ctx: &PrepareCtx<'_>,
    max_version: i32,
    act_min: f32,
    act_max: Option<f32>,
) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(max_version)?;
    let (qin, qout, len) = unary_8bit(ctx)?;
    let (tmin, tmax) = type_range(qin.dtype);
    let m = quantize_multiplier(f64::from(qin.scale / qout.scale));
    // `roundf(act / scale)` in single precision, then `static_cast<int32>`, which TFLite does
    // not check here: a bound out of the `i32` range (undefined behaviour there) is refused.
    let q = |act: f32| {
        quantized_bound(act, qout.scale, qout.zero_point).ok_or_else(|| {
            ctx.invalid(format!(
                "the bound {act} on the output scale {} does not fit in int32",
                qout.scale
            ))
        })
    };
    let lo = tmin.max(q(act_min)?);
    let hi = match act_max {
        Some(a) => tmax.min(q(a)?),
        None => tmax,
    };
    let table = table_for(qin.dtype, |v| {
        let clamped = qout.zero_point + mbqm(v - qin.zero_point, m);
        clamped.max(lo).min(hi)
    });
    Ok(Box::new(ByteTableKernel::new(table, len)))
}

/// Prepares RELU.
pub fn prepare_relu(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare_relu_x(ctx, 3, 0.0, None)
}

/// Prepares RELU6.
pub fn prepare_relu6(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare_relu_x(ctx, 3, 0.0, Some(6.0))
}

/// Prepares RELU_N1_TO_1.
pub fn prepare_relu_n1_to_1(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare_relu_x(ctx, 1, -1.0, Some(1.0))
}

/// Prepares LEAKY_RELU: identity multiplier for `x >= 0`, `alpha` multiplier below.
pub fn prepare_leaky_relu(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(2)?;
    let (qin, qout, len) = unary_8bit(ctx)?;
    let alpha = ctx
        .op
        .raw()
        .builtin_options_as_leaky_relu_options()
        .map_or(0.0, |o| o.alpha());
    if !alpha.is_finite() {
        return Err(ctx.invalid(format!("alpha {alpha} is not finite")));
    }
    let alpha_m = quantize_multiplier(f64::from(qin.scale * alpha / qout.scale));
    let identity_m = quantize_multiplier(f64::from(qin.scale / qout.scale));
    // Newer TFLite applies a negative alpha multiplier as the negation of the positive one; the
    // rounding is symmetric, so both give the same result.
    let negative = alpha_m.multiplier < 0;
    let safe_alpha = QuantizedMultiplier {
        multiplier: alpha_m.multiplier.wrapping_abs(),
        shift: alpha_m.shift,
    };
    let table = table_for(qin.dtype, |v| {
        let x = v - qin.zero_point;
        let scaled = if x >= 0 {
            mbqm(x, identity_m)
        } else {
            let s = mbqm(x, safe_alpha);
            if negative {
                -s
            } else {
                s
            }
        };
        qout.zero_point + scaled
    });
    Ok(Box::new(ByteTableKernel::new(table, len)))
}

/// The fixed-point parameters of TFLite's quantized HARD_SWISH.
#[derive(Clone, Copy, Debug)]
struct HardSwishParams {
    input_zero_point: i32,
    output_zero_point: i32,
    output_multiplier_fixedpoint_int16: i16,
    output_multiplier_exponent: i32,
    reluish_multiplier_fixedpoint_int16: i16,
    reluish_multiplier_exponent: i32,
}

fn saturating_left_shift_i16(value: i16, amount: i32) -> i16 {
    let result = i64::from(value) * (1i64 << amount);
    result.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
}

/// TFLite's `reference_ops::HardSwish` for one quantized value (before clamping to the type).
fn hard_swish_value(p: &HardSwishParams, input: i32) -> i32 {
    let input_value = (input - p.input_zero_point) as i16;
    let hires = input_value.wrapping_mul(1 << 7);
    let preshift_output = srdhm_i16(hires, p.output_multiplier_fixedpoint_int16);
    let mut reluish = hires;
    if p.reluish_multiplier_exponent > 0 {
        reluish = saturating_left_shift_i16(reluish, p.reluish_multiplier_exponent - 1);
    }
    reluish = srdhm_i16(reluish, p.reluish_multiplier_fixedpoint_int16);
    if p.reluish_multiplier_exponent > 0 {
        reluish = saturating_left_shift_i16(reluish, 1);
    }
    if p.reluish_multiplier_exponent < 0 {
        reluish = rdbpot_i16(reluish, -p.reluish_multiplier_exponent);
    }
    reluish = ((i32::from(reluish) + (1 << 15)) >> 1) as i16;
    let preshift = sdhm_i16(reluish, preshift_output);
    let output = rdbpot_i16(preshift, -p.output_multiplier_exponent);
    // `int16 += int` wraps to 16 bits in the C++ code.
    i32::from((i32::from(output) + p.output_zero_point) as i16)
}

/// Prepares HARD_SWISH.
pub fn prepare_hard_swish(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(1)?;
    let (qin, qout, len) = unary_8bit(ctx)?;
    let hires_input_scale = (1.0f32 / 128.0f32) * qin.scale;
    let reluish_scale = 3.0f32 / 32768.0f32;
    let output_m = quantize_multiplier(f64::from(hires_input_scale / qout.scale));
    let reluish_m = quantize_multiplier(f64::from(hires_input_scale / reluish_scale));
    if output_m.shift > 0 {
        return Err(ctx.invalid(format!(
            "input scale {} / (128 * output scale {}) must be below one",
            qin.scale, qout.scale
        )));
    }
    if !(-31..=31).contains(&reluish_m.shift) || output_m.shift < -31 {
        return Err(ctx.unsupported("HARD_SWISH multiplier exponent out of range"));
    }
    let p = HardSwishParams {
        input_zero_point: qin.zero_point,
        output_zero_point: qout.zero_point,
        output_multiplier_fixedpoint_int16: downscale_int32_to_int16_multiplier(
            output_m.multiplier,
        ),
        output_multiplier_exponent: output_m.shift,
        reluish_multiplier_fixedpoint_int16: downscale_int32_to_int16_multiplier(
            reluish_m.multiplier,
        ),
        reluish_multiplier_exponent: reluish_m.shift,
    };
    let table = table_for(qin.dtype, |v| hard_swish_value(&p, v));
    Ok(Box::new(ByteTableKernel::new(table, len)))
}

/// PRELU: `x >= 0 ? x : alpha * x` with alpha broadcast to the input's shape.
struct PreluKernel {
    dtype: ElementType,
    broadcast: Broadcast,
    alpha_len: usize,
    input_offset: i32,
    alpha_offset: i32,
    output_offset: i32,
    m1: QuantizedMultiplier,
    m2: QuantizedMultiplier,
}

impl Kernel for PreluKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (Some(Some(input)), Some(Some(alpha))) = (inputs.first(), inputs.get(1)) else {
            return Err(EvalError("PRELU needs an input and an alpha tensor".into()));
        };
        let output = first_output(outputs)?;
        let n = self.broadcast.out_len();
        if input.len() != n || output.len() != n || alpha.len() != self.alpha_len {
            return Err(EvalError(format!(
                "expected {n} input, {} alpha and {n} output bytes, got {}, {} and {}",
                self.alpha_len,
                input.len(),
                alpha.len(),
                output.len()
            )));
        }
        let (lo, hi) = type_range(self.dtype);
        let signed = self.dtype == ElementType::I8;
        let decode = |b: u8| {
            if signed {
                i32::from(b as i8)
            } else {
                i32::from(b)
            }
        };
        self.broadcast.for_each(|o, i, a| {
            let x = self.input_offset + decode(input[i]);
            let y = if x >= 0 {
                mbqm(x, self.m1)
            } else {
                let alpha_value = self.alpha_offset + decode(alpha[a]);
                mbqm(x.wrapping_mul(alpha_value), self.m2)
            };
            let clamped = (y + self.output_offset).clamp(lo, hi);
            output[o] = clamped as u8;
        });
        Ok(())
    }
}

/// Prepares PRELU (int8/uint8; alpha per-tensor quantized, broadcastable to the input).
pub fn prepare_prelu(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(1)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid(format!(
            "expected 2 inputs and 1 output, found {} and {}",
            ctx.inputs.len(),
            ctx.outputs.len()
        )));
    }
    let input = ctx.input(0)?;
    let alpha = ctx.input(1)?;
    let output = ctx.output(0)?;
    if !input.dtype.is_8bit() {
        return Err(ctx.unsupported(format!(
            "input type {} is not supported (only int8 and uint8)",
            input.dtype
        )));
    }
    if alpha.dtype != input.dtype || output.dtype != input.dtype {
        return Err(ctx.invalid(format!(
            "input, alpha and output types must match, found {}, {} and {}",
            input.dtype, alpha.dtype, output.dtype
        )));
    }
    let broadcast = Broadcast::new(&input.shape, &alpha.shape).map_err(|e| ctx.invalid(e.0))?;
    if broadcast.out_shape() != input.shape.as_slice() || output.shape != input.shape {
        return Err(ctx.invalid(format!(
            "alpha shape {:?} must broadcast to the input shape {:?} (output {:?})",
            alpha.shape, input.shape, output.shape
        )));
    }
    let qin: Quant8 = quant8(ctx, input)?;
    let qalpha = quant8(ctx, alpha)?;
    let qout = quant8(ctx, output)?;
    Ok(Box::new(PreluKernel {
        dtype: input.dtype,
        broadcast,
        alpha_len: alpha.num_elements(),
        input_offset: -qin.zero_point,
        alpha_offset: -qalpha.zero_point,
        output_offset: qout.zero_point,
        m1: quantize_multiplier(f64::from(qin.scale / qout.scale)),
        m2: quantize_multiplier(f64::from(qin.scale * qalpha.scale / qout.scale)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_swish_saturates_at_the_ends() {
        // Input scale 0.05 (|x| up to 6.4), output 0.05: values far below -3 give 0, far above
        // +3 give x itself.
        let output_m = quantize_multiplier(f64::from((1.0f32 / 128.0 * 0.05) / 0.05));
        let reluish_m = quantize_multiplier(f64::from((1.0f32 / 128.0 * 0.05) / (3.0 / 32768.0)));
        let p = HardSwishParams {
            input_zero_point: 0,
            output_zero_point: 0,
            output_multiplier_fixedpoint_int16: downscale_int32_to_int16_multiplier(
                output_m.multiplier,
            ),
            output_multiplier_exponent: output_m.shift,
            reluish_multiplier_fixedpoint_int16: downscale_int32_to_int16_multiplier(
                reluish_m.multiplier,
            ),
            reluish_multiplier_exponent: reluish_m.shift,
        };
        assert_eq!(hard_swish_value(&p, -127), 0);
        assert_eq!(hard_swish_value(&p, 0), 0);
        assert!((hard_swish_value(&p, 127) - 127).abs() <= 1);
        // x = 1.0 (20 steps): 1 * 4/6 = 0.667 -> 13.3 steps.
        assert!((hard_swish_value(&p, 20) - 13).abs() <= 1);
    }

    #[test]
    fn saturating_shift() {
        assert_eq!(saturating_left_shift_i16(100, 3), 800);
        assert_eq!(saturating_left_shift_i16(20000, 1), i16::MAX);
        assert_eq!(saturating_left_shift_i16(-20000, 1), i16::MIN);
    }
}
