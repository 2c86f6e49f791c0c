//! Elementwise float32 functions: LOGISTIC, TANH, EXP, SQRT, RSQRT, SQUARE, NEG, ABS, RELU,
//! RELU6, RELU_N1_TO_1 and HARD_SWISH.
//!
//! LiteRT's builtin LOGISTIC and TANH on float32 run Eigen's vectorised approximations (SSE,
//! four lanes, no FMA in the x86-64 wheel), not `libm`; this module evaluates the same
//! arithmetic, operation for operation, in `f32`:
//!
//! - **TANH**: Eigen's `ptanh_float`, a [9/8] rational function of `x` clamped to
//!   `±7.90738964080810547` (the non-FMA bound). Eigen uses the same formula for whole packets and
//!   for the scalar tail.
//! - **LOGISTIC**: Eigen's `scalar_logistic_op<float>`. Whole packets of four elements compute
//!   `e / (1 + e)` with `e` from a Cephes-style `exp(x / 2)` polynomial squared (zero below
//!   `-104`, input capped at `16.6355324`); the last `len % 4` elements take the scalar path,
//!   `e = expf(min(x, 16.6355324))`, `e / (1 + e)`, where `expf` is the C library's.
//! - **EXP**: `expf` per element (TFLite's reference kernel).
//! - **SQRT, RSQRT, SQUARE, NEG, ABS**: `sqrt(x)`, `1 / sqrt(x)`, `x * x`, `-x`, `|x|`, each
//!   exactly rounded IEEE arithmetic.
//! - **RELU, RELU6, RELU_N1_TO_1**: `min(max(x, lo), hi)` (NaN passes through, `-0.0` stays).
//! - **HARD_SWISH**: `(x * (1/6)) * min(max(x + 3, 0), 6)`, in that order (`1/6` rounded to
//!   `f32` first), as LiteRT computes it.
//!
//! `expf` comes from the host's C library (Rust's `f32::exp`). glibc's `expf` (which the wheel
//! uses on Linux) is what the goldens were made with; another C library may differ in the last
//! bit for rare inputs (see docs/interpreter-exactness.md).

use super::arith::x86_nan;
use super::checks::single_io;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_f32, as_f32_mut, Kernel, PrepareCtx};
use crate::schema::BuiltinOperator;

/// Eigen's logistic input cap: the first point where its interpolant is exactly one.
#[allow(clippy::excessive_precision)]
const LOGISTIC_EXP_HI: f32 = 16.6355324;

/// Lanes of Eigen's SSE float packet.
const PACKET: usize = 4;

/// The function of one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    Logistic,
    Tanh,
    Exp,
    Sqrt,
    Rsqrt,
    Square,
    Neg,
    Abs,
    Relu,
    Relu6,
    ReluN1To1,
    HardSwish,
}

/// TFLite's `std::min(std::max(x, lo), hi)`.
#[inline(always)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x < lo { lo } else { x };
    if hi < x {
        hi
    } else {
        x
    }
}

/// LiteRT's float HARD_SWISH.
pub(crate) fn hard_swish(x: f32) -> f32 {
    (x * (1.0f32 / 6.0)) * clamp(x + 3.0, 0.0, 6.0)
}

/// `std::min(a, b)` with Eigen's SSE NaN behaviour (`_mm_min_ps(b, a)`): NaN in `a` propagates.
#[inline(always)]
fn pmin(a: f32, b: f32) -> f32 {
    if b < a {
        b
    } else {
        a
    }
}

/// `std::max(a, b)` likewise.
#[inline(always)]
fn pmax(a: f32, b: f32) -> f32 {
    if a < b {
        b
    } else {
        a
    }
}

#[allow(clippy::excessive_precision)]
/// Eigen's `ptanh_float` without FMA (`pmadd` is a multiply then an add).
pub(crate) fn tanh_eigen(a: f32) -> f32 {
    const CLAMP: f32 = 7.90738964080810547;
    const ALPHA: [f32; 4] = [
        1.394553628e-8,
        2.102733560e-5,
        3.520756727e-3,
        1.340216100e-1,
    ];
    const BETA: [f32; 5] = [
        8.015776984e-7,
        3.326951409e-4,
        2.597254514e-2,
        4.673548340e-1,
        1.0,
    ];
    let x = pmax(pmin(a, CLAMP), -CLAMP);
    let x2 = x * x;
    let x3 = x2 * x;
    let mut p = ALPHA[0];
    for &c in &ALPHA[1..] {
        p = p * x2 + c;
    }
    let mut q = BETA[0];
    for &c in &BETA[1..] {
        q = q * x2 + c;
    }
    let p = x3 * p + x;
    p / q
}

#[allow(clippy::excessive_precision)]
/// Eigen's packet path of `scalar_logistic_op<float>` on one lane (without FMA).
pub(crate) fn logistic_eigen_packet(a: f32) -> f32 {
    const EXP_HI: f32 = LOGISTIC_EXP_HI;
    const EXP_LO: f32 = -104.0;
    // Eigen's 1.44269504088896341f: the same f32.
    const LOG2EF: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = -0.693359375;
    const C2: f32 = 2.12194440e-4;
    const P2: f32 = 0.49999141693115234375;
    const P3: f32 = 0.16666877269744873046875;
    const P4: f32 = 4.1898667812347412109375e-2;
    const P5: f32 = 8.33471305668354034423828125e-3;
    let zero = a < EXP_LO;
    let mut x = pmin(a, EXP_HI);
    x *= 0.5;
    let m = (x * LOG2EF + 0.5).floor();
    let r = m * C1 + x;
    let r = m * C2 + r;
    let r2 = r * r;
    let p_even = r2 * P4 + P2;
    let p_odd = r2 * P5 + P3;
    let p_low = r + 1.0;
    let p = r * p_odd + p_even;
    let p = r2 * p + p_low;
    // pldexp_fast: 2^m as a float built from the biased exponent, clamped to [0, 255];
    // the float-to-int conversion is x86's `cvttps2dq` (NaN and out of range give i32::MIN).
    let biased = pmin(pmax(m + 127.0, 0.0), 255.0);
    let e_int = if biased.is_nan() {
        i32::MIN
    } else {
        biased as i32
    };
    let scale = f32::from_bits((e_int as u32).wrapping_shl(23));
    let e = p * scale;
    let e = e * e;
    if zero {
        0.0
    } else {
        e / (1.0 + e)
    }
}

/// Eigen's scalar path of `scalar_logistic_op<float>`.
pub(crate) fn logistic_eigen_scalar(x: f32) -> f32 {
    let e = pmin(x, LOGISTIC_EXP_HI).exp();
    e / (1.0 + e)
}

struct FloatUnary {
    func: Func,
    count: usize,
}

impl Kernel for FloatUnary {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, output) = single_io(inputs, outputs)?;
        let x = as_f32(input)?;
        let y = as_f32_mut(output)?;
        if x.len() != self.count || y.len() != self.count {
            return Err(EvalError(format!(
                "buffers hold {} and {} elements, expected {}",
                x.len(),
                y.len(),
                self.count
            )));
        }
        // A NaN generated from a number (sqrt(-1), -inf * 0) gets x86's bit pattern.
        let map = |f: fn(f32) -> f32, x: &[f32], y: &mut [f32]| {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = x86_nan(f(v), v.is_nan());
            }
        };
        match self.func {
            Func::Logistic => {
                let split = x.len() / PACKET * PACKET;
                map(logistic_eigen_packet, &x[..split], &mut y[..split]);
                map(logistic_eigen_scalar, &x[split..], &mut y[split..]);
            }
            Func::Tanh => map(tanh_eigen, x, y),
            Func::Exp => map(f32::exp, x, y),
            Func::Sqrt => map(f32::sqrt, x, y),
            Func::Rsqrt => map(|v| 1.0 / v.sqrt(), x, y),
            Func::Square => map(|v| v * v, x, y),
            Func::Neg => map(|v| -v, x, y),
            Func::Abs => map(f32::abs, x, y),
            Func::Relu => map(|v| clamp(v, 0.0, f32::INFINITY), x, y),
            Func::Relu6 => map(|v| clamp(v, 0.0, 6.0), x, y),
            Func::ReluN1To1 => map(|v| clamp(v, -1.0, 1.0), x, y),
            Func::HardSwish => map(hard_swish, x, y),
        }
        Ok(())
    }
}

/// Whether this module handles the operator: a float32 input.
pub fn handles(ctx: &PrepareCtx<'_>) -> bool {
    matches!(ctx.inputs.first(), Some(Some(t)) if t.dtype == ElementType::F32)
}

/// Prepares LOGISTIC, TANH, EXP, SQRT, RSQRT, SQUARE, NEG, ABS, RELU, RELU6, RELU_N1_TO_1 or
/// HARD_SWISH on float32.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let func = match ctx.op.kind().builtin() {
        Some(BuiltinOperator::LOGISTIC) => Func::Logistic,
        Some(BuiltinOperator::TANH) => Func::Tanh,
        Some(BuiltinOperator::EXP) => Func::Exp,
        Some(BuiltinOperator::SQRT) => Func::Sqrt,
        Some(BuiltinOperator::RSQRT) => Func::Rsqrt,
        Some(BuiltinOperator::SQUARE) => Func::Square,
        Some(BuiltinOperator::NEG) => Func::Neg,
        Some(BuiltinOperator::ABS) => Func::Abs,
        Some(BuiltinOperator::RELU) => Func::Relu,
        Some(BuiltinOperator::RELU6) => Func::Relu6,
        Some(BuiltinOperator::RELU_N1_TO_1) => Func::ReluN1To1,
        Some(BuiltinOperator::HARD_SWISH) => Func::HardSwish,
        _ => return Err(ctx.invalid("not a float unary operator")),
    };
    ctx.check_version(6)?;
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("takes one input and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    if input.dtype != ElementType::F32 || output.dtype != ElementType::F32 {
        return Err(ctx.unsupported(format!(
            "{} on {} to {} is not supported (float32 only here)",
            ctx.kind, input.dtype, output.dtype
        )));
    }
    if input.shape != output.shape {
        return Err(ctx.invalid(format!(
            "input shape {:?} differs from output shape {:?}",
            input.shape, output.shape
        )));
    }
    Ok(Box::new(FloatUnary {
        func,
        count: input.num_elements(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_saturates_and_is_odd() {
        assert_eq!(tanh_eigen(100.0), 1.0);
        assert_eq!(tanh_eigen(-100.0), -1.0);
        assert_eq!(tanh_eigen(0.5), -tanh_eigen(-0.5));
        assert!((tanh_eigen(0.5) - 0.5f32.tanh()).abs() < 1e-6);
        assert!(tanh_eigen(f32::NAN).is_nan());
    }

    #[test]
    fn logistic_paths_agree_roughly() {
        for &x in &[-20.0f32, -3.0, -0.1, 0.0, 0.7, 5.0, 16.0, 30.0] {
            let a = logistic_eigen_packet(x);
            let b = logistic_eigen_scalar(x);
            assert!((a - b).abs() <= 1e-6 * b.max(1e-30), "{x}: {a} vs {b}");
        }
        assert_eq!(logistic_eigen_packet(-200.0), 0.0);
        assert_eq!(logistic_eigen_packet(200.0), 1.0);
    }
}
