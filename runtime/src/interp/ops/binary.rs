//! ADD, SUB and MUL on 8-bit quantized tensors, with numpy broadcasting and fused activations,
//! reproducing LiteRT's builtin x86-64 kernels bit for bit.
//!
//! TFLite's optimized ADD and MUL (`optimized_integer_ops` for int8, `optimized_ops` for uint8)
//! walk the output in contiguous runs chosen by `ProcessBroadcastShapes` (the "fivefold" pattern,
//! see `plan`) and process each run in vector blocks followed by a scalar tail. The block and
//! tail arithmetic differ, so the block boundaries matter:
//!
//! | kernel | block | input rescale | narrowing |
//! |---|---|---|---|
//! | ADD int8, elementwise | 16 | one rounding: `srdhm(v << (20 + shift), m)` | wrap to i16, + zero point (wrap), saturate |
//! | ADD int8 scalar-broadcast, ADD uint8 (both) | 8 | `srdhm(v << 20, m) >> -shift` (floor) | wrap to i16, + zero point (wrap), saturate |
//! | MUL int8 (both), MUL uint8 elementwise | 16 (int8), 8 (uint8) | - | saturate to i16, + zero point (wrap), saturate |
//! | MUL uint8 scalar-broadcast | 8 | - | wrap to i16, + zero point (wrap), saturate |
//!
//! The scalar tail (and TFLite's generic-broadcast fallback) uses the reference formula: inputs
//! rescaled with `rdbpot(srdhm(v << 20, m), -shift)`, everything in 32 bits, then clamped. SUB
//! for 8-bit types always runs the reference kernel (`reference_ops::Sub` /
//! `BroadcastQuantSubSlow`). Multipliers: ADD/SUB compute `2 * max(s1, s2)` in float and the ratios
//! in double; MUL computes `s1 * s2 / so` in float and converts that to double.

use super::common::{fused_range, load8, Broadcast, Q8};
use super::requant::{
    mul_double_rounding, mul_smaller_than_one, quantize_multiplier, rounding_divide_by_pot,
    sat_rounding_doubling_high_mul, QuantizedMultiplier,
};
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::{ActivationFunctionType, BuiltinOperator};

/// TFLite's left shift for 8-bit ADD/SUB.
const LEFT_SHIFT: i32 = 20;

/// ARM `VSHL` by a signed amount on one lane: a left shift (wrapping) or an arithmetic right shift.
#[inline(always)]
fn vshl(x: i32, shift: i32) -> i32 {
    if shift >= 0 {
        x.wrapping_shl(shift as u32)
    } else {
        x >> (-shift).min(31)
    }
}

/// Narrowing of a 32-bit lane to 16 bits, then the 16-bit addition of the output zero point.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Narrow {
    /// `vmovn_s32`: keep the low 16 bits.
    Wrap,
    /// `vqmovn_s32`: saturate to i16.
    Saturate,
}

impl Narrow {
    #[inline(always)]
    fn apply(self, x: i32, out_zp: i32) -> i32 {
        let n = match self {
            Narrow::Wrap => x as i16,
            Narrow::Saturate => x.clamp(i16::MIN as i32, i16::MAX as i32) as i16,
        };
        i32::from(n.wrapping_add(out_zp as i16))
    }
}

/// Per-input parameters of ADD/SUB: offset and rescaling tables for the three formulas.
struct AddInput {
    /// Reference formula, `rdbpot(srdhm(v << 20, m), -shift)`.
    scalar: Box<[i32; 256]>,
    /// int8 16-lane block formula, `srdhm(v << (20 + shift), m)`.
    folded: Box<[i32; 256]>,
    /// 8-lane block formula, `srdhm(v << 20, m) >> -shift`.
    floored: Box<[i32; 256]>,
}

impl AddInput {
    fn new(q: &Q8, m: QuantizedMultiplier) -> AddInput {
        let mut scalar = Box::new([0i32; 256]);
        let mut folded = Box::new([0i32; 256]);
        let mut floored = Box::new([0i32; 256]);
        for b in 0..256usize {
            let v = load8(q.signed, b as u8) - q.zero_point;
            scalar[b] = mul_smaller_than_one(v << LEFT_SHIFT, m);
            folded[b] = sat_rounding_doubling_high_mul(vshl(v, LEFT_SHIFT + m.shift), m.multiplier);
            floored[b] = vshl(
                sat_rounding_doubling_high_mul(v << LEFT_SHIFT, m.multiplier),
                m.shift,
            );
        }
        AddInput {
            scalar,
            folded,
            floored,
        }
    }
}

enum Math {
    /// ADD (`sign = 1`, optimized kernels) or SUB (`sign = -1`, reference kernel only).
    AddSub {
        in1: AddInput,
        in2: AddInput,
        sign: i32,
        out_mult: QuantizedMultiplier,
    },
    /// MUL.
    Mul {
        zp1: i32,
        zp2: i32,
        mult: QuantizedMultiplier,
    },
}

/// How TFLite walks the output (`ProcessBroadcastShapes` + `BinaryBroadcastFiveFold`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Same (rank-extended) shapes: one contiguous run over everything.
    Elementwise,
    /// The fivefold pattern `y0..y4`; `swap` when the second input is the fast-broadcasting one
    /// (TFLite then swaps the inputs and their parameters).
    Fivefold { y: [usize; 5], swap: bool },
    /// Anything else: TFLite's slow reference broadcast, element by element.
    Generic(Broadcast),
}

/// Reproduces TFLite's `ProcessBroadcastShapes`.
fn plan(a: &[usize], b: &[usize], out: &[usize]) -> Result<Plan, String> {
    let rank = a.len().max(b.len());
    let ext = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (ea, eb) = (ext(a), ext(b));
    if ea == eb {
        Broadcast::new(a, b, out)?;
        return Ok(Plan::Elementwise);
    }
    let generic = || Broadcast::new(a, b, out).map(Plan::Generic);
    let mut first_fast = None;
    for i in (0..rank).rev() {
        if ea[i] == eb[i] {
            continue;
        } else if ea[i] == 1 {
            first_fast = Some(true);
            break;
        } else if eb[i] == 1 {
            first_fast = Some(false);
            break;
        } else {
            return generic();
        }
    }
    let Some(first_fast) = first_fast else {
        return generic();
    };
    let (sa, sb) = if first_fast { (&ea, &eb) } else { (&eb, &ea) };
    let mut y = [1usize; 5];
    let mut i = rank as isize - 1;
    let at = |s: &Vec<usize>, i: isize| s[i as usize];
    while i >= 0 && at(sa, i) == at(sb, i) {
        y[4] *= at(sb, i);
        i -= 1;
    }
    while i >= 0 && at(sa, i) == 1 {
        y[3] *= at(sb, i);
        i -= 1;
    }
    while i >= 0 && at(sa, i) == at(sb, i) {
        y[2] *= at(sa, i);
        i -= 1;
    }
    while i >= 0 && at(sb, i) == 1 {
        y[1] *= at(sa, i);
        i -= 1;
    }
    while i >= 0 && at(sa, i) == at(sb, i) {
        y[0] *= at(sb, i);
        i -= 1;
    }
    if i >= 0 {
        return generic();
    }
    // Shapes TFLite would reject (mismatched output) are caught by Broadcast::new.
    Broadcast::new(a, b, out)?;
    Ok(Plan::Fivefold {
        y,
        swap: !first_fast,
    })
}

struct Binary {
    math: Math,
    plan: Plan,
    signed: bool,
    out_zp: i32,
    act_min: i32,
    act_max: i32,
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
    let plan = plan(&a.shape, &b.shape, &out.shape).map_err(|e| ctx.invalid(e))?;
    let math = if code == Some(BuiltinOperator::MUL) {
        // mul.cc: `input1->params.scale * input2->params.scale / output->params.scale` is float
        // arithmetic, converted to double afterwards.
        let real = q1.scale * q2.scale / qo.scale;
        Math::Mul {
            zp1: q1.zero_point,
            zp2: q2.zero_point,
            mult: quantize_multiplier(f64::from(real)),
        }
    } else {
        // add.cc / sub.cc: `2 * max(float, float)` is float (exact), the ratios are double.
        let twice_max = f64::from(2.0 * q1.scale.max(q2.scale));
        let m1 = quantize_multiplier(f64::from(q1.scale) / twice_max);
        let m2 = quantize_multiplier(f64::from(q2.scale) / twice_max);
        let real_out = twice_max / f64::from((1u32 << LEFT_SHIFT) as f32 * qo.scale);
        if real_out >= 1.0 {
            return Err(ctx.unsupported(format!(
                "the output scale {} is too small for the input scales {} and {} \
                 (output multiplier {real_out} >= 1 is not supported)",
                qo.scale, q1.scale, q2.scale
            )));
        }
        let mo = quantize_multiplier(real_out);
        if mo.shift > 0 || m1.shift > 0 || m2.shift > 0 {
            return Err(ctx.unsupported("ADD/SUB multipliers out of range"));
        }
        Math::AddSub {
            in1: AddInput::new(&q1, m1),
            in2: AddInput::new(&q2, m2),
            sign: if code == Some(BuiltinOperator::SUB) {
                -1
            } else {
                1
            },
            out_mult: mo,
        }
    };
    // SUB always runs TFLite's reference kernel: element by element.
    let plan = match (&math, plan) {
        (Math::AddSub { sign: -1, .. }, Plan::Fivefold { .. }) => Plan::Generic(
            Broadcast::new(&a.shape, &b.shape, &out.shape).map_err(|e| ctx.invalid(e))?,
        ),
        (_, p) => p,
    };
    Ok(Box::new(Binary {
        math,
        plan,
        signed: qo.signed,
        out_zp: qo.zero_point,
        act_min,
        act_max,
    }))
}

impl Binary {
    /// The reference (scalar) formula for one element; `x` is input 1's byte, `y` input 2's.
    #[inline(always)]
    fn scalar(&self, x: u8, y: u8) -> u8 {
        let v = match &self.math {
            Math::AddSub {
                in1,
                in2,
                sign,
                out_mult,
            } => {
                let raw = in1.scalar[x as usize].wrapping_add(sign * in2.scalar[y as usize]);
                mul_smaller_than_one(raw, *out_mult)
            }
            Math::Mul { zp1, zp2, mult } => mul_double_rounding(
                (load8(self.signed, x) - zp1) * (load8(self.signed, y) - zp2),
                *mult,
            ),
        };
        (v + self.out_zp).clamp(self.act_min, self.act_max) as u8
    }

    /// One lane of a vector block: the 32-bit pre-narrowing result, narrowed, offset, saturated
    /// to the 8-bit type and clamped.
    #[inline(always)]
    fn finish_lane(&self, pre: i32, narrow: Narrow) -> u8 {
        let s = narrow.apply(pre, self.out_zp);
        let (lo, hi) = if self.signed { (-128, 127) } else { (0, 255) };
        s.clamp(lo, hi).clamp(self.act_min, self.act_max) as u8
    }

    /// One contiguous run as TFLite's elementwise kernel processes it (`AddElementwise[Int8]`,
    /// `MulElementwise`). `x` belongs to input 1 and `y` to input 2 of the original operator.
    fn elementwise(&self, x: &[u8], y: &[u8], out: &mut [u8]) {
        let n = out.len();
        let block = match (&self.math, self.signed) {
            (Math::AddSub { sign: -1, .. }, _) => 0,
            (_, true) => 16,
            (_, false) => 8,
        };
        let vec_end = if block == 0 { 0 } else { n - n % block };
        match &self.math {
            Math::AddSub {
                in1, in2, out_mult, ..
            } => {
                let (t1, t2) = if self.signed {
                    (&in1.folded, &in2.folded)
                } else {
                    (&in1.floored, &in2.floored)
                };
                for i in 0..vec_end {
                    let s = t1[x[i] as usize].wrapping_add(t2[y[i] as usize]);
                    out[i] = self.finish_lane(self.add_out(s, *out_mult), Narrow::Wrap);
                }
            }
            Math::Mul { zp1, zp2, mult } => {
                for i in 0..vec_end {
                    let p = (load8(self.signed, x[i]) - zp1) * (load8(self.signed, y[i]) - zp2);
                    out[i] = self.finish_lane(mul_double_rounding(p, *mult), Narrow::Saturate);
                }
            }
        }
        for i in vec_end..n {
            out[i] = self.scalar(x[i], y[i]);
        }
    }

    /// One run with a single broadcast value (`AddScalarBroadcast`, `MulSimpleBroadcast`);
    /// `scalar_first` tells whether the broadcast value is the operator's input 1.
    fn scalar_broadcast(&self, s: u8, v: &[u8], out: &mut [u8], scalar_first: bool) {
        let n = out.len();
        let pick = |e: u8| if scalar_first { (s, e) } else { (e, s) };
        let block = match (&self.math, self.signed) {
            (Math::AddSub { sign: -1, .. }, _) => 0,
            (Math::Mul { .. }, true) => 16,
            _ => 8,
        };
        let vec_end = if block == 0 { 0 } else { n - n % block };
        match &self.math {
            Math::AddSub {
                in1, in2, out_mult, ..
            } => {
                for i in 0..vec_end {
                    let (x, y) = pick(v[i]);
                    let sum = in1.floored[x as usize].wrapping_add(in2.floored[y as usize]);
                    out[i] = self.finish_lane(self.add_out(sum, *out_mult), Narrow::Wrap);
                }
            }
            Math::Mul { zp1, zp2, mult } => {
                let narrow = if self.signed {
                    Narrow::Saturate
                } else {
                    Narrow::Wrap
                };
                for i in 0..vec_end {
                    let (x, y) = pick(v[i]);
                    let p = (load8(self.signed, x) - zp1) * (load8(self.signed, y) - zp2);
                    out[i] = self.finish_lane(mul_double_rounding(p, *mult), narrow);
                }
            }
        }
        for i in vec_end..n {
            let (x, y) = pick(v[i]);
            out[i] = self.scalar(x, y);
        }
    }

    /// The output stage of an ADD vector lane, before narrowing.
    #[inline(always)]
    fn add_out(&self, sum: i32, m: QuantizedMultiplier) -> i32 {
        rounding_divide_by_pot(sat_rounding_doubling_high_mul(sum, m.multiplier), -m.shift)
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
        match &self.plan {
            Plan::Elementwise => self.elementwise(a, b, out),
            Plan::Generic(bc) => bc.for_each(|o, i, j| out[o] = self.scalar(a[i], b[j])),
            Plan::Fivefold { y, swap } => {
                // `fast` is the input that broadcasts along the inner dimensions.
                let (fast, other) = if *swap { (b, a) } else { (a, b) };
                let [y0, y1, y2, y3, y4] = *y;
                let (mut i_fast, mut o, mut other_reset) = (0usize, 0usize, 0usize);
                if y4 > 1 {
                    for _ in 0..y0 {
                        let mut i_other = other_reset;
                        for _ in 0..y1 {
                            i_other = other_reset;
                            for _ in 0..y2 {
                                for _ in 0..y3 {
                                    let f = &fast[i_fast..i_fast + y4];
                                    let g = &other[i_other..i_other + y4];
                                    let (x, yy) = if *swap { (g, f) } else { (f, g) };
                                    self.elementwise(x, yy, &mut out[o..o + y4]);
                                    i_other += y4;
                                    o += y4;
                                }
                                i_fast += y4;
                            }
                        }
                        other_reset = i_other;
                    }
                } else {
                    for _ in 0..y0 {
                        let mut i_other = other_reset;
                        for _ in 0..y1 {
                            i_other = other_reset;
                            for _ in 0..y2 {
                                self.scalar_broadcast(
                                    fast[i_fast],
                                    &other[i_other..i_other + y3],
                                    &mut out[o..o + y3],
                                    !*swap,
                                );
                                i_other += y3;
                                o += y3;
                                i_fast += 1;
                            }
                        }
                        other_reset = i_other;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{plan, Plan};

    fn fivefold(a: &[usize], b: &[usize], out: &[usize]) -> ([usize; 5], bool) {
        match plan(a, b, out).expect("broadcastable") {
            Plan::Fivefold { y, swap } => (y, swap),
            other => panic!("{a:?} vs {b:?}: expected fivefold, got {other:?}"),
        }
    }

    #[test]
    fn plans_follow_process_broadcast_shapes() {
        assert_eq!(plan(&[1, 200], &[200], &[1, 200]), Ok(Plan::Elementwise));
        // Channel broadcast: the second input broadcasts fast, runs of 24.
        assert_eq!(
            fivefold(&[1, 4, 5, 24], &[24], &[1, 4, 5, 24]),
            ([1, 1, 1, 20, 24], true)
        );
        // Per-row scalar: runs of 23 with one broadcast value each.
        assert_eq!(
            fivefold(&[1, 4, 5, 1], &[1, 4, 5, 23], &[1, 4, 5, 23]),
            ([1, 1, 20, 23, 1], false)
        );
        assert_eq!(
            fivefold(&[2, 3, 1, 4, 17], &[2, 1, 5, 4, 17], &[2, 3, 5, 4, 17]),
            ([2, 3, 1, 5, 68], false)
        );
        assert!(matches!(
            plan(&[2, 1, 3, 1, 5], &[1, 4, 3, 6, 1], &[2, 4, 3, 6, 5]),
            Ok(Plan::Generic(_))
        ));
        assert!(plan(&[3, 4], &[5, 4], &[5, 4]).is_err());
    }
}
