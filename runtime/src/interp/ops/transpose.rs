//! TRANSPOSE with a constant permutation (up to 6 dimensions, as TFLite).

use super::movement::{const_ints, require_same_quant, require_shape, same_type_size, strides_of};
use super::strided_view::StridedView;
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx};

/// Largest rank TFLite's TRANSPOSE accepts.
const MAX_RANK: usize = 6;

/// Prepares TRANSPOSE.
pub fn prepare_transpose(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(6)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("TRANSPOSE takes (input, perm) and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    let rank = input.shape.len();
    if rank > MAX_RANK {
        return Err(ctx.unsupported(format!(
            "TRANSPOSE supports up to {MAX_RANK} dimensions, input has {rank}"
        )));
    }
    let perm_t = ctx.input(1)?;
    let perm_raw = const_ints(ctx, perm_t, "perm")?;
    if perm_raw.len() != rank {
        return Err(ctx.invalid(format!(
            "perm has {} entries for an input of rank {rank}",
            perm_raw.len()
        )));
    }
    let mut seen = vec![false; rank];
    let mut perm = Vec::with_capacity(rank);
    for &p in &perm_raw {
        if p < 0 || p as usize >= rank || seen[p as usize] {
            return Err(ctx.invalid(format!(
                "perm {perm_raw:?} is not a permutation of 0..{rank}"
            )));
        }
        seen[p as usize] = true;
        perm.push(p as usize);
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| input.shape[p]).collect();
    require_shape(ctx, output, &out_shape)?;

    let in_strides = strides_of(&input.shape);
    // Input step of one step along each output axis.
    let steps: Vec<i64> = perm.iter().map(|&p| in_strides[p] as i64).collect();
    let view = StridedView::new(elem, input.num_elements(), 0, out_shape, steps)
        .map_err(|m| ctx.invalid(m))?;
    Ok(view.boxed())
}
