//! TFLite's integer arithmetic toolbox, reproduced bit for bit.
//!
//! - [`fixedpoint`]: gemmlowp's fixed-point primitives (rounding doubling high multiply, rounding
//!   power-of-two division, saturating shifts) and the fixed-point `exp`, `1/(1+x)`, `tanh` and
//!   `logistic` built on them;
//! - [`multiplier`]: turning real scales into 32-bit fixed-point multipliers and applying them
//!   (`QuantizeMultiplier`, `MultiplyByQuantizedMultiplier` with TFLite's default double rounding),
//!   plus the reciprocal and inverse square root helpers used by normalization kernels;
//! - [`lut`]: the float-derived 8-bit lookup tables of TFLite's optimized kernels (`LUTPopulate`,
//!   the softmax `exp` table);
//! - [`broadcast`]: numpy-style broadcasting of two shapes into an output shape.

pub mod broadcast;
pub mod fixedpoint;
pub mod lut;
pub mod multiplier;

#[cfg(test)]
mod gemmlowp_vectors {
    //! Bit-exact agreement with gemmlowp's `fixedpoint.h`, compiled from the TensorFlow wheel's
    //! headers by `tests/fixtures/ops_math.py --only gemmlowp` and evaluated on edge and random
    //! arguments.

    use super::fixedpoint as fp;

    fn eval(f: &str, a: i64, b: i64) -> i64 {
        let (a32, b32) = (a as i32, b as i32);
        i64::from(match f {
            "srdhm" => fp::srdhm(a32, b32),
            "srdhm_i16" => i32::from(fp::srdhm_i16(a as i16, b as i16)),
            "rdbpot" => fp::rdbpot(a32, b32),
            "rdbpot_i16" => i32::from(fp::rdbpot_i16(a as i16, b32)),
            "rounding_half_sum" => fp::rounding_half_sum(a32, b32),
            "srmbpot" => fp::srmbpot(a32, b32),
            "exp_on_negative_values" => fp::exp_on_negative_values(a32, b32),
            "tanh" => fp::tanh(a32, b32),
            "logistic" => fp::logistic(a32, b32),
            "one_over_one_plus_x_for_x_in_0_1" => fp::one_over_one_plus_x_for_x_in_0_1(a32),
            "one_minus_x_over_one_plus_x_for_x_in_0_1" => {
                fp::one_minus_x_over_one_plus_x_for_x_in_0_1(a32)
            }
            other => panic!("unknown function {other} in the vectors file"),
        })
    }

    #[test]
    fn fixedpoint_matches_gemmlowp_bit_for_bit() {
        let text = include_str!("testdata/gemmlowp_vectors.txt");
        let mut checked = 0;
        let mut failures = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 4, "bad vector line: {line}");
            let num = |s: &str| s.parse::<i64>().unwrap_or_else(|e| panic!("{line}: {e}"));
            let (a, b, want) = (num(parts[1]), num(parts[2]), num(parts[3]));
            let got = eval(parts[0], a, b);
            if got != want {
                failures.push(format!("{} {a} {b}: got {got}, gemmlowp {want}", parts[0]));
            }
            checked += 1;
        }
        assert!(checked > 5000, "only {checked} vectors");
        assert!(
            failures.is_empty(),
            "{} of {checked} vectors differ:\n{}",
            failures.len(),
            failures[..failures.len().min(20)].join("\n")
        );
    }
}
