//! CONV_2D on 8-bit tensors: im2col into zero-point-corrected `i16` rows, an integer GEMM against
//! the packed filter, then per-channel requantization (as TFLite's optimized kernel, which
//! multiplies through ruy: single rounding).
//!
//! When the GEMM has a fast `u8` path for the filter (x86-64 AVX-512 VNNI, `i8` weights), the
//! im2col rows are the raw input bytes instead (shifted into `u8`, padding at the zero point) and
//! the zero point is taken out inside the GEMM. uint8 filters with one zero point take that path
//! too, packed as `w - 128` with a per-pixel row-sum correction (see `row_term`).

use super::gemm::{self, FusedU8, Isa, PackedRhs};
use super::operands::WeightedOperands;
use super::output_stage::{ChannelQuant, OutputStage, GEMM_ROUNDING};
use super::quant8::{load8, to_i16};
use super::requant::Rounding;
use super::window::Window;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};

/// Grouped convolutions run on TFLite's reference kernel, which rounds ties away from zero.
const GROUPED_ROUNDING: Rounding = Rounding::Double;

/// Output pixels processed per GEMM call on the `i16` path.
const ROW_BLOCK: usize = 64;

/// Bytes of `u8` im2col rows per GEMM call (kept in the L2 cache while every column group
/// passes over them).
const U8_LHS_BYTES: usize = 256 << 10;
/// Bytes of `i32` accumulators per GEMM call on the `u8` path.
const U8_ACC_BYTES: usize = 128 << 10;

struct Conv {
    win: Window,
    cin: usize,
    rhs: PackedRhs,
    stage: OutputStage,
    in_signed: bool,
    in_zp: i32,
    isa: Isa,
    /// The whole input minus its zero point, as `i16` (`i16` path only).
    in16: Vec<i16>,
    /// True when each output pixel's im2col row is exactly one input pixel (1x1, stride 1, no
    /// padding) and the depth needs no padding: the GEMM reads the input (`in16`, `in8` or the
    /// raw bytes) directly.
    direct: bool,
    lhs: Vec<i16>,
    /// `Some(offset)` on the `u8` path: input bytes are mapped to `u8` (signed ones flipped by
    /// 128) and `offset` is the zero point in that mapping.
    u8_offset: Option<u8>,
    /// The signed input flipped into `u8` (`u8` path with signed input only).
    in8: Vec<u8>,
    lhs8: Vec<u8>,
    /// The requantization fused into the `u8` GEMM, when it has a fast loop for it (then
    /// `stage` and `acc` are unused).
    fused: Option<FusedU8>,
    /// `Some(128 - filter_zp)` when the packed weights are the uint8 filter minus 128 (so that
    /// they fit the `u8` path's `i8` weights): each output pixel then adds this times the sum of
    /// its im2col row (minus the offset) to every channel's accumulator.
    row_coef: Option<i32>,
    /// The per-pixel terms of `row_coef` for one block (fused path with `row_coef` only).
    row_terms: Vec<i32>,
    /// Output pixels per GEMM call.
    block: usize,
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
    let WeightedOperands {
        input,
        filter,
        output,
        qin,
        qout,
        weights: wdata,
    } = WeightedOperands::of(ctx)?;
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
    let cq = ChannelQuant::of(
        ctx,
        filter,
        0,
        cout,
        2,
        opts.fused_activation_function(),
        &qout,
    )?;
    let zps = &cq.zps;
    let signed = qin.signed;
    let fk = kh * kw * fcin;
    let isa = gemm::detect();
    // uint8 weights with one zero point are packed as `w - 128` on CPUs with the fast `u8` GEMM
    // (`w - zp` spans up to 511 values, `w - 128` fits `i8`): `sum (a - off) (w - zp)` is
    // `sum (a - off) (w - 128) + (128 - zp) sum (a - off)`, the second term added per row.
    // (The `u8` path also needs the input zero point in `u8`, as valid uint8 tensors have it.)
    let shift_weights = !signed
        && groups == 1
        && u8::try_from(qin.zero_point).is_ok()
        && isa == gemm::Isa::Avx512Vnni
        && zps.iter().all(|&z| z == zps[0]);
    let pack = |weight_zp: &dyn Fn(usize) -> i32| {
        PackedRhs::new(cout, k, |c, d| {
            let (tap, ci) = (d / cin, d % cin);
            if ci / fcin != c / per_group {
                return 0;
            }
            (load8(signed, wdata[c * fk + tap * fcin + ci % fcin]) - weight_zp(c)) as i16
        })
    };
    let (rhs, row_coef) = match shift_weights {
        true => {
            let shifted = pack(&|_| 128);
            if shifted.fast_u8(isa) {
                (shifted, zps.first().map(|&z| 128 - z))
            } else {
                (pack(&|c| zps[c]), None)
            }
        }
        false => (pack(&|c| zps[c]), None),
    };
    // The zero point mapped like the input bytes (in 0..=255 for valid 8-bit tensors; the
    // `i16` path handles any other).
    let mapped_zp = qin.zero_point + if signed { 128 } else { 0 };
    let u8_offset = u8::try_from(mapped_zp).ok().filter(|_| rhs.fast_u8(isa));
    let stride = if u8_offset.is_some() {
        rhs.k_padded_u8()
    } else {
        rhs.k_padded()
    };
    let direct = kh == 1
        && kw == 1
        && win.stride_h == 1
        && win.stride_w == 1
        && win.pad_top == 0
        && win.pad_left == 0
        && win.out_h == win.in_h
        && win.out_w == win.in_w
        && stride == cin;
    let rows = win.batches * win.out_h * win.out_w;
    let in_elems = input.num_elements();
    let rounding = if groups == 1 {
        GEMM_ROUNDING
    } else {
        GROUPED_ROUNDING
    };
    // TFLite's uint8 kernel takes the legacy per-tensor multiplier (`f32` scale product).
    let stage = if signed {
        cq.stage(qin.scale, &qout, rounding)
    } else {
        cq.legacy_stage(qin.scale, &qout, rounding)
    };
    let fused = u8_offset.and_then(|offset| {
        stage
            .upward_params()
            .and_then(|params| rhs.fuse_u8(isa, offset, &params))
    });
    // On the `u8` path, as many rows as keep the im2col block (and the accumulators, when not
    // fused) in the L2 cache, a multiple of the GEMM's row tiles (6 or 8 rows).
    let block = match (u8_offset, &fused) {
        (Some(_), Some(_)) => (U8_LHS_BYTES / stride).max(24).next_multiple_of(24),
        (Some(_), None) => (U8_LHS_BYTES / stride)
            .min(U8_ACC_BYTES / (4 * rhs.n_padded()))
            .max(24)
            .next_multiple_of(24),
        (None, _) => ROW_BLOCK,
    }
    .min(rows.max(1));
    Ok(Box::new(Conv {
        win,
        cin,
        lhs: if direct || u8_offset.is_some() {
            Vec::new()
        } else {
            vec![0; block * stride]
        },
        lhs8: if direct || u8_offset.is_none() {
            Vec::new()
        } else {
            vec![0; block * stride]
        },
        in8: if u8_offset.is_some() && signed {
            vec![0; in_elems]
        } else {
            Vec::new()
        },
        in16: if u8_offset.is_some() {
            Vec::new()
        } else {
            vec![0; in_elems]
        },
        u8_offset,
        row_coef,
        row_terms: if row_coef.is_some() && fused.is_some() {
            vec![0; block]
        } else {
            Vec::new()
        },
        block,
        acc: if fused.is_some() {
            Vec::new()
        } else {
            vec![0; block * rhs.n_padded()]
        },
        fused,
        rhs,
        stage,
        in_signed: signed,
        in_zp: qin.zero_point,
        isa,
        direct,
    }))
}

/// Writes the im2col row of output pixel `p` (in batch-major order) of the `cin`-channel input
/// `src` into `row`, with `pad` outside the input.
fn im2col_row<T: Copy>(w: &Window, cin: usize, src: &[T], pad: T, p: usize, row: &mut [T]) {
    let ox = p % w.out_w;
    let oy = (p / w.out_w) % w.out_h;
    let b = p / (w.out_w * w.out_h);
    let mut at = 0;
    let run = w.k_w * cin;
    for ky in 0..w.k_h {
        let y = w.in_y(oy, ky);
        // With no horizontal dilation, a filter row fully inside the input is one contiguous
        // run of the input row.
        if let (Some(y), Some(x0), Some(_), 1) = (y, w.in_x(ox, 0), w.in_x(ox, w.k_w - 1), w.dil_w)
        {
            let at_src = ((b * w.in_h + y) * w.in_w + x0) * cin;
            row[at..at + run].copy_from_slice(&src[at_src..at_src + run]);
            at += run;
            continue;
        }
        for kx in 0..w.k_w {
            let dst = &mut row[at..at + cin];
            match (y, w.in_x(ox, kx)) {
                (Some(y), Some(x)) => {
                    let at_src = ((b * w.in_h + y) * w.in_w + x) * cin;
                    dst.copy_from_slice(&src[at_src..at_src + cin]);
                }
                _ => dst.fill(pad),
            }
            at += cin;
        }
    }
}

/// The term shifted uint8 weights add to every accumulator of output pixel `r`
/// ([`gemm::shifted_weights_row_term`] of the first `k` values of im2col row `r`, stride `kp`).
#[inline]
fn row_term(a: &[u8], r: usize, (k, kp): (usize, usize), offset: u8, coef: i32) -> i32 {
    gemm::shifted_weights_row_term(&a[r * kp..r * kp + k], offset, coef)
}

/// Adds [`row_term`] of each of `rows` rows to the row's first `n` accumulators (stride `np`).
fn add_row_sums(
    a: &[u8],
    rows: usize,
    depth: (usize, usize),
    offset: u8,
    coef: i32,
    (n, np): (usize, usize),
    acc: &mut [i32],
) {
    for r in 0..rows {
        let term = row_term(a, r, depth, offset, coef);
        for v in &mut acc[r * np..r * np + n] {
            *v += term;
        }
    }
}

impl Conv {
    /// The `i16` path: im2col of zero-point-corrected values, [`gemm::gemm`].
    fn eval_i16(&mut self, input: &[u8], out: &mut [u8]) {
        to_i16(self.in_signed, self.in_zp, input, &mut self.in16);
        let (k, kp, n, np) = (
            self.rhs.k(),
            self.rhs.k_padded(),
            self.rhs.n(),
            self.rhs.n_padded(),
        );
        let total = self.win.batches * self.win.out_h * self.win.out_w;
        let mut p = 0;
        while p < total {
            let rows = self.block.min(total - p);
            let a: &[i16] = if self.direct {
                &self.in16[p * kp..(p + rows) * kp]
            } else {
                for r in 0..rows {
                    let row = &mut self.lhs[r * kp..r * kp + k];
                    im2col_row(&self.win, self.cin, &self.in16, 0, p + r, row);
                }
                &self.lhs
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
    }

    /// The `u8` path: im2col of raw bytes, [`gemm::gemm_u8`].
    fn eval_u8(&mut self, input: &[u8], out: &mut [u8], offset: u8) {
        if self.rhs.n() == 0 {
            return;
        }
        let src: &[u8] = if self.in_signed {
            for (d, &s) in self.in8.iter_mut().zip(input) {
                *d = s ^ 0x80;
            }
            &self.in8
        } else {
            input
        };
        let (k, kp, n, np) = (
            self.rhs.k(),
            self.rhs.k_padded_u8(),
            self.rhs.n(),
            self.rhs.n_padded(),
        );
        let total = self.win.batches * self.win.out_h * self.win.out_w;
        let mut p = 0;
        while p < total {
            let rows = self.block.min(total - p);
            let a: &[u8] = if self.direct {
                &src[p * kp..(p + rows) * kp]
            } else {
                for r in 0..rows {
                    let row = &mut self.lhs8[r * kp..r * kp + k];
                    im2col_row(&self.win, self.cin, src, offset, p + r, row);
                }
                &self.lhs8
            };
            let out = &mut out[p * n..(p + rows) * n];
            if let (Some(fused), Some(coef)) = (&self.fused, self.row_coef) {
                for (r, t) in self.row_terms[..rows].iter_mut().enumerate() {
                    *t = row_term(a, r, (k, kp), offset, coef);
                }
                let terms = &self.row_terms[..rows];
                gemm::gemm_u8_requant_rows(self.isa, a, rows, &self.rhs, fused, terms, out);
                p += rows;
                continue;
            }
            if let Some(fused) = &self.fused {
                gemm::gemm_u8_requant(self.isa, a, rows, &self.rhs, fused, out);
                p += rows;
                continue;
            }
            gemm::gemm_u8(self.isa, a, rows, offset, &self.rhs, &mut self.acc);
            if let Some(coef) = self.row_coef {
                add_row_sums(a, rows, (k, kp), offset, coef, (n, np), &mut self.acc);
            }
            for (r, o) in out.chunks_exact_mut(n).enumerate() {
                self.stage.apply(&self.acc[r * np..r * np + n], o);
            }
            p += rows;
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
        match self.u8_offset {
            Some(offset) => self.eval_u8(input, out, offset),
            None => self.eval_i16(input, out),
        }
        Ok(())
    }
}
