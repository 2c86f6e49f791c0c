//! AVX2 inner loop. For each group of 16 packed columns and each pair of depths, one lhs pair
//! `(a[k], a[k + 1])` is broadcast to every 32-bit lane and `vpmaddwd` against the packed
//! column pairs adds `a[k] * b[k] + a[k + 1] * b[k + 1]` into 8 columns at once. A tile of
//! `R` rows by 16 columns keeps `2 * R` accumulators in registers.

use super::{PackedRhs, K_QUAD, N_BLOCK};
use std::arch::x86_64::*;

#[inline(always)]
unsafe fn tile<const R: usize>(a: *const i16, kp: usize, b: *const i16, out: *mut i32, np: usize) {
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    let mut p = 0;
    while p < kp {
        let b0 = _mm256_loadu_si256(b.add(p * N_BLOCK) as *const __m256i);
        let b1 = _mm256_loadu_si256(b.add(p * N_BLOCK + 16) as *const __m256i);
        for (r, row) in acc.iter_mut().enumerate() {
            let pair = (a.add(r * kp + p) as *const i32).read_unaligned();
            let x = _mm256_set1_epi32(pair);
            row[0] = _mm256_add_epi32(row[0], _mm256_madd_epi16(x, b0));
            row[1] = _mm256_add_epi32(row[1], _mm256_madd_epi16(x, b1));
        }
        p += 2;
    }
    for (r, row) in acc.iter().enumerate() {
        _mm256_storeu_si256(out.add(r * np) as *mut __m256i, row[0]);
        _mm256_storeu_si256(out.add(r * np + 8) as *mut __m256i, row[1]);
    }
}

/// See [`super::gemm`].
///
/// # Safety
/// The CPU must support AVX2; `lhs` must hold `m * k_padded` values and `out` `m * n_padded`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemm_avx2(lhs: &[i16], m: usize, rhs: &PackedRhs, out: &mut [i32]) {
    let kp = rhs.k_padded;
    let np = rhs.n_padded;
    let a = lhs.as_ptr();
    let o = out.as_mut_ptr();
    for g in 0..np / N_BLOCK {
        let b = rhs.data.as_ptr().add(g * N_BLOCK * kp);
        let mut i = 0;
        while i + 4 <= m {
            tile::<4>(a.add(i * kp), kp, b, o.add(i * np + g * N_BLOCK), np);
            i += 4;
        }
        match m - i {
            3 => tile::<3>(a.add(i * kp), kp, b, o.add(i * np + g * N_BLOCK), np),
            2 => tile::<2>(a.add(i * kp), kp, b, o.add(i * np + g * N_BLOCK), np),
            1 => tile::<1>(a.add(i * kp), kp, b, o.add(i * np + g * N_BLOCK), np),
            _ => {}
        }
    }
}

/// Rows per VNNI tile: `2 * VNNI_ROWS` accumulators, two weight vectors and one broadcast fit
/// the 16 `ymm` registers.
const VNNI_ROWS: usize = 6;

/// The weights for [`gemm_vnni`]: as `i8`, in groups of [`N_BLOCK`] columns; inside a group,
/// for each quad of depths, the group's columns are stored as 4 consecutive bytes each (two
/// 256-bit loads per quad), plus each column's sum of weights.
#[derive(Clone, Debug)]
pub(super) struct VnniRhs {
    data: Vec<i8>,
    sums: Vec<i32>,
    k4: usize,
}

impl VnniRhs {
    /// Repacks `rhs`, or `None` when a weight does not fit in an `i8`.
    pub(super) fn new(rhs: &PackedRhs) -> Option<VnniRhs> {
        let k4 = rhs.k_padded_u8();
        let kp = rhs.k_padded;
        let mut data = vec![0i8; rhs.n_padded * k4];
        let mut sums = vec![0i32; rhs.n_padded];
        // Walk the i16 packing in its own order: per group, per pair of depths, 16 columns of
        // (k, k + 1) pairs.
        for (g, block) in rhs.data.chunks_exact(N_BLOCK * kp).enumerate() {
            let dst = &mut data[g * N_BLOCK * k4..(g + 1) * N_BLOCK * k4];
            for (pair, cols) in block.chunks_exact(2 * N_BLOCK).enumerate() {
                for (lane, two) in cols.chunks_exact(2).enumerate() {
                    for (half, &v) in two.iter().enumerate() {
                        let d = 2 * pair + half;
                        let v = i8::try_from(v).ok()?;
                        if v != 0 {
                            dst[(d / K_QUAD) * N_BLOCK * K_QUAD + lane * K_QUAD + d % K_QUAD] = v;
                            sums[g * N_BLOCK + lane] += v as i32;
                        }
                    }
                }
            }
        }
        Some(VnniRhs { data, sums, k4 })
    }
}

/// The requantization fused into [`gemm_vnni_requant`]: the parameters of an
/// [`UpwardParams`](crate::interp::ops::output_stage::UpwardParams) padded to whole groups of columns,
/// with the bias and the offset correction folded into the accumulators' start values.
#[derive(Clone, Debug)]
pub(super) struct VnniStage {
    /// `bias - offset * column sum` (wrapping, as the accumulation itself).
    init: Vec<i32>,
    mult: Vec<i32>,
    left: Vec<i32>,
    right: Vec<i32>,
    /// `max(right - 1, 0)`.
    right_m1: Vec<i32>,
    /// 1 when `right > 0`.
    one: Vec<i32>,
    out_zp: i32,
    act_min: i32,
    act_max: i32,
    n: usize,
}

impl VnniStage {
    /// Whether the stage was built for `n` columns padded to `np`.
    pub(super) fn fits(&self, n: usize, np: usize) -> bool {
        self.n == n
            && [
                &self.init,
                &self.mult,
                &self.left,
                &self.right,
                &self.right_m1,
                &self.one,
            ]
            .iter()
            .all(|v| v.len() == np)
    }

    /// Builds the stage for `n` columns of `rhs` with lhs offset `offset`; `None` when a
    /// parameter slice is shorter than `n`.
    pub(super) fn new(
        rhs: &VnniRhs,
        n: usize,
        offset: u8,
        p: &crate::interp::ops::output_stage::UpwardParams<'_>,
    ) -> Option<VnniStage> {
        let np = rhs.sums.len();
        if p.bias.len() < n || p.mult.len() < n || p.left.len() < n || p.right.len() < n {
            return None;
        }
        let pad = |v: &[i32]| -> Vec<i32> {
            let mut out = vec![0; np];
            out[..n].copy_from_slice(&v[..n]);
            out
        };
        let right: Vec<i32> = pad(&p.right[..n].iter().map(|&r| r as i32).collect::<Vec<_>>());
        Some(VnniStage {
            init: (0..np)
                .map(|c| {
                    let bias = if c < n { p.bias[c] } else { 0 };
                    bias.wrapping_sub((offset as i32).wrapping_mul(rhs.sums[c]))
                })
                .collect(),
            mult: pad(&p.mult[..n]),
            left: pad(&p.left[..n].iter().map(|&l| l as i32).collect::<Vec<_>>()),
            right_m1: right.iter().map(|&r| (r - 1).max(0)).collect(),
            one: right.iter().map(|&r| i32::from(r > 0)).collect(),
            right,
            out_zp: p.out_zp,
            act_min: p.act_min,
            act_max: p.act_max,
            n,
        })
    }
}

/// `acc + sum over the 4 bytes of each 32-bit lane of a (unsigned) * b (signed)`: `vpdpbusd` in
/// its EVEX encoding on 256-bit registers (AVX-512 VL + VNNI). Written as inline assembly so the
/// crate does not need the AVX-512 intrinsics and target features (stable only since Rust 1.89).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn dpbusd(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
    let mut acc = acc;
    std::arch::asm!(
        "{{evex}} vpdpbusd {acc}, {a}, {b}",
        acc = inout(ymm_reg) acc,
        a = in(ymm_reg) a,
        b = in(ymm_reg) b,
        options(pure, nomem, nostack, preserves_flags),
    );
    acc
}

/// Where a tile's finished accumulators go.
trait Sink {
    /// Takes the accumulators of row `row`, column group `group` (columns 0..8 and 8..16 of the
    /// group).
    unsafe fn put(&self, row: usize, group: usize, v: [__m256i; 2]);
}

/// Stores the raw `i32` sums (row stride `np`).
struct StoreI32 {
    out: *mut i32,
    np: usize,
}

impl Sink for StoreI32 {
    #[inline(always)]
    unsafe fn put(&self, row: usize, group: usize, v: [__m256i; 2]) {
        let dst = self.out.add(row * self.np + group * N_BLOCK);
        _mm256_storeu_si256(dst as *mut __m256i, v[0]);
        _mm256_storeu_si256(dst.add(8) as *mut __m256i, v[1]);
    }
}

/// Requantizes and stores 8-bit outputs (row stride `n`, the real column count).
struct Requant<'a> {
    out: *mut u8,
    st: &'a VnniStage,
    /// One `i32` per row added to all of the row's accumulators first, or null for none.
    row_terms: *const i32,
}

impl Requant<'_> {
    /// Exactly the `DoubleUpward` arm of the output stage (bias already in `x`), 8 lanes at
    /// channel `c`; the results are in the 8-bit range.
    #[inline(always)]
    unsafe fn lanes(&self, x: __m256i, c: usize) -> __m256i {
        let st = self.st;
        macro_rules! ld {
            ($v:expr) => {
                _mm256_loadu_si256($v.as_ptr().add(c) as *const __m256i)
            };
        }
        let r30 = _mm256_set1_epi64x(1 << 30);
        let x = _mm256_sllv_epi32(x, ld!(st.left));
        let m = ld!(st.mult);
        let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(x, m), r30));
        let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(x), _mm256_srli_epi64::<32>(m));
        let odd = _mm256_slli_epi64::<1>(_mm256_add_epi64(odd, r30));
        let h = _mm256_blend_epi32::<0b1010_1010>(even, odd);
        let shifted = _mm256_srav_epi32(h, ld!(st.right));
        let up = _mm256_and_si256(_mm256_srav_epi32(h, ld!(st.right_m1)), ld!(st.one));
        let v = _mm256_add_epi32(_mm256_add_epi32(shifted, up), _mm256_set1_epi32(st.out_zp));
        _mm256_min_epi32(
            _mm256_max_epi32(v, _mm256_set1_epi32(st.act_min)),
            _mm256_set1_epi32(st.act_max),
        )
    }
}

impl Sink for Requant<'_> {
    #[inline(always)]
    unsafe fn put(&self, row: usize, group: usize, v: [__m256i; 2]) {
        let st = self.st;
        let c = group * N_BLOCK;
        let v = if self.row_terms.is_null() {
            v
        } else {
            let t = _mm256_set1_epi32(self.row_terms.add(row).read());
            [_mm256_add_epi32(v[0], t), _mm256_add_epi32(v[1], t)]
        };
        let lo = self.lanes(v[0], c);
        let hi = self.lanes(v[1], c + 8);
        // Both halves are clamped to the output type's range, so the saturating packs keep
        // every value; the 128-bit lanes interleave as (lo 0..4, hi 0..4 | lo 4..8, hi 4..8).
        let p16 = _mm256_packs_epi32(lo, hi);
        let p8 = if st.act_max > 127 {
            _mm256_packus_epi16(p16, p16)
        } else {
            _mm256_packs_epi16(p16, p16)
        };
        // 32-bit elements 0, 4, 1, 5 hold the bytes of lo 0..4, lo 4..8, hi 0..4, hi 4..8.
        let order = _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0);
        let bytes = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(p8, order));
        let dst = self.out.add(row * st.n + c);
        if c + N_BLOCK <= st.n {
            _mm_storeu_si128(dst as *mut __m128i, bytes);
        } else {
            let mut tmp = [0u8; N_BLOCK];
            _mm_storeu_si128(tmp.as_mut_ptr() as *mut __m128i, bytes);
            std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, st.n - c);
        }
    }
}

/// One tile of `R` rows by one group of 16 columns, starting at row `row0` of group `group`.
/// `init` holds the accumulators' start values.
#[inline(always)]
unsafe fn tile_vnni<const R: usize, S: Sink>(
    a: *const u8,
    k4: usize,
    b: *const i8,
    init: [__m256i; 2],
    sink: &S,
    row0: usize,
    group: usize,
) {
    let mut acc = [init; R];
    let mut q = 0;
    while q < k4 {
        let w0 = _mm256_loadu_si256(b.add(q * N_BLOCK) as *const __m256i);
        let w1 = _mm256_loadu_si256(b.add(q * N_BLOCK + 32) as *const __m256i);
        for (r, row) in acc.iter_mut().enumerate() {
            let x = _mm256_set1_epi32((a.add(r * k4 + q) as *const i32).read_unaligned());
            row[0] = dpbusd(row[0], x, w0);
            row[1] = dpbusd(row[1], x, w1);
        }
        q += K_QUAD;
    }
    for (r, row) in acc.iter().enumerate() {
        sink.put(row0 + r, group, *row);
    }
}

/// Every column group against all `m` rows; `init(g)` gives group `g`'s start values.
#[inline(always)]
unsafe fn groups_vnni<S: Sink>(
    lhs: *const u8,
    m: usize,
    np: usize,
    rhs: &VnniRhs,
    init: impl Fn(usize) -> [__m256i; 2],
    sink: &S,
) {
    let k4 = rhs.k4;
    for g in 0..np / N_BLOCK {
        let b = rhs.data.as_ptr().add(g * N_BLOCK * k4);
        let start = init(g);
        let mut i = 0;
        while i + VNNI_ROWS <= m {
            tile_vnni::<VNNI_ROWS, S>(lhs.add(i * k4), k4, b, start, sink, i, g);
            i += VNNI_ROWS;
        }
        let a = lhs.add(i * k4);
        match m - i {
            5 => tile_vnni::<5, S>(a, k4, b, start, sink, i, g),
            4 => tile_vnni::<4, S>(a, k4, b, start, sink, i, g),
            3 => tile_vnni::<3, S>(a, k4, b, start, sink, i, g),
            2 => tile_vnni::<2, S>(a, k4, b, start, sink, i, g),
            1 => tile_vnni::<1, S>(a, k4, b, start, sink, i, g),
            _ => {}
        }
    }
}

/// See [`super::gemm_u8`].
///
/// # Safety
/// The CPU must support AVX2, AVX-512 VL and VNNI; `lhs` must hold `m * k_padded_u8` values and
/// `out` `m * np`, where `np` is the padded column count `rhs` was packed with.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemm_vnni(
    lhs: &[u8],
    m: usize,
    offset: u8,
    np: usize,
    rhs: &VnniRhs,
    out: &mut [i32],
) {
    let neg = _mm256_set1_epi32(-(offset as i32));
    let sums = rhs.sums.as_ptr();
    let init = |g: usize| {
        let s = sums.add(g * N_BLOCK);
        [
            _mm256_mullo_epi32(neg, _mm256_loadu_si256(s as *const __m256i)),
            _mm256_mullo_epi32(neg, _mm256_loadu_si256(s.add(8) as *const __m256i)),
        ]
    };
    let sink = StoreI32 {
        out: out.as_mut_ptr(),
        np,
    };
    groups_vnni(lhs.as_ptr(), m, np, rhs, init, &sink);
}

/// See [`super::gemm_u8_requant`] and [`super::gemm_u8_requant_rows`] (`row_terms`).
///
/// # Safety
/// The CPU must support AVX2, AVX-512 VL and VNNI; `lhs` must hold `m * k_padded_u8` values,
/// `out` `m * st.n`, `row_terms` (when given) at least `m` values; `st` must have been built for
/// `rhs` (whose padded column count is `np`).
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_vnni_requant(
    lhs: &[u8],
    m: usize,
    np: usize,
    rhs: &VnniRhs,
    st: &VnniStage,
    row_terms: Option<&[i32]>,
    out: &mut [u8],
) {
    let starts = st.init.as_ptr();
    let init = |g: usize| {
        let s = starts.add(g * N_BLOCK);
        [
            _mm256_loadu_si256(s as *const __m256i),
            _mm256_loadu_si256(s.add(8) as *const __m256i),
        ]
    };
    let sink = Requant {
        out: out.as_mut_ptr(),
        st,
        row_terms: row_terms.map_or(std::ptr::null(), |t| t.as_ptr()),
    };
    groups_vnni(lhs.as_ptr(), m, np, rhs, init, &sink);
}
