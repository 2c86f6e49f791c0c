//! Fixed-point requantization as TFLite's kernels do it. The basic pieces (quantized multipliers,
//! the doubling high multiply, the rounding shift, TFLite's double-rounding multiplier) come from
//! [`crate::interp::math`]; this module adds the variants the optimized kernels use and the
//! fused-activation ranges.
//!
//! Rounding schemes found in LiteRT's builtin kernels (established against its outputs):
//! - [`mul_double_rounding`]: gemmlowp's "saturating rounding doubling high multiply" followed by a
//!   rounding right shift, ties away from zero (TFLite's scalar `MultiplyByQuantizedMultiplier`).
//! - [`mul_double_rounding_upward`]: the same high multiply, then a right shift whose ties go
//!   toward +infinity (the vectorized kernels: GEMM output stage, depthwise channel blocks).
//! - [`mul_single_rounding`]: one 64-bit product and one rounding shift (ruy's reference), kept
//!   for completeness; no kernel currently needs it.

pub use crate::interp::math::fixedpoint::{
    rdbpot as rounding_divide_by_pot, srdhm as sat_rounding_doubling_high_mul,
};
pub use crate::interp::math::multiplier::{
    multiply_by_quantized_multiplier as mul_double_rounding,
    multiply_by_quantized_multiplier_smaller_than_one_exp as mul_smaller_than_one,
    quantize_multiplier, QuantizedMultiplier,
};

/// Which multiplier application a kernel uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// [`mul_double_rounding`].
    Double,
    /// [`mul_single_rounding`].
    Single,
    /// [`mul_double_rounding_upward`].
    DoubleUpward,
}

impl Rounding {
    /// Applies `m` to `x` with this rounding (the scalar reference the vectorized stages are
    /// tested against).
    #[cfg(test)]
    pub fn apply(self, x: i32, m: QuantizedMultiplier) -> i32 {
        match self {
            Rounding::Double => mul_double_rounding(x, m),
            Rounding::Single => mul_single_rounding(x, m),
            Rounding::DoubleUpward => mul_double_rounding_upward(x, m),
        }
    }
}

/// The multiplier as TFLite's optimized (vectorized) kernels apply it: the doubling high
/// multiply rounded as gemmlowp does, then a rounding right shift whose ties go toward
/// +infinity (`(x + 2^(n-1)) >> n`, ARM's `SRSHL`). Used by the integer GEMM (convolution,
/// fully connected) and by the vector blocks of depthwise convolution and requantization.
#[inline(always)]
pub fn mul_double_rounding_upward(x: i32, m: QuantizedMultiplier) -> i32 {
    let left = m.shift.max(0);
    let right = (-m.shift).max(0);
    let high = sat_rounding_doubling_high_mul(
        x.wrapping_mul(1i32.wrapping_shl(left as u32)),
        m.multiplier,
    );
    if right == 0 {
        high
    } else {
        ((high as i64 + (1i64 << (right - 1))) >> right) as i32
    }
}

/// ruy's reference multiplier application (single rounding, ties toward +infinity).
#[inline(always)]
pub fn mul_single_rounding(x: i32, m: QuantizedMultiplier) -> i32 {
    let total_shift = 31 - m.shift;
    let prod = x as i64 * m.multiplier as i64;
    if total_shift <= 0 {
        return (prod << (-total_shift).min(63)) as i32;
    }
    let round = 1i64 << (total_shift - 1);
    ((prod + round) >> total_shift.min(63)) as i32
}

/// An activation bound `f` on an output with `scale` and `zero_point`: `zero_point + round(f /
/// scale)`, rounded in single precision as TFLite does; `None` when the quotient or the sum does
/// not fit in `i32` (TFLite refuses such a fused activation, `no_integer_overflow_from_quantization`,
/// and converts out of range, which is undefined, in its standalone RELU ops).
pub fn quantized_bound(f: f32, scale: f32, zero_point: i32) -> Option<i32> {
    let q = (f / scale).round();
    // NaN is not contained either.
    if !(-2_147_483_648.0..2_147_483_648.0).contains(&q) {
        return None;
    }
    zero_point.checked_add(q as i32)
}

/// Whether every `round(x)` with `|x| <= max_abs`, plus an 8-bit zero point, fits in `i32`: the
/// float requantizations (`static_cast<int32>(round(...))` in TFLite, undefined beyond that
/// range) refuse scales that could leave it.
pub fn rounds_within_i32(max_abs: f32) -> bool {
    (0.0..2_147_483_000.0).contains(&max_abs)
}

/// Why a fused activation has no quantized clamp range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationRangeError {
    /// The activation is not a clamp (TANH, SIGN_BIT, ...): not supported as a fused activation.
    Unsupported,
    /// A bound divided by the output scale does not fit in `i32` (see [`quantized_bound`]).
    Overflow,
}

/// The quantized clamp range of a fused activation for an output with `scale` and `zero_point`,
/// intersected with `[qmin, qmax]` (TFLite's `CalculateActivationRangeQuantized`).
pub fn activation_range(
    act: crate::schema::ActivationFunctionType,
    scale: f32,
    zero_point: i32,
    qmin: i32,
    qmax: i32,
) -> Result<(i32, i32), ActivationRangeError> {
    use crate::schema::ActivationFunctionType as A;
    let q = |f: f32| quantized_bound(f, scale, zero_point).ok_or(ActivationRangeError::Overflow);
    match act {
        A::NONE => Ok((qmin, qmax)),
        A::RELU => Ok((qmin.max(q(0.0)?), qmax)),
        A::RELU6 => Ok((qmin.max(q(0.0)?), qmax.min(q(6.0)?))),
        A::RELU_N1_TO_1 => Ok((qmin.max(q(-1.0)?), qmax.min(q(1.0)?))),
        _ => Err(ActivationRangeError::Unsupported),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::math::multiplier::frexp;

    #[test]
    fn frexp_matches_definition() {
        for &x in &[1.0, 0.75, 3.0e-5, 1234.5, 1e-310, 0.5] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m), "{x}: {m}");
            assert_eq!(m * 2f64.powi(e + 100) * 2f64.powi(-100), x);
        }
    }

    #[test]
    fn quantize_multiplier_round_trips() {
        let q = quantize_multiplier(0.5);
        assert_eq!(
            q,
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 0
            }
        );
        let q = quantize_multiplier(0.0003);
        let back = q.multiplier as f64 * 2f64.powi(q.shift - 31);
        assert!((back - 0.0003).abs() < 1e-12);
        // Mantissa rounding up to 2^31 renormalizes.
        let q = quantize_multiplier(1.0 - 1e-12);
        assert_eq!(
            q,
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 1
            }
        );
        assert_eq!(quantize_multiplier(1e-12).multiplier, 0);
    }

    #[test]
    fn rounding_divide_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
    }

    #[test]
    fn single_and_double_rounding_differ_only_on_ties() {
        let m = quantize_multiplier(0.25);
        assert_eq!(mul_double_rounding(6, m), 2);
        assert_eq!(mul_single_rounding(6, m), 2);
        assert_eq!(mul_double_rounding(-6, m), -2);
        assert_eq!(mul_single_rounding(-6, m), -1);
        assert_eq!(sat_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        // -21504 / 2^11 = -10.5: away from zero vs toward +infinity.
        let m = QuantizedMultiplier {
            multiplier: 1 << 30,
            shift: -11,
        };
        assert_eq!(mul_double_rounding(-43008, m), -11);
        assert_eq!(mul_double_rounding_upward(-43008, m), -10);
    }
}
