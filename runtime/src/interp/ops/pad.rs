//! PAD, PADV2 (constant padding) and MIRROR_PAD (REFLECT / SYMMETRIC).
//!
//! Paddings must be constant. The PAD fill value is the output zero point for quantized tensors
//! and zero otherwise; PADV2 takes it from its constant `constant_values` input, which for
//! quantized tensors must share the output's scale and zero point (as TFLite requires).

use super::copy_plan::{for_each_index, PlanBuilder, PlanKernel};
use super::movement::{const_ints, require_same_quant, require_shape, same_type_size, strides_of};
use crate::dtype::ElementType;
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx, TensorInfo};
use crate::schema::MirrorPadMode;

/// Largest rank the pad kernels accept (TFLite's limit).
const MAX_RANK: usize = 5;

/// Reads the constant `[rank, 2]` paddings as (before, after) pairs.
fn read_paddings(
    ctx: &PrepareCtx<'_>,
    input: &TensorInfo<'_>,
    t: &TensorInfo<'_>,
) -> Result<Vec<(usize, usize)>, LoadError> {
    let rank = input.shape.len();
    if rank > MAX_RANK {
        return Err(ctx.unsupported(format!(
            "padding supports up to {MAX_RANK} dimensions, input has {rank}"
        )));
    }
    let values = const_ints(ctx, t, "paddings")?;
    if t.shape != [rank, 2] {
        return Err(ctx.invalid(format!(
            "paddings must have shape [{rank}, 2], found {:?}",
            t.shape
        )));
    }
    values
        .chunks_exact(2)
        .enumerate()
        .map(|(a, p)| {
            if p[0] < 0 || p[1] < 0 {
                Err(ctx.invalid(format!("negative padding ({}, {}) on axis {a}", p[0], p[1])))
            } else {
                Ok((p[0] as usize, p[1] as usize))
            }
        })
        .collect()
}

fn padded_shape(shape: &[usize], pads: &[(usize, usize)]) -> Vec<usize> {
    shape
        .iter()
        .zip(pads)
        .map(|(&d, &(b, a))| d + b + a)
        .collect()
}

/// The bytes of one fill element.
fn fill_bytes(
    ctx: &PrepareCtx<'_>,
    output: &TensorInfo<'_>,
    constant: Option<&TensorInfo<'_>>,
    elem: usize,
) -> Result<Vec<u8>, LoadError> {
    if let Some(c) = constant {
        if c.dtype != output.dtype {
            return Err(ctx.invalid(format!(
                "constant_values '{}' is {} but the output is {}",
                c.name, c.dtype, output.dtype
            )));
        }
        if c.num_elements() != 1 {
            return Err(ctx.invalid(format!(
                "constant_values '{}' must hold one value, has shape {:?}",
                c.name, c.shape
            )));
        }
        require_same_quant(ctx, c, output)?;
        let data = c.data.ok_or_else(|| {
            ctx.unsupported(format!(
                "constant_values '{}' must be a constant tensor",
                c.name
            ))
        })?;
        if data.len() < elem {
            return Err(ctx.invalid(format!(
                "constant_values '{}' holds {} bytes, needs {elem}",
                c.name,
                data.len()
            )));
        }
        return Ok(data[..elem].to_vec());
    }
    let zero_point = output.scale_zp().map(|(_, z)| z).unwrap_or(0);
    Ok(match output.dtype {
        ElementType::I8 => vec![(zero_point as i8) as u8],
        ElementType::U8 => vec![zero_point as u8],
        ElementType::I16 => (zero_point as i16).to_le_bytes().to_vec(),
        _ => vec![0; elem],
    })
}

/// Prepares PAD and PADV2.
pub fn prepare_pad(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    if !(ctx.inputs.len() == 2 || ctx.inputs.len() == 3) || ctx.outputs.len() != 1 {
        return Err(
            ctx.invalid("PAD takes (input, paddings[, constant_values]) and has one output")
        );
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    if let (ElementType::I8 | ElementType::U8, None) = (input.dtype, input.scale_zp()) {
        return Err(ctx.unsupported("8-bit PAD without per-tensor quantization"));
    }
    let pads = read_paddings(ctx, input, ctx.input(1)?)?;
    let fill = fill_bytes(ctx, output, ctx.optional_input(2), elem)?;
    let out_shape = padded_shape(&input.shape, &pads);
    require_shape(ctx, output, &out_shape)?;

    let mut b = PlanBuilder::new(elem, 1);
    b.set_fill(&fill);
    let rank = input.shape.len();
    if rank == 0 {
        b.copy(0, 0, 1);
        return Ok(PlanKernel::boxed(vec![b.finish()]));
    }
    let last = rank - 1;
    let in_strides = strides_of(&input.shape);
    let (before_last, after_last) = pads[last];
    for_each_index(&out_shape[..last], |idx| {
        let mut base = 0usize;
        let mut inside = true;
        for (a, &i) in idx.iter().enumerate() {
            let (before, _) = pads[a];
            if i < before || i - before >= input.shape[a] {
                inside = false;
                break;
            }
            base += (i - before) * in_strides[a];
        }
        if inside {
            b.fill(before_last);
            b.copy(0, base, input.shape[last]);
            b.fill(after_last);
        } else {
            b.fill(out_shape[last]);
        }
    });
    Ok(PlanKernel::boxed(vec![b.finish()]))
}

/// Maps a padded coordinate to the input coordinate it mirrors (TFLite's rule; `offset` is 1 for
/// REFLECT, which excludes the edge, and 0 for SYMMETRIC, which repeats it).
fn mirror_index(padded: usize, before: usize, dim: usize, offset: usize) -> usize {
    if padded < before {
        // Distance from the edge, mirrored back into the tensor.
        before - padded - 1 + offset
    } else if padded - before >= dim {
        let beyond = padded - before - dim;
        dim - 1 - offset - beyond
    } else {
        padded - before
    }
}

/// Prepares MIRROR_PAD.
pub fn prepare_mirror_pad(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_mirror_pad_options()
        .ok_or_else(|| ctx.invalid("missing MirrorPadOptions"))?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("MIRROR_PAD takes (input, paddings) and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    let offset = match opts.mode() {
        MirrorPadMode::REFLECT => 1,
        MirrorPadMode::SYMMETRIC => 0,
        other => return Err(ctx.unsupported(format!("unknown mirror pad mode {}", other.0))),
    };
    let pads = read_paddings(ctx, input, ctx.input(1)?)?;
    for (a, &(before, after)) in pads.iter().enumerate() {
        let dim = input.shape[a];
        // REFLECT can mirror at most dim-1 elements, SYMMETRIC at most dim.
        let limit = dim.saturating_sub(offset);
        if before > limit || after > limit {
            return Err(ctx.invalid(format!(
                "padding ({before}, {after}) on axis {a} exceeds {limit}, the most a {} pad of a \
                 dimension of size {dim} allows",
                if offset == 1 { "REFLECT" } else { "SYMMETRIC" }
            )));
        }
    }
    let out_shape = padded_shape(&input.shape, &pads);
    require_shape(ctx, output, &out_shape)?;

    let mut b = PlanBuilder::new(elem, 1);
    let rank = input.shape.len();
    if rank == 0 {
        b.copy(0, 0, 1);
        return Ok(PlanKernel::boxed(vec![b.finish()]));
    }
    let last = rank - 1;
    let in_strides = strides_of(&input.shape);
    let last_map: Vec<usize> = (0..out_shape[last])
        .map(|j| mirror_index(j, pads[last].0, input.shape[last], offset))
        .collect();
    for_each_index(&out_shape[..last], |idx| {
        let base: usize = idx
            .iter()
            .enumerate()
            .map(|(a, &i)| mirror_index(i, pads[a].0, input.shape[a], offset) * in_strides[a])
            .sum();
        for &j in &last_map {
            b.copy(0, base + j, 1);
        }
    });
    Ok(PlanKernel::boxed(vec![b.finish()]))
}

#[cfg(test)]
mod tests {
    use super::mirror_index;

    #[test]
    fn reflect_and_symmetric_indices() {
        // Input [a b c d], pad 2 on each side.
        let reflect: Vec<usize> = (0..8).map(|j| mirror_index(j, 2, 4, 1)).collect();
        assert_eq!(reflect, vec![2, 1, 0, 1, 2, 3, 2, 1]);
        let symmetric: Vec<usize> = (0..8).map(|j| mirror_index(j, 2, 4, 0)).collect();
        assert_eq!(symmetric, vec![1, 0, 0, 1, 2, 3, 3, 2]);
    }
}
