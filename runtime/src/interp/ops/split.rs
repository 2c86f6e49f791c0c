//! SPLIT (equal parts) and SPLIT_V (given sizes, one of which may be -1) along a constant axis.
//!
//! TFLite's SPLIT takes `(axis, input)`, SPLIT_V takes `(input, size_splits, axis)`. Outputs keep
//! the input's quantization (checked, since values are moved unchanged).

use super::copy_plan::{CopyPlan, PlanBuilder, PlanKernel};
use super::movement::{
    const_ints, element_size, normalize_axis, require_same_quant, require_shape,
};
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx, TensorInfo};

/// Prepares SPLIT.
pub fn prepare_split(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_split_options()
        .ok_or_else(|| ctx.invalid("missing SplitOptions"))?;
    if ctx.inputs.len() != 2 {
        return Err(ctx.invalid("SPLIT takes (axis, input)"));
    }
    let axis_t = ctx.input(0)?;
    let input = ctx.input(1)?;
    let axis = read_axis(ctx, axis_t, input.shape.len())?;
    let n = ctx.outputs.len();
    if n == 0 || opts.num_splits() as usize != n {
        return Err(ctx.invalid(format!(
            "num_splits is {} but the operator has {n} outputs",
            opts.num_splits()
        )));
    }
    let dim = input.shape[axis];
    if dim % n != 0 {
        return Err(ctx.invalid(format!(
            "axis {axis} of size {dim} cannot be split into {n} equal parts"
        )));
    }
    let sizes = vec![dim / n; n];
    let plans = plan_parts(ctx, input, 1, axis, &sizes)?;
    Ok(PlanKernel::boxed(plans))
}

/// Prepares SPLIT_V.
pub fn prepare_split_v(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    if ctx.inputs.len() != 3 {
        return Err(ctx.invalid("SPLIT_V takes (input, size_splits, axis)"));
    }
    let input = ctx.input(0)?;
    let sizes_t = ctx.input(1)?;
    let axis = read_axis(ctx, ctx.input(2)?, input.shape.len())?;
    let raw = const_ints(ctx, sizes_t, "size_splits")?;
    let n = ctx.outputs.len();
    if raw.len() != n {
        return Err(ctx.invalid(format!(
            "size_splits has {} entries but the operator has {n} outputs",
            raw.len()
        )));
    }
    let dim = input.shape[axis] as i64;
    let unknown: Vec<usize> = (0..n).filter(|&k| raw[k] == -1).collect();
    if unknown.len() > 1 {
        return Err(ctx.invalid("size_splits may contain at most one -1"));
    }
    if let Some(bad) = raw.iter().find(|&&s| s < -1) {
        return Err(ctx.invalid(format!("size_splits contains the invalid size {bad}")));
    }
    let known: i64 = raw.iter().filter(|&&s| s >= 0).sum();
    let mut sizes = Vec::with_capacity(n);
    for &s in &raw {
        let size = if s == -1 { dim - known } else { s };
        if size < 0 {
            return Err(ctx.invalid(format!(
                "size_splits {raw:?} exceed axis {axis} of size {dim}"
            )));
        }
        sizes.push(size as usize);
    }
    if sizes.iter().sum::<usize>() as i64 != dim {
        return Err(ctx.invalid(format!(
            "size_splits {raw:?} do not add up to axis {axis} of size {dim}"
        )));
    }
    let plans = plan_parts(ctx, input, 0, axis, &sizes)?;
    Ok(PlanKernel::boxed(plans))
}

fn read_axis(ctx: &PrepareCtx<'_>, t: &TensorInfo<'_>, rank: usize) -> Result<usize, LoadError> {
    let values = const_ints(ctx, t, "axis")?;
    if values.len() != 1 {
        return Err(ctx.invalid(format!(
            "the axis tensor '{}' must hold one value, found {}",
            t.name,
            values.len()
        )));
    }
    normalize_axis(ctx, values[0], rank)
}

/// One plan per output: part `k` takes `sizes[k]` consecutive slices along `axis` of the data
/// input, which is operator input number `slot`.
fn plan_parts(
    ctx: &PrepareCtx<'_>,
    input: &TensorInfo<'_>,
    slot: usize,
    axis: usize,
    sizes: &[usize],
) -> Result<Vec<CopyPlan>, LoadError> {
    let dim = input.shape[axis];
    let outer: usize = input.shape[..axis].iter().product();
    let inner: usize = input.shape[axis + 1..].iter().product();
    let mut plans = Vec::with_capacity(sizes.len());
    let mut offset = 0usize;
    for (k, &size) in sizes.iter().enumerate() {
        let output = ctx.output(k)?;
        if output.dtype != input.dtype {
            return Err(ctx.invalid(format!(
                "output '{}' is {} but the input is {}",
                output.name, output.dtype, input.dtype
            )));
        }
        require_same_quant(ctx, input, output)?;
        let mut shape = input.shape.clone();
        shape[axis] = size;
        require_shape(ctx, output, &shape)?;
        let elem = element_size(ctx, input)?;
        let mut b = PlanBuilder::new(elem, slot + 1);
        for o in 0..outer {
            b.copy(slot, (o * dim + offset) * inner, size * inner);
        }
        plans.push(b.finish());
        offset += size;
    }
    Ok(plans)
}
