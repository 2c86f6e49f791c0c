//! 8-bit quantized tensors: their per-tensor parameters ([`Q8`]), element loads and stores,
//! widening to `i16`, and the clamp range of a fused activation on an 8-bit output.

use super::cpu_features::avx2_dispatch;
use super::requant::{activation_range, ActivationRangeError};
use crate::dtype::ElementType;
use crate::interp::error::LoadError;
use crate::interp::kernel::{PrepareCtx, TensorInfo};
use crate::schema::ActivationFunctionType;

/// An 8-bit quantized tensor's element type and per-tensor parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Q8 {
    /// `int8` (true) or `uint8` (false).
    pub signed: bool,
    /// The scale.
    pub scale: f32,
    /// The zero point.
    pub zero_point: i32,
}

impl Q8 {
    /// Reads an 8-bit per-tensor quantized tensor, refusing anything else.
    pub fn of(ctx: &PrepareCtx<'_>, t: &TensorInfo<'_>, what: &str) -> Result<Q8, LoadError> {
        let signed = match t.dtype {
            ElementType::I8 => true,
            ElementType::U8 => false,
            other => {
                return Err(ctx.unsupported(format!(
                    "{what} '{}' has type {other}; only int8 and uint8 are supported",
                    t.name
                )))
            }
        };
        let (scale, zero_point) = t.scale_zp().ok_or_else(|| {
            ctx.unsupported(format!(
                "{what} '{}' must have per-tensor quantization parameters",
                t.name
            ))
        })?;
        let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
        if !(lo..=hi).contains(&zero_point) {
            return Err(ctx.invalid(format!(
                "{what} '{}' has zero point {zero_point} outside [{lo}, {hi}]",
                t.name
            )));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ctx.invalid(format!("{what} '{}' has scale {scale}", t.name)));
        }
        Ok(Q8 {
            signed,
            scale,
            zero_point,
        })
    }

    /// The representable range `[lo, hi]`.
    pub fn range(&self) -> (i32, i32) {
        if self.signed {
            (-128, 127)
        } else {
            (0, 255)
        }
    }

    /// The element type.
    pub fn dtype(&self) -> ElementType {
        if self.signed {
            ElementType::I8
        } else {
            ElementType::U8
        }
    }
}

/// Reads one 8-bit element as `i32`.
#[inline(always)]
pub fn load8(signed: bool, b: u8) -> i32 {
    if signed {
        b as i8 as i32
    } else {
        b as i32
    }
}

/// The clamp range of a fused activation on an 8-bit output.
pub fn fused_range(
    ctx: &PrepareCtx<'_>,
    act: ActivationFunctionType,
    out: &Q8,
) -> Result<(i32, i32), LoadError> {
    let (lo, hi) = out.range();
    let name = act.variant_name().unwrap_or("?");
    activation_range(act, out.scale, out.zero_point, lo, hi).map_err(|e| match e {
        ActivationRangeError::Unsupported => {
            ctx.unsupported(format!("fused activation {name} is not supported"))
        }
        ActivationRangeError::Overflow => ctx.invalid(format!(
            "fused activation {name}: its bounds on the output scale {} do not fit in int32",
            out.scale
        )),
    })
}

#[inline(always)]
fn to_i16_impl(signed: bool, zero_point: i32, src: &[u8], dst: &mut [i16]) {
    let zp = zero_point as i16;
    if signed {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as i8 as i16 - zp;
        }
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as i16 - zp;
        }
    }
}

avx2_dispatch!(
    /// Widens 8-bit values to `i16` and subtracts the zero point.
    pub fn to_i16(signed: bool, zero_point: i32, src: &[u8], dst: &mut [i16]) => to_i16_impl
);
