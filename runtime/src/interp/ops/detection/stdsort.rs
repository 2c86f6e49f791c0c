//! The two orderings of TFLite's detection kernel that depend on how ties are broken:
//! `optimized_ops::ArgMaxVector` (the first maximum) and libstdc++'s `std::partial_sort`
//! (`__heap_select` then `__sort_heap`, which is not stable). Both are reproduced step by step so
//! that equal scores, common with quantized inputs, come out in LiteRT's order.
//!
//! The heap routines follow libstdc++'s `stl_heap.h` / `stl_algo.h` (GCC 4.x onward, unchanged
//! since): `__make_heap`, `__adjust_heap` (sift the hole down to a leaf, then push the value back
//! up), `__push_heap`, `__pop_heap`. Index arithmetic is signed, as in the C++ (`(0 - 1) / 2` is 0).

/// Index of the first maximum of `values` (a later value wins only if strictly greater), as
/// `ArgMaxVector`; 0 for an empty slice.
pub fn first_arg_max(values: &[f32]) -> usize {
    let Some(&first) = values.first() else {
        return 0;
    };
    let (mut best, mut best_i) = (first, 0);
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > best {
            best = v;
            best_i = i;
        }
    }
    best_i
}

/// `DecreasingPartialArgSort`: fills `indices[..num_to_sort]` with the indices of the largest
/// `values`, largest first. With `num_to_sort == 1` only `indices[0]` is written (the first
/// maximum); otherwise `indices` (as long as `values`) holds a permutation whose first
/// `num_to_sort` entries are sorted as `std::partial_sort` leaves them.
pub fn decreasing_partial_arg_sort(values: &[f32], num_to_sort: usize, indices: &mut [usize]) {
    if num_to_sort == 1 {
        indices[0] = first_arg_max(values);
        return;
    }
    for (k, slot) in indices.iter_mut().enumerate().take(values.len()) {
        *slot = k;
    }
    let greater = |i: usize, j: usize| values[i] > values[j];
    partial_sort(&mut indices[..values.len()], num_to_sort, &greater);
}

/// libstdc++ `std::partial_sort(v, v + middle, v + v.len(), comp)`.
pub fn partial_sort(v: &mut [usize], middle: usize, comp: &dyn Fn(usize, usize) -> bool) {
    if middle == 0 {
        return;
    }
    heap_select(v, middle, comp);
    sort_heap(v, middle, comp);
}

fn heap_select(v: &mut [usize], middle: usize, comp: &dyn Fn(usize, usize) -> bool) {
    make_heap(v, middle, comp);
    for i in middle..v.len() {
        if comp(v[i], v[0]) {
            pop_heap(v, middle, i, comp);
        }
    }
}

fn sort_heap(v: &mut [usize], mut last: usize, comp: &dyn Fn(usize, usize) -> bool) {
    while last > 1 {
        last -= 1;
        pop_heap(v, last, last, comp);
    }
}

fn make_heap(v: &mut [usize], len: usize, comp: &dyn Fn(usize, usize) -> bool) {
    if len < 2 {
        return;
    }
    let len = len as isize;
    let mut parent = (len - 2) / 2;
    loop {
        let value = v[parent as usize];
        adjust_heap(v, parent, len, value, comp);
        if parent == 0 {
            return;
        }
        parent -= 1;
    }
}

/// `__pop_heap(first, first + last, first + result)`: moves the top to `result` and re-heaps
/// `v[..last]` around the value that was at `result`.
fn pop_heap(v: &mut [usize], last: usize, result: usize, comp: &dyn Fn(usize, usize) -> bool) {
    let value = v[result];
    v[result] = v[0];
    adjust_heap(v, 0, last as isize, value, comp);
}

fn adjust_heap(
    v: &mut [usize],
    mut hole: isize,
    len: isize,
    value: usize,
    comp: &dyn Fn(usize, usize) -> bool,
) {
    let top = hole;
    let mut second = hole;
    while second < (len - 1) / 2 {
        second = 2 * (second + 1);
        if comp(v[second as usize], v[(second - 1) as usize]) {
            second -= 1;
        }
        v[hole as usize] = v[second as usize];
        hole = second;
    }
    if len & 1 == 0 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        v[hole as usize] = v[(second - 1) as usize];
        hole = second - 1;
    }
    push_heap(v, hole, top, value, comp);
}

fn push_heap(
    v: &mut [usize],
    mut hole: isize,
    top: isize,
    value: usize,
    comp: &dyn Fn(usize, usize) -> bool,
) {
    let mut parent = (hole - 1) / 2;
    while hole > top && comp(v[parent as usize], value) {
        v[hole as usize] = v[parent as usize];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    v[hole as usize] = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency needed).
    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn partial_sort_puts_the_largest_first_in_order() {
        let mut seed = 7;
        for n in 2..40 {
            for k in 2..=n {
                let values: Vec<f32> = (0..n).map(|_| (lcg(&mut seed) % 5) as f32).collect();
                let mut idx = vec![0; n];
                decreasing_partial_arg_sort(&values, k, &mut idx);
                let mut sorted = values.clone();
                sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
                let got: Vec<f32> = idx[..k].iter().map(|&i| values[i]).collect();
                assert_eq!(got, sorted[..k], "n={n} k={k}");
                let mut perm = idx.clone();
                perm.sort_unstable();
                assert_eq!(perm, (0..n).collect::<Vec<_>>(), "a permutation");
            }
        }
    }

    /// The tie order of libstdc++'s heap-based partial sort: the expected permutations (whole
    /// index arrays after the call) were printed by g++ 13 `std::partial_sort` with the same
    /// comparator on the same values.
    #[test]
    fn ties_come_out_in_libstdcxx_order() {
        let cases: [(&[f32], usize, &[usize]); 5] = [
            (&[1.0; 4], 4, &[1, 3, 0, 2]),
            (&[1.0; 5], 2, &[0, 1, 2, 3, 4]),
            (&[2.0, 1.0, 2.0, 2.0, 1.0, 2.0], 3, &[3, 0, 2, 1, 4, 5]),
            (
                &[3.0, 1.0, 3.0, 2.0, 3.0, 3.0, 1.0, 2.0, 3.0],
                4,
                &[4, 0, 5, 2, 1, 3, 6, 7, 8],
            ),
            (&[1.0; 10], 10, &[8, 9, 4, 7, 5, 3, 1, 0, 2, 6]),
        ];
        for (values, k, want) in cases {
            let mut idx = vec![0; values.len()];
            decreasing_partial_arg_sort(values, k, &mut idx);
            assert_eq!(idx, want, "{values:?} k={k}");
        }
    }

    #[test]
    fn arg_max_takes_the_first_maximum() {
        assert_eq!(first_arg_max(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(first_arg_max(&[0.0, -0.0]), 0);
        assert_eq!(first_arg_max(&[-0.0, 0.0]), 0);
        assert_eq!(first_arg_max(&[]), 0);
    }
}
