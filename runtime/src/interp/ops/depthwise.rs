//! DEPTHWISE_CONV_2D on 8-bit tensors: each output channel `c` reads input channel
//! `c / depth_multiplier`. Accumulates zero-point-corrected products in `i32` over the channels
//! of one output pixel (the loop the compiler vectorizes), then requantizes per channel with
//! TFLite's double rounding.

use super::operands::WeightedOperands;
use super::output_stage::{ChannelQuant, OutputStage};
use super::quant8::{load8, to_i16};
use super::requant::Rounding;
use super::window::Window;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};

/// TFLite's optimized int8 depthwise kernel requantizes channels in vector blocks of this size
/// (final shift rounding ties toward +infinity) and the remaining channels with the scalar,
/// ties-away-from-zero multiplier; its uint8 kernel rounds ties away from zero throughout.
const DW_CHANNEL_BLOCK: usize = 8;

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Depthwise {
    win: Window,
    cin: usize,
    cout: usize,
    mult: usize,
    /// Filter minus zero point, `[k_h * k_w][cout]`.
    weights: Vec<i16>,
    stage: OutputStage,
    in_signed: bool,
    in_zp: i32,
    /// The input minus its zero point, expanded to `cout` channels when the depth multiplier
    /// is above 1.
    in16: Vec<i16>,
    acc: Vec<i32>,
    /// Weights for the AVX2 path (unused elsewhere): for each pair of taps and each block of 16 channels, the
    /// two taps' weights interleaved as `vpunpcklwd` / `vpunpckhwd` would (32 values).
    paired: Vec<i16>,
    /// All zeros, `cout` long: the source of out-of-bounds taps.
    zeros: Vec<i16>,
    /// Per-pixel, per-tap source offset into `in16` for the current output row (`usize::MAX`:
    /// padding); taps padded to an even count.
    tap_src: Vec<usize>,
}

/// Packs the weights for the AVX2 path.
fn pair_weights(weights: &[i16], taps: usize, cout: usize) -> Vec<i16> {
    let blocks = cout / 16;
    let pairs = taps.div_ceil(2);
    let mut out = vec![0i16; pairs * blocks * 32];
    let w = |t: usize, c: usize| if t < taps { weights[t * cout + c] } else { 0 };
    for p in 0..pairs {
        for b in 0..blocks {
            let dst = &mut out[(p * blocks + b) * 32..][..32];
            for lane in 0..2 {
                for i in 0..4 {
                    let lo = b * 16 + lane * 8 + i;
                    let hi = lo + 4;
                    dst[lane * 8 + 2 * i] = w(2 * p, lo);
                    dst[lane * 8 + 2 * i + 1] = w(2 * p + 1, lo);
                    dst[16 + lane * 8 + 2 * i] = w(2 * p, hi);
                    dst[16 + lane * 8 + 2 * i + 1] = w(2 * p + 1, hi);
                }
            }
        }
    }
    out
}

/// Prepares DEPTHWISE_CONV_2D.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(7)?;
    let opts = ctx
        .op
        .raw()
        .builtin_options_as_depthwise_conv_2_doptions()
        .ok_or_else(|| ctx.invalid("missing DepthwiseConv2DOptions"))?;
    let WeightedOperands {
        input,
        filter,
        output,
        qin,
        qout,
        weights: wdata,
    } = WeightedOperands::of(ctx)?;
    if filter.shape.len() != 4 || input.shape.len() != 4 || output.shape.len() != 4 {
        return Err(ctx.invalid("input, filter and output must be 4-D"));
    }
    let (kh, kw, cout) = (filter.shape[1], filter.shape[2], filter.shape[3]);
    let cin = input.shape[3];
    if filter.shape[0] != 1 || cin == 0 || cout % cin != 0 || output.shape[3] != cout {
        return Err(ctx.invalid(format!(
            "filter {:?}, input {:?} and output {:?} are inconsistent",
            filter.shape, input.shape, output.shape
        )));
    }
    let mult = cout / cin;
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
    let cq = ChannelQuant::of(
        ctx,
        filter,
        3,
        cout,
        2,
        opts.fused_activation_function(),
        &qout,
    )?;
    let zps = &cq.zps;
    let signed = qin.signed;
    let weights: Vec<i16> = (0..kh * kw * cout)
        .map(|i| (load8(signed, wdata[i]) - zps[i % cout]) as i16)
        .collect();
    let pixels = win.batches * win.in_h * win.in_w;
    let paired = pair_weights(&weights, kh * kw, cout);
    Ok(Box::new(Depthwise {
        win,
        cin,
        cout,
        mult,
        weights,
        // The uint8 kernel takes TFLite's legacy per-tensor multiplier (`f32` scale product).
        stage: if signed {
            cq.stage(qin.scale, &qout, Rounding::DoubleUpward)
        } else {
            cq.legacy_stage(qin.scale, &qout, Rounding::Double)
        }
        .with_scalar_tail_from(cout / DW_CHANNEL_BLOCK * DW_CHANNEL_BLOCK),
        in_signed: signed,
        in_zp: qin.zero_point,
        in16: vec![0; pixels * cout],
        acc: vec![0; cout * win.out_w],
        paired,
        zeros: vec![0; cout],
        tap_src: vec![usize::MAX; (kh * kw).div_ceil(2) * 2 * win.out_w],
    }))
}

#[inline(always)]
fn mac(acc: &mut [i32], x: &[i16], w: &[i16]) {
    for ((a, &x), &w) in acc.iter_mut().zip(x).zip(w) {
        *a += x as i32 * w as i32;
    }
}

impl Kernel for Depthwise {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs[0].ok_or_else(|| EvalError("missing input".into()))?;
        let out = &mut *outputs[0];
        let (cin, cout, m) = (self.cin, self.cout, self.mult);
        if m == 1 {
            to_i16(self.in_signed, self.in_zp, input, &mut self.in16);
        } else {
            for (px, src) in input.chunks_exact(cin).enumerate() {
                let dst = &mut self.in16[px * cout..(px + 1) * cout];
                for (c, d) in dst.iter_mut().enumerate() {
                    *d = (load8(self.in_signed, src[c / m]) - self.in_zp) as i16;
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            if super::cpu_features::has_avx2() {
                // SAFETY: AVX2 is available.
                unsafe { accumulate_avx2(self, out) };
                return Ok(());
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if super::cpu_features::has_neon() {
                // SAFETY: NEON is available.
                unsafe { accumulate_neon(self, out) };
                return Ok(());
            }
        }
        accumulate(self, out);
        Ok(())
    }
}

#[inline(always)]
fn accumulate_impl(k: &mut Depthwise, out: &mut [u8]) {
    let w = k.win;
    let cout = k.cout;
    let mut o = 0;
    for b in 0..w.batches {
        for oy in 0..w.out_h {
            for ox in 0..w.out_w {
                let acc = &mut k.acc[..cout];
                acc.fill(0);
                for ky in 0..w.k_h {
                    let Some(y) = w.in_y(oy, ky) else { continue };
                    for kx in 0..w.k_w {
                        let Some(x) = w.in_x(ox, kx) else { continue };
                        let src = ((b * w.in_h + y) * w.in_w + x) * cout;
                        let tap = (ky * w.k_w + kx) * cout;
                        mac(acc, &k.in16[src..src + cout], &k.weights[tap..tap + cout]);
                    }
                }
                k.stage.apply(&k.acc[..cout], &mut out[o..o + cout]);
                o += cout;
            }
        }
    }
}

super::cpu_features::avx2_dispatch!(fn accumulate(k: &mut Depthwise, out: &mut [u8]) => accumulate_impl);

/// Fills `k.tap_src` with the `in16` offset of every tap of every pixel of output row `oy` of
/// batch `b` (`usize::MAX` for padding); `tp` is the padded tap count.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn fill_tap_sources(k: &mut Depthwise, b: usize, oy: usize, tp: usize) {
    let w = k.win;
    let cout = k.cout;
    for ox in 0..w.out_w {
        let srcs = &mut k.tap_src[ox * tp..(ox + 1) * tp];
        srcs.fill(usize::MAX);
        for ky in 0..w.k_h {
            let Some(y) = w.in_y(oy, ky) else { continue };
            for kx in 0..w.k_w {
                if let Some(x) = w.in_x(ox, kx) {
                    srcs[ky * w.k_w + kx] = ((b * w.in_h + y) * w.in_w + x) * cout;
                }
            }
        }
    }
}

/// Finishes one output row of the SIMD paths: sums channels `from..` (those past the last
/// whole vector block) in scalar code from `k.tap_src`, then requantizes every pixel into
/// `out` (the row's `out_w * cout` bytes).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn finish_row(k: &mut Depthwise, from: usize, tp: usize, out: &mut [u8]) {
    let w = k.win;
    let cout = k.cout;
    let taps = w.k_h * w.k_w;
    for ox in 0..w.out_w {
        for c in from..cout {
            let mut a = 0i32;
            for t in 0..taps {
                let off = k.tap_src[ox * tp + t];
                if off != usize::MAX {
                    a += k.in16[off + c] as i32 * k.weights[t * cout + c] as i32;
                }
            }
            k.acc[ox * cout + c] = a;
        }
    }
    for ox in 0..w.out_w {
        let acc = &k.acc[ox * cout..(ox + 1) * cout];
        k.stage.apply(acc, &mut out[ox * cout..(ox + 1) * cout]);
    }
}

/// The AVX2 path. For one output row at a time: the source of every tap of every pixel is
/// looked up first; then, per block of 16 channels (the block's paired weights stay in
/// registers), every pixel interleaves two taps at a time and multiplies them with `vpmaddwd`
/// into two accumulators; finally each pixel is requantized.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn accumulate_avx2(k: &mut Depthwise, out: &mut [u8]) {
    let w = k.win;
    let cout = k.cout;
    let blocks = cout / 16;
    let taps = w.k_h * w.k_w;
    let tp = taps.div_ceil(2) * 2;
    let pairs = tp / 2;
    let in16 = k.in16.as_ptr();
    let zeros = k.zeros.as_ptr();
    let paired = k.paired.as_ptr();
    let row_len = w.out_w * cout;
    let mut o = 0;
    for b in 0..w.batches {
        for oy in 0..w.out_h {
            // Sources of every tap of every pixel of this row (zeros for padding).
            fill_tap_sources(k, b, oy, tp);
            let srcs = k.tap_src.as_ptr();
            let acc = k.acc.as_mut_ptr();
            if pairs == 5 {
                row_blocks::<5>(srcs, in16, zeros, paired, acc, w.out_w, blocks, cout, 5);
            } else {
                row_blocks::<0>(srcs, in16, zeros, paired, acc, w.out_w, blocks, cout, pairs);
            }
            finish_row(k, blocks * 16, tp, &mut out[o..o + row_len]);
            o += row_len;
        }
    }
}

/// The channel-block loop of [`accumulate_avx2`] for one output row. `P` is the number of tap
/// pairs when known at compile time (then the block's weights stay in registers across the
/// row), or 0 to use `pairs`.
///
/// # Safety
/// AVX2 must be available; the pointers must cover `out_w` pixels of `2 * pairs` taps, `blocks`
/// blocks of paired weights and `out_w * cout` accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn row_blocks<const P: usize>(
    srcs: *const usize,
    in16: *const i16,
    zeros: *const i16,
    paired: *const i16,
    acc: *mut i32,
    out_w: usize,
    blocks: usize,
    cout: usize,
    pairs: usize,
) {
    use std::arch::x86_64::*;
    let pairs = if P > 0 { P } else { pairs };
    let tp = 2 * pairs;
    let src = |t: usize| -> *const i16 {
        match *srcs.add(t) {
            usize::MAX => zeros,
            off => in16.add(off),
        }
    };
    for blk in 0..blocks {
        for ox in 0..out_w {
            let mut lo = _mm256_setzero_si256();
            let mut hi = _mm256_setzero_si256();
            for p in 0..pairs {
                let x0 = _mm256_loadu_si256(src(ox * tp + 2 * p).add(blk * 16) as *const __m256i);
                let x1 =
                    _mm256_loadu_si256(src(ox * tp + 2 * p + 1).add(blk * 16) as *const __m256i);
                let wp = paired.add((p * blocks + blk) * 32);
                let wlo = _mm256_loadu_si256(wp as *const __m256i);
                let whi = _mm256_loadu_si256(wp.add(16) as *const __m256i);
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), wlo));
                hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), whi));
            }
            let dst = acc.add(ox * cout + blk * 16) as *mut __m256i;
            _mm256_storeu_si256(dst, _mm256_permute2x128_si256::<0x20>(lo, hi));
            _mm256_storeu_si256(dst.add(1), _mm256_permute2x128_si256::<0x31>(lo, hi));
        }
    }
}

/// The NEON path: like [`accumulate_avx2`], the sources of every tap of every pixel of one
/// output row are looked up first; then, per block of 8 channels, every pixel multiplies each
/// tap's 8 inputs with its 8 weights with `SMLAL` / `SMLAL2` into two accumulators; the
/// remaining channels are summed in scalar code, and each pixel is requantized.
///
/// # Safety
/// The CPU must support NEON.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn accumulate_neon(k: &mut Depthwise, out: &mut [u8]) {
    use std::arch::aarch64::*;
    let w = k.win;
    let cout = k.cout;
    let blocks = cout / 8;
    let taps = w.k_h * w.k_w;
    let tp = taps.div_ceil(2) * 2;
    let row_len = w.out_w * cout;
    let mut o = 0;
    for b in 0..w.batches {
        for oy in 0..w.out_h {
            fill_tap_sources(k, b, oy, tp);
            let in16 = k.in16.as_ptr();
            let weights = k.weights.as_ptr();
            let acc = k.acc.as_mut_ptr();
            for blk in 0..blocks {
                for ox in 0..w.out_w {
                    let mut lo = vdupq_n_s32(0);
                    let mut hi = vdupq_n_s32(0);
                    for (t, &off) in k.tap_src[ox * tp..ox * tp + taps].iter().enumerate() {
                        if off == usize::MAX {
                            continue;
                        }
                        let x = vld1q_s16(in16.add(off + blk * 8));
                        let wt = vld1q_s16(weights.add(t * cout + blk * 8));
                        lo = vmlal_s16(lo, vget_low_s16(x), vget_low_s16(wt));
                        hi = vmlal_high_s16(hi, x, wt);
                    }
                    let dst = acc.add(ox * cout + blk * 8);
                    vst1q_s32(dst, lo);
                    vst1q_s32(dst.add(4), hi);
                }
            }
            finish_row(k, blocks * 8, tp, &mut out[o..o + row_len]);
            o += row_len;
        }
    }
}
