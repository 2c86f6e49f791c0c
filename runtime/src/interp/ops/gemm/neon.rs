//! aarch64 inner loops.
//!
//! - [`gemm_neon`] (every aarch64 CPU): reads the common pair-interleaved packing. For each pair
//!   of depths, the lhs pair `(a[k], a[k + 1])` is broadcast to every 32-bit lane and `SMLAL` /
//!   `SMLAL2` multiply it with 4 packed columns' pairs, accumulating `a[k] * b[k]` and
//!   `a[k + 1] * b[k + 1]` in neighbouring lanes; one `ADDP` per 4 columns adds the neighbours at
//!   the end. A tile of 2 rows by 16 columns keeps 16 accumulators in registers.
//! - [`gemm_dot`] (CPUs with the dot-product extension): `SDOT` multiplies `i8` values in groups
//!   of 4 depths. The weights use a second, `i8` packing ([`DotRhs`], built only when every
//!   weight fits in an `i8`). An lhs value `v` in `[-255, 255]` does not, so it is split as
//!   `v = 128 * hi + lo` with `hi` in `[-2, 2]` and `lo` in `[-64, 63]`; both halves are
//!   multiplied with `SDOT` and combined as `(sum_hi << 7) + sum_lo`. Integer sums are exact, so
//!   the result equals the other paths' bit for bit.

use super::{round_up, PackedRhs, N_BLOCK};
use std::arch::aarch64::*;
use std::arch::asm;
use std::cell::RefCell;

/// Depths per `SDOT` group.
const DOT_K: usize = 4;

/// Weights packed for [`gemm_dot`]: for each group of [`N_BLOCK`] columns and each group of
/// [`DOT_K`] depths, the 16 columns' 4 depths stored column after column (64 bytes), depths
/// padded with zeros to a multiple of [`DOT_K`].
#[derive(Clone, Debug)]
pub(super) struct DotRhs {
    data: Vec<i8>,
    /// The padded depth (a multiple of [`DOT_K`]).
    k4: usize,
}

impl DotRhs {
    /// Packs `rhs` again as `i8`, or `None` when some weight does not fit in an `i8`.
    pub(super) fn new(rhs: &PackedRhs) -> Option<DotRhs> {
        let k4 = round_up(rhs.k_padded, DOT_K);
        let groups = rhs.n_padded / N_BLOCK;
        let mut data = vec![0i8; groups * N_BLOCK * k4];
        for col in 0..rhs.n {
            let (g, lane) = (col / N_BLOCK, col % N_BLOCK);
            for d in 0..rhs.k {
                let v = i8::try_from(rhs.get(col, d)).ok()?;
                data[g * N_BLOCK * k4
                    + (d / DOT_K) * (N_BLOCK * DOT_K)
                    + lane * DOT_K
                    + d % DOT_K] = v;
            }
        }
        Some(DotRhs { data, k4 })
    }
}

/// Reinterprets a pair of `i16`s at `p` (unaligned) as one 32-bit lane broadcast to 4 lanes.
#[inline(always)]
unsafe fn broadcast_pair(p: *const i16) -> int16x8_t {
    vreinterpretq_s16_s32(vdupq_n_s32((p as *const i32).read_unaligned()))
}

#[inline(always)]
unsafe fn tile<const R: usize>(a: *const i16, kp: usize, b: *const i16, out: *mut i32, np: usize) {
    let mut acc = [[vdupq_n_s32(0); 8]; R];
    let mut p = 0;
    while p < kp {
        let bp = b.add(p * N_BLOCK);
        let bs = [
            vld1q_s16(bp),
            vld1q_s16(bp.add(8)),
            vld1q_s16(bp.add(16)),
            vld1q_s16(bp.add(24)),
        ];
        for (r, row) in acc.iter_mut().enumerate() {
            let x = broadcast_pair(a.add(r * kp + p));
            let xl = vget_low_s16(x);
            for (q, &bq) in bs.iter().enumerate() {
                row[2 * q] = vmlal_s16(row[2 * q], vget_low_s16(bq), xl);
                row[2 * q + 1] = vmlal_high_s16(row[2 * q + 1], bq, x);
            }
        }
        p += 2;
    }
    for (r, row) in acc.iter().enumerate() {
        for q in 0..4 {
            vst1q_s32(
                out.add(r * np + 4 * q),
                vpaddq_s32(row[2 * q], row[2 * q + 1]),
            );
        }
    }
}

/// See [`super::gemm`].
///
/// # Safety
/// The CPU must support NEON; `lhs` must hold `m * k_padded` values and `out` `m * n_padded`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemm_neon(lhs: &[i16], m: usize, rhs: &PackedRhs, out: &mut [i32]) {
    let kp = rhs.k_padded;
    let np = rhs.n_padded;
    let a = lhs.as_ptr();
    let o = out.as_mut_ptr();
    for g in 0..np / N_BLOCK {
        let b = rhs.data.as_ptr().add(g * N_BLOCK * kp);
        let mut i = 0;
        while i + 2 <= m {
            tile::<2>(a.add(i * kp), kp, b, o.add(i * np + g * N_BLOCK), np);
            i += 2;
        }
        if i < m {
            tile::<1>(a.add(i * kp), kp, b, o.add(i * np + g * N_BLOCK), np);
        }
    }
}

/// `acc += dot4(b, x)` lane by lane (`SDOT`, vector form).
///
/// # Safety
/// The CPU must support the dot-product extension.
#[inline(always)]
unsafe fn sdot(acc: &mut int32x4_t, b: int8x16_t, x: int8x16_t) {
    asm!(
        "sdot {acc:v}.4s, {b:v}.16b, {x:v}.16b",
        acc = inout(vreg) *acc,
        b = in(vreg) b,
        x = in(vreg) x,
        options(pure, nomem, nostack, preserves_flags)
    );
}

/// One tile of `R` rows by 16 columns. `hl` holds each row's `hi` halves (`k4` bytes) followed
/// by its `lo` halves (`k4` bytes).
#[inline(always)]
unsafe fn dot_tile<const R: usize>(
    hl: *const i8,
    k4: usize,
    b: *const i8,
    out: *mut i32,
    np: usize,
) {
    let mut hi = [[vdupq_n_s32(0); 4]; R];
    let mut lo = [[vdupq_n_s32(0); 4]; R];
    let mut d = 0;
    while d < k4 {
        let bp = b.add(d * N_BLOCK);
        let bs = [
            vld1q_s8(bp),
            vld1q_s8(bp.add(16)),
            vld1q_s8(bp.add(32)),
            vld1q_s8(bp.add(48)),
        ];
        for r in 0..R {
            let row = hl.add(r * 2 * k4 + d);
            let xh = vreinterpretq_s8_s32(vdupq_n_s32((row as *const i32).read_unaligned()));
            let xl =
                vreinterpretq_s8_s32(vdupq_n_s32((row.add(k4) as *const i32).read_unaligned()));
            for q in 0..4 {
                sdot(&mut hi[r][q], bs[q], xh);
                sdot(&mut lo[r][q], bs[q], xl);
            }
        }
        d += DOT_K;
    }
    for r in 0..R {
        for q in 0..4 {
            let v = vaddq_s32(vshlq_n_s32::<7>(hi[r][q]), lo[r][q]);
            vst1q_s32(out.add(r * np + 4 * q), v);
        }
    }
}

thread_local! {
    /// Scratch for the split lhs of [`gemm_dot`].
    static SPLIT: RefCell<Vec<i8>> = const { RefCell::new(Vec::new()) };
}

/// Splits each row of `lhs` (`kp` values) into `hi` and `lo` halves, `k4` bytes each, zero
/// padded; returns false (leaving `dst` partly written) when some value is outside
/// `[-255, 255]`.
fn split_lhs(lhs: &[i16], m: usize, kp: usize, k4: usize, dst: &mut Vec<i8>) -> bool {
    dst.clear();
    dst.resize(m * 2 * k4, 0);
    let mut in_range = true;
    for (row, out) in lhs[..m * kp]
        .chunks_exact(kp)
        .zip(dst.chunks_exact_mut(2 * k4))
    {
        let (h, l) = out.split_at_mut(k4);
        for ((&v, h), l) in row.iter().zip(h.iter_mut()).zip(l.iter_mut()) {
            let v = i32::from(v);
            in_range &= (-255..=255).contains(&v);
            let hi = (v + 64) >> 7;
            *h = hi as i8;
            *l = (v - (hi << 7)) as i8;
        }
    }
    in_range
}

/// See [`super::gemm`]; falls back to [`gemm_neon`] when `rhs` has no `i8` packing or some
/// lhs value is outside `[-255, 255]`.
///
/// # Safety
/// The CPU must support NEON and the dot-product extension; `lhs` must hold `m * k_padded`
/// values and `out` `m * n_padded`.
#[target_feature(enable = "neon,dotprod")]
pub(super) unsafe fn gemm_dot(lhs: &[i16], m: usize, rhs: &PackedRhs, out: &mut [i32]) {
    let Some(dot) = rhs.dot.as_ref() else {
        return gemm_neon(lhs, m, rhs, out);
    };
    let kp = rhs.k_padded;
    let np = rhs.n_padded;
    let k4 = dot.k4;
    let mut split = SPLIT.take();
    if split_lhs(lhs, m, kp, k4, &mut split) {
        let a = split.as_ptr();
        let o = out.as_mut_ptr();
        for g in 0..np / N_BLOCK {
            let b = dot.data.as_ptr().add(g * N_BLOCK * k4);
            let mut i = 0;
            while i + 2 <= m {
                dot_tile::<2>(a.add(i * 2 * k4), k4, b, o.add(i * np + g * N_BLOCK), np);
                i += 2;
            }
            if i < m {
                dot_tile::<1>(a.add(i * 2 * k4), k4, b, o.add(i * np + g * N_BLOCK), np);
            }
        }
    } else {
        gemm_neon(lhs, m, rhs, out);
    }
    SPLIT.set(split);
}
