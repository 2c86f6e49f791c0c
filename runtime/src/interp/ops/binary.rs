//! ADD, SUB and MUL on 8-bit quantized tensors, with numpy broadcasting and fused activations.
//!
//! ADD and SUB follow TFLite's scheme: both inputs are shifted left by 20 bits, rescaled to twice
//! the larger input scale, summed, and rescaled to the output (all with double rounding). Since
//! an input takes only 256 values, each input's rescaled value is tabulated at prepare time.
//! MUL multiplies the zero-point-corrected inputs and applies one multiplier.

use super::common::{fused_range, load8, Broadcast, Q8};
use super::requant::{
    mul_double_rounding, mul_smaller_than_one, quantize_multiplier, sat_rounding_doubling_high_mul,
    QuantizedMultiplier,
};
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::{ActivationFunctionType, BuiltinOperator};

/// TFLite's left shift for 8-bit ADD/SUB.
const LEFT_SHIFT: i32 = 20;

enum Math {
    /// ADD (`sign = 1`) or SUB (`sign = -1`): tabulated rescaled inputs.
    AddSub {
        lut1: Box<[i32; 256]>,
        lut2: Box<[i32; 256]>,
        sign: i32,
        out_mult: QuantizedMultiplier,
    },
    /// MUL.
    Mul {
        zp1: i32,
        zp2: i32,
        s1: bool,
        s2: bool,
        mult: QuantizedMultiplier,
    },
}

struct Binary {
    math: Math,
    broadcast: Option<Broadcast>,
    out_zp: i32,
    act_min: i32,
    act_max: i32,
}

/// Tabulates an input's rescaled values. `floor` selects a truncating final shift instead of
/// rounding: TFLite's optimized ADD/SUB rescales the full-size operand that way when the other
/// operand is a single broadcast value (established against LiteRT's outputs; SUB does not).
fn rescale_table(q: &Q8, mult: QuantizedMultiplier, floor: bool) -> Box<[i32; 256]> {
    let mut t = Box::new([0i32; 256]);
    for (b, slot) in t.iter_mut().enumerate() {
        let v = load8(q.signed, b as u8) - q.zero_point;
        *slot = if floor {
            sat_rounding_doubling_high_mul(v * (1 << LEFT_SHIFT), mult.multiplier) >> (-mult.shift)
        } else {
            mul_smaller_than_one(v * (1 << LEFT_SHIFT), mult)
        };
    }
    t
}

/// Prepares ADD, SUB or MUL.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(7)?;
    let code = ctx.op.kind().builtin();
    let raw = ctx.op.raw();
    let act = match code {
        Some(BuiltinOperator::ADD) => raw
            .builtin_options_as_add_options()
            .map(|o| o.fused_activation_function()),
        Some(BuiltinOperator::SUB) => raw
            .builtin_options_as_sub_options()
            .map(|o| o.fused_activation_function()),
        _ => raw
            .builtin_options_as_mul_options()
            .map(|o| o.fused_activation_function()),
    }
    .unwrap_or(ActivationFunctionType::NONE);
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    let q1 = Q8::of(ctx, a, "input 1")?;
    let q2 = Q8::of(ctx, b, "input 2")?;
    let qo = Q8::of(ctx, out, "output")?;
    if q1.signed != qo.signed || q2.signed != qo.signed {
        return Err(ctx.unsupported("inputs and output must all be int8 or all be uint8"));
    }
    let (act_min, act_max) = fused_range(ctx, act, &qo)?;
    let broadcast = if a.shape == b.shape && a.shape == out.shape {
        None
    } else {
        Some(Broadcast::new(&a.shape, &b.shape, &out.shape).map_err(|e| ctx.invalid(e))?)
    };
    let math = if code == Some(BuiltinOperator::MUL) {
        Math::Mul {
            zp1: q1.zero_point,
            zp2: q2.zero_point,
            s1: q1.signed,
            s2: q2.signed,
            mult: quantize_multiplier(q1.scale as f64 * q2.scale as f64 / qo.scale as f64),
        }
    } else {
        let twice_max = 2.0 * q1.scale.max(q2.scale) as f64;
        let m1 = quantize_multiplier(q1.scale as f64 / twice_max);
        let m2 = quantize_multiplier(q2.scale as f64 / twice_max);
        let mo = quantize_multiplier(twice_max / ((1i64 << LEFT_SHIFT) as f64 * qo.scale as f64));
        if mo.shift > 0 {
            return Err(
                ctx.unsupported("the output scale is too small relative to the input scales")
            );
        }
        // Only ADD has the scalar-broadcast fast path with truncating rescale; SUB rounds.
        let is_add = code == Some(BuiltinOperator::ADD);
        let (scalar1, scalar2) = (
            is_add && a.num_elements() == 1,
            is_add && b.num_elements() == 1,
        );
        Math::AddSub {
            lut1: rescale_table(&q1, m1, scalar2 && !scalar1),
            lut2: rescale_table(&q2, m2, scalar1 && !scalar2),
            sign: if code == Some(BuiltinOperator::SUB) {
                -1
            } else {
                1
            },
            out_mult: mo,
        }
    };
    Ok(Box::new(Binary {
        math,
        broadcast,
        out_zp: qo.zero_point,
        act_min,
        act_max,
    }))
}

impl Binary {
    #[inline(always)]
    fn one(&self, x: u8, y: u8) -> u8 {
        let v = match &self.math {
            Math::AddSub {
                lut1,
                lut2,
                sign,
                out_mult,
            } => {
                let raw = lut1[x as usize] + sign * lut2[y as usize];
                mul_smaller_than_one(raw, *out_mult)
            }
            Math::Mul {
                zp1,
                zp2,
                s1,
                s2,
                mult,
            } => mul_double_rounding((load8(*s1, x) - zp1) * (load8(*s2, y) - zp2), *mult),
        };
        (v + self.out_zp).clamp(self.act_min, self.act_max) as u8
    }
}

impl Kernel for Binary {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (Some(a), Some(b)) = (inputs[0], inputs[1]) else {
            return Err(EvalError("missing input".into()));
        };
        let out = &mut *outputs[0];
        match &self.broadcast {
            None => {
                for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                    *o = self.one(x, y);
                }
            }
            Some(bc) => bc.for_each(|o, i, j| out[o] = self.one(a[i], b[j])),
        }
        Ok(())
    }
}
