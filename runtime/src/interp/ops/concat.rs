//! CONCATENATION along one axis. Inputs with the output's quantization are copied; uint8 inputs
//! with other parameters are rescaled in `f32` as TFLite's `ConcatenationWithScaling` does
//! (int8 requires identical parameters, as in TFLite).

use super::quant8::Q8;
use super::requant::rounds_within_i32;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::ActivationFunctionType;

struct Part {
    /// Bytes copied per outer step.
    chunk: usize,
    /// `(scale, bias)` when the input must be rescaled (uint8 only).
    rescale: Option<(f32, f32)>,
}

struct Concat {
    outer: usize,
    parts: Vec<Part>,
    out_zp: i32,
}

/// Prepares CONCATENATION.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(4)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_concatenation_options()
        .ok_or_else(|| ctx.invalid("missing ConcatenationOptions"))?;
    if opts.fused_activation_function() != ActivationFunctionType::NONE {
        return Err(ctx.unsupported("fused activations on CONCATENATION are not supported"));
    }
    let output = ctx.output(0)?;
    let rank = output.shape.len() as i32;
    let axis = if opts.axis() < 0 {
        opts.axis() + rank
    } else {
        opts.axis()
    };
    if axis < 0 || axis >= rank {
        return Err(ctx.invalid(format!(
            "axis {} is out of range for rank {rank}",
            opts.axis()
        )));
    }
    let axis = axis as usize;
    let esize = output
        .dtype
        .size_bytes()
        .ok_or_else(|| ctx.unsupported(format!("type {} is not supported", output.dtype)))?;
    let quantized = output.dtype.is_8bit() && output.quant.is_some();
    let qout = if quantized {
        Some(Q8::of(ctx, output, "output")?)
    } else {
        None
    };
    let outer: usize = output.shape[..axis].iter().product();
    let inner: usize = output.shape[axis + 1..].iter().product();
    let mut parts = Vec::new();
    let mut total_axis = 0;
    for k in 0..ctx.inputs.len() {
        let t = ctx.input(k)?;
        if t.dtype != output.dtype
            || t.shape.len() != output.shape.len()
            || (0..output.shape.len()).any(|d| d != axis && t.shape[d] != output.shape[d])
        {
            return Err(ctx.invalid(format!(
                "input {k} ('{}', {} {:?}) does not fit output {} {:?} along axis {axis}",
                t.name, t.dtype, t.shape, output.dtype, output.shape
            )));
        }
        total_axis += t.shape[axis];
        let rescale = match &qout {
            Some(qo) => {
                let qi = Q8::of(ctx, t, "input")?;
                if qi == *qo {
                    None
                } else if t.dtype == ElementType::U8 {
                    let scale = qi.scale * (1.0 / qo.scale);
                    let bias = -(qi.zero_point as f32) * scale;
                    if !rounds_within_i32(bias.abs().max((255.0 * scale + bias).abs())) {
                        return Err(ctx.invalid(format!(
                            "input {k}'s scale {} over the output's {} rescales beyond int32",
                            qi.scale, qo.scale
                        )));
                    }
                    Some((scale, bias))
                } else {
                    return Err(ctx.unsupported(format!(
                        "int8 input {k} has different quantization than the output"
                    )));
                }
            }
            None => None,
        };
        parts.push(Part {
            chunk: t.shape[axis] * inner * esize,
            rescale,
        });
    }
    if total_axis != output.shape[axis] {
        return Err(ctx.invalid(format!(
            "inputs add up to {total_axis} along axis {axis}, the output has {}",
            output.shape[axis]
        )));
    }
    Ok(Box::new(Concat {
        outer,
        parts,
        out_zp: qout.map_or(0, |q| q.zero_point),
    }))
}

impl Kernel for Concat {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let out = &mut *outputs[0];
        let mut o = 0;
        for step in 0..self.outer {
            for (part, input) in self.parts.iter().zip(inputs) {
                let input = input.ok_or_else(|| EvalError("missing input".into()))?;
                let src = &input[step * part.chunk..(step + 1) * part.chunk];
                let dst = &mut out[o..o + part.chunk];
                match part.rescale {
                    None => dst.copy_from_slice(src),
                    Some((scale, bias)) => {
                        for (d, &s) in dst.iter_mut().zip(src) {
                            let v = (s as f32 * scale + bias).round() as i32 + self.out_zp;
                            *d = v.clamp(0, 255) as u8;
                        }
                    }
                }
                o += part.chunk;
            }
        }
        Ok(())
    }
}
