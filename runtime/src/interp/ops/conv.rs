//! CONV_2D on 8-bit tensors: im2col into zero-point-corrected `i16` rows, an integer GEMM against
//! the packed filter, then per-channel requantization (as TFLite's optimized kernel, which
//! multiplies through ruy: single rounding).

use super::common::{
    bias_values, check_filter_zero_points, conv_multipliers, filter_scales, fused_range, load8,
    to_i16, OutputStage, Window, GEMM_ROUNDING, Q8,
};
use super::gemm::{self, Isa, PackedRhs};
use super::requant::Rounding;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};

/// Grouped convolutions run on TFLite's reference kernel, which rounds ties away from zero.
const GROUPED_ROUNDING: Rounding = Rounding::Double;

/// Output pixels processed per GEMM call.
const ROW_BLOCK: usize = 64;

struct Conv {
    win: Window,
    cin: usize,
    rhs: PackedRhs,
    stage: OutputStage,
    in_signed: bool,
    in_zp: i32,
    isa: Isa,
    /// The whole input minus its zero point, as `i16`.
    in16: Vec<i16>,
    /// True when each output pixel's im2col row is exactly one input pixel (1x1, stride 1, no
    /// padding) and the depth needs no padding: the GEMM reads `in16` directly.
    direct: bool,
    lhs: Vec<i16>,
    acc: Vec<i32>,
}

/// Prepares CONV_2D.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(8)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_conv_2_doptions()
        .ok_or_else(|| ctx.invalid("missing Conv2DOptions"))?;
    let input = ctx.input(0)?;
    let filter = ctx.input(1)?;
    let output = ctx.output(0)?;
    let qin = Q8::of(ctx, input, "input")?;
    let qout = Q8::of(ctx, output, "output")?;
    if filter.dtype != qin.dtype() {
        return Err(ctx.unsupported(format!(
            "filter type {} with input type {} is not supported",
            filter.dtype, input.dtype
        )));
    }
    let wdata = filter
        .data
        .ok_or_else(|| ctx.unsupported("the filter must be a constant tensor"))?;
    if filter.shape.len() != 4 || input.shape.len() != 4 {
        return Err(ctx.invalid("input and filter must be 4-D"));
    }
    let (cout, kh, kw, fcin) = (
        filter.shape[0],
        filter.shape[1],
        filter.shape[2],
        filter.shape[3],
    );
    let cin = input.shape[3];
    if fcin == 0 || cin % fcin != 0 || cout % (cin / fcin) != 0 {
        return Err(ctx.invalid(format!(
            "filter depth {fcin} does not divide input depth {cin} into groups that divide the \
             {cout} output channels"
        )));
    }
    // Grouped convolution: output channel c reads input channels of its group only; the packed
    // filter is block-diagonal (zeros outside the group), which keeps one GEMM.
    let groups = cin / fcin;
    let per_group = cout / groups;
    if output.shape.len() != 4 || output.shape[3] != cout {
        return Err(ctx.invalid(format!(
            "output shape {:?} does not have {cout} channels",
            output.shape
        )));
    }
    let win = Window::new(
        ctx,
        &input.shape,
        &output.shape,
        kh,
        kw,
        (opts.stride_h(), opts.stride_w()),
        (opts.dilation_h_factor(), opts.dilation_w_factor()),
        opts.padding(),
    )?;
    let k = kh * kw * cin;
    if k > gemm::MAX_DEPTH {
        return Err(ctx.unsupported(format!("filter depth {k} is too large")));
    }
    let (scales, zps) = filter_scales(ctx, filter, 0, cout)?;
    check_filter_zero_points(ctx, filter, &zps)?;
    let bias = bias_values(ctx, ctx.optional_input(2), cout)?;
    let (act_min, act_max) = fused_range(ctx, opts.fused_activation_function(), &qout)?;
    let signed = qin.signed;
    let fk = kh * kw * fcin;
    let rhs = PackedRhs::new(cout, k, |c, d| {
        let (tap, ci) = (d / cin, d % cin);
        if ci / fcin != c / per_group {
            return 0;
        }
        (load8(signed, wdata[c * fk + tap * fcin + ci % fcin]) - zps[c]) as i16
    });
    let direct = kh == 1
        && kw == 1
        && win.stride_h == 1
        && win.stride_w == 1
        && win.pad_top == 0
        && win.pad_left == 0
        && win.out_h == win.in_h
        && win.out_w == win.in_w
        && rhs.k_padded() == cin;
    let rows = win.batches * win.out_h * win.out_w;
    let block = ROW_BLOCK.min(rows.max(1));
    Ok(Box::new(Conv {
        win,
        cin,
        lhs: if direct {
            Vec::new()
        } else {
            vec![0; block * rhs.k_padded()]
        },
        acc: vec![0; block * rhs.n_padded()],
        rhs,
        stage: OutputStage::new(
            bias,
            &conv_multipliers(qin.scale, &scales, qout.scale),
            qout.zero_point,
            act_min,
            act_max,
            if groups == 1 {
                GEMM_ROUNDING
            } else {
                GROUPED_ROUNDING
            },
        ),
        in_signed: signed,
        in_zp: qin.zero_point,
        isa: gemm::detect(),
        in16: vec![0; input.num_elements()],
        direct,
    }))
}

impl Conv {
    /// Writes the im2col row of output pixel `p` (in batch-major order) into `row`.
    fn im2col_row(&self, p: usize, row: &mut [i16]) {
        let w = &self.win;
        let cin = self.cin;
        let ox = p % w.out_w;
        let oy = (p / w.out_w) % w.out_h;
        let b = p / (w.out_w * w.out_h);
        let mut at = 0;
        let run = w.k_w * cin;
        for ky in 0..w.k_h {
            let y = w.in_y(oy, ky);
            // With no horizontal dilation, a filter row fully inside the input is one
            // contiguous run of the input row.
            if let (Some(y), Some(x0), Some(_), 1) =
                (y, w.in_x(ox, 0), w.in_x(ox, w.k_w - 1), w.dil_w)
            {
                let src = ((b * w.in_h + y) * w.in_w + x0) * cin;
                row[at..at + run].copy_from_slice(&self.in16[src..src + run]);
                at += run;
                continue;
            }
            for kx in 0..w.k_w {
                let dst = &mut row[at..at + cin];
                match (y, w.in_x(ox, kx)) {
                    (Some(y), Some(x)) => {
                        let src = ((b * w.in_h + y) * w.in_w + x) * cin;
                        dst.copy_from_slice(&self.in16[src..src + cin]);
                    }
                    _ => dst.fill(0),
                }
                at += cin;
            }
        }
    }
}

impl Kernel for Conv {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let out = &mut *outputs[0];
        to_i16(self.in_signed, self.in_zp, input, &mut self.in16);
        let (kp, n, np) = (self.rhs.k_padded(), self.rhs.n(), self.rhs.n_padded());
        let total = self.win.batches * self.win.out_h * self.win.out_w;
        let mut lhs = std::mem::take(&mut self.lhs);
        let mut p = 0;
        while p < total {
            let rows = ROW_BLOCK.min(total - p);
            let a: &[i16] = if self.direct {
                &self.in16[p * kp..(p + rows) * kp]
            } else {
                for r in 0..rows {
                    let k = self.rhs.k();
                    self.im2col_row(p + r, &mut lhs[r * kp..r * kp + k]);
                }
                &lhs
            };
            gemm::gemm(self.isa, a, rows, &self.rhs, &mut self.acc);
            for r in 0..rows {
                self.stage.apply(
                    &self.acc[r * np..r * np + n],
                    &mut out[(p + r) * n..(p + r + 1) * n],
                );
            }
            p += rows;
        }
        self.lhs = lhs;
        Ok(())
    }
}
