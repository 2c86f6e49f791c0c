//! GATHER_ND: `out[i..., :] = params[indices[i..., 0], ..., indices[i..., k-1], :]`, with
//! int16/int32/int64 indices read at run time and any fixed-size element type.
//!
//! The output shape is `indices.shape[..-1] ++ params.shape[k..]` where `k` is the last dimension
//! of `indices`. A negative coordinate, or one past its dimension, fails the inference with an
//! error naming the slice, as in LiteRT (which checks every coordinate); nothing is read out of
//! bounds.

use super::movement::{element_size, require_same_quant, require_shape, strides_of};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{eval_input, Kernel, PrepareCtx};

struct GatherNdKernel {
    /// Number of gathered slices (product of `indices.shape[..-1]`).
    slices: usize,
    /// Coordinates per slice (`indices.shape[-1]`).
    depth: usize,
    /// Element strides of `params` for the first `depth` dimensions.
    strides: Vec<usize>,
    /// The first `depth` dimensions of `params`.
    dims: Vec<usize>,
    /// Elements per gathered slice.
    slice_elems: usize,
    elem: usize,
    params_elems: usize,
    index_type: ElementType,
}

impl GatherNdKernel {
    fn index(&self, bytes: &[u8], k: usize) -> i64 {
        super::gather::read_index(self.index_type, bytes, k)
    }
}

impl Kernel for GatherNdKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let params = eval_input(inputs, 0, "GATHER_ND params input is missing")?;
        let indices = eval_input(inputs, 1, "GATHER_ND indices input is missing")?;
        let out = outputs
            .get_mut(0)
            .ok_or_else(|| EvalError("GATHER_ND has no output buffer".into()))?;
        let isize_ = self.index_type.size_bytes().unwrap_or(8);
        let slice_bytes = self.slice_elems * self.elem;
        if indices.len() != self.slices * self.depth * isize_
            || params.len() != self.params_elems * self.elem
            || out.len() != self.slices * slice_bytes
        {
            return Err(EvalError(format!(
                "GATHER_ND buffers hold {} / {} / {} bytes, expected {} / {} / {}",
                params.len(),
                indices.len(),
                out.len(),
                self.params_elems * self.elem,
                self.slices * self.depth * isize_,
                self.slices * slice_bytes
            )));
        }
        for s in 0..self.slices {
            let mut from = 0usize;
            for d in 0..self.depth {
                let v = self.index(indices, s * self.depth + d);
                if v < 0 || v >= self.dims[d] as i64 {
                    return Err(EvalError(format!(
                        "gather_nd index {v} (slice {s}, coordinate {d}) is out of range [0, {})",
                        self.dims[d]
                    )));
                }
                from += v as usize * self.strides[d];
            }
            let src = from * self.elem;
            out[s * slice_bytes..(s + 1) * slice_bytes]
                .copy_from_slice(&params[src..src + slice_bytes]);
        }
        Ok(())
    }
}

/// Prepares GATHER_ND.
pub fn prepare_gather_nd(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(5)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("GATHER_ND takes (params, indices) and has one output"));
    }
    let params = ctx.input(0)?;
    let indices = ctx.input(1)?;
    let output = ctx.output(0)?;
    if params.dtype != output.dtype {
        return Err(ctx.invalid(format!(
            "params are {} but the output is {}",
            params.dtype, output.dtype
        )));
    }
    let elem = element_size(ctx, params)?;
    require_same_quant(ctx, params, output)?;
    if !matches!(
        indices.dtype,
        ElementType::I16 | ElementType::I32 | ElementType::I64
    ) {
        return Err(ctx.invalid(format!(
            "indices must be int16, int32 or int64, found {}",
            indices.dtype
        )));
    }
    if params.shape.is_empty() {
        return Err(ctx.invalid("params must have rank at least 1"));
    }
    let Some(&depth) = indices.shape.last() else {
        return Err(ctx.invalid("indices must have rank at least 1"));
    };
    if depth > params.shape.len() {
        return Err(ctx.invalid(format!(
            "indices' last dimension {depth} exceeds the params' rank {}",
            params.shape.len()
        )));
    }
    if depth == 0 {
        return Err(ctx.unsupported("an empty index depth (whole-params slices) is not supported"));
    }
    let mut out_shape = indices.shape[..indices.shape.len() - 1].to_vec();
    out_shape.extend_from_slice(&params.shape[depth..]);
    require_shape(ctx, output, &out_shape)?;
    let strides = strides_of(&params.shape)[..depth].to_vec();
    Ok(Box::new(GatherNdKernel {
        slices: indices.shape[..indices.shape.len() - 1].iter().product(),
        depth,
        strides,
        dims: params.shape[..depth].to_vec(),
        slice_elems: params.shape[depth..].iter().product(),
        elem,
        params_elems: params.num_elements(),
        index_type: indices.dtype,
    }))
}
