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
//! The inner loop runs on AVX2 when an x86-64 CPU has it, on NEON on aarch64 (with `SDOT` on
//! CPUs with the dot-product extension, using a second `i8` packing of the weights), and
//! otherwise on portable code.
//!
//! On x86-64 CPUs with AVX-512 VNNI there is a second entry point, [`gemm_u8`], for weights
//! that fit in `i8`: the left-hand side is raw `u8` values with one common offset (the zero
//! point, shifted into the unsigned range), and `vpdpbusd` (EVEX-encoded, on 256-bit registers)
//! multiplies four depths at a time; [`gemm_u8_requant`] also fuses the requantization.
//! The offset is taken out afterwards with the column sums of the weights:
//! `sum_k (a - off) * w = sum_k a * w - off * sum_k w`, which is exact in `i32`.

#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Depths are padded to a multiple of this many elements.
pub const K_BLOCK: usize = 2;
/// Column counts are padded to a multiple of this many columns.
pub const N_BLOCK: usize = 16;

/// Depths of [`gemm_u8`]'s left-hand side are padded to a multiple of this many elements.
pub const K_QUAD: usize = 4;

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
    /// The weights packed for the dot-product path (only built when the CPU has it and every
    /// weight fits in an `i8`).
    #[cfg(target_arch = "aarch64")]
    dot: Option<neon::DotRhs>,
    /// The weights packed for [`gemm_u8`] (only built when the CPU has AVX-512 VNNI and every
    /// weight fits in an `i8`).
    #[cfg(target_arch = "x86_64")]
    vnni: Option<x86::VnniRhs>,
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
        #[cfg_attr(
            not(any(target_arch = "aarch64", target_arch = "x86_64")),
            allow(unused_mut)
        )]
        let mut rhs = PackedRhs {
            data,
            n,
            n_padded,
            k,
            k_padded,
            #[cfg(target_arch = "aarch64")]
            dot: None,
            #[cfg(target_arch = "x86_64")]
            vnni: None,
        };
        #[cfg(target_arch = "x86_64")]
        if super::cpu_features::has_avx512vnni() {
            rhs.vnni = x86::VnniRhs::new(&rhs);
        }
        #[cfg(target_arch = "aarch64")]
        if super::cpu_features::has_dotprod() {
            rhs.dot = neon::DotRhs::new(&rhs);
        }
        rhs
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

    /// The depth padded to a multiple of [`K_QUAD`] (the row stride of [`gemm_u8`]'s left-hand
    /// side).
    pub fn k_padded_u8(&self) -> usize {
        round_up(self.k.max(1), K_QUAD)
    }

    /// Whether [`gemm_u8`] has a fast inner loop for these weights with `isa` (otherwise it
    /// still works, on slow portable code).
    pub fn fast_u8(&self, isa: Isa) -> bool {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => self.vnni.is_some(),
            _ => false,
        }
    }
}

/// Which inner loop to use, chosen once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust.
    Portable,
    /// x86-64 AVX2.
    Avx2,
    /// x86-64 AVX-512 VL with VNNI (`vpdpbusd` on 256-bit registers) for [`gemm_u8`];
    /// [`gemm`] runs the AVX2 loop.
    Avx512Vnni,
    /// aarch64 NEON (widening multiply-accumulate).
    Neon,
    /// aarch64 NEON with the dot-product extension (`SDOT`).
    NeonDot,
}

impl Isa {
    /// Whether this CPU (and [`super::cpu_features::PORTABLE_ENV`]) allows the inner loop.
    pub fn available(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Avx2 => super::cpu_features::has_avx2(),
            Isa::Avx512Vnni => super::cpu_features::has_avx512vnni(),
            Isa::Neon => super::cpu_features::has_neon(),
            Isa::NeonDot => super::cpu_features::has_dotprod(),
        }
    }
}

/// The best inner loop this CPU supports (portable when
/// [`super::cpu_features::PORTABLE_ENV`] is set).
pub fn detect() -> Isa {
    [Isa::Avx512Vnni, Isa::Avx2, Isa::NeonDot, Isa::Neon]
        .into_iter()
        .find(|isa| isa.available())
        .unwrap_or(Isa::Portable)
}

/// `out[i * n_padded + j] = sum_k lhs[i * k_padded + k] * rhs[j][k]` for `m` rows. `lhs` holds
/// `m * k_padded` values (padding zero), `out` at least `m * n_padded`.
pub fn gemm(isa: Isa, lhs: &[i16], m: usize, rhs: &PackedRhs, out: &mut [i32]) {
    assert!(lhs.len() >= m * rhs.k_padded, "gemm: lhs too short");
    assert!(out.len() >= m * rhs.n_padded, "gemm: out too short");
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512Vnni if super::cpu_features::has_avx2() => {
            // SAFETY: the CPU supports AVX2 (checked by the guard); the sizes were checked above.
            unsafe { x86::gemm_avx2(lhs, m, rhs, out) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon if super::cpu_features::has_neon() => {
            // SAFETY: the CPU supports NEON (checked by the guard); the sizes were checked above.
            unsafe { neon::gemm_neon(lhs, m, rhs, out) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::NeonDot if super::cpu_features::has_dotprod() => {
            // SAFETY: the CPU supports NEON and the dot-product extension (checked by the
            // guard); the sizes were checked above.
            unsafe { neon::gemm_dot(lhs, m, rhs, out) }
        }
        _ => portable::gemm(lhs, m, rhs, out),
    }
}

/// `out[i * n_padded + j] = sum_k (lhs[i * k_padded_u8 + k] - offset) * rhs[j][k]` for `m`
/// rows. `lhs` holds `m * k_padded_u8` values (the padding may hold anything: the packed weights
/// are zero there), `out` at least `m * n_padded`. Fast when [`PackedRhs::fast_u8`] holds for
/// `isa`, portable code otherwise.
pub fn gemm_u8(isa: Isa, lhs: &[u8], m: usize, offset: u8, rhs: &PackedRhs, out: &mut [i32]) {
    let k4 = rhs.k_padded_u8();
    assert!(lhs.len() >= m * k4, "gemm_u8: lhs too short");
    assert!(out.len() >= m * rhs.n_padded, "gemm_u8: out too short");
    match (isa, rhs) {
        #[cfg(target_arch = "x86_64")]
        (
            Isa::Avx512Vnni,
            PackedRhs {
                vnni: Some(vnni), ..
            },
        ) if super::cpu_features::has_avx512vnni() => {
            // SAFETY: the CPU supports AVX2, AVX-512 VL and VNNI (checked by the guard); the sizes
            // were checked above.
            unsafe { x86::gemm_vnni(lhs, m, offset, rhs.n_padded, vnni, out) }
        }
        _ => portable::gemm_u8(lhs, m, offset, rhs, out),
    }
}

/// uint8 weights `w` with one zero point `zp` do not fit `i8` as `w - zp`, but do as `w - 128`:
/// packed that way, `sum (a - offset) (w - zp)` is the GEMM's `sum (a - offset) (w - 128)` plus
/// this term, `(128 - zp) * sum (a - offset)` over the `u8` row `a` (`coef` = `128 - zp`). Exact
/// in `i32` for depths up to [`MAX_DEPTH`] (`|coef| <= 128`).
#[inline]
pub fn shifted_weights_row_term(a: &[u8], offset: u8, coef: i32) -> i32 {
    let sum: u32 = a.iter().map(|&x| u32::from(x)).sum();
    coef * (sum as i32 - a.len() as i32 * i32::from(offset))
}

/// A requantization step fused into [`gemm_u8_requant`], built by [`PackedRhs::fuse_u8`].
#[derive(Clone, Debug)]
pub struct FusedU8 {
    #[cfg(target_arch = "x86_64")]
    stage: x86::VnniStage,
}

impl PackedRhs {
    /// The requantization `params` fused into the fast `u8` loop for lhs offset `offset`, when
    /// `isa` has one for these weights ([`PackedRhs::fast_u8`]); `None` otherwise.
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
    pub fn fuse_u8(
        &self,
        isa: Isa,
        offset: u8,
        params: &super::output_stage::UpwardParams<'_>,
    ) -> Option<FusedU8> {
        match (isa, self) {
            #[cfg(target_arch = "x86_64")]
            (
                Isa::Avx512Vnni,
                PackedRhs {
                    vnni: Some(vnni), ..
                },
            ) => Some(FusedU8 {
                stage: x86::VnniStage::new(vnni, self.n, offset, params)?,
            }),
            _ => None,
        }
    }
}

/// [`gemm_u8`] followed by the requantization in `fused` (which fixes the lhs offset), written
/// as `m` rows of `n` 8-bit outputs into `out`. `fused` must come from `rhs.fuse_u8(isa, ..)`
/// (checked: a mismatch panics).
pub fn gemm_u8_requant(
    isa: Isa,
    lhs: &[u8],
    m: usize,
    rhs: &PackedRhs,
    fused: &FusedU8,
    out: &mut [u8],
) {
    requant_impl(isa, lhs, m, rhs, fused, None, out)
}

/// [`gemm_u8_requant`] with `row_terms[i]` added to every accumulator of row `i` before the
/// requantization (`row_terms` holds at least `m` values; checked).
pub fn gemm_u8_requant_rows(
    isa: Isa,
    lhs: &[u8],
    m: usize,
    rhs: &PackedRhs,
    fused: &FusedU8,
    row_terms: &[i32],
    out: &mut [u8],
) {
    assert!(
        row_terms.len() >= m,
        "gemm_u8_requant_rows: row_terms too short"
    );
    requant_impl(isa, lhs, m, rhs, fused, Some(row_terms), out)
}

#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn requant_impl(
    isa: Isa,
    lhs: &[u8],
    m: usize,
    rhs: &PackedRhs,
    fused: &FusedU8,
    row_terms: Option<&[i32]>,
    out: &mut [u8],
) {
    assert!(
        lhs.len() >= m * rhs.k_padded_u8(),
        "gemm_u8_requant: lhs too short"
    );
    assert!(out.len() >= m * rhs.n, "gemm_u8_requant: out too short");
    match (isa, rhs) {
        #[cfg(target_arch = "x86_64")]
        (
            Isa::Avx512Vnni,
            PackedRhs {
                vnni: Some(vnni), ..
            },
        ) if super::cpu_features::has_avx512vnni() => {
            assert!(
                fused.stage.fits(rhs.n, rhs.n_padded),
                "gemm_u8_requant: the fused stage was built for other weights"
            );
            // SAFETY: the CPU supports AVX2, AVX-512 VL and VNNI (checked by the guard); the
            // sizes were checked above, and the stage's against the weights.
            unsafe {
                x86::gemm_vnni_requant(lhs, m, rhs.n_padded, vnni, &fused.stage, row_terms, out)
            }
        }
        // `fuse_u8` only builds a `FusedU8` for the arm above.
        _ => unreachable!("gemm_u8_requant without a fast u8 loop"),
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

    const ALL: [Isa; 5] = [
        Isa::Portable,
        Isa::Avx2,
        Isa::Avx512Vnni,
        Isa::Neon,
        Isa::NeonDot,
    ];

    /// Runs [`gemm_u8`] with every available inner loop on random products (weights from
    /// `rhs_val`, lhs bytes over the whole range) and compares with a direct sum.
    fn check_u8(shapes: &[(usize, usize, usize)], mut rhs_val: impl FnMut() -> i16) {
        let mut byte = lcg(11, 256, 0);
        for &(m, n, k) in shapes {
            let vals: Vec<i16> = (0..n * k).map(|_| rhs_val()).collect();
            let rhs = PackedRhs::new(n, k, |c, d| vals[c * k + d]);
            let k4 = rhs.k_padded_u8();
            // The padding holds garbage on purpose: it must not matter.
            let lhs: Vec<u8> = (0..m * k4).map(|_| byte() as u8).collect();
            for offset in [0u8, 1, 128, 200, 255] {
                let mut want = vec![0; m * rhs.n_padded()];
                for i in 0..m {
                    for j in 0..n {
                        want[i * rhs.n_padded() + j] = (0..k)
                            .map(|d| {
                                (lhs[i * k4 + d] as i32 - offset as i32) * vals[j * k + d] as i32
                            })
                            .sum();
                    }
                }
                for isa in ALL.into_iter().filter(|isa| isa.available()) {
                    let mut out = vec![7; m * rhs.n_padded()];
                    gemm_u8(isa, &lhs, m, offset, &rhs, &mut out);
                    for i in 0..m {
                        assert_eq!(
                            out[i * rhs.n_padded()..i * rhs.n_padded() + n],
                            want[i * rhs.n_padded()..i * rhs.n_padded() + n],
                            "{isa:?} m={m} n={n} k={k} offset={offset} row {i}"
                        );
                    }
                }
            }
        }
    }

    const U8_SHAPES: [(usize, usize, usize); 8] = [
        (1, 1, 1),
        (3, 5, 17),
        (9, 33, 64),
        (17, 48, 27),
        (8, 16, 4),
        (13, 64, 100),
        (25, 40, 7),
        (2, 100, 300),
    ];

    #[test]
    fn gemm_u8_matches_reference_with_i8_weights() {
        check_u8(&U8_SHAPES, lcg(12, 256, 128));
        check_u8(&U8_SHAPES[..4], || -128);
        check_u8(&U8_SHAPES[..4], || 127);
    }

    #[test]
    fn gemm_u8_requant_matches_gemm_u8_then_the_stage() {
        use super::super::output_stage::OutputStage;
        use super::super::requant::{QuantizedMultiplier, Rounding};
        let isa = detect();
        let mut w = lcg(21, 256, 128);
        let mut byte = lcg(22, 256, 0);
        let mut any = lcg(23, 65536, 0);
        for &(m, n, k) in &U8_SHAPES {
            let vals: Vec<i16> = (0..n * k).map(|_| w()).collect();
            let rhs = PackedRhs::new(n, k, |c, d| vals[c * k + d]);
            let lhs: Vec<u8> = (0..m * rhs.k_padded_u8()).map(|_| byte() as u8).collect();
            for (offset, out_zp, lo, hi) in
                [(0u8, 0, -128, 127), (131, -5, -128, 127), (7, 3, 0, 255)]
            {
                let bias: Vec<i32> = (0..n).map(|_| (any() as i32 - 32768) * 9).collect();
                let mult: Vec<QuantizedMultiplier> = (0..n)
                    .map(|c| QuantizedMultiplier {
                        multiplier: (1 << 30) + (any() as i32) * 16_000,
                        // Right shifts 0..=12 and a few left shifts.
                        shift: (c % 15) as i32 - 12,
                    })
                    .collect();
                let stage = OutputStage::new(bias, &mult, out_zp, lo, hi, Rounding::DoubleUpward);
                let mut acc = vec![0; m * rhs.n_padded()];
                gemm_u8(isa, &lhs, m, offset, &rhs, &mut acc);
                let mut want = vec![0u8; m * n];
                for (r, o) in want.chunks_exact_mut(n).enumerate() {
                    stage.apply(&acc[r * rhs.n_padded()..r * rhs.n_padded() + n], o);
                }
                let params = stage.upward_params().expect("upward rounding, no tail");
                match rhs.fuse_u8(isa, offset, &params) {
                    Some(fused) => {
                        // Guard bytes after the output must stay untouched.
                        let mut got = vec![0xa5u8; m * n + 16];
                        gemm_u8_requant(isa, &lhs, m, &rhs, &fused, &mut got);
                        assert_eq!(got[..m * n], want[..], "m={m} n={n} k={k} offset={offset}");
                        assert!(
                            got[m * n..].iter().all(|&b| b == 0xa5),
                            "wrote past the end"
                        );
                        // Per-row terms: the same as adding them to the accumulators.
                        let terms: Vec<i32> = (0..m).map(|_| (any() as i32 - 32768) * 5).collect();
                        let mut want_rows = vec![0u8; m * n];
                        for (r, o) in want_rows.chunks_exact_mut(n).enumerate() {
                            let row: Vec<i32> = acc[r * rhs.n_padded()..r * rhs.n_padded() + n]
                                .iter()
                                .map(|&a| a + terms[r])
                                .collect();
                            stage.apply(&row, o);
                        }
                        let mut got = vec![0xa5u8; m * n + 16];
                        gemm_u8_requant_rows(isa, &lhs, m, &rhs, &fused, &terms, &mut got);
                        assert_eq!(got[..m * n], want_rows[..], "rows m={m} n={n} k={k}");
                        assert!(
                            got[m * n..].iter().all(|&b| b == 0xa5),
                            "wrote past the end"
                        );
                    }
                    None => assert!(!rhs.fast_u8(isa), "{isa:?} has a fast loop but no fusion"),
                }
            }
        }
    }

    #[test]
    fn gemm_u8_matches_reference_with_wide_weights() {
        // Weights outside `i8` take the portable loop (no fast packing).
        check_u8(&U8_SHAPES[..5], lcg(13, 511, 255));
    }

    /// Runs every available inner loop on random `m x n x k` products with lhs values from
    /// `lhs_val` and weights from `rhs_val` and compares with [`reference`].
    fn check_all(
        shapes: &[(usize, usize, usize)],
        mut lhs_val: impl FnMut() -> i16,
        mut rhs_val: impl FnMut() -> i16,
    ) {
        assert!(detect().available());
        for &(m, n, k) in shapes {
            let vals: Vec<i16> = (0..n * k).map(|_| rhs_val()).collect();
            let rhs = PackedRhs::new(n, k, |c, d| vals[c * k + d]);
            let mut lhs = vec![0i16; m * rhs.k_padded()];
            for i in 0..m {
                for d in 0..k {
                    lhs[i * rhs.k_padded() + d] = lhs_val();
                }
            }
            let want = reference(&lhs, m, &rhs);
            for isa in ALL.into_iter().filter(|isa| isa.available()) {
                let mut out = vec![0; m * rhs.n_padded()];
                gemm(isa, &lhs, m, &rhs, &mut out);
                assert_eq!(out, want, "{isa:?} m={m} n={n} k={k}");
            }
        }
    }

    fn lcg(seed: u32, modulus: u32, offset: i16) -> impl FnMut() -> i16 {
        let mut seed = seed;
        move || {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            ((seed >> 16) % modulus) as i16 - offset
        }
    }

    const SHAPES: [(usize, usize, usize); 9] = [
        (1, 1, 1),
        (3, 5, 17),
        (8, 4, 16),
        (7, 9, 100),
        (2, 33, 255),
        (13, 40, 3),
        (5, 16, 6),
        (4, 17, 2),
        (9, 31, 64),
    ];

    #[test]
    fn all_isas_match_reference() {
        // Weights in [-255, 255] (8-bit with a zero point): no i8 packing.
        check_all(&SHAPES, lcg(7, 511, 255), lcg(8, 511, 255));
    }

    #[test]
    fn all_isas_match_reference_with_i8_weights() {
        // Symmetric int8 weights (the dot-product packing applies), lhs over the whole range.
        check_all(&SHAPES, lcg(3, 511, 255), lcg(4, 256, 128));
        // Extremes.
        let mut flip = false;
        check_all(
            &SHAPES,
            move || {
                flip = !flip;
                if flip {
                    255
                } else {
                    -255
                }
            },
            || -128,
        );
        check_all(&SHAPES, || 64, || 127);
        check_all(&SHAPES, || -65, || -128);
    }

    #[test]
    fn all_isas_match_reference_with_wide_lhs() {
        // lhs values outside [-255, 255] make the dot-product path fall back.
        check_all(&SHAPES[..4], lcg(5, 4001, 2000), lcg(6, 256, 128));
    }

    #[test]
    fn detect_follows_the_cpu_and_the_portable_switch() {
        let portable = std::env::var_os(super::super::cpu_features::PORTABLE_ENV).is_some();
        let isa = detect();
        eprintln!("gemm inner loop: {isa:?}");
        if portable {
            assert_eq!(isa, Isa::Portable);
        }
        #[cfg(target_arch = "aarch64")]
        {
            let dot = std::arch::is_aarch64_feature_detected!("dotprod");
            let want = match (portable, dot) {
                (true, _) => Isa::Portable,
                (false, true) => Isa::NeonDot,
                (false, false) => Isa::Neon,
            };
            assert_eq!(isa, want);
        }
        #[cfg(target_arch = "x86_64")]
        if !portable && std::is_x86_feature_detected!("avx2") {
            let vnni = std::env::var_os(super::super::cpu_features::NO_AVX512_ENV).is_none()
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni");
            assert_eq!(isa, if vnni { Isa::Avx512Vnni } else { Isa::Avx2 });
        }
    }
}
