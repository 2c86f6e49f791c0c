//! Integer matrix multiplication for convolution and fully connected layers.
//!
//! Both operands are `i16` values that already had their zero points subtracted (an 8-bit value
//! minus an 8-bit zero point fits in `[-255, 255]`), so the `i32` sums are exact and no
//! zero-point correction terms are needed: `out[m][n] = sum_k lhs[m][k] * rhs[n][k]`.
//!
//! The right-hand side (weights) is packed once at prepare time; depths are padded with zeros to
//! a multiple of [`K_BLOCK`] and the number of columns to a multiple of [`N_BLOCK`]. Packed
//! columns are grouped by [`N_BLOCK`]; inside a group, for each pair of depths, the group's
//! columns are stored as interleaved `(k, k + 1)` pairs, so that `vpmaddwd` of a broadcast lhs
//! pair against one 256-bit load yields 8 columns' partial sums with no horizontal reduction.
//! The inner loop runs on AVX2 when the CPU has it, and otherwise on portable code.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Depths are padded to a multiple of this many elements.
pub const K_BLOCK: usize = 2;
/// Column counts are padded to a multiple of this many columns.
pub const N_BLOCK: usize = 16;

/// Largest depth for which `K * 255 * 255` cannot overflow an `i32` accumulator.
pub const MAX_DEPTH: usize = (i32::MAX as usize) / (255 * 255);

/// `n` rounded up to a multiple of `to`.
pub fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// A packed right-hand side: `n` columns of depth `k`, each stored contiguously as `k_padded`
/// `i16`s.
#[derive(Clone, Debug)]
pub struct PackedRhs {
    data: Vec<i16>,
    n: usize,
    n_padded: usize,
    k: usize,
    k_padded: usize,
}

impl PackedRhs {
    /// Packs `n` columns of depth `k`; `value(col, depth)` gives each element (zero point
    /// already subtracted).
    pub fn new(n: usize, k: usize, value: impl Fn(usize, usize) -> i16) -> Self {
        let k_padded = round_up(k.max(1), K_BLOCK);
        let n_padded = round_up(n.max(1), N_BLOCK);
        let mut data = vec![0i16; n_padded * k_padded];
        for col in 0..n {
            for d in 0..k {
                data[Self::offset(k_padded, col, d)] = value(col, d);
            }
        }
        PackedRhs {
            data,
            n,
            n_padded,
            k,
            k_padded,
        }
    }

    /// Where element `(col, depth)` lives in the packed data.
    #[inline(always)]
    fn offset(k_padded: usize, col: usize, depth: usize) -> usize {
        let group = col / N_BLOCK;
        let lane = col % N_BLOCK;
        group * N_BLOCK * k_padded + (depth / 2) * (2 * N_BLOCK) + lane * 2 + depth % 2
    }

    /// Element `(col, depth)` (zero in the padding).
    pub fn get(&self, col: usize, depth: usize) -> i16 {
        self.data[Self::offset(self.k_padded, col, depth)]
    }

    /// Number of (real) columns.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of columns including padding (the row stride of [`gemm`]'s output).
    pub fn n_padded(&self) -> usize {
        self.n_padded
    }

    /// The depth.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The padded depth (the row stride of [`gemm`]'s left-hand side).
    pub fn k_padded(&self) -> usize {
        self.k_padded
    }
}

/// Which inner loop to use, chosen once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust.
    Portable,
    /// x86-64 AVX2.
    Avx2,
}

/// The best inner loop this CPU supports (portable when
/// [`super::common::PORTABLE_ENV`] is set).
pub fn detect() -> Isa {
    if super::common::has_avx2() {
        Isa::Avx2
    } else {
        Isa::Portable
    }
}

/// `out[i * n_padded + j] = sum_k lhs[i * k_padded + k] * rhs[j][k]` for `m` rows. `lhs` holds
/// `m * k_padded` values (padding zero), `out` at least `m * n_padded`.
pub fn gemm(isa: Isa, lhs: &[i16], m: usize, rhs: &PackedRhs, out: &mut [i32]) {
    assert!(lhs.len() >= m * rhs.k_padded, "gemm: lhs too short");
    assert!(out.len() >= m * rhs.n_padded, "gemm: out too short");
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `Isa::Avx2` is only produced by `detect` when the CPU supports AVX2; the
            // sizes were checked above.
            unsafe { x86::gemm_avx2(lhs, m, rhs, out) }
        }
        _ => portable::gemm(lhs, m, rhs, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(lhs: &[i16], m: usize, rhs: &PackedRhs) -> Vec<i32> {
        let mut out = vec![0; m * rhs.n_padded()];
        for i in 0..m {
            for j in 0..rhs.n_padded() {
                let mut acc = 0i32;
                for k in 0..rhs.k_padded() {
                    acc += lhs[i * rhs.k_padded() + k] as i32 * rhs.get(j, k) as i32;
                }
                out[i * rhs.n_padded() + j] = acc;
            }
        }
        out
    }

    #[test]
    fn all_isas_match_reference() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            ((seed >> 16) % 511) as i16 - 255
        };
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 17),
            (8, 4, 16),
            (7, 9, 100),
            (2, 33, 255),
            (13, 40, 3),
        ] {
            let vals: Vec<i16> = (0..n * k).map(|_| next()).collect();
            let rhs = PackedRhs::new(n, k, |c, d| vals[c * k + d]);
            let mut lhs = vec![0i16; m * rhs.k_padded()];
            for i in 0..m {
                for d in 0..k {
                    lhs[i * rhs.k_padded() + d] = next();
                }
            }
            let want = reference(&lhs, m, &rhs);
            for isa in [Isa::Portable, detect()] {
                let mut out = vec![0; m * rhs.n_padded()];
                gemm(isa, &lhs, m, &rhs, &mut out);
                assert_eq!(out, want, "{isa:?} m={m} n={n} k={k}");
            }
        }
    }
}
