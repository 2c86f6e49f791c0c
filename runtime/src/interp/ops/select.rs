//! SELECT and SELECT_V2: `out = condition ? x : y`, element by element, for any fixed-size
//! element type (bytes are copied).
//!
//! SELECT_V2 broadcasts all three operands numpy-style. SELECT (v1) takes a condition of the
//! inputs' shape, or a rank-1 condition choosing whole slices along the first dimension
//! (TFLite's `RankOneSelect`); both are the broadcast of a suitably shaped condition.

use super::broadcast::MAX_RANK;
use super::movement::{element_size, require_same_quant};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::BuiltinOperator;

/// Element strides of `shape` (left-padded to [`MAX_RANK`]) over `out`, 0 along broadcast axes.
fn strides(shape: &[usize], out: &[usize; MAX_RANK]) -> [usize; MAX_RANK] {
    let mut d = [1usize; MAX_RANK];
    d[MAX_RANK - shape.len()..].copy_from_slice(shape);
    let mut s = [0usize; MAX_RANK];
    let mut acc = 1;
    for i in (0..MAX_RANK).rev() {
        s[i] = if d[i] == 1 && out[i] != 1 { 0 } else { acc };
        acc *= d[i];
    }
    s
}

struct SelectKernel {
    dims: [usize; MAX_RANK],
    sc: [usize; MAX_RANK],
    sx: [usize; MAX_RANK],
    sy: [usize; MAX_RANK],
    elem: usize,
    sizes: [usize; 4],
}

impl Kernel for SelectKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let get = |k: usize| {
            inputs
                .get(k)
                .copied()
                .flatten()
                .ok_or_else(|| EvalError(format!("SELECT input {k} is missing")))
        };
        let (c, x, y) = (get(0)?, get(1)?, get(2)?);
        let out = outputs
            .get_mut(0)
            .ok_or_else(|| EvalError("SELECT has no output buffer".into()))?;
        let e = self.elem;
        if c.len() != self.sizes[0]
            || x.len() != self.sizes[1] * e
            || y.len() != self.sizes[2] * e
            || out.len() != self.sizes[3] * e
        {
            return Err(EvalError("SELECT buffers do not match their shapes".into()));
        }
        let d = self.dims;
        let mut idx = [0usize; MAX_RANK];
        for o in 0..self.sizes[3] {
            let (mut ic, mut ix, mut iy) = (0, 0, 0);
            for (k, &i) in idx.iter().enumerate() {
                ic += i * self.sc[k];
                ix += i * self.sx[k];
                iy += i * self.sy[k];
            }
            let src = if c[ic] != 0 {
                &x[ix * e..(ix + 1) * e]
            } else {
                &y[iy * e..(iy + 1) * e]
            };
            out[o * e..(o + 1) * e].copy_from_slice(src);
            for k in (0..MAX_RANK).rev() {
                idx[k] += 1;
                if idx[k] < d[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        Ok(())
    }
}

/// Prepares SELECT or SELECT_V2.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    if ctx.inputs.len() != 3 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("takes (condition, x, y) and has one output"));
    }
    let cond = ctx.input(0)?;
    let x = ctx.input(1)?;
    let y = ctx.input(2)?;
    let out = ctx.output(0)?;
    if cond.dtype != ElementType::Bool {
        return Err(ctx.invalid(format!("condition must be bool, found {}", cond.dtype)));
    }
    if x.dtype != out.dtype || y.dtype != out.dtype {
        return Err(ctx.invalid(format!(
            "x ({}), y ({}) and output ({}) types differ",
            x.dtype, y.dtype, out.dtype
        )));
    }
    let elem = element_size(ctx, out)?;
    require_same_quant(ctx, x, out)?;
    require_same_quant(ctx, y, out)?;
    let too_big = |s: &[usize]| s.len() > MAX_RANK;
    if too_big(&cond.shape) || too_big(&x.shape) || too_big(&y.shape) || too_big(&out.shape) {
        return Err(ctx.unsupported(format!("rank above {MAX_RANK} is not supported")));
    }
    // SELECT v1 with a rank-1 condition over higher-rank inputs picks slices along dim 0.
    let v1 = ctx.op.kind().builtin() == Some(BuiltinOperator::SELECT);
    let mut cshape = cond.shape.clone();
    if v1 && cshape.len() == 1 && out.shape.len() > 1 {
        cshape.resize(out.shape.len(), 1);
    }
    let mut dims = [1usize; MAX_RANK];
    dims[MAX_RANK - out.shape.len()..].copy_from_slice(&out.shape);
    for (what, s) in [("condition", &cshape), ("x", &x.shape), ("y", &y.shape)] {
        let mut p = [1usize; MAX_RANK];
        p[MAX_RANK - s.len()..].copy_from_slice(s);
        if (0..MAX_RANK).any(|k| p[k] != dims[k] && p[k] != 1) {
            return Err(ctx.invalid(format!(
                "{what} shape {s:?} does not broadcast to the output's {:?}",
                out.shape
            )));
        }
        if v1 && what != "condition" && s != &out.shape {
            return Err(ctx.invalid(format!(
                "SELECT needs {what} of the output's shape {:?}, found {s:?}",
                out.shape
            )));
        }
    }
    Ok(Box::new(SelectKernel {
        dims,
        sc: strides(&cshape, &dims),
        sx: strides(&x.shape, &dims),
        sy: strides(&y.shape, &dims),
        elem,
        sizes: [
            cond.num_elements(),
            x.num_elements(),
            y.num_elements(),
            out.num_elements(),
        ],
    }))
}
