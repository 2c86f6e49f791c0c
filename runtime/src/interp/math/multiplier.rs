//! Real multipliers as 32-bit fixed-point values, and applying them the way TFLite's builtin
//! kernels do.
//!
//! TFLite's default build (no `TFLITE_SINGLE_ROUNDING`) applies a multiplier with *double
//! rounding*: a rounding doubling high multiply ([`srdhm`]) followed by a rounding right shift
//! ([`rdbpot`]). That is what [`multiply_by_quantized_multiplier`] reproduces.

use super::fixedpoint::{one_over_one_plus_x_for_x_in_0_1, rdbpot, rescale, srdhm, srmbpot};

/// A quantized multiplier: `real ≈ multiplier * 2^(shift - 31)`, with `|multiplier|` in
/// `[2^30, 2^31)` or zero. A positive `shift` is a left shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QuantizedMultiplier {
    /// The Q0.31 mantissa.
    pub multiplier: i32,
    /// The power-of-two exponent (positive: left shift, negative: right shift).
    pub shift: i32,
}

/// C's `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1`; zero, infinities and NaN give `(x, 0)`.
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale by 2^64 into the normal range first.
        let (m, e) = frexp(x * f64::from_bits(0x43f0_0000_0000_0000));
        return (m, e - 64);
    }
    let mantissa = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (mantissa, biased - 1022)
}

/// TFLite's `QuantizeMultiplier`: the mantissa rounded to Q0.31 (ties away from zero), a
/// mantissa that rounds up to `2^31` renormalized, and multipliers below `2^-31` flushed to zero.
pub fn quantize_multiplier(real: f64) -> QuantizedMultiplier {
    if real == 0.0 {
        return QuantizedMultiplier::default();
    }
    let (q, mut shift) = frexp(real);
    let mut q_fixed = (q * (1i64 << 31) as f64).round() as i64;
    debug_assert!(q_fixed.abs() <= 1i64 << 31);
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    QuantizedMultiplier {
        multiplier: q_fixed as i32,
        shift,
    }
}

/// TFLite's `QuantizeMultiplierSmallerThanOneExp`: for `real` in `[0, 1)`; the shift is `<= 0`.
/// Returns `None` outside that range (where TFLite aborts).
pub fn quantize_multiplier_smaller_than_one(real: f64) -> Option<QuantizedMultiplier> {
    if !(0.0..1.0).contains(&real) {
        return None;
    }
    let q = quantize_multiplier(real);
    (q.shift <= 0).then_some(q)
}

/// TFLite's `QuantizeMultiplierGreaterThanOne`: for `real > 1`; the shift is `>= 0`. Returns
/// `None` otherwise (where TFLite aborts).
pub fn quantize_multiplier_greater_than_one(real: f64) -> Option<QuantizedMultiplier> {
    if real.is_nan() || real <= 1.0 {
        return None;
    }
    let q = quantize_multiplier(real);
    (q.shift >= 0).then_some(q)
}

/// TFLite's `MultiplyByQuantizedMultiplier(int32, ...)` with double rounding:
/// `rdbpot(srdhm(x * 2^left, multiplier), right)`. The left shift wraps like the C++ code.
#[inline(always)]
pub fn multiply_by_quantized_multiplier(x: i32, m: QuantizedMultiplier) -> i32 {
    let left = m.shift.max(0);
    let right = (-m.shift).max(0);
    rdbpot(
        srdhm(x.wrapping_mul(1i32.wrapping_shl(left as u32)), m.multiplier),
        right,
    )
}

/// TFLite's `MultiplyByQuantizedMultiplier(int64, ...)`: the multiplier reduced to 16 bits and one
/// rounding shift (ties toward +infinity). `x` should be in `[-2^47, 2^47)` and the shift in
/// `-31..8`.
#[inline(always)]
pub fn multiply_by_quantized_multiplier_i64(x: i64, m: QuantizedMultiplier) -> i32 {
    let reduced: i64 = if m.multiplier < 0x7FFF_0000 {
        i64::from((m.multiplier + (1 << 15)) >> 16)
    } else {
        0x7FFF
    };
    let total_shift = 15 - m.shift;
    let rounded = x
        .wrapping_mul(reduced)
        .wrapping_add(1i64 << (total_shift - 1));
    (rounded >> total_shift) as i32
}

/// TFLite's `MultiplyByQuantizedMultiplierSmallerThanOneExp` (double rounding, `shift <= 0`).
#[inline(always)]
pub fn multiply_by_quantized_multiplier_smaller_than_one_exp(
    x: i32,
    m: QuantizedMultiplier,
) -> i32 {
    rdbpot(srdhm(x, m.multiplier), -m.shift)
}

/// TFLite's `MultiplyByQuantizedMultiplierGreaterThanOne` (double rounding, `shift >= 0`).
#[inline(always)]
pub fn multiply_by_quantized_multiplier_greater_than_one(x: i32, m: QuantizedMultiplier) -> i32 {
    srdhm(
        x.wrapping_mul(1i32.wrapping_shl(m.shift as u32)),
        m.multiplier,
    )
}

/// TFLite's `DownScaleInt32ToInt16Multiplier`: a non-negative Q0.31 multiplier rounded to Q0.15.
pub fn downscale_int32_to_int16_multiplier(multiplier: i32) -> i16 {
    const ROUNDING_OFFSET: i32 = 1 << 15;
    if multiplier >= i32::MAX - ROUNDING_OFFSET {
        return i16::MAX;
    }
    ((multiplier + ROUNDING_OFFSET) >> 16) as i16
}

/// TFLite's `GetReciprocal`: for `x > 0` with `x_integer_digits` integer bits, returns the Q0.31
/// reciprocal mantissa and the number of bits of `x` above one (`num_bits_over_unit`).
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    debug_assert!(x > 0);
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let num_bits_over_unit = x_integer_digits - headroom_plus_one;
    let shifted_sum_minus_one = ((x as u32)
        .wrapping_shl(headroom_plus_one as u32)
        .wrapping_sub(1u32 << 31)) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}

/// TFLite's `GetInvSqrtQuantizedMultiplierExp`: a multiplier approximating `1 / sqrt(input)`
/// (Newton-Raphson in Q3.28). `reverse_shift` is `-1` when the caller wants a left-shift exponent
/// (TFLite's `kReverseShift`). Inputs `<= 1` give `(i32::MAX, 0)`.
pub fn get_inv_sqrt_quantized_multiplier_exp(
    input: i32,
    reverse_shift: i32,
) -> QuantizedMultiplier {
    if input <= 1 {
        return QuantizedMultiplier {
            multiplier: i32::MAX,
            shift: 0,
        };
    }
    let mut input = input;
    let mut shift = 11;
    while input >= (1 << 29) {
        input /= 4;
        shift += 1;
    }
    let max_left_shift_bits = (input as u32).leading_zeros() as i32 - 1;
    let max_left_shift_bit_pairs = max_left_shift_bits / 2;
    let left_shift_bit_pairs = max_left_shift_bit_pairs - 1;
    shift -= left_shift_bit_pairs;
    input <<= 2 * left_shift_bit_pairs;
    debug_assert!((1 << 27..1 << 29).contains(&input));
    // Q3.28 Newton-Raphson iteration for 1/sqrt(input), starting from one.
    let fixedpoint_input = input >> 1;
    let half_input = srmbpot(fixedpoint_input, -1);
    let half_three = (1 << 28) + (1 << 27);
    let mut x: i32 = 1 << 28;
    for _ in 0..5 {
        let x3 = rescale(srdhm(srdhm(x, x), x), 9, 3);
        x = rescale(
            srdhm(half_three, x).wrapping_sub(srdhm(half_input, x3)),
            6,
            3,
        );
    }
    const HALF_SQRT_2: i32 = 1_518_500_250;
    let mut multiplier = srdhm(x, HALF_SQRT_2);
    if shift < 0 {
        multiplier <<= -shift;
        shift = 0;
    }
    QuantizedMultiplier {
        multiplier,
        shift: shift * reverse_shift,
    }
}

/// TFLite's `CalculateInputRadius`: the largest input difference that does not saturate after
/// scaling by `2^input_left_shift` into `input_integer_bits` integer bits.
pub fn calculate_input_radius(
    input_integer_bits: i32,
    input_left_shift: i32,
    total_signed_bits: i32,
) -> i32 {
    let max_input_rescaled = f64::from((1i32 << input_integer_bits) - 1)
        * (1i64 << (total_signed_bits - input_integer_bits)) as f64
        / (1i64 << input_left_shift) as f64;
    max_input_rescaled.floor() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(m: QuantizedMultiplier) -> f64 {
        f64::from(m.multiplier) * 2f64.powi(m.shift - 31)
    }

    #[test]
    fn frexp_matches_c() {
        for &x in &[1.0, 0.75, 3.0e-5, 1234.5, 1e-310, 0.5, -0.3] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m.abs()), "{x}: {m}");
            // Two steps, so that 2^e itself does not underflow for subnormal x.
            assert_eq!(m * 2f64.powi(e + 64) * 2f64.powi(-64), x);
        }
        assert_eq!(frexp(0.0), (0.0, 0));
    }

    #[test]
    fn quantize_multiplier_known_values() {
        assert_eq!(quantize_multiplier(0.0), QuantizedMultiplier::default());
        assert_eq!(
            quantize_multiplier(0.5),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 0
            }
        );
        assert_eq!(
            quantize_multiplier(1.0),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 1
            }
        );
        assert_eq!(
            quantize_multiplier(3.0),
            QuantizedMultiplier {
                multiplier: 3 << 29,
                shift: 2
            }
        );
        // The mantissa rounds up to 2^31 and is renormalized.
        assert_eq!(
            quantize_multiplier(1.0 - 1e-12),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 1
            }
        );
        // Below 2^-31 everything is flushed to zero.
        assert_eq!(quantize_multiplier(1e-12), QuantizedMultiplier::default());
        // Negative multipliers keep their sign in the mantissa.
        let n = quantize_multiplier(-0.3);
        assert!(n.multiplier < 0 && n.shift == -1);
        for &r in &[0.0003, 0.3, 1.7, 123.456, 2.0f64.powi(-30)] {
            let q = quantize_multiplier(r);
            assert!((real(q) - r).abs() <= r * 1e-9, "{r}: {q:?}");
            assert!(q.multiplier >= 1 << 30);
        }
    }

    #[test]
    fn smaller_and_greater_than_one_check_their_ranges() {
        assert!(quantize_multiplier_smaller_than_one(1.5).is_none());
        assert!(quantize_multiplier_smaller_than_one(-0.1).is_none());
        assert_eq!(
            quantize_multiplier_smaller_than_one(0.25).unwrap().shift,
            -1
        );
        assert!(quantize_multiplier_greater_than_one(0.5).is_none());
        assert_eq!(quantize_multiplier_greater_than_one(4.5).unwrap().shift, 3);
    }

    #[test]
    fn multiply_by_quantized_multiplier_rounds_twice() {
        let quarter = quantize_multiplier(0.25);
        assert_eq!(multiply_by_quantized_multiplier(6, quarter), 2);
        assert_eq!(multiply_by_quantized_multiplier(-6, quarter), -2);
        // Double rounding: 5 * 0.25 = 1.25, but srdhm rounds 2.5 up to 3 and the shift rounds 1.5
        // up to 2.
        assert_eq!(multiply_by_quantized_multiplier(5, quarter), 2);
        // A zero multiplier gives zero.
        assert_eq!(
            multiply_by_quantized_multiplier(12345, QuantizedMultiplier::default()),
            0
        );
        // Positive shifts multiply before the high multiply.
        let three = quantize_multiplier(3.0);
        assert_eq!(multiply_by_quantized_multiplier(7, three), 21);
        assert_eq!(multiply_by_quantized_multiplier(-7, three), -21);
        // Double rounding: 0.375 * 2^-2 ... values chosen so the intermediate rounds first.
        let m = QuantizedMultiplier {
            multiplier: 1 << 30,
            shift: -1,
        }; // 0.25
        assert_eq!(multiply_by_quantized_multiplier(3, m), 1); // 0.75 -> srdhm 2 -> 1
        assert_eq!(multiply_by_quantized_multiplier(-3, m), -1);
        // i32::MIN * MIN saturation inside the high multiply.
        let m = QuantizedMultiplier {
            multiplier: i32::MIN,
            shift: 0,
        };
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, m), i32::MAX);
        assert_eq!(
            multiply_by_quantized_multiplier_smaller_than_one_exp(100, quantize_multiplier(0.1)),
            10
        );
        assert_eq!(
            multiply_by_quantized_multiplier_greater_than_one(100, quantize_multiplier(2.5)),
            250
        );
    }

    #[test]
    fn multiply_by_quantized_multiplier_i64_single_rounding() {
        let m = quantize_multiplier(0.5);
        assert_eq!(multiply_by_quantized_multiplier_i64(3, m), 2); // 1.5 rounds up
        assert_eq!(multiply_by_quantized_multiplier_i64(-3, m), -1); // -1.5 rounds up
        assert_eq!(
            multiply_by_quantized_multiplier_i64(1 << 40, quantize_multiplier(2f64.powi(-20))),
            1 << 20
        );
    }

    #[test]
    fn downscale_to_int16() {
        assert_eq!(downscale_int32_to_int16_multiplier(1 << 30), 1 << 14);
        assert_eq!(downscale_int32_to_int16_multiplier(i32::MAX), i16::MAX);
        assert_eq!(
            downscale_int32_to_int16_multiplier((1 << 30) + (1 << 15)),
            (1 << 14) + 1
        );
        assert_eq!(downscale_int32_to_int16_multiplier(0), 0);
    }

    #[test]
    fn reciprocal_is_accurate() {
        for &(x, digits) in &[(3i32 << 20, 11), (1 << 24, 7), (12345, 31), (7 << 26, 4)] {
            let value = f64::from(x) / 2f64.powi(31 - digits);
            let (mantissa, bits_over_unit) = get_reciprocal(x, digits);
            let got = f64::from(mantissa) / 2f64.powi(31) / 2f64.powi(bits_over_unit);
            let want = 1.0 / value;
            assert!(
                (got - want).abs() < want * 1e-6,
                "1/{value}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn inv_sqrt_is_accurate() {
        assert_eq!(
            get_inv_sqrt_quantized_multiplier_exp(0, -1),
            QuantizedMultiplier {
                multiplier: i32::MAX,
                shift: 0
            }
        );
        assert_eq!(
            get_inv_sqrt_quantized_multiplier_exp(1, -1),
            QuantizedMultiplier {
                multiplier: i32::MAX,
                shift: 0
            }
        );
        for &input in &[2, 3, 100, 65025, 1 << 20, 123_456_789, i32::MAX] {
            let q = get_inv_sqrt_quantized_multiplier_exp(input, -1);
            // With reverse_shift = -1 the exponent is a left shift: real = m * 2^(shift - 31).
            let got = real(q);
            let want = 1.0 / f64::from(input).sqrt();
            assert!(
                (got - want).abs() < want * 1e-5,
                "{input}: {got} vs {want} ({q:?})"
            );
            assert!(q.shift <= 0);
        }
        // reverse_shift = 1 returns a right-shift amount instead.
        let a = get_inv_sqrt_quantized_multiplier_exp(100, -1);
        let b = get_inv_sqrt_quantized_multiplier_exp(100, 1);
        assert_eq!(a.multiplier, b.multiplier);
        assert_eq!(a.shift, -b.shift);
    }

    #[test]
    fn input_radius() {
        assert_eq!(calculate_input_radius(5, 0, 31), (31i64 << 26) as i32);
        assert_eq!(calculate_input_radius(4, 20, 15), 0);
        assert_eq!(calculate_input_radius(4, 3, 15), 15 * (1 << 11) / 8);
    }
}
