//! The float-derived 8-bit lookup tables of TFLite's optimized kernels.
//!
//! The builtin LOGISTIC and TANH kernels for int8/uint8 do not use fixed-point arithmetic: at
//! prepare time they evaluate the function in single precision for each of the 256 input values
//! (`LUTPopulate`), and at run time they look values up. The builtin SOFTMAX kernel for 8-bit
//! inputs similarly tabulates `exp` in single precision (`PopulateSoftmaxLookupTable`). The
//! single-precision `exp` and `tanh` used here are the platform's `expf`/`tanhf`, as in TFLite.

/// An 8-bit element type a table can be built for.
pub trait Byte: Copy {
    /// Smallest value.
    const MIN: i32;
    /// Largest value.
    const MAX: i32;
    /// The byte pattern of `v` (which must be in `MIN..=MAX`).
    fn byte_of(v: i32) -> u8;
}

impl Byte for i8 {
    const MIN: i32 = i8::MIN as i32;
    const MAX: i32 = i8::MAX as i32;
    fn byte_of(v: i32) -> u8 {
        v as i8 as u8
    }
}

impl Byte for u8 {
    const MIN: i32 = 0;
    const MAX: i32 = 255;
    fn byte_of(v: i32) -> u8 {
        v as u8
    }
}

/// A 256-entry table indexed by the input's byte pattern, holding the output's byte pattern.
pub type ByteTable = [u8; 256];

/// Builds a byte table from a function of the input value (an `i32` in the type's range) to the
/// output value, clamping the result to the type's range.
pub fn table_from_fn<T: Byte>(mut f: impl FnMut(i32) -> i32) -> ByteTable {
    let mut table = [0u8; 256];
    for v in T::MIN..=T::MAX {
        table[T::byte_of(v) as usize] = T::byte_of(f(v).clamp(T::MIN, T::MAX));
    }
    table
}

/// TFLite's `LUTPopulate` for 8-bit types: dequantize each input value, apply `transform` in
/// single precision, requantize with round-half-away-from-zero and clamp.
pub fn lut_populate<T: Byte>(
    input_scale: f32,
    input_zero_point: i32,
    output_scale: f32,
    output_zero_point: i32,
    transform: impl Fn(f32) -> f32,
) -> ByteTable {
    let inverse_scale = 1.0f32 / output_scale;
    table_from_fn::<T>(|v| {
        let dequantized = input_scale * ((v - input_zero_point) as f32);
        let transformed = transform(dequantized);
        let rescaled = (transformed * inverse_scale).round();
        // C++ `static_cast<int32_t>(float)` truncates toward zero.
        (rescaled + output_zero_point as f32) as i32
    })
}

/// The LOGISTIC transform of TFLite's LUT path: `1 / (1 + expf(-x))`.
pub fn logistic_f32(x: f32) -> f32 {
    1.0f32 / (1.0f32 + (-x).exp())
}

/// The TANH transform of TFLite's LUT path: `tanhf(x)`.
pub fn tanh_f32(x: f32) -> f32 {
    x.tanh()
}

/// TFLite's `PopulateSoftmaxLookupTable`: `table[255 - d] = expf(-input_scale * beta * d)` for
/// every quantized distance `d = max - x` in `0..=255`.
pub fn softmax_exp_table(input_scale: f32, beta: f32) -> [f32; 256] {
    let scale = -input_scale * beta;
    let mut table = [0f32; 256];
    for d in 0..=255i32 {
        table[(255 - d) as usize] = (scale * d as f32).exp();
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_tables_are_indexed_by_byte_pattern() {
        let t = table_from_fn::<i8>(|v| v + 1);
        assert_eq!(t[0], 1); // 0 -> 1
        assert_eq!(t[0xff], 0); // -1 -> 0
        assert_eq!(t[0x80] as i8, -127); // -128 -> -127
        assert_eq!(t[0x7f] as i8, 127); // 127 -> 128 clamps to 127
        let u = table_from_fn::<u8>(|v| 300 - v);
        assert_eq!(u[0], 255);
        assert_eq!(u[255], 45);
    }

    #[test]
    fn logistic_table_known_values() {
        // Input scale 1/16, output 1/256 with zero point -128: logistic(0) = 0.5 -> 0.
        let t = lut_populate::<i8>(1.0 / 16.0, 0, 1.0 / 256.0, -128, logistic_f32);
        assert_eq!(t[0] as i8, 0);
        assert_eq!(t[0x7f] as i8, 127); // logistic(7.9375) * 256 - 128 = 127.9 -> 127 (clamped)
        assert_eq!(t[0x80] as i8, -128); // logistic(-8) * 256 ≈ 0.086 -> 0 - 128
                                         // Ties round away from zero: tanh(0) = 0 exactly.
        let t = lut_populate::<u8>(0.1, 128, 1.0 / 128.0, 128, tanh_f32);
        assert_eq!(t[128], 128);
        assert_eq!(t[255], 255);
        assert_eq!(t[0], 0);
    }

    #[test]
    fn softmax_table_is_exp_of_distance() {
        let t = softmax_exp_table(0.1, 1.0);
        assert_eq!(t[255], 1.0);
        assert!((t[254] - (-0.1f32).exp()).abs() < 1e-7);
        assert!((t[0] - (-25.5f32).exp()).abs() < 1e-15);
    }
}
