//! SLICE and STRIDED_SLICE.
//!
//! Both become a [`StridedView`] at prepare time, computed from constant `begin`/`size` (SLICE) or `begin`/`end`/`strides`
//! (STRIDED_SLICE) tensors. STRIDED_SLICE follows TFLite's handling of `begin_mask`, `end_mask`,
//! `ellipsis_mask`, `new_axis_mask`, `shrink_axis_mask`, negative indices and strides, the
//! clamping of out-of-range indices, and the `offset` flag (`end` holds sizes relative to `begin`).

use super::movement::{const_ints, require_same_quant, require_shape, same_type_size, strides_of};
use super::strided_view::StridedView;
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx};

/// The view of an input of shape `shape` that takes, along axis `a`, `counts[a]` positions
/// `starts[a] + j * steps[a]`.
fn strided_box(
    ctx: &PrepareCtx<'_>,
    elem: usize,
    shape: &[usize],
    starts: &[i64],
    steps: &[i64],
    counts: &[usize],
) -> Result<StridedView, LoadError> {
    let in_strides = strides_of(shape);
    let base: i64 = starts
        .iter()
        .zip(&in_strides)
        .map(|(&s, &st)| s * st as i64)
        .sum();
    let view_steps: Vec<i64> = steps
        .iter()
        .zip(&in_strides)
        .map(|(&s, &st)| s * st as i64)
        .collect();
    let in_elems: usize = shape.iter().product();
    StridedView::new(elem, in_elems, base, counts.to_vec(), view_steps).map_err(|m| ctx.invalid(m))
}

/// Prepares SLICE.
pub fn prepare_slice(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(6)?;
    if ctx.inputs.len() != 3 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("SLICE takes (input, begin, size) and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    let rank = input.shape.len();
    if rank > 5 {
        return Err(ctx.unsupported(format!(
            "SLICE supports up to 5 dimensions, input has {rank}"
        )));
    }
    let begin = const_ints(ctx, ctx.input(1)?, "begin")?;
    let size = const_ints(ctx, ctx.input(2)?, "size")?;
    if begin.len() != rank || size.len() != rank {
        return Err(ctx.invalid(format!(
            "begin ({}) and size ({}) must have one entry per input dimension ({rank})",
            begin.len(),
            size.len()
        )));
    }
    let mut counts = Vec::with_capacity(rank);
    for a in 0..rank {
        let dim = input.shape[a] as i64;
        let count = if size[a] == -1 {
            dim - begin[a]
        } else {
            size[a]
        };
        if begin[a] < 0 || count < 0 || begin[a] + count > dim {
            return Err(ctx.invalid(format!(
                "begin {} with size {} is out of range for axis {a} of size {dim}",
                begin[a], size[a]
            )));
        }
        counts.push(count as usize);
    }
    require_shape(ctx, output, &counts)?;
    let steps = vec![1i64; rank];
    Ok(strided_box(ctx, elem, &input.shape, &begin, &steps, &counts)?.boxed())
}

/// STRIDED_SLICE parameters after the ellipsis and new axes are expanded, one entry per
/// "effective" input dimension (the input shape with the new axes inserted as size 1).
#[derive(Debug, Default)]
struct Effective {
    shape: Vec<usize>,
    start: Vec<i64>,
    stop: Vec<i64>,
    stride: Vec<i64>,
    begin_mask: u64,
    end_mask: u64,
    shrink_mask: u64,
}

fn bit(mask: u64, i: usize) -> bool {
    i < 64 && mask & (1u64 << i) != 0
}

struct SliceMasks {
    begin: u64,
    end: u64,
    ellipsis: u64,
    new_axis: u64,
    shrink: u64,
}

/// Expands the ellipsis and new-axis masks the way TFLite's kernel does.
fn expand(
    masks: &SliceMasks,
    input_shape: &[usize],
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
) -> Result<Effective, String> {
    let begin_count = begin.len();
    let input_dims = input_shape.len();
    let num_add_axis = (0..begin_count)
        .filter(|&i| !bit(masks.ellipsis, i) && bit(masks.new_axis, i))
        .count();
    let dims = input_dims + num_add_axis;
    if dims > 32 {
        return Err(format!("{dims} effective dimensions are too many"));
    }

    let mut eff_ellipsis = 0u64;
    let mut eff_new_axis = 0u64;
    let mut ellipsis_start = dims;
    let mut expanded_ellipsis = 0usize;
    let mut i = 0usize;
    while i < dims {
        if bit(masks.ellipsis, i) {
            ellipsis_start = i;
            let wanted = (i + 1 + num_add_axis + input_dims) as i64 - begin_count as i64;
            let ellipsis_end = (i + 1).max(wanted.min(dims as i64).max(0) as usize);
            expanded_ellipsis = ellipsis_end - ellipsis_start - 1;
            while i < ellipsis_end {
                eff_ellipsis |= 1u64 << i;
                i += 1;
            }
            continue;
        }
        if i >= expanded_ellipsis && bit(masks.new_axis, i - expanded_ellipsis) {
            eff_new_axis |= 1u64 << i;
        }
        i += 1;
    }

    let mut e = Effective {
        shape: vec![0; dims],
        start: vec![0; dims],
        stop: vec![0; dims],
        stride: vec![1; dims],
        ..Effective::default()
    };
    let mut added_ellipsis = 0usize;
    let mut added_axes = 0usize;
    let input_dim = |k: usize| -> Result<usize, String> {
        input_shape
            .get(k)
            .copied()
            .ok_or_else(|| format!("the slice spec refers to input dimension {k} of {input_dims}"))
    };
    for i in 0..dims {
        if bit(eff_ellipsis, i) {
            added_ellipsis = i.saturating_sub(ellipsis_start);
            e.begin_mask |= 1u64 << i;
            e.end_mask |= 1u64 << i;
            e.shape[i] = input_dim(i - added_axes)?;
        } else if bit(eff_new_axis, i) {
            e.stop[i] = 1;
            e.shape[i] = 1;
            added_axes += 1;
        } else if i >= begin_count + expanded_ellipsis {
            e.begin_mask |= 1u64 << i;
            e.end_mask |= 1u64 << i;
            e.shape[i] = input_dim(i - added_axes)?;
        } else {
            let orig = i - added_ellipsis;
            if orig >= begin_count {
                return Err(format!("slice spec index {orig} is out of range"));
            }
            e.start[i] = begin[orig];
            e.stop[i] = end[orig];
            e.stride[i] = strides[orig];
            if bit(masks.begin, orig) {
                e.begin_mask |= 1u64 << i;
            }
            if bit(masks.end, orig) {
                e.end_mask |= 1u64 << i;
            }
            if bit(masks.shrink, orig) {
                e.shrink_mask |= 1u64 << i;
            }
            e.shape[i] = input_dim(i - added_axes)?;
        }
    }
    Ok(e)
}

fn clamp(v: i64, lo: i64, hi: i64) -> i64 {
    v.max(lo).min(hi)
}

fn start_for_axis(e: &Effective, axis: usize) -> i64 {
    let size = e.shape[axis] as i64;
    let stride = e.stride[axis];
    let mut start = e.start[axis];
    if start < 0 {
        start += size;
    }
    start = if stride > 0 {
        clamp(start, 0, size)
    } else {
        clamp(start, -1, size - 1)
    };
    if bit(e.begin_mask, axis) {
        start = if stride > 0 { 0 } else { size - 1 };
    }
    start
}

fn end_for_axis(e: &Effective, axis: usize, start: i64, offset: bool) -> i64 {
    let size = e.shape[axis] as i64;
    if bit(e.shrink_mask, axis) {
        return if start >= size { start } else { start + 1 };
    }
    let stride = e.stride[axis];
    let mut end = e.stop[axis];
    if offset {
        end += start;
    }
    if end < 0 {
        end += size;
    }
    end = if stride > 0 {
        clamp(end, 0, size)
    } else {
        clamp(end, -1, size - 1)
    };
    if bit(e.end_mask, axis) {
        end = if stride > 0 { size } else { -1 };
    }
    end
}

/// Number of positions `start + j * stride` strictly before `end` in the stride's direction.
fn loop_count(start: i64, end: i64, stride: i64) -> i64 {
    if stride > 0 {
        if end > start {
            (end - start + stride - 1) / stride
        } else {
            0
        }
    } else if start > end {
        (start - end + (-stride) - 1) / (-stride)
    } else {
        0
    }
}

/// Byte offset of the `offset` field in the StridedSliceOptions vtable (field 5). The generated
/// schema predates the field, so it is read directly, with bounds checks.
const VT_OFFSET: u16 = 14;

/// Reads StridedSliceOptions.offset, which the generated accessors do not know about.
fn read_offset_flag(opts: &crate::schema::StridedSliceOptions<'_>) -> Result<bool, String> {
    let table = &opts._tab;
    let voff = table.vtable().get(VT_OFFSET);
    if voff == 0 {
        return Ok(false);
    }
    let pos = table.loc() + voff as usize;
    table
        .buf()
        .get(pos)
        .map(|&b| b != 0)
        .ok_or_else(|| "StridedSliceOptions.offset lies outside the model".to_string())
}

/// Prepares STRIDED_SLICE.
pub fn prepare_strided_slice(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(8)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_strided_slice_options()
        .ok_or_else(|| ctx.invalid("missing StridedSliceOptions"))?;
    if ctx.inputs.len() != 4 || ctx.outputs.len() != 1 {
        return Err(
            ctx.invalid("STRIDED_SLICE takes (input, begin, end, strides) and has one output")
        );
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let elem = same_type_size(ctx, input, output)?;
    require_same_quant(ctx, input, output)?;
    let begin = const_ints(ctx, ctx.input(1)?, "begin")?;
    let end = const_ints(ctx, ctx.input(2)?, "end")?;
    let strides = const_ints(ctx, ctx.input(3)?, "strides")?;
    for (name, t) in [("begin", 1), ("end", 2), ("strides", 3)] {
        let info = ctx.input(t)?;
        if info.shape.len() != 1 {
            return Err(ctx.invalid(format!(
                "{name} must be a 1-D tensor, has shape {:?}",
                info.shape
            )));
        }
    }
    if begin.len() != end.len() || begin.len() != strides.len() {
        return Err(ctx.invalid(format!(
            "begin, end and strides have {}, {} and {} entries",
            begin.len(),
            end.len(),
            strides.len()
        )));
    }
    if begin.len() > 31 {
        return Err(ctx.invalid("STRIDED_SLICE supports at most 31 indices"));
    }
    if let Some(a) = strides
        .iter()
        .position(|&s| s == 0 || s == i64::from(i32::MIN))
    {
        return Err(ctx.invalid(format!("stride {} at index {a} is not allowed", strides[a])));
    }
    let masks = SliceMasks {
        begin: opts.begin_mask() as u32 as u64,
        end: opts.end_mask() as u32 as u64,
        ellipsis: opts.ellipsis_mask() as u32 as u64,
        new_axis: opts.new_axis_mask() as u32 as u64,
        shrink: opts.shrink_axis_mask() as u32 as u64,
    };
    let offset = read_offset_flag(&opts).map_err(|m| ctx.invalid(m))?;
    if offset && (masks.ellipsis != 0 || masks.new_axis != 0 || begin.len() != input.shape.len()) {
        return Err(ctx.unsupported(
            "the offset flag together with ellipsis/new-axis masks or fewer indices than input \
             dimensions is not supported",
        ));
    }
    let e = expand(&masks, &input.shape, &begin, &end, &strides).map_err(|m| ctx.invalid(m))?;

    let dims = e.shape.len();
    let mut starts = Vec::with_capacity(dims);
    let mut steps = Vec::with_capacity(dims);
    let mut counts = Vec::with_capacity(dims);
    let mut out_shape = Vec::new();
    for axis in 0..dims {
        let start = start_for_axis(&e, axis);
        let stop = end_for_axis(&e, axis, start, offset);
        let stride = e.stride[axis];
        let count = loop_count(start, stop, stride);
        if bit(e.shrink_mask, axis) {
            if count != 1 {
                return Err(ctx.invalid(format!(
                    "shrunk axis {axis} selects {count} elements instead of one (begin out of range)"
                )));
            }
        } else {
            // The size TFLite gives the output dimension.
            // With `offset`, TFLite takes the span straight from `end` (a size).
            let span = if offset { e.stop[axis] } else { stop - start };
            let declared = if (span < 0) != (stride < 0) {
                0
            } else if stride < 0 {
                (span + 1) / stride + 1
            } else if span == 0 {
                0
            } else {
                (span - 1) / stride + 1
            };
            if declared != count {
                return Err(ctx.unsupported(format!(
                    "axis {axis}: TFLite sizes the output {declared} but copies {count} elements"
                )));
            }
            out_shape.push(count as usize);
        }
        starts.push(start);
        steps.push(stride);
        counts.push(count as usize);
    }
    require_shape(ctx, output, &out_shape)?;
    Ok(strided_box(ctx, elem, &e.shape, &starts, &steps, &counts)?.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masks(begin: u64, end: u64, ellipsis: u64, new_axis: u64, shrink: u64) -> SliceMasks {
        SliceMasks {
            begin,
            end,
            ellipsis,
            new_axis,
            shrink,
        }
    }

    #[test]
    fn ellipsis_expands_to_leading_dims() {
        // x[..., 1:3] on a 4-D input.
        let m = masks(0, 0, 1, 0, 0);
        let e = expand(&m, &[2, 3, 4, 5], &[0, 1], &[0, 3], &[1, 1]).unwrap();
        assert_eq!(e.shape, vec![2, 3, 4, 5]);
        assert_eq!(e.begin_mask & 0b111, 0b111);
        assert_eq!(e.start[3], 1);
        assert_eq!(e.stop[3], 3);
    }

    #[test]
    fn new_axis_inserts_unit_dim() {
        // x[:, newaxis, 1:] on a 2-D input.
        let m = masks(1, 1, 0, 2, 0);
        let e = expand(&m, &[2, 3], &[0, 0, 1], &[0, 0, 0], &[1, 1, 1]).unwrap();
        assert_eq!(e.shape, vec![2, 1, 3]);
        assert_eq!((e.start[1], e.stop[1]), (0, 1));
    }

    #[test]
    fn middle_ellipsis_and_short_specs() {
        // x[1, ..., ::2] on [3, 4, 5].
        let m = masks(0, 0, 0b010, 0, 0b001);
        let e = expand(&m, &[3, 4, 5], &[1, 0, 0], &[2, 0, 0], &[1, 1, 2]).unwrap();
        assert_eq!((e.start[0], e.shrink_mask), (1, 0b001));
        assert_eq!(e.begin_mask, 0b010);
        assert_eq!(e.stride, vec![1, 1, 2]);
        // x[1:3] on [4, 5, 6]: the unspecified trailing axes are taken whole.
        let m = masks(0, 0, 0, 0, 0);
        let e = expand(&m, &[4, 5, 6], &[1], &[3], &[1]).unwrap();
        assert_eq!(e.begin_mask, 0b110);
        assert_eq!(e.end_mask, 0b110);
        let s = start_for_axis(&e, 2);
        assert_eq!((s, end_for_axis(&e, 2, s, false)), (0, 6));
    }

    #[test]
    fn negative_stride_bounds() {
        let e = Effective {
            shape: vec![5],
            start: vec![-1],
            stop: vec![-6],
            stride: vec![-2],
            ..Effective::default()
        };
        let s = start_for_axis(&e, 0);
        let t = end_for_axis(&e, 0, s, false);
        assert_eq!((s, t), (4, -1));
        assert_eq!(loop_count(s, t, -2), 3);
    }
}
