//! GATHER along one axis (`batch_dims = 0`), with int16/int32/int64 indices read at run time.
//!
//! `out[o, k..., i] = params[o, indices[k...], i]` where `o` runs over the dimensions before the
//! axis and `i` over those after it. An index outside `[0, axis size)` fails the inference with an
//! error, as TFLite does; nothing is read out of bounds.

use super::movement::{element_size, normalize_axis, require_same_quant, require_shape};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{eval_input, Kernel, PrepareCtx};

/// Index `k` of an int16, int32 or (otherwise) int64 index tensor, little-endian. Panics if
/// `bytes` is shorter than `k + 1` indices (callers check the length first).
pub(crate) fn read_index(index_type: ElementType, bytes: &[u8], k: usize) -> i64 {
    match index_type {
        ElementType::I16 => i64::from(i16::from_le_bytes([bytes[2 * k], bytes[2 * k + 1]])),
        ElementType::I32 => {
            let c = &bytes[4 * k..4 * k + 4];
            i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        }
        _ => {
            let mut c = [0u8; 8];
            c.copy_from_slice(&bytes[8 * k..8 * k + 8]);
            i64::from_le_bytes(c)
        }
    }
}

struct GatherKernel {
    outer: usize,
    axis_size: usize,
    /// Bytes of one gathered slice (everything after the axis).
    inner_bytes: usize,
    num_indices: usize,
    index_type: ElementType,
}

impl GatherKernel {
    fn index(&self, bytes: &[u8], k: usize) -> i64 {
        read_index(self.index_type, bytes, k)
    }
}

impl Kernel for GatherKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let params = eval_input(inputs, 0, "GATHER params input is missing")?;
        let indices = eval_input(inputs, 1, "GATHER indices input is missing")?;
        let out = outputs
            .get_mut(0)
            .ok_or_else(|| EvalError("GATHER has no output buffer".into()))?;
        let index_size = self.index_type.size_bytes().unwrap_or(8);
        if indices.len() < self.num_indices * index_size {
            return Err(EvalError(format!(
                "indices hold {} bytes, expected {}",
                indices.len(),
                self.num_indices * index_size
            )));
        }
        if params.len() < self.outer * self.axis_size * self.inner_bytes {
            return Err(EvalError(format!(
                "params hold {} bytes, expected {}",
                params.len(),
                self.outer * self.axis_size * self.inner_bytes
            )));
        }
        if out.len() != self.outer * self.num_indices * self.inner_bytes {
            return Err(EvalError(format!(
                "output buffer holds {} bytes, GATHER writes {}",
                out.len(),
                self.outer * self.num_indices * self.inner_bytes
            )));
        }
        for k in 0..self.num_indices {
            let v = self.index(indices, k);
            if v < 0 || v >= self.axis_size as i64 {
                return Err(EvalError(format!(
                    "gather index {v} at position {k} is out of range [0, {})",
                    self.axis_size
                )));
            }
        }
        let inner = self.inner_bytes;
        let mut dst = 0usize;
        for o in 0..self.outer {
            for k in 0..self.num_indices {
                let v = self.index(indices, k) as usize;
                let src = (o * self.axis_size + v) * inner;
                out[dst..dst + inner].copy_from_slice(&params[src..src + inner]);
                dst += inner;
            }
        }
        Ok(())
    }
}

/// Prepares GATHER.
pub fn prepare_gather(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(7)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_gather_options()
        .ok_or_else(|| ctx.invalid("missing GatherOptions"))?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("GATHER takes (params, indices) and has one output"));
    }
    if opts.batch_dims() != 0 {
        return Err(ctx.unsupported(format!(
            "batch_dims = {} is not supported (only 0)",
            opts.batch_dims()
        )));
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
    let rank = params.shape.len();
    if rank == 0 {
        return Err(ctx.invalid("GATHER params must have rank at least 1"));
    }
    let axis = normalize_axis(ctx, i64::from(opts.axis()), rank)?;
    let mut out_shape = params.shape[..axis].to_vec();
    out_shape.extend_from_slice(&indices.shape);
    out_shape.extend_from_slice(&params.shape[axis + 1..]);
    require_shape(ctx, output, &out_shape)?;
    Ok(Box::new(GatherKernel {
        outer: params.shape[..axis].iter().product(),
        axis_size: params.shape[axis],
        inner_bytes: params.shape[axis + 1..].iter().product::<usize>() * elem,
        num_indices: indices.num_elements(),
        index_type: indices.dtype,
    }))
}
