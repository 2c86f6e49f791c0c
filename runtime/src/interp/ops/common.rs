//! Small helpers shared by the core kernels: reading quantization parameters, fused activation
//! ranges, 8-bit element access and broadcasting.

use super::requant::{activation_range, range_of, Rounding};
use crate::dtype::ElementType;
use crate::interp::error::LoadError;
use crate::interp::kernel::{PrepareCtx, TensorInfo};
use crate::schema::ActivationFunctionType;

/// An 8-bit quantized tensor's element type and per-tensor parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Q8 {
    /// `int8` (true) or `uint8` (false).
    pub signed: bool,
    /// The scale.
    pub scale: f32,
    /// The zero point.
    pub zero_point: i32,
}

impl Q8 {
    /// Reads an 8-bit per-tensor quantized tensor, refusing anything else.
    pub fn of(ctx: &PrepareCtx<'_>, t: &TensorInfo<'_>, what: &str) -> Result<Q8, LoadError> {
        let signed = match t.dtype {
            ElementType::I8 => true,
            ElementType::U8 => false,
            other => {
                return Err(ctx.unsupported(format!(
                    "{what} '{}' has type {other}; only int8 and uint8 are supported",
                    t.name
                )))
            }
        };
        let (scale, zero_point) = t.scale_zp().ok_or_else(|| {
            ctx.unsupported(format!(
                "{what} '{}' must have per-tensor quantization parameters",
                t.name
            ))
        })?;
        let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
        if !(lo..=hi).contains(&zero_point) {
            return Err(ctx.invalid(format!(
                "{what} '{}' has zero point {zero_point} outside [{lo}, {hi}]",
                t.name
            )));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ctx.invalid(format!("{what} '{}' has scale {scale}", t.name)));
        }
        Ok(Q8 {
            signed,
            scale,
            zero_point,
        })
    }

    /// The representable range `[lo, hi]`.
    pub fn range(&self) -> (i32, i32) {
        if self.signed {
            (-128, 127)
        } else {
            (0, 255)
        }
    }

    /// The element type.
    pub fn dtype(&self) -> ElementType {
        if self.signed {
            ElementType::I8
        } else {
            ElementType::U8
        }
    }
}

/// Reads one 8-bit element as `i32`.
#[inline(always)]
pub fn load8(signed: bool, b: u8) -> i32 {
    if signed {
        b as i8 as i32
    } else {
        b as i32
    }
}

/// The clamp range of a fused activation on an 8-bit output.
pub fn fused_range(
    ctx: &PrepareCtx<'_>,
    act: ActivationFunctionType,
    out: &Q8,
) -> Result<(i32, i32), LoadError> {
    let (lo, hi) = out.range();
    let (a, b) = activation_range(act, out.scale, out.zero_point, lo, hi).ok_or_else(|| {
        ctx.unsupported(format!(
            "fused activation {} is not supported",
            act.variant_name().unwrap_or("?")
        ))
    })?;
    Ok((a, b))
}

/// Checks two tensors have the same element count.
pub fn same_count(
    ctx: &PrepareCtx<'_>,
    a: &TensorInfo<'_>,
    b: &TensorInfo<'_>,
) -> Result<(), LoadError> {
    if a.num_elements() != b.num_elements() {
        return Err(ctx.invalid(format!(
            "'{}' has shape {:?} but '{}' has shape {:?}",
            a.name, a.shape, b.name, b.shape
        )));
    }
    Ok(())
}

/// Requires the output of an op to have a given element type.
pub fn expect_dtype(
    ctx: &PrepareCtx<'_>,
    t: &TensorInfo<'_>,
    want: ElementType,
    what: &str,
) -> Result<(), LoadError> {
    if t.dtype != want {
        return Err(ctx.unsupported(format!(
            "{what} '{}' has type {}, expected {want}",
            t.name, t.dtype
        )));
    }
    Ok(())
}

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

/// The operands a weighted kernel (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) starts from:
/// input 0 and output 0, both 8-bit per-tensor quantized, and the constant filter (input 1) of
/// the input's type.
pub struct WeightedOperands<'c, 'a> {
    /// The data input (input 0).
    pub input: &'c TensorInfo<'a>,
    /// The filter (input 1).
    pub filter: &'c TensorInfo<'a>,
    /// Output 0.
    pub output: &'c TensorInfo<'a>,
    /// The input's quantization.
    pub qin: Q8,
    /// The output's quantization.
    pub qout: Q8,
    /// The filter's constant bytes.
    pub weights: &'a [u8],
}

impl<'c, 'a> WeightedOperands<'c, 'a> {
    /// Reads and checks the operands, refusing a filter whose type differs from the input's or
    /// that is not a constant.
    pub fn of(ctx: &'c PrepareCtx<'a>) -> Result<Self, LoadError> {
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
        let weights = constant_filter(ctx, filter)?;
        Ok(WeightedOperands {
            input,
            filter,
            output,
            qin,
            qout,
            weights,
        })
    }
}

/// The bytes of a filter, which must be a constant tensor.
pub fn constant_filter<'a>(
    ctx: &PrepareCtx<'_>,
    filter: &TensorInfo<'a>,
) -> Result<&'a [u8], LoadError> {
    filter
        .data
        .ok_or_else(|| ctx.unsupported("the filter must be a constant tensor"))
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

/// Writes an `i32` already clamped to the 8-bit range.
#[inline(always)]
pub fn store8(v: i32) -> u8 {
    v as u8
}

/// The rounding used by kernels whose TFLite implementation goes through ruy (convolution and
/// fully connected): established against LiteRT's outputs, where ties of the final shift go
/// toward +infinity.
pub const GEMM_ROUNDING: Rounding = Rounding::DoubleUpward;

/// The range of an element type, for error messages and clamps.
pub fn type_range(dtype: ElementType) -> Option<(i32, i32)> {
    range_of(dtype)
}

/// Numpy-style broadcasting of two shapes to a given output shape. Returns the output shape
/// padded to rank [`MAX_RANK`] and the two inputs' strides (0 along broadcast dimensions).
pub const MAX_RANK: usize = 6;

/// Strides of two broadcast inputs over the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// Output dimensions, left-padded with 1 to [`MAX_RANK`].
    pub dims: [usize; MAX_RANK],
    /// Element strides of input 1 per output dimension.
    pub s1: [usize; MAX_RANK],
    /// Element strides of input 2 per output dimension.
    pub s2: [usize; MAX_RANK],
}

fn padded(shape: &[usize]) -> Option<[usize; MAX_RANK]> {
    if shape.len() > MAX_RANK {
        return None;
    }
    let mut d = [1usize; MAX_RANK];
    d[MAX_RANK - shape.len()..].copy_from_slice(shape);
    Some(d)
}

fn strides(d: &[usize; MAX_RANK], out: &[usize; MAX_RANK]) -> [usize; MAX_RANK] {
    let mut s = [0usize; MAX_RANK];
    let mut acc = 1;
    for i in (0..MAX_RANK).rev() {
        s[i] = if d[i] == 1 && out[i] != 1 { 0 } else { acc };
        acc *= d[i];
    }
    s
}

impl Broadcast {
    /// Broadcasts `a` and `b` to `out`, or explains why they do not broadcast.
    pub fn new(a: &[usize], b: &[usize], out: &[usize]) -> Result<Broadcast, String> {
        let too_big = || format!("rank above {MAX_RANK} is not supported");
        let (pa, pb, po) = (
            padded(a).ok_or_else(too_big)?,
            padded(b).ok_or_else(too_big)?,
            padded(out).ok_or_else(too_big)?,
        );
        for i in 0..MAX_RANK {
            let want = if pa[i] == pb[i] {
                pa[i]
            } else if pa[i] == 1 {
                pb[i]
            } else if pb[i] == 1 {
                pa[i]
            } else {
                return Err(format!("shapes {a:?} and {b:?} do not broadcast"));
            };
            if want != po[i] {
                return Err(format!(
                    "shapes {a:?} and {b:?} broadcast to a shape other than the output's {out:?}"
                ));
            }
        }
        Ok(Broadcast {
            dims: po,
            s1: strides(&pa, &po),
            s2: strides(&pb, &po),
        })
    }

    /// Calls `f(out_index, in1_index, in2_index)` for every output element in order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(usize, usize, usize)) {
        let d = &self.dims;
        let mut o = 0;
        for i0 in 0..d[0] {
            for i1 in 0..d[1] {
                for i2 in 0..d[2] {
                    for i3 in 0..d[3] {
                        for i4 in 0..d[4] {
                            let base1 = i0 * self.s1[0]
                                + i1 * self.s1[1]
                                + i2 * self.s1[2]
                                + i3 * self.s1[3]
                                + i4 * self.s1[4];
                            let base2 = i0 * self.s2[0]
                                + i1 * self.s2[1]
                                + i2 * self.s2[2]
                                + i3 * self.s2[3]
                                + i4 * self.s2[4];
                            for i5 in 0..d[5] {
                                f(o, base1 + i5 * self.s1[5], base2 + i5 * self.s2[5]);
                                o += 1;
                            }
                        }
                    }
                }
            }
        }
    }
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

    #[test]
    fn broadcast_indices() {
        let b = Broadcast::new(&[2, 1, 3], &[4, 1], &[2, 4, 3]).unwrap();
        let mut seen = Vec::new();
        b.for_each(|o, i1, i2| seen.push((o, i1, i2)));
        assert_eq!(seen.len(), 24);
        // Output [1, 2, 0]: input1 index [1, 0, 0] = 3, input2 index [2, 0] = 2.
        assert_eq!(seen[12 + 6], (18, 3, 2));
        assert!(Broadcast::new(&[2, 3], &[3, 3], &[3, 3]).is_err());
    }
}

/// Environment variable that, when set (to anything) before the first kernel runs, disables
/// every SIMD path so the portable code is used (for testing it on x86 machines).
pub const PORTABLE_ENV: &str = "TPUPIPE_INTERP_PORTABLE";

/// Setting this environment variable (to anything) keeps the kernels off AVX-512 (they still
/// use AVX2), to compare or test the AVX2 paths on CPUs that have AVX-512.
pub const NO_AVX512_ENV: &str = "TPUPIPE_INTERP_NO_AVX512";

/// True when the kernels may use AVX-512 with the VNNI extension (`vpdpbusd`): the CPU supports
/// AVX2, AVX-512 F/VL and VNNI (F also means the OS saves the AVX-512 state), and neither
/// [`PORTABLE_ENV`] nor [`NO_AVX512_ENV`] is set.
#[inline(always)]
pub fn has_avx512vnni() -> bool {
    static VNNI: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VNNI.get_or_init(|| {
        if !has_avx2() || std::env::var_os(NO_AVX512_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// True when the kernels may use AVX2: the CPU supports it and [`PORTABLE_ENV`] is not set
/// (both checked once, then a cached load).
#[inline(always)]
pub fn has_avx2() -> bool {
    static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX2.get_or_init(|| {
        if std::env::var_os(PORTABLE_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// True when the kernels may use aarch64 NEON: the target is aarch64 (where NEON is always
/// present) and [`PORTABLE_ENV`] is not set.
#[inline(always)]
pub fn has_neon() -> bool {
    static NEON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NEON.get_or_init(|| {
        if std::env::var_os(PORTABLE_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "aarch64")]
        {
            std::arch::is_aarch64_feature_detected!("neon")
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            false
        }
    })
}

/// True when the kernels may use aarch64's dot-product extension (`SDOT`): [`has_neon`] and
/// the CPU has it.
#[inline(always)]
pub fn has_dotprod() -> bool {
    static DOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DOT.get_or_init(|| {
        #[cfg(target_arch = "aarch64")]
        {
            has_neon() && std::arch::is_aarch64_feature_detected!("dotprod")
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            false
        }
    })
}

/// Defines `$name(args)` that runs `$inner(args)` compiled with AVX2 enabled when the CPU has it
/// (so the compiler vectorizes the inlined loops with 256-bit registers), and as portable code
/// otherwise. `$inner` must be `#[inline(always)]`.
macro_rules! avx2_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $inner:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn with_avx2($($arg: $ty),*) {
                    $inner($($arg),*)
                }
                if $crate::interp::ops::common::has_avx2() {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;

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

/// Spatial geometry of a 2-D window operation (conv, depthwise conv, pooling) on NHWC tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Batches.
    pub batches: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Filter height.
    pub k_h: usize,
    /// Filter width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Padding rows above.
    pub pad_top: isize,
    /// Padding columns to the left.
    pub pad_left: isize,
}

impl Window {
    /// Computes TFLite's output size and padding, and checks the declared output shape.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &PrepareCtx<'_>,
        input: &[usize],
        output: &[usize],
        k_h: usize,
        k_w: usize,
        stride: (i32, i32),
        dilation: (i32, i32),
        padding: crate::schema::Padding,
    ) -> Result<Window, LoadError> {
        if input.len() != 4 || output.len() != 4 {
            return Err(ctx.invalid(format!(
                "input {input:?} and output {output:?} must be 4-D (NHWC)"
            )));
        }
        let (sh, sw) = stride;
        let (dh, dw) = dilation;
        if sh < 1 || sw < 1 || dh < 1 || dw < 1 || k_h == 0 || k_w == 0 {
            return Err(ctx.invalid(format!(
                "strides ({sh}, {sw}), dilations ({dh}, {dw}) and filter {k_h}x{k_w} must be positive"
            )));
        }
        let (sh, sw, dh, dw) = (sh as usize, sw as usize, dh as usize, dw as usize);
        let eff_h = (k_h - 1) * dh + 1;
        let eff_w = (k_w - 1) * dw + 1;
        let (in_h, in_w) = (input[1], input[2]);
        let size = |inp: usize, eff: usize, s: usize| -> usize {
            match padding {
                crate::schema::Padding::SAME => inp.div_ceil(s),
                _ => (inp + s).saturating_sub(eff) / s,
            }
        };
        let (out_h, out_w) = (size(in_h, eff_h, sh), size(in_w, eff_w, sw));
        if padding != crate::schema::Padding::SAME && padding != crate::schema::Padding::VALID {
            return Err(ctx.unsupported("unknown padding"));
        }
        if output[0] != input[0] || output[1] != out_h || output[2] != out_w {
            return Err(ctx.invalid(format!(
                "output shape {output:?} does not match the computed {}x{out_h}x{out_w}",
                input[0]
            )));
        }
        let pad = |out: usize, s: usize, eff: usize, inp: usize| -> isize {
            let total = (out as isize - 1) * s as isize + eff as isize - inp as isize;
            total.max(0) / 2
        };
        Ok(Window {
            batches: input[0],
            in_h,
            in_w,
            out_h,
            out_w,
            k_h,
            k_w,
            stride_h: sh,
            stride_w: sw,
            dil_h: dh,
            dil_w: dw,
            pad_top: pad(out_h, sh, eff_h, in_h),
            pad_left: pad(out_w, sw, eff_w, in_w),
        })
    }

    /// Input row of filter tap `ky` for output row `oy`, if inside the input.
    #[inline(always)]
    pub fn in_y(&self, oy: usize, ky: usize) -> Option<usize> {
        let y = (oy * self.stride_h + ky * self.dil_h) as isize - self.pad_top;
        (y >= 0 && (y as usize) < self.in_h).then_some(y as usize)
    }

    /// Input column of filter tap `kx` for output column `ox`, if inside the input.
    #[inline(always)]
    pub fn in_x(&self, ox: usize, kx: usize) -> Option<usize> {
        let x = (ox * self.stride_w + kx * self.dil_w) as isize - self.pad_left;
        (x >= 0 && (x as usize) < self.in_w).then_some(x as usize)
    }
}

#[inline(always)]
fn to_i16_impl(signed: bool, zero_point: i32, src: &[u8], dst: &mut [i16]) {
    let zp = zero_point as i16;
    if signed {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as i8 as i16 - zp;
        }
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as i16 - zp;
        }
    }
}

avx2_dispatch!(
    /// Widens 8-bit values to `i16` and subtracts the zero point.
    pub fn to_i16(signed: bool, zero_point: i32, src: &[u8], dst: &mut [i16]) => to_i16_impl
);
