//! PACK (stack N equal-shaped tensors along a new axis) and UNPACK (its inverse).
//!
//! Both only move elements; quantized inputs and outputs must share scale and zero point, as
//! TFLite requires.

use super::copy_plan::{PlanBuilder, PlanKernel};
use super::movement::{element_size, normalize_axis, require_same_quant, require_shape};
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx};

/// Prepares PACK.
pub fn prepare_pack(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_pack_options()
        .ok_or_else(|| ctx.invalid("missing PackOptions"))?;
    let n = ctx.inputs.len();
    if n == 0 {
        return Err(ctx.invalid("PACK needs at least one input"));
    }
    if opts.values_count() as usize != n {
        return Err(ctx.invalid(format!(
            "values_count is {} but the operator has {n} inputs",
            opts.values_count()
        )));
    }
    if ctx.outputs.len() != 1 {
        return Err(ctx.invalid("PACK has exactly one output"));
    }
    let output = ctx.output(0)?;
    let first = ctx.input(0)?;
    for k in 0..n {
        let t = ctx.input(k)?;
        if t.dtype != output.dtype {
            return Err(ctx.invalid(format!(
                "input '{}' is {} but the output is {}",
                t.name, t.dtype, output.dtype
            )));
        }
        if t.shape != first.shape {
            return Err(ctx.invalid(format!(
                "input '{}' has shape {:?} but input '{}' has {:?}",
                t.name, t.shape, first.name, first.shape
            )));
        }
        require_same_quant(ctx, t, output)?;
    }
    let elem = element_size(ctx, output)?;
    let rank = first.shape.len();
    let axis = normalize_axis(ctx, i64::from(opts.axis()), rank + 1)?;

    let mut out_shape = first.shape.clone();
    out_shape.insert(axis, n);
    require_shape(ctx, output, &out_shape)?;

    let outer: usize = first.shape[..axis].iter().product();
    let inner: usize = first.shape[axis..].iter().product();
    let mut b = PlanBuilder::new(elem, n);
    for o in 0..outer {
        for k in 0..n {
            b.copy(k, o * inner, inner);
        }
    }
    Ok(PlanKernel::boxed(vec![b.finish()]))
}

/// Prepares UNPACK.
pub fn prepare_unpack(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_unpack_options()
        .ok_or_else(|| ctx.invalid("missing UnpackOptions"))?;
    if ctx.inputs.len() != 1 {
        return Err(ctx.invalid("UNPACK has exactly one input"));
    }
    let input = ctx.input(0)?;
    let rank = input.shape.len();
    if rank == 0 {
        return Err(ctx.invalid("UNPACK needs an input of rank at least 1"));
    }
    let axis = normalize_axis(ctx, i64::from(opts.axis()), rank)?;
    let num = input.shape[axis];
    if ctx.outputs.len() != num || opts.num() as usize != num {
        return Err(ctx.invalid(format!(
            "axis {axis} has size {num} but the operator declares num={} and has {} outputs",
            opts.num(),
            ctx.outputs.len()
        )));
    }
    let mut out_shape = input.shape.clone();
    out_shape.remove(axis);
    let outer: usize = input.shape[..axis].iter().product();
    let inner: usize = input.shape[axis + 1..].iter().product();
    let mut plans = Vec::with_capacity(num);
    for k in 0..num {
        let output = ctx.output(k)?;
        if output.dtype != input.dtype {
            return Err(ctx.invalid(format!(
                "output '{}' is {} but the input is {}",
                output.name, output.dtype, input.dtype
            )));
        }
        require_same_quant(ctx, input, output)?;
        require_shape(ctx, output, &out_shape)?;
        let elem = element_size(ctx, output)?;
        let mut b = PlanBuilder::new(elem, 1);
        for o in 0..outer {
            b.copy(0, (o * num + k) * inner, inner);
        }
        plans.push(b.finish());
    }
    Ok(PlanKernel::boxed(plans))
}
