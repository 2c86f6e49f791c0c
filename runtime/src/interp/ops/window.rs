//! Geometry of 2-D window operations (convolutions and pooling) on NHWC tensors: TFLite's output
//! size and padding, and the input position of each filter tap.

use crate::interp::error::LoadError;
use crate::interp::kernel::PrepareCtx;

/// Spatial geometry of a 2-D window operation (conv, depthwise conv, pooling) on NHWC tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Batches.
    pub batches: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Filter height.
    pub k_h: usize,
    /// Filter width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Padding rows above.
    pub pad_top: isize,
    /// Padding columns to the left.
    pub pad_left: isize,
}

impl Window {
    /// Computes TFLite's output size and padding, and checks the declared output shape.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &PrepareCtx<'_>,
        input: &[usize],
        output: &[usize],
        k_h: usize,
        k_w: usize,
        stride: (i32, i32),
        dilation: (i32, i32),
        padding: crate::schema::Padding,
    ) -> Result<Window, LoadError> {
        if input.len() != 4 || output.len() != 4 {
            return Err(ctx.invalid(format!(
                "input {input:?} and output {output:?} must be 4-D (NHWC)"
            )));
        }
        let (sh, sw) = stride;
        let (dh, dw) = dilation;
        if sh < 1 || sw < 1 || dh < 1 || dw < 1 || k_h == 0 || k_w == 0 {
            return Err(ctx.invalid(format!(
                "strides ({sh}, {sw}), dilations ({dh}, {dw}) and filter {k_h}x{k_w} must be positive"
            )));
        }
        let (sh, sw, dh, dw) = (sh as usize, sw as usize, dh as usize, dw as usize);
        let eff_h = (k_h - 1) * dh + 1;
        let eff_w = (k_w - 1) * dw + 1;
        let (in_h, in_w) = (input[1], input[2]);
        let size = |inp: usize, eff: usize, s: usize| -> usize {
            match padding {
                crate::schema::Padding::SAME => inp.div_ceil(s),
                _ => (inp + s).saturating_sub(eff) / s,
            }
        };
        let (out_h, out_w) = (size(in_h, eff_h, sh), size(in_w, eff_w, sw));
        if padding != crate::schema::Padding::SAME && padding != crate::schema::Padding::VALID {
            return Err(ctx.unsupported("unknown padding"));
        }
        if output[0] != input[0] || output[1] != out_h || output[2] != out_w {
            return Err(ctx.invalid(format!(
                "output shape {output:?} does not match the computed {}x{out_h}x{out_w}",
                input[0]
            )));
        }
        let pad = |out: usize, s: usize, eff: usize, inp: usize| -> isize {
            let total = (out as isize - 1) * s as isize + eff as isize - inp as isize;
            total.max(0) / 2
        };
        Ok(Window {
            batches: input[0],
            in_h,
            in_w,
            out_h,
            out_w,
            k_h,
            k_w,
            stride_h: sh,
            stride_w: sw,
            dil_h: dh,
            dil_w: dw,
            pad_top: pad(out_h, sh, eff_h, in_h),
            pad_left: pad(out_w, sw, eff_w, in_w),
        })
    }

    /// Input row of filter tap `ky` for output row `oy`, if inside the input.
    #[inline(always)]
    pub fn in_y(&self, oy: usize, ky: usize) -> Option<usize> {
        let y = (oy * self.stride_h + ky * self.dil_h) as isize - self.pad_top;
        (y >= 0 && (y as usize) < self.in_h).then_some(y as usize)
    }

    /// Input column of filter tap `kx` for output column `ox`, if inside the input.
    #[inline(always)]
    pub fn in_x(&self, ox: usize, kx: usize) -> Option<usize> {
        let x = (ox * self.stride_w + kx * self.dil_w) as isize - self.pad_left;
        (x >= 0 && (x as usize) < self.in_w).then_some(x as usize)
    }
}
