//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on 4-D NHWC tensors with a constant size.
//!
//! Both reproduce the arithmetic of the kernels TFLite's builtin resolver runs:
//! - bilinear int8: `ResizeBilinearInteger`, in 10-bit fixed point with rounding half away from
//!   zero at 20 bits;
//! - bilinear uint8: the optimized float path (`ResizeBilinearGenericSmallChannel`), single
//!   precision, summed in TFLite's order, plus 0.5 and truncated. Its special x8 up-sampling
//!   kernel (half-pixel centers, depth a multiple of 8) is refused;
//! - nearest neighbour: TFLite's float index rule, except uint8 without `align_corners` or
//!   `half_pixel_centers`, where TFLite's optimized kernel uses 16.16 fixed point.
//!
//! Sampling positions are computed at prepare time; running only interpolates.

use super::checks::single_io;
use super::copy_plan::{PlanBuilder, PlanKernel};
use super::movement::{require_same_quant, require_shape, same_type_size};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_i8, as_i8_mut, Kernel, PrepareCtx, TensorInfo};

/// Validated common parameters: input, output and the target (height, width).
struct ResizeGeometry {
    batches: usize,
    in_h: usize,
    in_w: usize,
    depth: usize,
    out_h: usize,
    out_w: usize,
}

fn geometry(
    ctx: &PrepareCtx<'_>,
    input: &TensorInfo<'_>,
    output: &TensorInfo<'_>,
) -> Result<ResizeGeometry, LoadError> {
    if input.shape.len() != 4 {
        return Err(ctx.unsupported(format!(
            "only 4-D NHWC inputs are supported, input has shape {:?}",
            input.shape
        )));
    }
    let size_t = ctx.input(1)?;
    if size_t.dtype != ElementType::I32 || size_t.shape != [2] {
        return Err(ctx.invalid(format!(
            "size must be an int32 tensor of shape [2], found {} {:?}",
            size_t.dtype, size_t.shape
        )));
    }
    let size = super::movement::const_ints(ctx, size_t, "size")?;
    if size[0] <= 0 || size[1] <= 0 {
        return Err(ctx.invalid(format!("output size {size:?} must be positive")));
    }
    let g = ResizeGeometry {
        batches: input.shape[0],
        in_h: input.shape[1],
        in_w: input.shape[2],
        depth: input.shape[3],
        out_h: size[0] as usize,
        out_w: size[1] as usize,
    };
    if g.in_h == 0 || g.in_w == 0 {
        return Err(ctx.invalid("cannot resize an empty image"));
    }
    if g.in_h > 1 << 20 || g.in_w > 1 << 20 || g.out_h > 1 << 20 || g.out_w > 1 << 20 {
        return Err(ctx.unsupported("image sizes above 2^20 are not supported"));
    }
    require_shape(ctx, output, &[g.batches, g.out_h, g.out_w, g.depth])?;
    Ok(g)
}

/// The checks both resize ops share: compatible flags, `(input, size)` in and one output of the
/// input's element type and quantization. Returns the input, the output and the element size.
fn checked_io<'c, 'a>(
    ctx: &'c PrepareCtx<'a>,
    op: &str,
    align: bool,
    half: bool,
) -> Result<(&'c TensorInfo<'a>, &'c TensorInfo<'a>, usize), LoadError> {
    if align && half {
        return Err(ctx.invalid("align_corners and half_pixel_centers cannot both be set"));
    }
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid(format!("{op} takes (input, size) and has one output")));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    Ok((input, output, elem))
}

// ---------------------------------------------------------------------------------------------
// Nearest neighbour
// ---------------------------------------------------------------------------------------------

/// TFLite's reference nearest-neighbour source index (float arithmetic).
fn nearest_float(v: usize, in_size: usize, out_size: usize, align: bool, half: bool) -> usize {
    let scale = if align && out_size > 1 {
        (in_size - 1) as f32 / (out_size - 1) as f32
    } else {
        in_size as f32 / out_size as f32
    };
    let offset = if half { 0.5f32 } else { 0.0 };
    let pos = (v as f32 + offset) * scale;
    let idx = if align {
        pos.round() as i64
    } else {
        pos.floor() as i64
    };
    let mut idx = idx.min(in_size as i64 - 1);
    if half {
        idx = idx.max(0);
    }
    idx.max(0) as usize
}

/// TFLite's optimized uint8 nearest-neighbour source index (16.16 fixed point).
fn nearest_fixed(v: usize, in_size: usize, out_size: usize) -> usize {
    let scale = ((in_size as i64) << 16) / out_size as i64 + 1;
    (((v as i64) * scale) >> 16).min(in_size as i64 - 1) as usize
}

/// Prepares RESIZE_NEAREST_NEIGHBOR.
pub fn prepare_resize_nearest(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_resize_nearest_neighbor_options()
        .ok_or_else(|| ctx.invalid("missing ResizeNearestNeighborOptions"))?;
    let (align, half) = (opts.align_corners(), opts.half_pixel_centers());
    let (input, output, elem) = checked_io(ctx, "RESIZE_NEAREST_NEIGHBOR", align, half)?;
    if !matches!(
        input.dtype,
        ElementType::I8 | ElementType::U8 | ElementType::I16 | ElementType::I32 | ElementType::F32
    ) {
        return Err(ctx.unsupported(format!(
            "RESIZE_NEAREST_NEIGHBOR does not support {}",
            input.dtype
        )));
    }
    let g = geometry(ctx, input, output)?;
    let fixed = input.dtype == ElementType::U8 && !align && !half;
    let index = |v: usize, in_size: usize, out_size: usize| {
        if fixed {
            nearest_fixed(v, in_size, out_size)
        } else {
            nearest_float(v, in_size, out_size, align, half)
        }
    };
    let ys: Vec<usize> = (0..g.out_h).map(|y| index(y, g.in_h, g.out_h)).collect();
    let xs: Vec<usize> = (0..g.out_w).map(|x| index(x, g.in_w, g.out_w)).collect();
    let mut b = PlanBuilder::new(elem, 1);
    for n in 0..g.batches {
        for &iy in &ys {
            for &ix in &xs {
                b.copy(0, ((n * g.in_h + iy) * g.in_w + ix) * g.depth, g.depth);
            }
        }
    }
    Ok(PlanKernel::boxed(vec![b.finish()]))
}

// ---------------------------------------------------------------------------------------------
// Bilinear
// ---------------------------------------------------------------------------------------------

/// One axis of the int8 fixed-point sampler: the two source rows/columns and the 10-bit weight
/// of the second (`position - 1024 * lower`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FixedTap {
    lo: usize,
    hi: usize,
    frac: i64,
}

fn fixed_scale(in_size: usize, out_size: usize, align: bool) -> i64 {
    let (i, o) = (in_size as i64, out_size as i64);
    if align && out_size > 1 {
        ((1 << 10) * (i - 1) + (o - 1) / 2) / (o - 1)
    } else {
        ((1 << 10) * i + o / 2) / o
    }
}

fn fixed_taps(in_size: usize, out_size: usize, align: bool, half: bool) -> Vec<FixedTap> {
    let scale = fixed_scale(in_size, out_size, align);
    (0..out_size as i64)
        .map(|v| {
            let pos = if half {
                v * scale + scale / 2 - (1 << 9)
            } else {
                v * scale
            };
            // Division truncates toward zero, as in C++.
            let lo = (pos / (1 << 10)).max(0);
            let hi = ((pos + (1 << 10) - 1) / (1 << 10)).min(in_size as i64 - 1);
            FixedTap {
                lo: lo as usize,
                hi: hi.max(0) as usize,
                frac: pos - (1 << 10) * lo,
            }
        })
        .collect()
}

/// One axis of the uint8 float sampler.
#[derive(Clone, Copy, Debug)]
struct FloatTap {
    lo: usize,
    hi: usize,
    pos: f32,
}

fn float_taps(in_size: usize, out_size: usize, align: bool, half: bool) -> Vec<FloatTap> {
    let scale = if align && out_size > 1 {
        (in_size - 1) as f32 / (out_size - 1) as f32
    } else {
        in_size as f32 / out_size as f32
    };
    (0..out_size)
        .map(|v| {
            let pos = if half {
                (v as f32 + 0.5) * scale - 0.5
            } else {
                v as f32 * scale
            };
            let lo = (pos.floor() as i64).max(0);
            let hi = (pos.ceil() as i64).min(in_size as i64 - 1);
            FloatTap {
                lo: lo as usize,
                hi: hi.max(0) as usize,
                pos,
            }
        })
        .collect()
}

enum Taps {
    Int8 {
        ys: Vec<FixedTap>,
        xs: Vec<FixedTap>,
    },
    Uint8 {
        ys: Vec<FloatTap>,
        xs: Vec<FloatTap>,
    },
}

struct BilinearKernel {
    batches: usize,
    in_h: usize,
    in_w: usize,
    depth: usize,
    out_h: usize,
    out_w: usize,
    taps: Taps,
}

impl BilinearKernel {
    fn at(&self, n: usize, y: usize, x: usize) -> usize {
        ((n * self.in_h + y) * self.in_w + x) * self.depth
    }

    fn run_int8(&self, ys: &[FixedTap], xs: &[FixedTap], input: &[i8], out: &mut [i8]) {
        let one = 1i64 << 10;
        let mut o = 0;
        for n in 0..self.batches {
            for ty in ys {
                for tx in xs {
                    let (p00, p10) = (self.at(n, ty.lo, tx.lo), self.at(n, ty.hi, tx.lo));
                    let (p01, p11) = (self.at(n, ty.lo, tx.hi), self.at(n, ty.hi, tx.hi));
                    let (wy, wx) = (ty.frac, tx.frac);
                    for c in 0..self.depth {
                        let acc = i64::from(input[p00 + c]) * (one - wy) * (one - wx)
                            + i64::from(input[p10 + c]) * wy * (one - wx)
                            + i64::from(input[p01 + c]) * (one - wy) * wx
                            + i64::from(input[p11 + c]) * wy * wx;
                        let round = if acc > 0 { 1i64 << 19 } else { -(1i64 << 19) };
                        out[o] = ((acc + round) / (1 << 20)) as i8;
                        o += 1;
                    }
                }
            }
        }
    }

    fn run_uint8(&self, ys: &[FloatTap], xs: &[FloatTap], input: &[u8], out: &mut [u8]) {
        let mut o = 0;
        for n in 0..self.batches {
            for ty in ys {
                let dy = ty.pos - ty.lo as f32;
                for tx in xs {
                    let dx = tx.pos - tx.lo as f32;
                    let offsets = [
                        self.at(n, ty.lo, tx.lo),
                        self.at(n, ty.lo, tx.hi),
                        self.at(n, ty.hi, tx.lo),
                        self.at(n, ty.hi, tx.hi),
                    ];
                    let w = [
                        (1.0 - dy) * (1.0 - dx),
                        (1.0 - dy) * dx,
                        dy * (1.0 - dx),
                        dy * dx,
                    ];
                    for c in 0..self.depth {
                        let v = f32::from(input[offsets[0] + c]) * w[0]
                            + f32::from(input[offsets[1] + c]) * w[1]
                            + f32::from(input[offsets[2] + c]) * w[2]
                            + f32::from(input[offsets[3] + c]) * w[3]
                            + 0.5;
                        out[o] = v as u8;
                        o += 1;
                    }
                }
            }
        }
    }
}

impl Kernel for BilinearKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, out) = single_io(inputs, outputs)?;
        let in_len = self.batches * self.in_h * self.in_w * self.depth;
        let out_len = self.batches * self.out_h * self.out_w * self.depth;
        if input.len() != in_len || out.len() != out_len {
            return Err(EvalError(format!(
                "buffers hold {} and {} bytes, expected {in_len} and {out_len}",
                input.len(),
                out.len()
            )));
        }
        match &self.taps {
            Taps::Int8 { ys, xs } => self.run_int8(ys, xs, as_i8(input), as_i8_mut(out)),
            Taps::Uint8 { ys, xs } => self.run_uint8(ys, xs, input, out),
        }
        Ok(())
    }
}

/// Prepares RESIZE_BILINEAR.
pub fn prepare_resize_bilinear(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_resize_bilinear_options()
        .ok_or_else(|| ctx.invalid("missing ResizeBilinearOptions"))?;
    let (align, half) = (opts.align_corners(), opts.half_pixel_centers());
    let (input, output, _) = checked_io(ctx, "RESIZE_BILINEAR", align, half)?;
    let g = geometry(ctx, input, output)?;
    let taps = match input.dtype {
        ElementType::I8 => Taps::Int8 {
            ys: fixed_taps(g.in_h, g.out_h, align, half),
            xs: fixed_taps(g.in_w, g.out_w, align, half),
        },
        ElementType::U8 => {
            // TFLite routes this case to a dedicated 8.8 fixed-point kernel.
            let scale = g.out_h / g.in_h;
            if !align
                && half
                && g.depth % 8 == 0
                && g.out_h >= 8
                && g.out_w >= 8
                && g.in_h * scale == g.out_h
                && g.in_w * scale == g.out_w
                && scale == 8
            {
                return Err(ctx.unsupported(
                    "uint8 x8 up-sampling with half-pixel centers and depth a multiple of 8 \
                     (TFLite's special fixed-point kernel) is not supported",
                ));
            }
            Taps::Uint8 {
                ys: float_taps(g.in_h, g.out_h, align, half),
                xs: float_taps(g.in_w, g.out_w, align, half),
            }
        }
        other => {
            return Err(ctx.unsupported(format!(
                "RESIZE_BILINEAR supports int8 and uint8 tensors, not {other}"
            )))
        }
    };
    Ok(Box::new(BilinearKernel {
        batches: g.batches,
        in_h: g.in_h,
        in_w: g.in_w,
        depth: g.depth,
        out_h: g.out_h,
        out_w: g.out_w,
        taps,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_taps_upsample_half_pixel() {
        // 2 -> 4 with half-pixel centers: scale 512, positions -256, 256, 768, 1280.
        let taps = fixed_taps(2, 4, false, true);
        assert_eq!(
            taps[0],
            FixedTap {
                lo: 0,
                hi: 0,
                frac: -256
            }
        );
        assert_eq!(
            taps[1],
            FixedTap {
                lo: 0,
                hi: 1,
                frac: 256
            }
        );
        assert_eq!(
            taps[3],
            FixedTap {
                lo: 1,
                hi: 1,
                frac: 256
            }
        );
    }

    #[test]
    fn nearest_rules() {
        // 3 -> 7 without flags: floor(v * 3/7).
        let idx: Vec<usize> = (0..7)
            .map(|v| nearest_float(v, 3, 7, false, false))
            .collect();
        assert_eq!(idx, vec![0, 0, 0, 1, 1, 2, 2]);
        let fixed: Vec<usize> = (0..7).map(|v| nearest_fixed(v, 3, 7)).collect();
        assert_eq!(fixed, idx);
        // align_corners rounds: 3 -> 5 maps to 0, 0.5->1 (away from zero), 1, 1.5->2, 2.
        let al: Vec<usize> = (0..5)
            .map(|v| nearest_float(v, 3, 5, true, false))
            .collect();
        assert_eq!(al, vec![0, 1, 1, 2, 2]);
    }
}
