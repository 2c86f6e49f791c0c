//! TRANSPOSE_CONV on int8 tensors (per-channel or per-tensor weights): an integer GEMM of the
//! input pixels against every filter tap, scattered (col2im) into `i32` sums, then per-channel
//! requantization.

use super::gemm::{self, Isa, PackedRhs};
use super::operands::constant_filter;
use super::output_stage::{ChannelQuant, OutputStage};
use super::quant8::{load8, to_i16, Q8};
use super::requant::Rounding;
use super::window::Window;
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{le_i32s, Kernel, PrepareCtx};
use crate::schema::ActivationFunctionType;

struct TransposeConv {
    /// Geometry of the equivalent forward convolution (its input is our output).
    win: Window,
    cin: usize,
    cout: usize,
    rhs: PackedRhs,
    stage: OutputStage,
    in_signed: bool,
    in_zp: i32,
    isa: Isa,
    in16: Vec<i16>,
    cols: Vec<i32>,
    sums: Vec<i32>,
}

/// Prepares TRANSPOSE_CONV (inputs: output shape, filter, input, optional bias).
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(5)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_transpose_conv_options()
        .ok_or_else(|| ctx.invalid("missing TransposeConvOptions"))?;
    let shape_t = ctx.input(0)?;
    let filter = ctx.input(1)?;
    let input = ctx.input(2)?;
    let output = ctx.output(0)?;
    let qin = Q8::of(ctx, input, "input")?;
    let qout = Q8::of(ctx, output, "output")?;
    if !qin.signed || filter.dtype != ElementType::I8 || !qout.signed {
        return Err(ctx.unsupported("only int8 TRANSPOSE_CONV is supported"));
    }
    if shape_t.dtype != ElementType::I32 {
        return Err(ctx.invalid("the output shape tensor must be int32"));
    }
    if let Some(data) = shape_t.data {
        let declared: Vec<usize> = le_i32s(data).iter().map(|&d| d.max(0) as usize).collect();
        if declared != output.shape {
            return Err(ctx.invalid(format!(
                "the output shape tensor says {declared:?} but the output is {:?}",
                output.shape
            )));
        }
    }
    let wdata = constant_filter(ctx, filter)?;
    if filter.shape.len() != 4 || input.shape.len() != 4 || output.shape.len() != 4 {
        return Err(ctx.invalid("input, filter and output must be 4-D"));
    }
    let (cout, kh, kw, cin) = (
        filter.shape[0],
        filter.shape[1],
        filter.shape[2],
        filter.shape[3],
    );
    if input.shape[3] != cin || output.shape[3] != cout || input.shape[0] != output.shape[0] {
        return Err(ctx.invalid(format!(
            "filter {:?}, input {:?} and output {:?} are inconsistent",
            filter.shape, input.shape, output.shape
        )));
    }
    // The equivalent forward convolution maps our output (its input) to our input.
    let win = Window::new(
        ctx,
        &output.shape,
        &input.shape,
        kh,
        kw,
        (opts.stride_h(), opts.stride_w()),
        (1, 1),
        opts.padding(),
    )?;
    if cin > gemm::MAX_DEPTH {
        return Err(ctx.unsupported(format!("input depth {cin} is too large")));
    }
    let act = opts.fused_activation_function();
    let cq = ChannelQuant::of(ctx, filter, 0, cout, 3, act, &qout)?;
    let zps = &cq.zps;
    if act != ActivationFunctionType::NONE && ctx.version < 4 {
        return Err(ctx.invalid("fused activations need TRANSPOSE_CONV version 4"));
    }
    // Column (tap, co) of the packed filter holds w[co][ky][kx][:].
    let taps = kh * kw;
    let rhs = PackedRhs::new(taps * cout, cin, |col, d| {
        let (tap, co) = (col / cout, col % cout);
        (load8(true, wdata[(co * taps + tap) * cin + d]) - zps[co]) as i16
    });
    let in_pixels = input.shape[0] * input.shape[1] * input.shape[2];
    Ok(Box::new(TransposeConv {
        win,
        cin,
        cout,
        cols: vec![0; in_pixels * rhs.n_padded()],
        in16: vec![0; in_pixels * rhs.k_padded()],
        rhs,
        stage: cq
            .stage(qin.scale, &qout, Rounding::DoubleUpward)
            .with_scalar_tail_from(cout / 8 * 8),
        in_signed: qin.signed,
        in_zp: qin.zero_point,
        isa: gemm::detect(),
        sums: vec![0; output.num_elements()],
    }))
}

impl Kernel for TransposeConv {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[2].ok_or_else(|| EvalError("missing input".into()))?;
        let out = &mut *outputs[0];
        let (cin, cout) = (self.cin, self.cout);
        let kp = self.rhs.k_padded();
        let np = self.rhs.n_padded();
        for (px, src) in input.chunks_exact(cin).enumerate() {
            to_i16(
                self.in_signed,
                self.in_zp,
                src,
                &mut self.in16[px * kp..px * kp + cin],
            );
        }
        let w = self.win;
        // Our input pixels are the forward conv's output pixels.
        let pixels = w.batches * w.out_h * w.out_w;
        gemm::gemm(self.isa, &self.in16, pixels, &self.rhs, &mut self.cols);
        self.sums.fill(0);
        for b in 0..w.batches {
            for iy in 0..w.out_h {
                for ix in 0..w.out_w {
                    let px = (b * w.out_h + iy) * w.out_w + ix;
                    let col = &self.cols[px * np..];
                    for ky in 0..w.k_h {
                        let Some(oy) = w.in_y(iy, ky) else { continue };
                        for kx in 0..w.k_w {
                            let Some(ox) = w.in_x(ix, kx) else { continue };
                            let dst = ((b * w.in_h + oy) * w.in_w + ox) * cout;
                            let tap = (ky * w.k_w + kx) * cout;
                            for (s, &v) in self.sums[dst..dst + cout]
                                .iter_mut()
                                .zip(&col[tap..tap + cout])
                            {
                                *s += v;
                            }
                        }
                    }
                }
            }
        }
        for (acc, o) in self.sums.chunks_exact(cout).zip(out.chunks_exact_mut(cout)) {
            self.stage.apply(acc, o);
        }
        Ok(())
    }
}
