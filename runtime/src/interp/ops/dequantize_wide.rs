//! DEQUANTIZE from int16 (symmetric, zero point 0) and from float16 to float32.
//!
//! int16: `x * scale` in `f32`. LiteRT requires a zero point of 0 for int16, and with it both its
//! vector blocks (`x * scale + 0`) and its scalar tail (`scale * x` in `f64`, rounded once) give
//! the correctly rounded product, since `x * scale` is exact in `f64`. float16: the exact
//! widening.

use super::checks::single_io;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_f32_mut, as_i16, Kernel, PrepareCtx};

/// The exact float16 -> float32 conversion of IEEE 754 binary16 bits.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: value f * 2^-24, exact in f32.
            let v = f as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13) | 0x0040_0000,
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

enum Source {
    I16 { scale: f32 },
    F16,
}

struct WideDequantize {
    source: Source,
    count: usize,
}

impl Kernel for WideDequantize {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, output) = single_io(inputs, outputs)?;
        let out = as_f32_mut(output)?;
        if out.len() != self.count || input.len() != 2 * self.count {
            return Err(EvalError(format!(
                "DEQUANTIZE buffers hold {} and {} bytes, expected {} and {}",
                input.len(),
                out.len() * 4,
                2 * self.count,
                4 * self.count
            )));
        }
        match self.source {
            Source::I16 { scale } => {
                for (o, &x) in out.iter_mut().zip(as_i16(input)?) {
                    *o = x as f32 * scale;
                }
            }
            Source::F16 => {
                for (o, c) in out.iter_mut().zip(input.chunks_exact(2)) {
                    *o = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
                }
            }
        }
        Ok(())
    }
}

/// Whether this module handles the DEQUANTIZE: an int16 or float16 input.
pub fn handles(ctx: &PrepareCtx<'_>) -> bool {
    matches!(ctx.inputs.first(), Some(Some(t)) if matches!(t.dtype, ElementType::I16 | ElementType::F16))
}

/// Prepares DEQUANTIZE from int16 or float16.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(6)?;
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    if output.dtype != ElementType::F32 {
        return Err(ctx.unsupported(format!(
            "output type {} is not supported (only float32)",
            output.dtype
        )));
    }
    if input.num_elements() != output.num_elements() {
        return Err(ctx.invalid("input and output element counts differ"));
    }
    let source = match input.dtype {
        ElementType::F16 => Source::F16,
        _ => {
            let (scale, zp) = input.scale_zp().ok_or_else(|| {
                ctx.unsupported(format!(
                    "int16 input '{}' must have per-tensor quantization parameters",
                    input.name
                ))
            })?;
            if zp != 0 {
                return Err(ctx.invalid(format!(
                    "int16 input '{}' has zero point {zp}; TFLite requires 0",
                    input.name
                )));
            }
            if !(scale.is_finite() && scale > 0.0) {
                return Err(ctx.invalid(format!("input '{}' has scale {scale}", input.name)));
            }
            Source::I16 { scale }
        }
    };
    Ok(Box::new(WideDequantize {
        source,
        count: input.num_elements(),
    }))
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_widening() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }
}
