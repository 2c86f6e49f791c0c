//! Checks shared by several kernels: the prepare-time type and quantization checks of unary 8-bit
//! ops, and the eval-time fetching and size checks of single-input, single-output buffers.

use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{PrepareCtx, TensorInfo};

/// The quantization of an 8-bit tensor: its type, scale and zero point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quant8 {
    /// `I8` or `U8`.
    pub dtype: ElementType,
    /// The per-tensor scale.
    pub scale: f32,
    /// The zero point.
    pub zero_point: i32,
}

/// Checks a unary op: one input, one output, same 8-bit type, same element count, per-tensor
/// quantization on both. Returns the input and output quantization and the element count.
pub fn unary_8bit(ctx: &PrepareCtx<'_>) -> Result<(Quant8, Quant8, usize), LoadError> {
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid(format!(
            "expected 1 input and 1 output, found {} and {}",
            ctx.inputs.len(),
            ctx.outputs.len()
        )));
    }
    if !input.dtype.is_8bit() {
        return Err(ctx.unsupported(format!(
            "input type {} is not supported (only int8 and uint8)",
            input.dtype
        )));
    }
    if output.dtype != input.dtype {
        return Err(ctx.invalid(format!(
            "output type {} differs from input type {}",
            output.dtype, input.dtype
        )));
    }
    if input.shape != output.shape {
        return Err(ctx.invalid(format!(
            "output shape {:?} differs from input shape {:?}",
            output.shape, input.shape
        )));
    }
    let qin = quant8(ctx, input)?;
    let qout = quant8(ctx, output)?;
    Ok((qin, qout, input.num_elements()))
}

/// The per-tensor quantization of an 8-bit tensor, or a clear refusal.
pub fn quant8(ctx: &PrepareCtx<'_>, t: &TensorInfo<'_>) -> Result<Quant8, LoadError> {
    let Some((scale, zero_point)) = t.scale_zp() else {
        return Err(ctx.unsupported(format!(
            "tensor '{}' ({}) must have per-tensor quantization parameters",
            t.name, t.dtype
        )));
    };
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ctx.invalid(format!("tensor '{}' has an invalid scale {scale}", t.name)));
    }
    let (lo, hi) = match t.dtype {
        ElementType::I8 => (-128, 127),
        _ => (0, 255),
    };
    if !(lo..=hi).contains(&zero_point) {
        return Err(ctx.invalid(format!(
            "tensor '{}' has zero point {zero_point} outside the {} range",
            t.name, t.dtype
        )));
    }
    Ok(Quant8 {
        dtype: t.dtype,
        scale,
        zero_point,
    })
}

/// The first output buffer, or an error if the interpreter passed none.
pub fn first_output<'o>(outputs: &'o mut [&mut [u8]]) -> Result<&'o mut [u8], EvalError> {
    outputs
        .first_mut()
        .map(|o| &mut **o)
        .ok_or_else(|| EvalError("missing output tensor".into()))
}

/// The first input and first output buffers of a kernel, or an error naming the missing one.
pub fn single_io<'i, 'o>(
    inputs: &[Option<&'i [u8]>],
    outputs: &'o mut [&mut [u8]],
) -> Result<(&'i [u8], &'o mut [u8]), EvalError> {
    let input = inputs
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| EvalError("missing input tensor".into()))?;
    Ok((input, first_output(outputs)?))
}

/// Checks that `input` and `output` both hold exactly `n` bytes.
pub fn same_len(input: &[u8], output: &[u8], n: usize) -> Result<(), EvalError> {
    if input.len() != n || output.len() != n {
        return Err(EvalError(format!(
            "expected {n} input and output bytes, got {} and {}",
            input.len(),
            output.len()
        )));
    }
    Ok(())
}

/// Checks that `input` and `output` both hold `rows * depth` bytes, then calls `row` on each
/// matching pair of `depth`-byte rows (no call when `depth` is 0).
pub fn for_each_row(
    input: &[u8],
    output: &mut [u8],
    rows: usize,
    depth: usize,
    mut row: impl FnMut(&[u8], &mut [u8]),
) -> Result<(), EvalError> {
    same_len(input, output, rows * depth)?;
    if depth == 0 {
        return Ok(());
    }
    for (i, o) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        row(i, o);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_io_names_the_missing_buffer() {
        let data = [1u8, 2];
        let mut out = [0u8; 2];
        let err = single_io(&[None], &mut [&mut out[..]]).unwrap_err();
        assert!(err.0.contains("input"), "{err}");
        let err = single_io(&[Some(&data[..])], &mut []).unwrap_err();
        assert!(err.0.contains("output"), "{err}");
        let mut outputs = [&mut out[..]];
        let (i, o) = single_io(&[Some(&data[..])], &mut outputs).unwrap();
        assert_eq!((i, o.len()), (&data[..], 2));
    }

    #[test]
    fn for_each_row_checks_sizes_and_visits_every_row() {
        let input = [1u8, 2, 3, 4, 5, 6];
        let mut output = [0u8; 6];
        let mut rows = 0;
        for_each_row(&input, &mut output, 3, 2, |i, o| {
            rows += 1;
            o[0] = i[1];
            o[1] = i[0];
        })
        .unwrap();
        assert_eq!((rows, output), (3, [2, 1, 4, 3, 6, 5]));
        assert!(for_each_row(&input, &mut output, 2, 2, |_, _| {}).is_err());
        assert!(
            for_each_row(&input[..0], &mut output[..0], 3, 0, |_, _| panic!(
                "no rows"
            ))
            .is_ok()
        );
    }
}
