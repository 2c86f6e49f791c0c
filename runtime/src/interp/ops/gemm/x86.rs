//! AVX2 inner loop. For each group of 16 packed columns and each pair of depths, one lhs pair
//! `(a[k], a[k + 1])` is broadcast to every 32-bit lane and `vpmaddwd` against the packed
//! column pairs adds `a[k] * b[k] + a[k + 1] * b[k + 1]` into 8 columns at once. A tile of
//! `R` rows by 16 columns keeps `2 * R` accumulators in registers.

use super::{PackedRhs, N_BLOCK};
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
