//! SPACE_TO_DEPTH and DEPTH_TO_SPACE (NHWC, TFLite's DCR channel order).
//!
//! With block size `b`, depth `C` and output depth `C/b²`:
//! `depth_to_space(x)[n, h*b + i, w*b + j, c] = x[n, h, w, (i*b + j) * C/b² + c]`, and
//! SPACE_TO_DEPTH is its inverse.

use super::copy_plan::{PlanBuilder, PlanKernel};
use super::movement::{require_same_quant, require_shape, same_type_size};
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx, TensorInfo};

fn block_size(ctx: &PrepareCtx<'_>, raw: i32) -> Result<usize, LoadError> {
    if raw < 1 {
        return Err(ctx.invalid(format!("block size {raw} must be positive")));
    }
    Ok(raw as usize)
}

fn common<'c>(
    ctx: &'c PrepareCtx<'_>,
) -> Result<(&'c TensorInfo<'c>, &'c TensorInfo<'c>, usize), LoadError> {
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("expected one input and one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    if input.shape.len() != 4 {
        return Err(ctx.unsupported(format!(
            "only 4-D NHWC inputs are supported, input has shape {:?}",
            input.shape
        )));
    }
    Ok((input, output, elem))
}

/// Prepares SPACE_TO_DEPTH.
pub fn prepare_space_to_depth(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(2)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_space_to_depth_options()
        .ok_or_else(|| ctx.invalid("missing SpaceToDepthOptions"))?;
    let bs = block_size(ctx, opts.block_size())?;
    let (input, output, elem) = common(ctx)?;
    let (n, h, w, c) = (
        input.shape[0],
        input.shape[1],
        input.shape[2],
        input.shape[3],
    );
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
    ctx.check_version(2)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_depth_to_space_options()
        .ok_or_else(|| ctx.invalid("missing DepthToSpaceOptions"))?;
    let bs = block_size(ctx, opts.block_size())?;
    let (input, output, elem) = common(ctx)?;
    let (n, h, w, c) = (
        input.shape[0],
        input.shape[1],
        input.shape[2],
        input.shape[3],
    );
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
