//! ARG_MAX and ARG_MIN along a constant axis, with int32 or int64 output.
//!
//! Ties go to the lowest index: a later element replaces the current extremum only if it is
//! strictly greater (ARG_MAX) or strictly smaller (ARG_MIN), as in TFLite. Quantized inputs are
//! compared as raw integers, which orders them like their real values since the scale is
//! positive.
//!
//! NaN (float32 inputs) follows LiteRT 2.3.0 where its behaviour could be pinned down: a NaN is
//! never an extremum unless every value is NaN — a later non-NaN value replaces a NaN extremum
//! (`[NaN, 1, 3]` gives 2 for ARG_MAX), and a NaN never replaces a number. That holds for every
//! reduction with elements after the axis (`inner > 1`) and for axes shorter than 4. For a
//! contiguous axis (`inner == 1`) of 4 or more values LiteRT runs a 4-lane vector search whose NaN
//! handling depends on the lane layout; a NaN there fails the inference with an error rather than
//! risk a different index (without NaN the vector search returns the first extremum, as here).

use super::checks::single_io;
use super::movement::{const_ints, normalize_axis, require_shape};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_f32, as_i32, as_i32_mut, as_i64_mut, as_i8, Kernel, PrepareCtx};

struct ArgMaxKernel {
    outer: usize,
    axis_size: usize,
    inner: usize,
    input_type: ElementType,
    output_type: ElementType,
    /// ARG_MAX when true, ARG_MIN otherwise.
    is_max: bool,
    /// A NaN extremum is replaced by the next non-NaN value (float32).
    skip_leading_nan: bool,
    /// A NaN in the input fails the inference (float32 along a contiguous axis of 4 or more).
    nan_fails: bool,
}

/// Whether `best` is replaced by `v`: strictly better, or (when `skip_nan`) `best` is NaN and
/// `v` is not.
#[inline(always)]
fn better<T: PartialOrd + Copy>(v: T, best: T, is_max: bool, skip_nan: bool) -> bool {
    #[allow(clippy::eq_op)]
    let best_is_nan = skip_nan && best != best;
    #[allow(clippy::eq_op)]
    let v_is_nan = v != v;
    (if is_max { v > best } else { v < best }) || (best_is_nan && !v_is_nan)
}

/// Index of the first maximum (or minimum) of `data[base + j * inner]`, `j` in `0..n`.
fn first_extremum<T: PartialOrd + Copy>(
    data: &[T],
    base: usize,
    n: usize,
    inner: usize,
    is_max: bool,
    skip_nan: bool,
) -> usize {
    let mut best = data[base];
    let mut best_j = 0;
    for j in 1..n {
        let v = data[base + j * inner];
        if better(v, best, is_max, skip_nan) {
            best = v;
            best_j = j;
        }
    }
    best_j
}

impl ArgMaxKernel {
    fn run<T: PartialOrd + Copy>(
        &self,
        data: &[T],
        mut write: impl FnMut(usize, usize),
    ) -> Result<(), EvalError> {
        let needed = self.outer * self.axis_size * self.inner;
        if data.len() < needed {
            return Err(EvalError(format!(
                "input holds {} elements, the kernel reads {needed}",
                data.len()
            )));
        }
        for o in 0..self.outer {
            for i in 0..self.inner {
                let base = o * self.axis_size * self.inner + i;
                write(
                    o * self.inner + i,
                    first_extremum(
                        data,
                        base,
                        self.axis_size,
                        self.inner,
                        self.is_max,
                        self.skip_leading_nan,
                    ),
                );
            }
        }
        Ok(())
    }

    fn run_into<T: PartialOrd + Copy>(&self, data: &[T], out: &mut [u8]) -> Result<(), EvalError> {
        let count = self.outer * self.inner;
        match self.output_type {
            ElementType::I32 => {
                let out = as_i32_mut(out)?;
                if out.len() != count {
                    return Err(EvalError(format!(
                        "output holds {} elements, the kernel writes {count}",
                        out.len()
                    )));
                }
                self.run(data, |k, j| out[k] = j as i32)
            }
            _ => {
                let out = as_i64_mut(out)?;
                if out.len() != count {
                    return Err(EvalError(format!(
                        "output holds {} elements, the kernel writes {count}",
                        out.len()
                    )));
                }
                self.run(data, |k, j| out[k] = j as i64)
            }
        }
    }
}

impl Kernel for ArgMaxKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, out) = single_io(inputs, outputs)?;
        if self.nan_fails && as_f32(input)?.iter().any(|v| v.is_nan()) {
            return Err(EvalError(
                "float32 input holds NaN: LiteRT's vectorised search along a contiguous axis of 4 \
                 or more gives a lane-dependent index for NaN, which is not reproduced"
                    .into(),
            ));
        }
        match self.input_type {
            ElementType::I8 => self.run_into(as_i8(input), out),
            ElementType::U8 | ElementType::Bool => self.run_into(input, out),
            ElementType::I32 => self.run_into(as_i32(input)?, out),
            _ => self.run_into(as_f32(input)?, out),
        }
    }
}

/// Prepares ARG_MAX.
pub fn prepare_arg_max(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare(ctx, true)
}

/// Prepares ARG_MIN.
pub fn prepare_arg_min(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    prepare(ctx, false)
}

fn prepare(ctx: &PrepareCtx<'_>, is_max: bool) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    if ctx.inputs.len() != 2 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("takes (input, axis) and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    if !matches!(
        input.dtype,
        ElementType::F32 | ElementType::I8 | ElementType::U8 | ElementType::I32 | ElementType::Bool
    ) {
        return Err(ctx.unsupported(format!(
            "input type {} is not supported (float32, int8, uint8, int32, bool)",
            input.dtype
        )));
    }
    if !matches!(output.dtype, ElementType::I32 | ElementType::I64) {
        return Err(ctx.invalid(format!(
            "output must be int32 or int64, found {}",
            output.dtype
        )));
    }
    let raw = ctx.op.raw();
    let declared = if is_max {
        raw.builtin_options_as_arg_max_options()
            .map(|o| o.output_type())
    } else {
        raw.builtin_options_as_arg_min_options()
            .map(|o| o.output_type())
    };
    if let Some(declared) = declared {
        let declared = ElementType::from_schema(declared);
        if declared != output.dtype {
            return Err(ctx.invalid(format!(
                "output_type is {declared} but the output tensor is {}",
                output.dtype
            )));
        }
    }
    let rank = input.shape.len();
    if rank == 0 {
        return Err(ctx.invalid("needs an input of rank at least 1"));
    }
    let axis_t = ctx.input(1)?;
    let axis_values = const_ints(ctx, axis_t, "axis")?;
    if axis_values.len() != 1 {
        return Err(ctx.invalid(format!(
            "the axis tensor must hold one value, found {}",
            axis_values.len()
        )));
    }
    let axis = normalize_axis(ctx, axis_values[0], rank)?;
    let axis_size = input.shape[axis];
    if axis_size == 0 {
        return Err(ctx.invalid("cannot reduce an empty axis"));
    }
    let mut out_shape = input.shape.clone();
    out_shape.remove(axis);
    require_shape(ctx, output, &out_shape)?;
    let inner: usize = input.shape[axis + 1..].iter().product();
    Ok(Box::new(ArgMaxKernel {
        outer: input.shape[..axis].iter().product(),
        axis_size,
        inner,
        input_type: input.dtype,
        output_type: output.dtype,
        is_max,
        skip_leading_nan: input.dtype == ElementType::F32,
        nan_fails: input.dtype == ElementType::F32 && inner == 1 && axis_size >= 4,
    }))
}
