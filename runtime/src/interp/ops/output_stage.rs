//! Requantization of weighted layers' `i32` accumulators to 8-bit outputs: the per-channel
//! quantization a layer reads from its filter, bias and fused activation ([`ChannelQuant`]),
//! the multipliers TFLite derives from it (current and legacy), and the vectorized
//! [`OutputStage`] that applies them.

use super::cpu_features::avx2_dispatch;
#[cfg(target_arch = "x86_64")]
use super::cpu_features::has_avx2;
#[cfg(target_arch = "aarch64")]
use super::cpu_features::has_neon;
use super::quant8::{fused_range, Q8};
use super::requant::Rounding;
use crate::dtype::ElementType;
use crate::interp::error::LoadError;
use crate::interp::kernel::{PrepareCtx, TensorInfo};
use crate::schema::ActivationFunctionType;

/// The rounding used by kernels whose TFLite implementation goes through ruy (convolution and
/// fully connected): established against LiteRT's outputs, where ties of the final shift go
/// toward +infinity.
pub const GEMM_ROUNDING: Rounding = Rounding::DoubleUpward;

/// The `i32` bias of a conv/FC layer: `n` values, or zeros when absent.
pub fn bias_values(
    ctx: &PrepareCtx<'_>,
    bias: Option<&TensorInfo<'_>>,
    n: usize,
) -> Result<Vec<i32>, LoadError> {
    let Some(b) = bias else {
        return Ok(vec![0; n]);
    };
    if b.dtype != ElementType::I32 {
        return Err(ctx.unsupported(format!(
            "bias '{}' has type {}; only int32 biases are supported",
            b.name, b.dtype
        )));
    }
    if b.num_elements() != n {
        return Err(ctx.invalid(format!(
            "bias '{}' has {} elements, expected {n}",
            b.name,
            b.num_elements()
        )));
    }
    let data = b
        .data
        .ok_or_else(|| ctx.unsupported(format!("bias '{}' must be a constant tensor", b.name)))?;
    Ok(crate::interp::kernel::le_i32s(data))
}

/// Per-output-channel weight scales (and zero points) of a constant filter quantized along
/// `axis` or per tensor, expanded to `n` channels.
pub fn filter_scales(
    ctx: &PrepareCtx<'_>,
    filter: &TensorInfo<'_>,
    axis: usize,
    n: usize,
) -> Result<(Vec<f32>, Vec<i32>), LoadError> {
    let q = filter
        .quant
        .as_ref()
        .ok_or_else(|| ctx.unsupported(format!("filter '{}' is not quantized", filter.name)))?;
    if q.scale.len() == 1 {
        let zp = q.zero_point.first().copied().unwrap_or(0) as i32;
        return Ok((vec![q.scale[0]; n], vec![zp; n]));
    }
    if q.axis as usize != axis || q.scale.len() != n {
        return Err(ctx.unsupported(format!(
            "filter '{}' is quantized along axis {} with {} scales; expected axis {axis} with {n}",
            filter.name,
            q.axis,
            q.scale.len()
        )));
    }
    let zps = if q.zero_point.is_empty() {
        vec![0; n]
    } else {
        q.zero_point.iter().map(|&z| z as i32).collect()
    };
    Ok((q.scale.clone(), zps))
}

/// Checks a filter's zero points are valid for its type (int8 filters must be symmetric).
pub fn check_filter_zero_points(
    ctx: &PrepareCtx<'_>,
    filter: &TensorInfo<'_>,
    zps: &[i32],
) -> Result<(), LoadError> {
    let ok = match filter.dtype {
        ElementType::I8 => zps.iter().all(|&z| z == 0),
        ElementType::U8 => zps.iter().all(|&z| (0..=255).contains(&z)),
        _ => false,
    };
    if !ok {
        return Err(ctx.unsupported(format!(
            "filter '{}' of type {} has unsupported zero points",
            filter.name, filter.dtype
        )));
    }
    Ok(())
}

/// What a weighted layer's per-channel requantization is built from: the filter's scales and
/// (checked) zero points, the bias and the fused activation's clamp range.
pub struct ChannelQuant {
    /// Per-output-channel filter scales.
    pub scales: Vec<f32>,
    /// Per-output-channel filter zero points.
    pub zps: Vec<i32>,
    /// Per-output-channel `i32` bias (zeros when there is none).
    pub bias: Vec<i32>,
    /// Lower clamp of the fused activation.
    pub act_min: i32,
    /// Upper clamp of the fused activation.
    pub act_max: i32,
}

impl ChannelQuant {
    /// Reads the filter's quantization along `axis` for `n` output channels, the optional bias
    /// at input `bias_input` and the range of the fused activation `act` on the output `qout`.
    pub fn of(
        ctx: &PrepareCtx<'_>,
        filter: &TensorInfo<'_>,
        axis: usize,
        n: usize,
        bias_input: usize,
        act: ActivationFunctionType,
        qout: &Q8,
    ) -> Result<ChannelQuant, LoadError> {
        let (scales, zps) = filter_scales(ctx, filter, axis, n)?;
        check_filter_zero_points(ctx, filter, &zps)?;
        let bias = bias_values(ctx, ctx.optional_input(bias_input), n)?;
        let (act_min, act_max) = fused_range(ctx, act, qout)?;
        Ok(ChannelQuant {
            scales,
            zps,
            bias,
            act_min,
            act_max,
        })
    }

    /// The output stage for an input of scale `in_scale` and the output `qout`.
    pub fn stage(&self, in_scale: f32, qout: &Q8, rounding: Rounding) -> OutputStage {
        OutputStage::new(
            self.bias.clone(),
            &conv_multipliers(in_scale, &self.scales, qout.scale),
            qout.zero_point,
            self.act_min,
            self.act_max,
            rounding,
        )
    }

    /// The output stage with TFLite's legacy per-tensor multiplier (see
    /// [`legacy_conv_multipliers`]), which its uint8 CONV_2D and DEPTHWISE_CONV_2D kernels and
    /// every per-tensor FULLY_CONNECTED use.
    pub fn legacy_stage(&self, in_scale: f32, qout: &Q8, rounding: Rounding) -> OutputStage {
        OutputStage::new(
            self.bias.clone(),
            &legacy_conv_multipliers(in_scale, &self.scales, qout.scale),
            qout.zero_point,
            self.act_min,
            self.act_max,
            rounding,
        )
    }
}

/// Per-output-channel requantization of `i32` accumulators to 8-bit outputs, in a branch-free
/// form the compiler vectorizes (bit-identical to [`super::requant`]'s functions).
#[derive(Clone, Debug)]
pub struct OutputStage {
    bias: Vec<i32>,
    mult: Vec<i32>,
    left: Vec<u32>,
    right: Vec<u32>,
    /// `max(right - 1, 0)`.
    right_m1: Vec<u32>,
    /// 1 when `right > 0`.
    one: Vec<i32>,
    /// `2^right - 1`.
    mask: Vec<i32>,
    out_zp: i32,
    act_min: i32,
    act_max: i32,
    rounding: Rounding,
    /// Channels from this one on use [`Rounding::Double`] (TFLite's scalar tail after its
    /// vectorized channel blocks).
    tail_from: usize,
}

impl OutputStage {
    /// Makes channels `from..` use [`Rounding::Double`], as TFLite's scalar tail does after
    /// its vectorized blocks of channels.
    pub fn with_scalar_tail_from(mut self, from: usize) -> OutputStage {
        self.tail_from = from;
        self
    }

    /// Builds the stage from per-channel biases and multipliers.
    pub fn new(
        bias: Vec<i32>,
        mult: &[super::requant::QuantizedMultiplier],
        out_zp: i32,
        act_min: i32,
        act_max: i32,
        rounding: Rounding,
    ) -> OutputStage {
        let right: Vec<u32> = mult
            .iter()
            .map(|m| (-m.shift).clamp(0, 31) as u32)
            .collect();
        OutputStage {
            bias,
            mult: mult.iter().map(|m| m.multiplier).collect(),
            left: mult.iter().map(|m| m.shift.clamp(0, 31) as u32).collect(),
            right_m1: right.iter().map(|&r| r.saturating_sub(1)).collect(),
            one: right.iter().map(|&r| i32::from(r > 0)).collect(),
            mask: right.iter().map(|&r| ((1i64 << r) - 1) as i32).collect(),
            right,
            out_zp,
            act_min,
            act_max,
            rounding,
            tail_from: usize::MAX,
        }
    }

    /// The per-channel parameters, for kernels that fuse the requantization into their own
    /// loops: only when every channel rounds with [`Rounding::DoubleUpward`] (no scalar tail).
    pub fn upward_params(&self) -> Option<UpwardParams<'_>> {
        (self.rounding == Rounding::DoubleUpward && self.tail_from == usize::MAX).then_some(
            UpwardParams {
                bias: &self.bias,
                mult: &self.mult,
                left: &self.left,
                right: &self.right,
                out_zp: self.out_zp,
                act_min: self.act_min,
                act_max: self.act_max,
            },
        )
    }

    /// Requantizes `acc[c]` (+ bias) for every channel into `out[c]`.
    #[inline]
    pub fn apply(&self, acc: &[i32], out: &mut [u8]) {
        let n = out.len().min(acc.len()).min(self.bias.len());
        let split = self.tail_from.min(n);
        #[cfg(target_arch = "x86_64")]
        let done = if self.rounding != Rounding::Single && has_avx2() {
            // SAFETY: AVX2 is available; `split` is within every slice.
            unsafe { stage_avx2::apply(self, &acc[..split], &mut out[..split]) }
        } else {
            0
        };
        #[cfg(target_arch = "aarch64")]
        let done = if self.rounding != Rounding::Single && has_neon() {
            // SAFETY: NEON is available; `split` is within every slice.
            unsafe { stage_neon::apply(self, &acc[..split], &mut out[..split]) }
        } else {
            0
        };
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let done = 0;
        apply_stage(self, &acc[..split], &mut out[..split], done, self.rounding);
        if split < n {
            apply_stage(self, &acc[..n], &mut out[..n], split, Rounding::Double);
        }
    }
}

/// An [`OutputStage`]'s parameters when every channel rounds with [`Rounding::DoubleUpward`]:
/// channel `c`'s output is `clamp(((acc + bias[c]) << left[c]) *h mult[c] >>u right[c] + out_zp,
/// act_min, act_max)` where `*h` is the doubling high multiply and `>>u` the right shift whose
/// ties go up.
#[derive(Clone, Copy, Debug)]
pub struct UpwardParams<'a> {
    /// Per-channel bias added to the accumulator.
    pub bias: &'a [i32],
    /// Per-channel multiplier.
    pub mult: &'a [i32],
    /// Per-channel left shift (0..=31).
    pub left: &'a [u32],
    /// Per-channel right shift (0..=31).
    pub right: &'a [u32],
    /// Output zero point.
    pub out_zp: i32,
    /// Lowest output value.
    pub act_min: i32,
    /// Highest output value.
    pub act_max: i32,
}

#[cfg(target_arch = "x86_64")]
mod stage_avx2 {
    use super::{OutputStage, Rounding};
    use std::arch::x86_64::*;

    /// Requantizes whole groups of 8 channels; returns how many channels were done.
    ///
    /// # Safety
    /// The CPU must support AVX2; `acc` and `out` must have the same length, at most the
    /// stage's channel count.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn apply(st: &OutputStage, acc: &[i32], out: &mut [u8]) -> usize {
        let n = out.len() / 8 * 8;
        let r30 = _mm256_set1_epi64x(1 << 30);
        let zp = _mm256_set1_epi32(st.out_zp);
        let lo = _mm256_set1_epi32(st.act_min);
        let hi = _mm256_set1_epi32(st.act_max);
        let unsigned = st.act_max > 127;
        // A macro, not a closure: closures do not inherit `target_feature`, and an out-of-line
        // 256-bit load would be slow.
        macro_rules! ld {
            ($p:expr) => {
                _mm256_loadu_si256($p as *const __m256i)
            };
        }
        let mut c = 0;
        while c < n {
            let x = _mm256_add_epi32(ld!(acc.as_ptr().add(c)), ld!(st.bias.as_ptr().add(c)));
            let x = _mm256_sllv_epi32(x, ld!(st.left.as_ptr().add(c) as *const i32));
            let m = ld!(st.mult.as_ptr().add(c));
            let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(x, m), r30));
            let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(x), _mm256_srli_epi64::<32>(m));
            let odd = _mm256_slli_epi64::<1>(_mm256_add_epi64(odd, r30));
            let h = _mm256_blend_epi32::<0b1010_1010>(even, odd);
            let right = ld!(st.right.as_ptr().add(c) as *const i32);
            let shifted = _mm256_srav_epi32(h, right);
            let v = match st.rounding {
                Rounding::DoubleUpward => {
                    let rm1 = ld!(st.right_m1.as_ptr().add(c) as *const i32);
                    let one = ld!(st.one.as_ptr().add(c));
                    _mm256_add_epi32(shifted, _mm256_and_si256(_mm256_srav_epi32(h, rm1), one))
                }
                _ => {
                    let mask = ld!(st.mask.as_ptr().add(c));
                    let rem = _mm256_and_si256(h, mask);
                    let th =
                        _mm256_add_epi32(_mm256_srai_epi32::<1>(mask), _mm256_srli_epi32::<31>(h));
                    _mm256_sub_epi32(shifted, _mm256_cmpgt_epi32(rem, th))
                }
            };
            let v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, zp), lo), hi);
            let p16 = _mm256_packs_epi32(v, v);
            let p8 = if unsigned {
                _mm256_packus_epi16(p16, p16)
            } else {
                _mm256_packs_epi16(p16, p16)
            };
            let dst = out.as_mut_ptr().add(c) as *mut i32;
            dst.write_unaligned(_mm256_extract_epi32::<0>(p8));
            dst.add(1).write_unaligned(_mm256_extract_epi32::<4>(p8));
            c += 8;
        }
        n
    }
}

#[cfg(target_arch = "aarch64")]
mod stage_neon {
    use super::{OutputStage, Rounding};
    use std::arch::aarch64::*;

    /// Requantizes whole groups of 8 channels; returns how many channels were done. Computes
    /// exactly what `apply_stage_impl` does: `SQRDMULH` is the doubling high multiply with
    /// gemmlowp's rounding, `SRSHL` by `-right` the upward-rounding shift, and ties away from
    /// zero come from the same remainder / threshold comparison as the scalar code.
    ///
    /// # Safety
    /// The CPU must support NEON; `acc` and `out` must have the same length, at most the
    /// stage's channel count.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn apply(st: &OutputStage, acc: &[i32], out: &mut [u8]) -> usize {
        let n = out.len() / 8 * 8;
        let zp = vdupq_n_s32(st.out_zp);
        let lo = vdupq_n_s32(st.act_min);
        let hi = vdupq_n_s32(st.act_max);
        let mut c = 0;
        while c < n {
            let mut q = [vdupq_n_s32(0); 2];
            for (half, v) in q.iter_mut().enumerate() {
                let i = c + 4 * half;
                let x = vaddq_s32(
                    vld1q_s32(acc.as_ptr().add(i)),
                    vld1q_s32(st.bias.as_ptr().add(i)),
                );
                let x = vshlq_s32(x, vreinterpretq_s32_u32(vld1q_u32(st.left.as_ptr().add(i))));
                let h = vqrdmulhq_s32(x, vld1q_s32(st.mult.as_ptr().add(i)));
                let neg_right =
                    vnegq_s32(vreinterpretq_s32_u32(vld1q_u32(st.right.as_ptr().add(i))));
                let r = match st.rounding {
                    Rounding::DoubleUpward => vrshlq_s32(h, neg_right),
                    _ => {
                        let mask = vld1q_s32(st.mask.as_ptr().add(i));
                        let rem = vandq_s32(h, mask);
                        let sign =
                            vreinterpretq_s32_u32(vshrq_n_u32::<31>(vreinterpretq_u32_s32(h)));
                        let th = vaddq_s32(vshrq_n_s32::<1>(mask), sign);
                        // `vcgtq` gives -1 where the remainder is past the threshold.
                        vsubq_s32(
                            vshlq_s32(h, neg_right),
                            vreinterpretq_s32_u32(vcgtq_s32(rem, th)),
                        )
                    }
                };
                *v = vminq_s32(vmaxq_s32(vaddq_s32(r, zp), lo), hi);
            }
            let p16 = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
            vst1_s8(out.as_mut_ptr().add(c) as *mut i8, vmovn_s16(p16));
            c += 8;
        }
        n
    }
}

#[inline(always)]
fn apply_stage_impl(
    st: &OutputStage,
    acc: &[i32],
    out: &mut [u8],
    start: usize,
    rounding: Rounding,
) {
    let n = out.len();
    let (acc, bias, mult) = (&acc[..n], &st.bias[..n], &st.mult[..n]);
    let (left, right, right_m1, one, mask) = (
        &st.left[..n],
        &st.right[..n],
        &st.right_m1[..n],
        &st.one[..n],
        &st.mask[..n],
    );
    let (zp, lo, hi) = (st.out_zp, st.act_min, st.act_max);
    match rounding {
        Rounding::DoubleUpward => {
            for c in start..n {
                let x = acc[c].wrapping_add(bias[c]).wrapping_shl(left[c]);
                let h = ((x as i64 * mult[c] as i64 + (1 << 30)) >> 31) as i32;
                let v = (h >> right[c]) + ((h >> right_m1[c]) & one[c]);
                out[c] = (v + zp).clamp(lo, hi) as u8;
            }
        }
        Rounding::Double => {
            for c in start..n {
                let x = acc[c].wrapping_add(bias[c]).wrapping_shl(left[c]);
                let h = ((x as i64 * mult[c] as i64 + (1 << 30)) >> 31) as i32;
                let rem = h & mask[c];
                let th = (mask[c] >> 1) + ((h >> 31) & 1);
                let v = (h >> right[c]) + i32::from(rem > th);
                out[c] = (v + zp).clamp(lo, hi) as u8;
            }
        }
        Rounding::Single => {
            for c in start..n {
                let x = acc[c].wrapping_add(bias[c]);
                let m = super::requant::QuantizedMultiplier {
                    multiplier: mult[c],
                    shift: left[c] as i32 - right[c] as i32,
                };
                let v = super::requant::mul_single_rounding(x, m);
                out[c] = (v + zp).clamp(lo, hi) as u8;
            }
        }
    }
}

avx2_dispatch!(
    fn apply_stage(st: &OutputStage, acc: &[i32], out: &mut [u8], start: usize, rounding: Rounding)
        => apply_stage_impl
);

/// The per-channel multipliers `input_scale * filter_scale[c] / output_scale`, computed in `f64`
/// as TFLite does.
pub fn conv_multipliers(
    input_scale: f32,
    filter_scales: &[f32],
    output_scale: f32,
) -> Vec<super::requant::QuantizedMultiplier> {
    filter_scales
        .iter()
        .map(|&fs| {
            super::requant::quantize_multiplier(
                input_scale as f64 * fs as f64 / output_scale as f64,
            )
        })
        .collect()
}

/// The multipliers of TFLite's `GetQuantizedConvolutionMultipler`: `input_scale *
/// filter_scale[c]` is rounded to `f32` before the `f64` division by `output_scale`. Its uint8
/// kernels and per-tensor FULLY_CONNECTED requantize with this value, which can differ from
/// [`conv_multipliers`] in the last bits and so flip an output whose high multiply lands within
/// a few ulp of a rounding tie.
pub fn legacy_conv_multipliers(
    input_scale: f32,
    filter_scales: &[f32],
    output_scale: f32,
) -> Vec<super::requant::QuantizedMultiplier> {
    filter_scales
        .iter()
        .map(|&fs| {
            super::requant::quantize_multiplier((input_scale * fs) as f64 / output_scale as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_stage_matches_scalar_functions() {
        use super::super::requant::*;
        let mults: Vec<QuantizedMultiplier> = [0.3, 0.0007, 1.7, 2.0e-6, 0.5, 0.9999]
            .iter()
            .map(|&r| quantize_multiplier(r))
            .collect();
        let accs: Vec<i32> = (-40000..40003).step_by(7).collect();
        for rounding in [Rounding::Double, Rounding::DoubleUpward, Rounding::Single] {
            for m in &mults {
                let n = accs.len();
                let st = OutputStage::new(vec![5; n], &vec![*m; n], -3, -128, 127, rounding);
                let mut out = vec![0u8; n];
                st.apply(&accs, &mut out);
                for (k, &a) in accs.iter().enumerate() {
                    let want = (rounding.apply(a + 5, *m) - 3).clamp(-128, 127);
                    assert_eq!(out[k] as i8 as i32, want, "{rounding:?} {m:?} acc {a}");
                }
            }
        }
    }
}
