//! SPACE_TO_DEPTH and DEPTH_TO_SPACE (NHWC, TFLite's DCR channel order).
//!
//! With block size `b`, depth `C` and output depth `C/b²`:
//! `depth_to_space(x)[n, h*b + i, w*b + j, c] = x[n, h, w, (i*b + j) * C/b² + c]`, and
//! SPACE_TO_DEPTH is its inverse.

use super::copy_plan::{PlanBuilder, PlanKernel};
use super::movement::{require_same_quant, require_shape, same_type_size};
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx, TensorInfo};

/// The checks both ops share: version, a positive block size from the op's options (`raw_block`,
/// `None` when the options table named `options` is missing), one 4-D input and one output of the
/// same type and quantization. Returns the block size, the input's NHWC dimensions, the output and
/// the element size.
fn common<'c>(
    ctx: &'c PrepareCtx<'_>,
    raw_block: Option<i32>,
    options: &str,
) -> Result<(usize, [usize; 4], &'c TensorInfo<'c>, usize), LoadError> {
    ctx.check_version(2)?;
    let raw = raw_block.ok_or_else(|| ctx.invalid(format!("missing {options}")))?;
    if raw < 1 {
        return Err(ctx.invalid(format!("block size {raw} must be positive")));
    }
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("expected one input and one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    let Ok(nhwc) = <[usize; 4]>::try_from(input.shape.as_slice()) else {
        return Err(ctx.unsupported(format!(
            "only 4-D NHWC inputs are supported, input has shape {:?}",
            input.shape
        )));
    };
    Ok((raw as usize, nhwc, output, elem))
}

/// Prepares SPACE_TO_DEPTH.
pub fn prepare_space_to_depth(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let opts = ctx.op.raw().builtin_options_as_space_to_depth_options();
    let raw_block = opts.map(|o| o.block_size());
    let (bs, [n, h, w, c], output, elem) = common(ctx, raw_block, "SpaceToDepthOptions")?;
    if h % bs != 0 || w % bs != 0 {
        return Err(ctx.invalid(format!(
            "height {h} and width {w} must be multiples of the block size {bs}"
        )));
    }
    let (oh, ow, oc) = (h / bs, w / bs, c * bs * bs);
    require_shape(ctx, output, &[n, oh, ow, oc])?;
    let mut b = PlanBuilder::new(elem, 1);
    for bn in 0..n {
        for y in 0..oh {
            for x in 0..ow {
                for i in 0..bs {
                    for j in 0..bs {
                        let src = ((bn * h + y * bs + i) * w + x * bs + j) * c;
                        b.copy(0, src, c);
                    }
                }
            }
        }
    }
    Ok(PlanKernel::boxed(vec![b.finish()]))
}

/// Prepares DEPTH_TO_SPACE.
pub fn prepare_depth_to_space(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let opts = ctx.op.raw().builtin_options_as_depth_to_space_options();
    let raw_block = opts.map(|o| o.block_size());
    let (bs, [n, h, w, c], output, elem) = common(ctx, raw_block, "DepthToSpaceOptions")?;
    if c % (bs * bs) != 0 {
        return Err(ctx.invalid(format!(
            "depth {c} must be a multiple of the squared block size {}",
            bs * bs
        )));
    }
    let (oh, ow, oc) = (h * bs, w * bs, c / (bs * bs));
    require_shape(ctx, output, &[n, oh, ow, oc])?;
    let mut b = PlanBuilder::new(elem, 1);
    for bn in 0..n {
        for y in 0..oh {
            for x in 0..ow {
                let (iy, i) = (y / bs, y % bs);
                let (ix, j) = (x / bs, x % bs);
                let src = ((bn * h + iy) * w + ix) * c + (i * bs + j) * oc;
                b.copy(0, src, oc);
            }
        }
    }
    Ok(PlanKernel::boxed(vec![b.finish()]))
}
