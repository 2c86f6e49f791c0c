//! FULLY_CONNECTED for 8-bit inputs and weights (int8 per-tensor or per-channel weights, uint8
//! asymmetric weights), with an optional `int32` bias and a fused activation.
//!
//! As in [`super::conv`], weights that fit in `i8` take the GEMM's fast `u8` path when the CPU
//! has one (raw input bytes, the zero point taken out inside the GEMM, requantization fused).

use super::gemm::{self, FusedU8, Isa, PackedRhs};
use super::operands::WeightedOperands;
use super::output_stage::{ChannelQuant, OutputStage, GEMM_ROUNDING};
use super::quant8::{load8, to_i16};
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::FullyConnectedOptionsWeightsFormat;

/// Rows of the input processed per GEMM call.
const ROW_BLOCK: usize = 32;

struct FullyConnected {
    rhs: PackedRhs,
    stage: OutputStage,
    in_signed: bool,
    in_zp: i32,
    batches: usize,
    isa: Isa,
    lhs: Vec<i16>,
    acc: Vec<i32>,
    /// The fast `u8` path: the requantization fused into the GEMM, and the input rows mapped
    /// to `u8` (signed bytes flipped by 128).
    fused: Option<FusedU8>,
    lhs8: Vec<u8>,
    /// `Some(128 - filter_zp)` when uint8 weights are packed as `w - 128` for the fused `u8`
    /// path (see [`gemm::shifted_weights_row_term`]), with one term per row in `row_terms`.
    row_coef: Option<i32>,
    row_terms: Vec<i32>,
}

/// Prepares FULLY_CONNECTED.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(13)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_fully_connected_options()
        .ok_or_else(|| ctx.invalid("missing FullyConnectedOptions"))?;
    if opts.weights_format() != FullyConnectedOptionsWeightsFormat::DEFAULT {
        return Err(ctx.unsupported("shuffled weights format is not supported"));
    }
    let WeightedOperands {
        input,
        filter,
        output,
        qin,
        qout,
        weights: wdata,
    } = WeightedOperands::of(ctx)?;
    if filter.shape.len() != 2 {
        return Err(ctx.invalid(format!("filter shape {:?} is not 2-D", filter.shape)));
    }
    let (n, k) = (filter.shape[0], filter.shape[1]);
    if k == 0 || input.num_elements() % k != 0 {
        return Err(ctx.invalid(format!(
            "input of shape {:?} is not a whole number of rows of depth {k}",
            input.shape
        )));
    }
    if k > gemm::MAX_DEPTH {
        return Err(ctx.unsupported(format!("depth {k} is too large")));
    }
    let batches = input.num_elements() / k;
    if output.num_elements() != batches * n {
        return Err(ctx.invalid(format!(
            "output shape {:?} does not hold {batches} x {n} values",
            output.shape
        )));
    }
    let cq = ChannelQuant::of(
        ctx,
        filter,
        0,
        n,
        2,
        opts.fused_activation_function(),
        &qout,
    )?;
    let zps = &cq.zps;
    let signed = qin.signed;
    let pack = |weight_zp: &dyn Fn(usize) -> i32| {
        PackedRhs::new(n, k, |c, d| {
            (load8(signed, wdata[c * k + d]) - weight_zp(c)) as i16
        })
    };
    let block = ROW_BLOCK.min(batches.max(1));
    // TFLite takes the legacy multiplier (`f32` scale product) whenever the filter is quantized
    // per tensor, and the per-channel (`f64`) ones otherwise.
    let per_tensor = filter.quant.as_ref().is_some_and(|q| q.scale.len() == 1);
    let stage = if per_tensor {
        cq.legacy_stage(qin.scale, &qout, GEMM_ROUNDING)
    } else {
        cq.stage(qin.scale, &qout, GEMM_ROUNDING)
    };
    let isa = gemm::detect();
    // The zero point mapped like the input bytes (in 0..=255 for valid 8-bit tensors).
    let mapped_zp = qin.zero_point + if signed { 128 } else { 0 };
    let fuse = |rhs: &PackedRhs| {
        u8::try_from(mapped_zp).ok().and_then(|offset| {
            stage
                .upward_params()
                .and_then(|params| rhs.fuse_u8(isa, offset, &params))
        })
    };
    // uint8 weights with one zero point take the fused `u8` path packed as `w - 128`, when it
    // exists for them; otherwise (and for int8) the weights are packed minus their zero points.
    let shifted = (!signed && zps.iter().all(|&z| z == zps[0]))
        .then(|| pack(&|_| 128))
        .and_then(|rhs| fuse(&rhs).map(|f| (rhs, f)));
    let (rhs, fused, row_coef) = match shifted {
        Some((rhs, f)) => (rhs, Some(f), zps.first().map(|&z| 128 - z)),
        None => {
            let rhs = pack(&|c| zps[c]);
            let fused = fuse(&rhs);
            (rhs, fused, None)
        }
    };
    let (lhs, acc, lhs8) = match fused {
        Some(_) => (Vec::new(), Vec::new(), vec![0; block * rhs.k_padded_u8()]),
        None => (
            vec![0; block * rhs.k_padded()],
            vec![0; block * rhs.n_padded()],
            Vec::new(),
        ),
    };
    Ok(Box::new(FullyConnected {
        lhs,
        acc,
        lhs8,
        row_coef,
        row_terms: if row_coef.is_some() {
            vec![0; block]
        } else {
            Vec::new()
        },
        fused,
        rhs,
        stage,
        in_signed: signed,
        in_zp: qin.zero_point,
        batches,
        isa,
    }))
}

impl Kernel for FullyConnected {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let out = &mut *outputs[0];
        let (k, kp, n, np) = (
            self.rhs.k(),
            self.rhs.k_padded(),
            self.rhs.n(),
            self.rhs.n_padded(),
        );
        let mut row = 0;
        if let Some(fused) = &self.fused {
            let k4 = self.rhs.k_padded_u8();
            let flip = if self.in_signed { 0x80 } else { 0 };
            while row < self.batches {
                let rows = ROW_BLOCK.min(self.batches - row);
                for r in 0..rows {
                    let src = &input[(row + r) * k..(row + r + 1) * k];
                    for (d, &s) in self.lhs8[r * k4..r * k4 + k].iter_mut().zip(src) {
                        *d = s ^ flip;
                    }
                }
                let out = &mut out[row * n..(row + rows) * n];
                match self.row_coef {
                    Some(coef) => {
                        // Only uint8 inputs have `row_coef`: the offset is the zero point,
                        // in 0..=255 (the fused path exists only then).
                        let offset = self.in_zp as u8;
                        for (r, t) in self.row_terms[..rows].iter_mut().enumerate() {
                            let a = &self.lhs8[r * k4..r * k4 + k];
                            *t = gemm::shifted_weights_row_term(a, offset, coef);
                        }
                        let terms = &self.row_terms[..rows];
                        let (isa, lhs8) = (self.isa, &self.lhs8);
                        gemm::gemm_u8_requant_rows(isa, lhs8, rows, &self.rhs, fused, terms, out);
                    }
                    None => {
                        gemm::gemm_u8_requant(self.isa, &self.lhs8, rows, &self.rhs, fused, out)
                    }
                }
                row += rows;
            }
            return Ok(());
        }
        while row < self.batches {
            let rows = ROW_BLOCK.min(self.batches - row);
            for r in 0..rows {
                let src = &input[(row + r) * k..(row + r + 1) * k];
                let dst = &mut self.lhs[r * kp..r * kp + k];
                to_i16(self.in_signed, self.in_zp, src, dst);
            }
            gemm::gemm(self.isa, &self.lhs, rows, &self.rhs, &mut self.acc);
            for r in 0..rows {
                self.stage.apply(
                    &self.acc[r * np..r * np + n],
                    &mut out[(row + r) * n..(row + r + 1) * n],
                );
            }
            row += rows;
        }
        Ok(())
    }
}
