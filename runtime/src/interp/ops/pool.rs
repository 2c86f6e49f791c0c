//! AVERAGE_POOL_2D and MAX_POOL_2D on 8-bit tensors (input and output share quantization, as
//! TFLite requires). Padding cells are excluded from the window; the average rounds half away
//! from zero.

use super::quant8::{fused_range, load8, Q8};
use super::window::Window;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::BuiltinOperator;

struct Pool {
    win: Window,
    channels: usize,
    average: bool,
    signed: bool,
    act_min: i32,
    act_max: i32,
    acc: Vec<i32>,
}

/// Prepares AVERAGE_POOL_2D or MAX_POOL_2D.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(3)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_pool_2_doptions()
        .ok_or_else(|| ctx.invalid("missing Pool2DOptions"))?;
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    let qin = Q8::of(ctx, input, "input")?;
    let qout = Q8::of(ctx, output, "output")?;
    if qin != qout {
        return Err(ctx.unsupported("input and output must have the same type and quantization"));
    }
    if input.shape.len() != 4 || output.shape.len() != 4 || output.shape[3] != input.shape[3] {
        return Err(ctx.invalid(format!(
            "input {:?} and output {:?} must be 4-D with the same depth",
            input.shape, output.shape
        )));
    }
    let (fh, fw) = (opts.filter_height(), opts.filter_width());
    if fh < 1 || fw < 1 {
        return Err(ctx.invalid(format!("filter size {fh}x{fw}")));
    }
    let win = Window::new(
        ctx,
        &input.shape,
        &output.shape,
        fh as usize,
        fw as usize,
        (opts.stride_h(), opts.stride_w()),
        (1, 1),
        opts.padding(),
    )?;
    let (act_min, act_max) = fused_range(ctx, opts.fused_activation_function(), &qout)?;
    Ok(Box::new(Pool {
        win,
        channels: input.shape[3],
        average: ctx.op.kind().builtin() == Some(BuiltinOperator::AVERAGE_POOL_2D),
        signed: qin.signed,
        act_min,
        act_max,
        acc: vec![0; input.shape[3]],
    }))
}

impl Kernel for Pool {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let out = &mut *outputs[0];
        let w = self.win;
        let c = self.channels;
        let mut o = 0;
        for b in 0..w.batches {
            for oy in 0..w.out_h {
                for ox in 0..w.out_w {
                    self.acc.fill(if self.average { 0 } else { i32::MIN });
                    let mut count = 0i32;
                    for ky in 0..w.k_h {
                        let Some(y) = w.in_y(oy, ky) else { continue };
                        for kx in 0..w.k_w {
                            let Some(x) = w.in_x(ox, kx) else { continue };
                            count += 1;
                            let src = &input[((b * w.in_h + y) * w.in_w + x) * c..][..c];
                            if self.average {
                                for (a, &v) in self.acc.iter_mut().zip(src) {
                                    *a += load8(self.signed, v);
                                }
                            } else {
                                for (a, &v) in self.acc.iter_mut().zip(src) {
                                    *a = (*a).max(load8(self.signed, v));
                                }
                            }
                        }
                    }
                    let dst = &mut out[o..o + c];
                    for (d, &a) in dst.iter_mut().zip(&self.acc) {
                        let v = if !self.average {
                            a
                        } else if count == 0 {
                            0
                        } else if a > 0 {
                            (a + count / 2) / count
                        } else {
                            (a - count / 2) / count
                        };
                        *d = v.clamp(self.act_min, self.act_max) as u8;
                    }
                    o += c;
                }
            }
        }
        Ok(())
    }
}
