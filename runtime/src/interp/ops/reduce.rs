//! MEAN and SUM over constant axes of 8-bit tensors, reproducing LiteRT's current kernels (each
//! path established against its outputs):
//!
//! - MEAN, general case: the zero-point-corrected integer sum times the multiplier of
//!   `input_scale / output_scale`, first divided by the element count (after shifting it left by
//!   up to `floor(log2(count))` bits to keep precision); double rounding.
//! - MEAN of a 4-D tensor over axes `[1, 2]` with `keep_dims` (TFLite's optimized path): the raw
//!   sum times the multiplier of `input_scale / (count * output_scale)` plus
//!   `output_zp - round(input_zp * input_scale / output_scale)`; whole blocks of
//!   `HW_CHANNEL_BLOCK` (16) channels round the final shift's ties upward, the remaining channels
//!   away from zero.
//! - SUM: `round(sum * scale + bias) + output_zp` in `f32`, with
//!   `scale = input_scale / output_scale` and `bias = -input_zp * scale * count`, clamped.

use super::quant8::{load8, Q8};
use super::requant::{
    mul_double_rounding, mul_double_rounding_upward, quantize_multiplier, rounds_within_i32,
    QuantizedMultiplier,
};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{le_i32s, Kernel, PrepareCtx};
use crate::schema::BuiltinOperator;

/// Channels per vector block in TFLite's optimized int8 height-and-width MEAN.
const HW_CHANNEL_BLOCK: usize = 16;

/// How the sums become outputs.
enum Finish {
    /// General MEAN.
    IntMean { mult: QuantizedMultiplier },
    /// 4-D MEAN over height and width with `keep_dims`.
    HwMean {
        mult: QuantizedMultiplier,
        /// `output_zp - round(input_zp * input_scale / output_scale)`.
        bias: i32,
        /// Channels before this one are in vector blocks (ties of the final shift upward);
        /// the others round ties away from zero.
        block_channels: usize,
        channels: usize,
    },
    /// SUM.
    FloatSum { scale: f32, bias: f32 },
}

struct Reduce {
    signed: bool,
    in_dims: Vec<usize>,
    /// Output stride of each input dimension (0 for reduced dimensions).
    out_strides: Vec<usize>,
    count: i32,
    in_zp: i32,
    out_zp: i32,
    range: (i32, i32),
    finish: Finish,
    acc: Vec<i32>,
    /// The odometer over the input's indices (scratch).
    idx: Vec<usize>,
}

/// Prepares MEAN or SUM.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    let sum_op = ctx.op.kind().builtin() == Some(BuiltinOperator::SUM);
    let keep_dims = ctx
        .op
        .raw()
        .builtin_options_as_reducer_options()
        .is_some_and(|o| o.keep_dims());
    let input = ctx.input(0)?;
    let axis = ctx.input(1)?;
    let output = ctx.output(0)?;
    let qin = Q8::of(ctx, input, "input")?;
    let qout = Q8::of(ctx, output, "output")?;
    if qin.signed != qout.signed {
        return Err(ctx.unsupported("input and output types differ"));
    }
    if axis.dtype != ElementType::I32 {
        return Err(ctx.unsupported("the axis tensor must be int32"));
    }
    let axes_raw = le_i32s(
        axis.data
            .ok_or_else(|| ctx.unsupported("the axis tensor must be a constant"))?,
    );
    let rank = input.shape.len() as i32;
    let mut reduced = vec![false; input.shape.len()];
    for &a in &axes_raw {
        let r = if a < 0 { a + rank } else { a };
        if r < 0 || r >= rank {
            return Err(ctx.invalid(format!("axis {a} is out of range for rank {rank}")));
        }
        reduced[r as usize] = true;
    }
    let kept: Vec<usize> = (0..input.shape.len())
        .filter(|&d| !reduced[d])
        .map(|d| input.shape[d])
        .collect();
    let n_out: usize = kept.iter().product();
    let want_rank = if keep_dims {
        input.shape.len()
    } else {
        kept.len()
    };
    if output.shape.len() != want_rank || output.num_elements() != n_out {
        return Err(ctx.invalid(format!(
            "output shape {:?} does not match the reduction of {:?} (keep_dims {keep_dims})",
            output.shape, input.shape
        )));
    }
    let mut out_strides = vec![0usize; input.shape.len()];
    let mut stride = 1;
    for d in (0..input.shape.len()).rev() {
        if !reduced[d] {
            out_strides[d] = stride;
            stride *= input.shape[d];
        }
    }
    let count: usize = (0..input.shape.len())
        .filter(|&d| reduced[d])
        .map(|d| input.shape[d])
        .product();
    let scale = qin.scale / qout.scale;
    let hw_special = !sum_op
        && keep_dims
        && rank == 4
        && (axes_raw == [1, 2] || axes_raw == [2, 1])
        && count > 0;
    // The float finishes round values up to the whole sum (or the input zero point) rescaled.
    let extreme = (count as f32 * 256.0 * scale).max(256.0 * scale) * 2.0;
    if !rounds_within_i32(extreme) {
        return Err(ctx.invalid(format!(
            "the input scale {} over the output scale {} rescales {count} values beyond int32",
            qin.scale, qout.scale
        )));
    }
    let finish = if sum_op {
        Finish::FloatSum {
            scale,
            bias: -(qin.zero_point as f32) * scale * count as f32,
        }
    } else if hw_special {
        let real = qin.scale / (count as f32 * qout.scale);
        let shifted = qin.zero_point as f32 * qin.scale / qout.scale;
        let channels = input.shape[3];
        Finish::HwMean {
            mult: quantize_multiplier(real as f64),
            bias: qout.zero_point - shifted.round() as i32,
            block_channels: channels / HW_CHANNEL_BLOCK * HW_CHANNEL_BLOCK,
            channels,
        }
    } else {
        let base = quantize_multiplier(qin.scale as f64 / qout.scale as f64);
        let mult = if count == 0 {
            base
        } else {
            let log2 = (usize::BITS - 1 - count.leading_zeros()) as i32;
            let s = log2.min(32).min(31 + base.shift);
            QuantizedMultiplier {
                multiplier: (((base.multiplier as i64) << s) / count as i64) as i32,
                shift: base.shift - s,
            }
        };
        Finish::IntMean { mult }
    };
    Ok(Box::new(Reduce {
        signed: qin.signed,
        in_dims: input.shape.clone(),
        out_strides,
        count: count as i32,
        in_zp: qin.zero_point,
        out_zp: qout.zero_point,
        range: qout.range(),
        finish,
        acc: vec![0; n_out],
        idx: vec![0; input.shape.len()],
    }))
}

impl Kernel for Reduce {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let out = &mut *outputs[0];
        self.acc.fill(0);
        let rank = self.in_dims.len();
        let idx = &mut self.idx;
        idx.fill(0);
        let mut o = 0usize;
        for &v in input {
            self.acc[o] += load8(self.signed, v);
            // Advance the odometer, keeping the output offset in step.
            let mut d = rank;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                o += self.out_strides[d];
                if idx[d] < self.in_dims[d] {
                    break;
                }
                o -= self.out_strides[d] * idx[d];
                idx[d] = 0;
            }
        }
        if self.count == 0 {
            return Ok(());
        }
        let (lo, hi) = self.range;
        match self.finish {
            Finish::IntMean { mult } => {
                let correction = self.in_zp * self.count;
                for (d, &sum) in out.iter_mut().zip(&self.acc) {
                    let v = mul_double_rounding(sum - correction, mult) + self.out_zp;
                    *d = v.clamp(lo, hi) as u8;
                }
            }
            Finish::HwMean {
                mult,
                bias,
                block_channels,
                channels,
            } => {
                for (k, (d, &sum)) in out.iter_mut().zip(&self.acc).enumerate() {
                    let v = if k % channels < block_channels {
                        mul_double_rounding_upward(sum, mult)
                    } else {
                        mul_double_rounding(sum, mult)
                    };
                    *d = (v + bias).clamp(lo, hi) as u8;
                }
            }
            Finish::FloatSum { scale, bias } => {
                for (d, &sum) in out.iter_mut().zip(&self.acc) {
                    let v = (sum as f32 * scale + bias).round() as i32 + self.out_zp;
                    *d = v.clamp(lo, hi) as u8;
                }
            }
        }
        Ok(())
    }
}
