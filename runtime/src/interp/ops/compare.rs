//! LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, EQUAL and NOT_EQUAL on unquantized float32, int32
//! and int64 tensors, with numpy broadcasting, into bool tensors.
//!
//! IEEE comparisons: with a NaN operand every comparison is false except NOT_EQUAL. (Quantized
//! comparisons rescale their operands first in LiteRT and are not handled here; they are refused.)

use super::broadcast::Broadcast;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_f32, as_i32, as_i64, eval_input, Kernel, PrepareCtx};
use crate::schema::BuiltinOperator;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Equal,
    NotEqual,
}

impl Cmp {
    #[inline(always)]
    fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Less => a < b,
            Cmp::LessEqual => a <= b,
            Cmp::Greater => a > b,
            Cmp::GreaterEqual => a >= b,
            Cmp::Equal => a == b,
            Cmp::NotEqual => a != b,
        }
    }
}

struct CompareKernel {
    cmp: Cmp,
    dtype: ElementType,
    bc: Broadcast,
    na: usize,
    nb: usize,
    count: usize,
}

impl CompareKernel {
    fn run<T: PartialOrd + Copy>(&self, a: &[T], b: &[T], out: &mut [u8]) -> Result<(), EvalError> {
        if a.len() != self.na || b.len() != self.nb || out.len() != self.count {
            return Err(EvalError(format!(
                "operands hold {}, {} and {} elements, expected {}, {} and {}",
                a.len(),
                b.len(),
                out.len(),
                self.na,
                self.nb,
                self.count
            )));
        }
        self.bc
            .for_each(|o, i, j| out[o] = self.cmp.apply(a[i], b[j]) as u8);
        Ok(())
    }
}

impl Kernel for CompareKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let a = eval_input(inputs, 0, "missing first input")?;
        let b = eval_input(inputs, 1, "missing second input")?;
        let out = outputs
            .get_mut(0)
            .ok_or_else(|| EvalError("missing output".into()))?;
        match self.dtype {
            ElementType::F32 => self.run(as_f32(a)?, as_f32(b)?, out),
            ElementType::I32 => self.run(as_i32(a)?, as_i32(b)?, out),
            _ => self.run(as_i64(a)?, as_i64(b)?, out),
        }
    }
}

/// Whether this module handles the comparison: unquantized float32, int32 or int64 operands.
pub fn handles(ctx: &PrepareCtx<'_>) -> bool {
    matches!(
        ctx.inputs.first(),
        Some(Some(t)) if matches!(t.dtype, ElementType::F32 | ElementType::I32 | ElementType::I64)
    )
}

/// Prepares a comparison.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let cmp = match ctx.op.kind().builtin() {
        Some(BuiltinOperator::LESS) => Cmp::Less,
        Some(BuiltinOperator::LESS_EQUAL) => Cmp::LessEqual,
        Some(BuiltinOperator::GREATER) => Cmp::Greater,
        Some(BuiltinOperator::GREATER_EQUAL) => Cmp::GreaterEqual,
        Some(BuiltinOperator::EQUAL) => Cmp::Equal,
        Some(BuiltinOperator::NOT_EQUAL) => Cmp::NotEqual,
        _ => return Err(ctx.invalid("not a comparison operator")),
    };
    ctx.check_version(4)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("takes two inputs and has one output"));
    }
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    if b.dtype != a.dtype {
        return Err(ctx.invalid(format!("input types {} and {} differ", a.dtype, b.dtype)));
    }
    if out.dtype != ElementType::Bool {
        return Err(ctx.invalid(format!("output must be bool, found {}", out.dtype)));
    }
    for t in [a, b] {
        if t.quant.as_ref().is_some_and(|q| !q.scale.is_empty()) && t.dtype != ElementType::F32 {
            return Err(ctx.unsupported(format!(
                "quantized {} input '{}' is not supported",
                t.dtype, t.name
            )));
        }
    }
    let bc = Broadcast::new(&a.shape, &b.shape, &out.shape).map_err(|e| ctx.invalid(e))?;
    Ok(Box::new(CompareKernel {
        cmp,
        dtype: a.dtype,
        bc,
        na: a.num_elements(),
        nb: b.num_elements(),
        count: out.num_elements(),
    }))
}
