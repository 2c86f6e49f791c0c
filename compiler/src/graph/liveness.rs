//! Which activations are alive across each cut of the execution order.

use std::collections::BTreeSet;
use tpupipe_runtime::TensorId;

/// When a tensor is available and until when it is needed, in terms of cuts and positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// The tensor.
    pub tensor: TensorId,
    /// The first cut it crosses: 0 for a model input, producer position + 1 otherwise.
    pub birth: usize,
    /// The last position that reads it.
    pub last_use: usize,
}

/// The tensors alive across every cut `0..=n_ops`, each list sorted by tensor id. A tensor is
/// alive across cut `c` (between positions `c - 1` and `c`) when `birth <= c <= last_use`.
///
/// One sweep over the cuts with a sorted working set: O((cuts + intervals) log live + output).
pub fn live_sets(n_ops: usize, intervals: &[Interval]) -> Vec<Vec<TensorId>> {
    let mut born: Vec<Vec<TensorId>> = vec![Vec::new(); n_ops + 1];
    let mut dies_after: Vec<Vec<TensorId>> = vec![Vec::new(); n_ops + 1];
    for iv in intervals {
        if iv.birth <= iv.last_use && iv.birth <= n_ops {
            born[iv.birth].push(iv.tensor);
            dies_after[iv.last_use.min(n_ops)].push(iv.tensor);
        }
    }
    let mut live: BTreeSet<TensorId> = BTreeSet::new();
    let mut out = Vec::with_capacity(n_ops + 1);
    for cut in 0..=n_ops {
        live.extend(born[cut].iter().copied());
        out.push(live.iter().copied().collect());
        for t in &dies_after[cut] {
            live.remove(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(t: u32, birth: usize, last_use: usize) -> Interval {
        Interval {
            tensor: TensorId(t),
            birth,
            last_use,
        }
    }

    #[test]
    fn sweep_matches_interval_definition() {
        let ivs = [iv(5, 0, 0), iv(1, 1, 3), iv(2, 2, 2), iv(3, 3, 3)];
        let sets = live_sets(4, &ivs);
        let ids = |v: &[u32]| v.iter().map(|&i| TensorId(i)).collect::<Vec<_>>();
        assert_eq!(sets[0], ids(&[5]));
        assert_eq!(sets[1], ids(&[1]));
        assert_eq!(sets[2], ids(&[1, 2]));
        assert_eq!(sets[3], ids(&[1, 3]));
        assert_eq!(sets[4], ids(&[]));
    }
}
