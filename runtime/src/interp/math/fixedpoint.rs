//! gemmlowp's scalar fixed-point arithmetic, as TFLite's integer kernels use it.
//!
//! A fixed-point value is a raw integer with a number of *integer bits* `k`: a 32-bit raw `r` with
//! `k` integer bits represents `r / 2^(31 - k)` (format Q`k`.`31-k`). Functions that take
//! `integer_bits` interpret their argument that way; results documented as Q0.31 have no integer
//! bits (range `[-1, 1)`, with `i32::MAX` standing for one).
//!
//! Additions and subtractions of raw values wrap, exactly like the C++ code on two's-complement
//! hardware; multiplications go through [`srdhm`], which rounds to nearest (ties toward +infinity)
//! and saturates the one overflowing case.

/// `SaturatingRoundingDoublingHighMul` for `i32`: `round(a * b / 2^31)`, ties toward +infinity,
/// with `i32::MIN * i32::MIN` saturating to `i32::MAX` (ARM `VQRDMULH`).
#[inline(always)]
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncating toward zero, as in C++.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `SaturatingRoundingDoublingHighMul` for `i16`: `round(a * b / 2^15)`, ties toward +infinity,
/// with `i16::MIN * i16::MIN` saturating to `i16::MAX`.
#[inline(always)]
pub fn srdhm_i16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = i32::from(a) * i32::from(b);
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// TFLite's `SaturatingDoublingHighMul` for `i16`: like [`srdhm_i16`] but truncating toward zero
/// instead of rounding (ARM `SQDMULH`).
#[inline(always)]
pub fn sdhm_i16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = i32::from(a) * i32::from(b);
    (ab / (1 << 15)) as i16
}

/// `RoundingDivideByPOT` for `i32`: `x / 2^exponent` rounded to nearest, ties away from zero.
/// `exponent` must be in `0..=31`.
#[inline(always)]
pub fn rdbpot(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent), "exponent {exponent}");
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `RoundingDivideByPOT` for `i16`, with the C++ code's 16-bit wrap-around of the mask and of the
/// additions. `exponent` must be in `0..=31`.
#[inline(always)]
pub fn rdbpot_i16(x: i16, exponent: i32) -> i16 {
    debug_assert!((0..=31).contains(&exponent), "exponent {exponent}");
    let mask = ((1i64 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1).wrapping_add(i16::from(x < 0));
    let shifted = (i32::from(x) >> exponent) as i16;
    shifted.wrapping_add(i16::from(remainder > threshold))
}

/// `SaturatingRoundingMultiplyByPOT` for `i32`: `x * 2^exponent`, saturating when `exponent > 0`,
/// rounding to nearest when `exponent < 0`.
#[inline(always)]
pub fn srmbpot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        debug_assert!(exponent < 31);
        let threshold = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    } else if exponent < 0 {
        rdbpot(x, -exponent)
    } else {
        x
    }
}

/// `RoundingHalfSum` for `i32`: `(a + b) / 2` rounded to nearest, ties away from zero.
#[inline(always)]
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = i64::from(a) + i64::from(b);
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `Rescale`: converts a raw value from `src_bits` integer bits to `dst_bits` integer bits
/// (saturating when gaining precision, rounding when losing it).
#[inline(always)]
pub fn rescale(x: i32, src_bits: i32, dst_bits: i32) -> i32 {
    srmbpot(x, src_bits - dst_bits)
}

/// The raw value of one in Q0.31 (`i32::MAX`, the closest representable value).
pub const Q0_ONE: i32 = i32::MAX;

/// The raw value of one with `integer_bits` integer bits (`integer_bits >= 1`).
#[inline(always)]
pub fn one(integer_bits: i32) -> i32 {
    if integer_bits == 0 {
        Q0_ONE
    } else {
        1 << (31 - integer_bits)
    }
}

/// `exp(a)` for `a` in `[-1/4, 0)`, `a` and the result in Q0.31.
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const CONSTANT_TERM: i32 = 1_895_147_668; // exp(-1/8)
    const ONE_THIRD: i32 = 715_827_883;
    // Taylor expansion around -1/8: x = a + 1/8.
    let x = a.wrapping_add(1 << 28);
    let x2 = srdhm(x, x);
    let x3 = srdhm(x2, x);
    let x4 = srdhm(x2, x2);
    let x4_over_4 = srmbpot(x4, -2);
    let poly = srmbpot(
        srdhm(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2),
        -1,
    );
    CONSTANT_TERM.wrapping_add(srdhm(CONSTANT_TERM, x.wrapping_add(poly)))
}

/// `exp(a)` for `a <= 0`: `a` with `integer_bits` integer bits, the result in Q0.31.
pub fn exp_on_negative_values(a: i32, integer_bits: i32) -> i32 {
    debug_assert!((0..31).contains(&integer_bits));
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(
        a_mod_quarter_minus_one_quarter,
        integer_bits,
        0,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // Barrel shifter: multiply by exp(-2^e) for each set bit of the remainder.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947), // exp(-1/4)
        (-1, 1_302_514_674), // exp(-1/2)
        (0, 790_015_084),    // exp(-1)
        (1, 290_630_308),    // exp(-2)
        (2, 39_332_535),     // exp(-4)
        (3, 720_401),        // exp(-8)
        (4, 242),            // exp(-16)
    ];
    for (exponent, multiplier) in BARREL {
        if integer_bits > exponent {
            let shift = fractional_bits + exponent;
            if remainder & (1i32 << shift) != 0 {
                result = srdhm(result, multiplier);
            }
        }
    }
    if integer_bits > 5 {
        let clamp = -(1i32 << (36 - integer_bits)); // -32
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = Q0_ONE;
    }
    result
}

/// The Newton-Raphson reciprocal iteration shared by [`one_over_one_plus_x_for_x_in_0_1`] and
/// [`one_minus_x_over_one_plus_x_for_x_in_0_1`]: returns `x ≈ 1 / half_denominator` in Q2.29.
fn reciprocal_of_half_denominator(half_denominator: i32) -> i32 {
    const C48_OVER_17: i32 = 1_515_870_810; // Q2.29
    const CNEG32_OVER_17: i32 = -1_010_580_540; // Q2.29
    let f2_one = one(2);
    let mut x = C48_OVER_17.wrapping_add(srdhm(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = srdhm(half_denominator, x);
        let one_minus = f2_one.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(rescale(srdhm(x, one_minus), 4, 2));
    }
    x
}

/// `1 / (1 + a)` for `a` in `[0, 1)`, both in Q0.31.
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, Q0_ONE);
    let x = reciprocal_of_half_denominator(half_denominator);
    // ExactMulByPot<-1> turns Q2.29 into Q1.30 with the same raw value.
    rescale(x, 1, 0)
}

/// `(1 - a) / (1 + a)` for `a` in `[0, 1)`, both in Q0.31.
pub fn one_minus_x_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, Q0_ONE);
    let x = reciprocal_of_half_denominator(half_denominator);
    rescale(x.wrapping_sub(one(2)), 2, 0)
}

/// `tanh(a)`: `a` with `integer_bits` integer bits, the result in Q0.31.
pub fn tanh(a: i32, integer_bits: i32) -> i32 {
    let negative = a < 0;
    let n = if negative { a } else { a.wrapping_neg() };
    // -tanh(n) for n <= 0 = (1 - exp(2n)) / (1 + exp(2n)); ExactMulByPot<1> adds an integer bit.
    let t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1));
    if a == 0 {
        0
    } else if negative {
        t.wrapping_neg()
    } else {
        t
    }
}

/// `logistic(a) = 1 / (1 + exp(-a))`: `a` with `integer_bits` integer bits, the result in Q0.31.
pub fn logistic(a: i32, integer_bits: i32) -> i32 {
    let positive = a > 0;
    let abs = if positive { a } else { a.wrapping_neg() };
    let if_positive =
        one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(abs.wrapping_neg(), integer_bits));
    if a == 0 {
        1 << 30
    } else if positive {
        if_positive
    } else {
        Q0_ONE.wrapping_sub(if_positive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_f64(raw: i32, integer_bits: i32) -> f64 {
        f64::from(raw) / (1u64 << (31 - integer_bits)) as f64
    }

    fn from_f64(x: f64, integer_bits: i32) -> i32 {
        (x * (1u64 << (31 - integer_bits)) as f64).round() as i32
    }

    #[test]
    fn srdhm_rounds_and_saturates() {
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(srdhm(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29);
        // 3 * 2^30 / 2^31 = 1.5: ties round toward +infinity (the nudge is 1/2 - 2^-31 below
        // zero and C++ division truncates).
        assert_eq!(srdhm(3, 1 << 30), 2);
        assert_eq!(srdhm(-3, 1 << 30), -1);
        assert_eq!(srdhm(-5, 1 << 30), -2);
        assert_eq!(srdhm(1, 1 << 30), 1);
        assert_eq!(srdhm(-1, 1 << 30), 0);
        assert_eq!(srdhm(-7, 3 << 29), -5); // -5.25
        assert_eq!(srdhm(0, i32::MIN), 0);
        assert_eq!(srdhm_i16(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(srdhm_i16(3, 1 << 14), 2);
        assert_eq!(srdhm_i16(-3, 1 << 14), -1);
        assert_eq!(sdhm_i16(3, 1 << 14), 1);
        assert_eq!(sdhm_i16(-3, 1 << 14), -1);
        assert_eq!(sdhm_i16(i16::MIN, i16::MIN), i16::MAX);
    }

    #[test]
    fn rdbpot_rounds_half_away_from_zero() {
        assert_eq!(rdbpot(5, 1), 3);
        assert_eq!(rdbpot(-5, 1), -3);
        assert_eq!(rdbpot(6, 2), 2);
        assert_eq!(rdbpot(-6, 2), -2);
        assert_eq!(rdbpot(-7, 2), -2);
        assert_eq!(rdbpot(7, 0), 7);
        assert_eq!(rdbpot(i32::MAX, 31), 1);
        assert_eq!(rdbpot(i32::MIN, 31), -1);
        assert_eq!(rdbpot_i16(5, 1), 3);
        assert_eq!(rdbpot_i16(-5, 1), -3);
        assert_eq!(rdbpot_i16(i16::MAX, 15), 1);
        assert_eq!(rdbpot_i16(100, 0), 100);
        // Same results as the 32-bit version wherever the value fits.
        for x in [-32768i16, -1000, -3, -1, 0, 1, 2, 3, 999, 32767] {
            for e in 0..15 {
                assert_eq!(
                    i32::from(rdbpot_i16(x, e)),
                    rdbpot(i32::from(x), e),
                    "{x} {e}"
                );
            }
        }
    }

    #[test]
    fn srmbpot_saturates_left_shifts() {
        assert_eq!(srmbpot(1 << 29, 1), 1 << 30);
        assert_eq!(srmbpot(1 << 30, 1), i32::MAX);
        assert_eq!(srmbpot(-(1 << 30), 1), i32::MIN);
        assert_eq!(srmbpot(-(1 << 30) + 1, 1), i32::MIN + 2);
        assert_eq!(srmbpot(-(1 << 30) - 1, 1), i32::MIN);
        assert_eq!(srmbpot(12, -2), 3);
        assert_eq!(srmbpot(12, 0), 12);
    }

    #[test]
    fn rounding_half_sum_matches_definition() {
        assert_eq!(rounding_half_sum(1, 2), 2);
        assert_eq!(rounding_half_sum(-1, -2), -2);
        assert_eq!(rounding_half_sum(i32::MAX, i32::MAX), i32::MAX);
        assert_eq!(rounding_half_sum(0, 0), 0);
    }

    #[test]
    fn exp_on_negative_values_is_accurate() {
        for integer_bits in [0, 4, 5, 6] {
            let lo = if integer_bits == 0 {
                -1.0
            } else {
                -(f64::from(1 << integer_bits))
            };
            let mut x = lo;
            while x <= 0.0 {
                let raw = from_f64(x, integer_bits);
                let got = to_f64(exp_on_negative_values(raw, integer_bits), 0);
                let want = to_f64(raw, integer_bits).exp();
                assert!(
                    (got - want).abs() < 2e-6,
                    "k={integer_bits} x={x}: {got} vs {want}"
                );
                x += 0.0371;
            }
        }
        assert_eq!(exp_on_negative_values(0, 5), Q0_ONE);
        // Below -32 with more than 5 integer bits the result is clamped to zero.
        assert_eq!(exp_on_negative_values(from_f64(-40.0, 6), 6), 0);
    }

    #[test]
    fn reciprocal_helpers_are_accurate() {
        for i in 0..200 {
            let x = f64::from(i) / 200.0;
            let raw = from_f64(x, 0);
            let got = to_f64(one_over_one_plus_x_for_x_in_0_1(raw), 0);
            assert!((got - 1.0 / (1.0 + x)).abs() < 1e-8, "1/(1+{x}): {got}");
            let got = to_f64(one_minus_x_over_one_plus_x_for_x_in_0_1(raw), 0);
            assert!(
                (got - (1.0 - x) / (1.0 + x)).abs() < 1e-8,
                "(1-x)/(1+x) {x}: {got}"
            );
        }
    }

    #[test]
    fn tanh_and_logistic_are_accurate() {
        for integer_bits in [3, 4, 5] {
            let range = f64::from(1 << integer_bits);
            let mut x = -range + 0.01;
            while x < range {
                let raw = from_f64(x, integer_bits);
                let real = to_f64(raw, integer_bits);
                let t = to_f64(tanh(raw, integer_bits), 0);
                assert!((t - real.tanh()).abs() < 1e-6, "tanh({real}) = {t}");
                let l = to_f64(logistic(raw, integer_bits), 0);
                let want = 1.0 / (1.0 + (-real).exp());
                assert!((l - want).abs() < 1e-6, "logistic({real}) = {l}");
                x += 0.0917;
            }
        }
        assert_eq!(tanh(0, 4), 0);
        assert_eq!(logistic(0, 4), 1 << 30);
    }
}
