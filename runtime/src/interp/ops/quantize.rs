//! QUANTIZE (float32 to int8/uint8, and requantization between 8-bit types or scales) and
//! DEQUANTIZE (int8/uint8 to float32).

use super::operands::same_count;
use super::quant8::{load8, Q8};
use super::requant::{
    mul_double_rounding, mul_double_rounding_upward, quantize_multiplier, QuantizedMultiplier,
};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_f32, as_f32_mut, Kernel, PrepareCtx};

/// float32 -> 8-bit. TFLite's optimized kernel (NEON code, translated to SSE on x86) handles
/// whole blocks of [`SIMD_BLOCK`] elements as `round_half_even(x * (1 / scale)) + zero_point`
/// and the remaining tail as `round_half_away(x / scale) + zero_point`, all in `f32`.
struct FromFloat {
    scale: f32,
    inv_scale: f32,
    out: Q8,
}

/// Elements per vectorized block in TFLite's optimized float QUANTIZE / DEQUANTIZE loops.
const SIMD_BLOCK: usize = 8;

/// Elements per vectorized block in TFLite's optimized 8-bit requantization loop.
const REQUANT_BLOCK: usize = 16;

/// 8-bit -> 8-bit: `clamp(multiply(x - zp_in) + zp_out)`. TFLite's optimized kernel handles
/// whole blocks of [`REQUANT_BLOCK`] elements with vector code whose final shift rounds ties
/// toward +infinity, and the tail with the scalar (ties away from zero) multiplier.
struct Requantize {
    in_signed: bool,
    in_zp: i32,
    out: Q8,
    mult: QuantizedMultiplier,
}

/// 8-bit -> float32. TFLite's optimized kernel computes whole blocks of [`SIMD_BLOCK`] elements
/// as `x * scale + (-zp * scale)` in `f32` (two roundings) and the tail as `scale * (x - zp)` in
/// `f64` rounded once; both are tabulated.
struct ToFloat {
    block: Box<[f32; 256]>,
    tail: Box<[f32; 256]>,
}

/// x86 `cvttss2si` semantics (what TFLite's `static_cast<int32_t>` compiles to): out-of-range
/// and NaN give `i32::MIN`.
fn f32_to_i32_like_c(v: f32) -> i32 {
    if !(-2147483648.0..2147483648.0).contains(&v) {
        i32::MIN
    } else {
        v as i32
    }
}

/// Prepares QUANTIZE.
pub fn prepare_quantize(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    same_count(ctx, input, output)?;
    let out = Q8::of(ctx, output, "output")?;
    if input.dtype == ElementType::F32 {
        return Ok(Box::new(FromFloat {
            scale: out.scale,
            inv_scale: 1.0 / out.scale,
            out,
        }));
    }
    let qin = Q8::of(ctx, input, "input")?;
    Ok(Box::new(Requantize {
        in_signed: qin.signed,
        in_zp: qin.zero_point,
        out,
        mult: quantize_multiplier(qin.scale as f64 / out.scale as f64),
    }))
}

/// Prepares DEQUANTIZE.
pub fn prepare_dequantize(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(6)?;
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    same_count(ctx, input, output)?;
    if output.dtype != ElementType::F32 {
        return Err(ctx.unsupported(format!(
            "output type {} is not supported (only float32)",
            output.dtype
        )));
    }
    let q = Q8::of(ctx, input, "input")?;
    let mut block = Box::new([0f32; 256]);
    let mut tail = Box::new([0f32; 256]);
    let offset = -(q.zero_point as f32) * q.scale;
    for b in 0..256 {
        let x = load8(q.signed, b as u8);
        block[b] = x as f32 * q.scale + offset;
        tail[b] = (q.scale as f64 * (x - q.zero_point) as f64) as f32;
    }
    Ok(Box::new(ToFloat { block, tail }))
}

impl Kernel for FromFloat {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = as_f32(inputs[0].ok_or_else(|| EvalError("missing input".into()))?)?;
        let (lo, hi) = self.out.range();
        let zp = self.out.zero_point;
        let out = &mut *outputs[0];
        let split = input.len() / SIMD_BLOCK * SIMD_BLOCK;
        for (o, &x) in out[..split].iter_mut().zip(&input[..split]) {
            let q = f32_to_i32_like_c((x * self.inv_scale).round_ties_even()).wrapping_add(zp);
            *o = q.clamp(lo, hi) as u8;
        }
        for (o, &x) in out[split..].iter_mut().zip(&input[split..]) {
            let q = f32_to_i32_like_c((x / self.scale).round()).wrapping_add(zp);
            *o = q.clamp(lo, hi) as u8;
        }
        Ok(())
    }
}

impl Kernel for Requantize {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let (lo, hi) = self.out.range();
        let split = input.len() / REQUANT_BLOCK * REQUANT_BLOCK;
        let out = &mut *outputs[0];
        for (o, &x) in out[..split].iter_mut().zip(&input[..split]) {
            let v = mul_double_rounding_upward(load8(self.in_signed, x) - self.in_zp, self.mult);
            *o = (v + self.out.zero_point).clamp(lo, hi) as u8;
        }
        for (o, &x) in out[split..].iter_mut().zip(&input[split..]) {
            let v = mul_double_rounding(load8(self.in_signed, x) - self.in_zp, self.mult);
            *o = (v + self.out.zero_point).clamp(lo, hi) as u8;
        }
        Ok(())
    }
}

impl Kernel for ToFloat {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let out = as_f32_mut(outputs[0])?;
        let split = input.len() / SIMD_BLOCK * SIMD_BLOCK;
        for (o, &x) in out[..split].iter_mut().zip(&input[..split]) {
            *o = self.block[x as usize];
        }
        for (o, &x) in out[split..].iter_mut().zip(&input[split..]) {
            *o = self.tail[x as usize];
        }
        Ok(())
    }
}
