//! Portable inner loop.

use super::{PackedRhs, N_BLOCK};

/// See [`super::gemm`].
pub(super) fn gemm(lhs: &[i16], m: usize, rhs: &PackedRhs, out: &mut [i32]) {
    let kp = rhs.k_padded;
    let np = rhs.n_padded;
    for i in 0..m {
        let a = &lhs[i * kp..(i + 1) * kp];
        for g in 0..np / N_BLOCK {
            let block = &rhs.data[g * N_BLOCK * kp..(g + 1) * N_BLOCK * kp];
            let mut acc = [0i32; N_BLOCK];
            for (p, pairs) in block.chunks_exact(2 * N_BLOCK).enumerate() {
                let (a0, a1) = (a[2 * p] as i32, a[2 * p + 1] as i32);
                for (j, slot) in acc.iter_mut().enumerate() {
                    *slot += a0 * pairs[2 * j] as i32 + a1 * pairs[2 * j + 1] as i32;
                }
            }
            out[i * np + g * N_BLOCK..i * np + (g + 1) * N_BLOCK].copy_from_slice(&acc);
        }
    }
}

/// See [`super::gemm_u8`].
pub(super) fn gemm_u8(lhs: &[u8], m: usize, offset: u8, rhs: &PackedRhs, out: &mut [i32]) {
    let k4 = rhs.k_padded_u8();
    let np = rhs.n_padded;
    let offset = offset as i32;
    for i in 0..m {
        let a = &lhs[i * k4..i * k4 + rhs.k];
        for (j, slot) in out[i * np..(i + 1) * np].iter_mut().enumerate() {
            *slot = a
                .iter()
                .enumerate()
                .map(|(d, &x)| (x as i32 - offset) * rhs.get(j, d) as i32)
                .sum();
        }
    }
}
