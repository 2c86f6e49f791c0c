//! Elementwise binary arithmetic on unquantized tensors: ADD, SUB, MUL, DIV, FLOOR_DIV,
//! FLOOR_MOD, MAXIMUM, MINIMUM and SQUARED_DIFFERENCE on float32, int32 and int64, with numpy
//! broadcasting.
//!
//! These are the CPU heads and tails around Edge TPU segments (SSD box decoding after a
//! DEQUANTIZE, index arithmetic in pose heads). Every element is a pure function of its two input
//! elements, so the order in which TFLite's optimized kernels walk the output does not matter;
//! what matters is the per-element formula, checked against ai-edge-litert 2.3.0:
//!
//! - **float32 ADD/SUB/MUL/DIV**: the IEEE operation, then the fused activation's clamp
//!   `min(max(x, lo), hi)` (NaN passes through). Without an activation the clamp is to
//!   `[-f32::MAX, f32::MAX]`, so an infinite result becomes `±f32::MAX`, as in TFLite.
//! - **int32/int64 ADD/SUB/MUL**: two's-complement wrapping, then the activation's clamp.
//! - **int32 DIV**: the truncating quotient in 64 bits, clamped to the activation's range (so
//!   `i32::MIN / -1` saturates to `i32::MAX`). A zero divisor fails the inference, as in TFLite.
//!   int64 DIV is refused (TFLite has none).
//! - **FLOOR_DIV**: `floor(a / b)`; int32 wraps `i32::MIN / -1` to `i32::MIN` (TFLite divides in
//!   `double` and converts back). A zero divisor fails the inference (float32 too). int64 is
//!   refused (TFLite has none).
//! - **FLOOR_MOD**: the truncated remainder, plus `b` when it is non-zero and its sign differs from
//!   `b`'s. A zero integer divisor fails the inference; float32 gives NaN.
//! - **MAXIMUM / MINIMUM**: `a > b ? a : b` and `a < b ? a : b` (a NaN in `a` yields `b`).
//! - **SQUARED_DIFFERENCE**: `d = a - b; d * d` (wrapping for integers).

use super::broadcast::Broadcast;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{eval_input, Kernel, PrepareCtx};
use crate::schema::{ActivationFunctionType, BuiltinOperator};

/// The operation of one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    FloorMod,
    Max,
    Min,
    SquaredDifference,
}

impl Op {
    /// Whether a zero in the second operand fails the inference for integer (`int`) or float
    /// inputs.
    fn zero_divisor_fails(self, int: bool) -> bool {
        match self {
            Op::Div | Op::FloorMod => int,
            Op::FloorDiv => true,
            _ => false,
        }
    }

    /// Whether the fused activation (and, for float, the `±f32::MAX` clamp) applies.
    fn has_activation(self) -> bool {
        matches!(self, Op::Add | Op::Sub | Op::Mul | Op::Div)
    }
}

/// One element type's arithmetic.
trait Elem: Copy + PartialOrd + Send + 'static {
    /// Views raw tensor bytes as elements.
    fn view(bytes: &[u8]) -> Result<&[Self], EvalError>;
    /// Views raw output bytes as elements.
    fn view_mut(bytes: &mut [u8]) -> Result<&mut [Self], EvalError>;
    /// `op(a, b)` before any activation clamp (divisors were checked).
    fn apply(op: Op, a: Self, b: Self) -> Self;
    /// Whether the value is zero (a divisor TFLite refuses).
    fn is_zero(self) -> bool;
    /// The activation range for `act`, or `None` when the activation is not supported.
    fn range(act: ActivationFunctionType) -> Option<(Self, Self)>;
}

/// TFLite's `std::min(std::max(x, lo), hi)`: NaN passes through.
#[inline(always)]
fn clamp<T: PartialOrd>(x: T, lo: T, hi: T) -> T {
    let x = if x < lo { lo } else { x };
    if hi < x {
        hi
    } else {
        x
    }
}

/// The NaN x86-64 produces for an invalid operation (`inf - inf`, `0 * inf`, `0 / 0`): sign bit
/// set. aarch64 produces it without the sign, so generated NaNs are rewritten to the x86 pattern
/// (the goldens come from x86-64); a NaN operand propagates (quieted) the same way on both.
pub(crate) const X86_DEFAULT_NAN: u32 = 0xffc0_0000;

/// `r`, with a NaN generated from non-NaN operands given x86's bit pattern.
#[inline(always)]
pub(crate) fn x86_nan(r: f32, operands_nan: bool) -> f32 {
    if r.is_nan() && !operands_nan {
        f32::from_bits(X86_DEFAULT_NAN)
    } else {
        r
    }
}

impl Elem for f32 {
    fn view(bytes: &[u8]) -> Result<&[f32], EvalError> {
        crate::interp::kernel::as_f32(bytes)
    }
    fn view_mut(bytes: &mut [u8]) -> Result<&mut [f32], EvalError> {
        crate::interp::kernel::as_f32_mut(bytes)
    }
    #[inline(always)]
    fn apply(op: Op, a: f32, b: f32) -> f32 {
        x86_nan(f32_op(op, a, b), a.is_nan() || b.is_nan())
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
    fn range(act: ActivationFunctionType) -> Option<(f32, f32)> {
        match act {
            ActivationFunctionType::NONE => Some((f32::MIN, f32::MAX)),
            ActivationFunctionType::RELU => Some((0.0, f32::MAX)),
            ActivationFunctionType::RELU6 => Some((0.0, 6.0)),
            ActivationFunctionType::RELU_N1_TO_1 => Some((-1.0, 1.0)),
            _ => None,
        }
    }
}

/// One float32 operation, as the host computes it.
#[inline(always)]
fn f32_op(op: Op, a: f32, b: f32) -> f32 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
        Op::FloorDiv => (a / b).floor(),
        Op::FloorMod => {
            let r = a % b;
            if r != 0.0 && ((b < 0.0) != (r < 0.0)) {
                r + b
            } else {
                r
            }
        }
        Op::Max => {
            if a > b {
                a
            } else {
                b
            }
        }
        Op::Min => {
            if a < b {
                a
            } else {
                b
            }
        }
        Op::SquaredDifference => {
            let d = a - b;
            d * d
        }
    }
}

macro_rules! int_elem {
    ($t:ty, $view:ident, $view_mut:ident) => {
        impl Elem for $t {
            fn view(bytes: &[u8]) -> Result<&[$t], EvalError> {
                crate::interp::kernel::$view(bytes)
            }
            fn view_mut(bytes: &mut [u8]) -> Result<&mut [$t], EvalError> {
                crate::interp::kernel::$view_mut(bytes)
            }
            #[inline(always)]
            fn apply(op: Op, a: $t, b: $t) -> $t {
                match op {
                    Op::Add => a.wrapping_add(b),
                    Op::Sub => a.wrapping_sub(b),
                    Op::Mul => a.wrapping_mul(b),
                    // Only int32 reaches here (int64 DIV is refused at load): the quotient in
                    // 64 bits, saturated to the type (the activation clamp narrows further).
                    Op::Div => {
                        (a as i64 / b as i64).clamp(<$t>::MIN as i64, <$t>::MAX as i64) as $t
                    }
                    // int32 (int64 FLOOR_DIV is refused at load): exact floor division in
                    // 128 bits, wrapped back (`i32::MIN / -1` gives `i32::MIN`, as in TFLite).
                    Op::FloorDiv => floor_div_i128(a as i128, b as i128) as $t,
                    Op::FloorMod => {
                        let r = a.wrapping_rem(b);
                        if r != 0 && ((b < 0) != (r < 0)) {
                            r.wrapping_add(b)
                        } else {
                            r
                        }
                    }
                    Op::Max => {
                        if a > b {
                            a
                        } else {
                            b
                        }
                    }
                    Op::Min => {
                        if a < b {
                            a
                        } else {
                            b
                        }
                    }
                    Op::SquaredDifference => {
                        let d = a.wrapping_sub(b);
                        d.wrapping_mul(d)
                    }
                }
            }
            fn is_zero(self) -> bool {
                self == 0
            }
            fn range(act: ActivationFunctionType) -> Option<($t, $t)> {
                match act {
                    ActivationFunctionType::NONE => Some((<$t>::MIN, <$t>::MAX)),
                    ActivationFunctionType::RELU => Some((0, <$t>::MAX)),
                    ActivationFunctionType::RELU6 => Some((0, 6)),
                    ActivationFunctionType::RELU_N1_TO_1 => Some((-1, 1)),
                    _ => None,
                }
            }
        }
    };
}

int_elem!(i32, as_i32, as_i32_mut);
int_elem!(i64, as_i64, as_i64_mut);

/// `floor(a / b)` for integers, exact.
#[inline(always)]
fn floor_div_i128(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// How the output is walked.
enum Walk {
    /// Both inputs have the output's element count: index `i` in all three.
    Same,
    /// The first input is one element.
    ScalarA,
    /// The second input is one element.
    ScalarB,
    /// General numpy broadcasting.
    General(Broadcast),
}

struct ArithKernel<T: Elem> {
    op: Op,
    int: bool,
    walk: Walk,
    count: usize,
    na: usize,
    nb: usize,
    /// The activation clamp, when the op has one.
    clamp: Option<(T, T)>,
}

impl<T: Elem> ArithKernel<T> {
    #[inline(always)]
    fn one(&self, a: T, b: T) -> T {
        let v = T::apply(self.op, a, b);
        match self.clamp {
            Some((lo, hi)) => clamp(v, lo, hi),
            None => v,
        }
    }
}

impl<T: Elem> Kernel for ArithKernel<T> {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let a = eval_input(inputs, 0, "missing first input")?;
        let b = eval_input(inputs, 1, "missing second input")?;
        let a = T::view(a)?;
        let b = T::view(b)?;
        let out = T::view_mut(
            outputs
                .get_mut(0)
                .ok_or_else(|| EvalError("missing output".into()))?,
        )?;
        if a.len() != self.na || b.len() != self.nb || out.len() != self.count {
            return Err(EvalError(format!(
                "operands hold {}, {} and {} elements, expected {}, {} and {}",
                a.len(),
                b.len(),
                out.len(),
                self.na,
                self.nb,
                self.count
            )));
        }
        if self.op.zero_divisor_fails(self.int) && b.iter().any(|v| v.is_zero()) {
            return Err(EvalError(
                "division by zero: the divisor tensor holds a zero".into(),
            ));
        }
        match &self.walk {
            Walk::Same => {
                for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                    *o = self.one(x, y);
                }
            }
            Walk::ScalarA => {
                let x = a[0];
                for (o, &y) in out.iter_mut().zip(b) {
                    *o = self.one(x, y);
                }
            }
            Walk::ScalarB => {
                let y = b[0];
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = self.one(x, y);
                }
            }
            Walk::General(bc) => bc.for_each(|o, i, j| out[o] = self.one(a[i], b[j])),
        }
        Ok(())
    }
}

/// Whether this module handles the operator: an unquantized float32, int32 or int64 first input.
pub fn handles(ctx: &PrepareCtx<'_>) -> bool {
    matches!(
        ctx.inputs.first(),
        Some(Some(t)) if matches!(t.dtype, ElementType::F32 | ElementType::I32 | ElementType::I64)
    )
}

fn fused_activation(ctx: &PrepareCtx<'_>, op: Op) -> Result<ActivationFunctionType, LoadError> {
    let raw = ctx.op.raw();
    let act = match op {
        Op::Add => raw
            .builtin_options_as_add_options()
            .map(|o| o.fused_activation_function()),
        Op::Sub => raw
            .builtin_options_as_sub_options()
            .map(|o| o.fused_activation_function()),
        Op::Mul => raw
            .builtin_options_as_mul_options()
            .map(|o| o.fused_activation_function()),
        Op::Div => raw
            .builtin_options_as_div_options()
            .map(|o| o.fused_activation_function()),
        _ => None,
    };
    Ok(act.unwrap_or(ActivationFunctionType::NONE))
}

/// Prepares ADD, SUB, MUL, DIV, FLOOR_DIV, FLOOR_MOD, MAXIMUM or MINIMUM on float32, int32 or
/// int64 tensors.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let code = ctx
        .op
        .kind()
        .builtin()
        .ok_or_else(|| ctx.invalid("not a builtin operator"))?;
    let op = match code {
        BuiltinOperator::ADD => Op::Add,
        BuiltinOperator::SUB => Op::Sub,
        BuiltinOperator::MUL => Op::Mul,
        BuiltinOperator::DIV => Op::Div,
        BuiltinOperator::FLOOR_DIV => Op::FloorDiv,
        BuiltinOperator::FLOOR_MOD => Op::FloorMod,
        BuiltinOperator::MAXIMUM => Op::Max,
        BuiltinOperator::MINIMUM => Op::Min,
        BuiltinOperator::SQUARED_DIFFERENCE => Op::SquaredDifference,
        _ => return Err(ctx.invalid("not an arithmetic operator")),
    };
    ctx.check_version(7)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("takes two inputs and has one output"));
    }
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    if b.dtype != a.dtype || out.dtype != a.dtype {
        return Err(ctx.invalid(format!(
            "input types {} and {} and output type {} differ",
            a.dtype, b.dtype, out.dtype
        )));
    }
    for t in [a, b, out] {
        if t.quant.as_ref().is_some_and(|q| !q.scale.is_empty()) && t.dtype != ElementType::F32 {
            return Err(ctx.unsupported(format!(
                "quantized {} tensor '{}' is not supported",
                t.dtype, t.name
            )));
        }
    }
    if a.dtype == ElementType::I64 && matches!(op, Op::Div | Op::FloorDiv) {
        return Err(ctx.unsupported(format!(
            "int64 {} is not supported (TFLite has no int64 kernel for it)",
            ctx.kind
        )));
    }
    let act = fused_activation(ctx, op)?;
    let bc = Broadcast::new(&a.shape, &b.shape, &out.shape).map_err(|e| ctx.invalid(e))?;
    let (na, nb, count) = (a.num_elements(), b.num_elements(), out.num_elements());
    let walk = if na == count && nb == count && a.shape == b.shape {
        Walk::Same
    } else if na == 1 && nb == count {
        Walk::ScalarA
    } else if nb == 1 && na == count {
        Walk::ScalarB
    } else {
        Walk::General(bc)
    };
    fn build<T: Elem>(
        ctx: &PrepareCtx<'_>,
        op: Op,
        act: ActivationFunctionType,
        walk: Walk,
        (na, nb, count): (usize, usize, usize),
        int: bool,
    ) -> Result<Box<dyn Kernel>, LoadError> {
        let clamp = if op.has_activation() {
            let r = T::range(act).ok_or_else(|| {
                ctx.unsupported(format!("fused activation {act:?} is not supported"))
            })?;
            Some(r)
        } else {
            None
        };
        Ok(Box::new(ArithKernel::<T> {
            op,
            int,
            walk,
            count,
            na,
            nb,
            clamp,
        }))
    }
    let sizes = (na, nb, count);
    match a.dtype {
        ElementType::F32 => build::<f32>(ctx, op, act, walk, sizes, false),
        ElementType::I32 => build::<i32>(ctx, op, act, walk, sizes, true),
        ElementType::I64 => build::<i64>(ctx, op, act, walk, sizes, true),
        other => Err(ctx.unsupported(format!("element type {other} is not supported"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_clamp_keeps_nan_and_caps_infinity() {
        let (lo, hi) = f32::range(ActivationFunctionType::NONE).unwrap();
        assert_eq!(clamp(f32::INFINITY, lo, hi), f32::MAX);
        assert_eq!(clamp(f32::NEG_INFINITY, lo, hi), f32::MIN);
        assert!(clamp(f32::NAN, lo, hi).is_nan());
        assert_eq!(clamp(-0.0f32, 0.0, 6.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn generated_nan_has_the_x86_pattern_on_every_host() {
        let r = f32::apply(Op::Sub, f32::INFINITY, f32::INFINITY);
        assert_eq!(r.to_bits(), X86_DEFAULT_NAN);
        let r = f32::apply(Op::Mul, 0.0, f32::INFINITY);
        assert_eq!(r.to_bits(), X86_DEFAULT_NAN);
        // A NaN operand propagates (quieted), it is not rewritten.
        let r = f32::apply(Op::Add, f32::from_bits(0x7fc0_0001), 1.0);
        assert_eq!(r.to_bits(), 0x7fc0_0001);
    }

    #[test]
    fn integer_division_rules() {
        assert_eq!(i32::apply(Op::Div, i32::MIN, -1), i32::MAX);
        assert_eq!(i32::apply(Op::Div, -7, 2), -3);
        assert_eq!(floor_div_i128(-7, 2), -4);
        assert_eq!(floor_div_i128(7, -2), -4);
        assert_eq!(i32::apply(Op::FloorDiv, i32::MIN, -1), i32::MIN);
        assert_eq!(i32::apply(Op::FloorMod, -7, 2), 1);
        assert_eq!(i32::apply(Op::FloorMod, 7, -2), -1);
        assert_eq!(i32::apply(Op::FloorMod, i32::MIN, -1), 0);
        assert_eq!(f32::apply(Op::FloorMod, -7.5, 2.0), 0.5);
    }
}
