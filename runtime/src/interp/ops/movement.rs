//! Prepare-time checks shared by the data-movement and shape kernels: element sizes, constant
//! index tensors, axis normalisation, quantization equality and declared output shapes.

use crate::dtype::ElementType;
use crate::interp::error::LoadError;
use crate::interp::kernel::{le_i32s, le_i64s, PrepareCtx, TensorInfo};

/// Bytes per element of a tensor whose elements are moved without interpretation.
///
/// Accepts every fixed-size numeric or boolean type; refuses strings and unknown types.
pub fn element_size(ctx: &PrepareCtx<'_>, t: &TensorInfo<'_>) -> Result<usize, LoadError> {
    match t.dtype {
        ElementType::I8
        | ElementType::U8
        | ElementType::Bool
        | ElementType::I16
        | ElementType::F16
        | ElementType::I32
        | ElementType::F32
        | ElementType::I64 => t.dtype.size_bytes().ok_or_else(|| {
            ctx.unsupported(format!("tensor '{}' has no fixed element size", t.name))
        }),
        other => Err(ctx.unsupported(format!(
            "tensor '{}' has element type {other}, which this kernel does not move",
            t.name
        ))),
    }
}

/// Checks that `output` has the same element type as `input` and returns the element size.
pub fn same_type_size(
    ctx: &PrepareCtx<'_>,
    input: &TensorInfo<'_>,
    output: &TensorInfo<'_>,
) -> Result<usize, LoadError> {
    if input.dtype != output.dtype {
        return Err(ctx.invalid(format!(
            "input '{}' is {} but output '{}' is {}",
            input.name, input.dtype, output.name, output.dtype
        )));
    }
    element_size(ctx, input)
}

/// Checks that two tensors carry the same per-tensor quantization (or none), as kernels that move
/// quantized values without rescaling require.
pub fn require_same_quant(
    ctx: &PrepareCtx<'_>,
    a: &TensorInfo<'_>,
    b: &TensorInfo<'_>,
) -> Result<(), LoadError> {
    if !a.dtype.is_8bit() && a.dtype != ElementType::I16 {
        return Ok(());
    }
    let qa = a.quant.as_ref().filter(|q| !q.scale.is_empty());
    let qb = b.quant.as_ref().filter(|q| !q.scale.is_empty());
    match (qa, qb) {
        (None, None) => Ok(()),
        (Some(qa), Some(qb)) => {
            if qa.is_per_axis() || qb.is_per_axis() {
                return Err(ctx.unsupported(format!(
                    "per-axis quantized tensor ('{}' or '{}') is not supported by this kernel",
                    a.name, b.name
                )));
            }
            if qa.per_tensor() == qb.per_tensor() {
                Ok(())
            } else {
                Err(ctx.unsupported(format!(
                    "tensors '{}' ({:?}) and '{}' ({:?}) have different quantization; this kernel \
                     moves quantized values unchanged and does not rescale",
                    a.name,
                    qa.per_tensor(),
                    b.name,
                    qb.per_tensor()
                )))
            }
        }
        _ => Err(ctx.unsupported(format!(
            "one of '{}' and '{}' is quantized and the other is not",
            a.name, b.name
        ))),
    }
}

/// Reads a constant int32 or int64 tensor (indices, sizes, paddings, axes) at prepare time.
/// `what` names its role in error messages.
pub fn const_ints(
    ctx: &PrepareCtx<'_>,
    t: &TensorInfo<'_>,
    what: &str,
) -> Result<Vec<i64>, LoadError> {
    let data = t.data.ok_or_else(|| {
        ctx.unsupported(format!(
            "the {what} tensor '{}' must be constant (computed {what} are not supported)",
            t.name
        ))
    })?;
    let values: Vec<i64> = match t.dtype {
        ElementType::I32 => le_i32s(data).into_iter().map(i64::from).collect(),
        ElementType::I64 => le_i64s(data),
        other => {
            return Err(ctx.invalid(format!(
                "the {what} tensor '{}' must be int32 or int64, found {other}",
                t.name
            )))
        }
    };
    if values.len() != t.num_elements() {
        return Err(ctx.invalid(format!(
            "the {what} tensor '{}' holds {} values but its shape {:?} needs {}",
            t.name,
            values.len(),
            t.shape,
            t.num_elements()
        )));
    }
    Ok(values)
}

/// Normalises a possibly negative axis into `0..rank`.
pub fn normalize_axis(ctx: &PrepareCtx<'_>, axis: i64, rank: usize) -> Result<usize, LoadError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(ctx.invalid(format!("axis {axis} is out of range for rank {rank}")));
    }
    Ok(a as usize)
}

/// Checks that the model's declared output shape equals the shape the kernel computes.
pub fn require_shape(
    ctx: &PrepareCtx<'_>,
    output: &TensorInfo<'_>,
    computed: &[usize],
) -> Result<(), LoadError> {
    if output.shape != computed {
        return Err(ctx.invalid(format!(
            "output '{}' is declared with shape {:?} but the operator produces {:?}",
            output.name, output.shape, computed
        )));
    }
    Ok(())
}

/// Row-major strides (in elements) of a shape.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}
