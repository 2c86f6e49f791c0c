//! 64-byte aligned byte storage and the activation-arena planner.
//!
//! Every non-constant tensor gets a fixed offset in one arena. Offsets are assigned from tensor
//! lifetimes (first step that writes the tensor .. last step that reads it): tensors whose
//! lifetimes overlap never share bytes, so an operator's outputs never overlap its inputs.

use super::kernel::TENSOR_ALIGN;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Block([u8; TENSOR_ALIGN]);

/// A zero-initialised byte buffer whose start is 64-byte aligned.
pub struct AlignedBuf {
    blocks: Vec<Block>,
    len: usize,
}

impl AlignedBuf {
    /// A buffer of `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        AlignedBuf {
            blocks: vec![Block([0; TENSOR_ALIGN]); len.div_ceil(TENSOR_ALIGN)],
            len,
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `blocks` holds at least `len` initialised bytes laid out contiguously.
        unsafe { std::slice::from_raw_parts(self.blocks.as_ptr() as *const u8, self.len) }
    }

    /// The bytes, mutably.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, with unique access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_mut_ptr() as *mut u8, self.len) }
    }

    /// Raw pointer to the first byte (for handing out disjoint sub-slices).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.blocks.as_mut_ptr() as *mut u8
    }
}

/// Rounds `n` up to a multiple of [`TENSOR_ALIGN`].
pub fn align_up(n: usize) -> usize {
    n.div_ceil(TENSOR_ALIGN) * TENSOR_ALIGN
}

/// One buffer to place: its size and the inclusive range of steps during which it is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    /// Size in bytes.
    pub size: usize,
    /// First step at which the buffer is written.
    pub first: usize,
    /// Last step at which the buffer is read.
    pub last: usize,
}

impl Lifetime {
    fn overlaps(&self, other: &Lifetime) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// The planned layout: an aligned offset for every buffer and the total arena size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArenaPlan {
    /// Offset of each buffer, in the order given to [`plan`].
    pub offsets: Vec<usize>,
    /// Total bytes needed.
    pub size: usize,
}

/// Greedy-by-size placement: buffers are placed largest first, each at the lowest aligned offset
/// where it does not collide with an already placed buffer whose lifetime overlaps its own.
pub fn plan(buffers: &[Lifetime]) -> ArenaPlan {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_by(|&a, &b| {
        buffers[b]
            .size
            .cmp(&buffers[a].size)
            .then(buffers[a].first.cmp(&buffers[b].first))
            .then(a.cmp(&b))
    });
    let mut offsets = vec![0usize; buffers.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut size = 0usize;
    for &i in &order {
        let need = align_up(buffers[i].size);
        // Occupied ranges of live, already placed buffers, sorted by offset.
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&j| buffers[j].overlaps(&buffers[i]))
            .map(|&j| (offsets[j], offsets[j] + align_up(buffers[j].size)))
            .collect();
        busy.sort_unstable();
        let mut candidate = 0usize;
        let mut best: Option<(usize, usize)> = None; // (gap size, offset): best fit among gaps
        for &(start, end) in &busy {
            if start >= candidate + need {
                let gap = start - candidate;
                if !matches!(best, Some((g, _)) if g <= gap) {
                    best = Some((gap, candidate));
                }
            }
            candidate = candidate.max(end);
        }
        let offset = best.map_or(candidate, |(_, o)| o);
        offsets[i] = offset;
        size = size.max(offset + need);
        placed.push(i);
    }
    ArenaPlan { offsets, size }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(size: usize, first: usize, last: usize) -> Lifetime {
        Lifetime { size, first, last }
    }

    fn check_disjoint(buffers: &[Lifetime], p: &ArenaPlan) {
        for i in 0..buffers.len() {
            assert_eq!(p.offsets[i] % TENSOR_ALIGN, 0);
            assert!(p.offsets[i] + buffers[i].size <= p.size);
            for j in 0..i {
                if buffers[i].overlaps(&buffers[j]) && buffers[i].size > 0 && buffers[j].size > 0 {
                    let (a0, a1) = (p.offsets[i], p.offsets[i] + buffers[i].size);
                    let (b0, b1) = (p.offsets[j], p.offsets[j] + buffers[j].size);
                    assert!(a1 <= b0 || b1 <= a0, "buffers {i} and {j} collide: {p:?}");
                }
            }
        }
    }

    #[test]
    fn chain_reuses_memory() {
        // a -> b -> c -> d: only neighbours are alive together.
        let b = [
            lt(1000, 0, 1),
            lt(1000, 1, 2),
            lt(1000, 2, 3),
            lt(1000, 3, 4),
        ];
        let p = plan(&b);
        check_disjoint(&b, &p);
        assert_eq!(p.size, 2 * align_up(1000));
    }

    #[test]
    fn all_alive_needs_the_sum() {
        let b = [lt(10, 0, 5), lt(100, 0, 5), lt(64, 0, 5)];
        let p = plan(&b);
        check_disjoint(&b, &p);
        assert_eq!(p.size, 64 + 128 + 64);
    }

    #[test]
    fn random_plans_never_collide() {
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for _ in 0..50 {
            let n = 1 + next() % 30;
            let b: Vec<Lifetime> = (0..n)
                .map(|_| {
                    let first = next() % 20;
                    lt(next() % 5000, first, first + next() % 6)
                })
                .collect();
            check_disjoint(&b, &plan(&b));
        }
    }

    #[test]
    fn aligned_buf_is_aligned() {
        let mut a = AlignedBuf::zeroed(100);
        assert_eq!(a.as_bytes().as_ptr() as usize % 64, 0);
        assert_eq!(a.len(), 100);
        a.as_bytes_mut()[99] = 7;
        assert_eq!(a.as_bytes()[99], 7);
    }
}
