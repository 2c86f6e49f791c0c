//! Which segments a measuring round runs: the current plan's segments, then those of the
//! neighbouring plans the costs rank best.
//!
//! A neighbouring plan moves one cut of the current plan by 1, 2, 4, ... up to `shift`
//! positions either way (keeping the cuts strictly increasing), so it differs from the plan in
//! exactly the two segments beside that cut. There are at most `2 log2(shift) (N - 1)` + 2 of
//! them: near steps refine, far ones let a cut travel when the model misjudged a whole region. They are ranked
//! by their bottleneck (then latency) under the current costs, and the segments of the best
//! `neighbours` plans with a segment not yet measured are measured along with the plan's own:
//! at most `N + 2 * neighbours` segments per round. A round with nothing to measure means the
//! plan is the best under the costs and every neighbouring plan has been measured: a local
//! optimum of the measurements.

use std::cmp::Ordering;
use std::collections::HashSet;

/// Ranks a plan (its cuts): bottleneck and latency, ms; `None` when it cannot be evaluated.
pub type Rank<'a> = dyn Fn(&[usize]) -> Option<(f64, f64)> + 'a;

/// One segment to measure: its range and its index in the plan it belongs to (which names its
/// compiled file, `<stem>_segment_<index>_of_<N>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Positions `[start, end)`.
    pub op_range: [usize; 2],
    /// Its index in its plan.
    pub index: usize,
}

/// The segments of `cuts` over `ops` positions, each with its index.
pub fn plan_segments(cuts: &[usize], ops: usize) -> Vec<Candidate> {
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(cuts);
    bounds.push(ops);
    bounds
        .windows(2)
        .enumerate()
        .map(|(index, w)| Candidate {
            op_range: [w[0], w[1]],
            index,
        })
        .collect()
}

/// The shifts tried: the powers of two up to `shift` (1, 2, 4, ...).
pub fn shifts(shift: usize) -> Vec<usize> {
    std::iter::successors(Some(1usize), |d| d.checked_mul(2))
        .take_while(|&d| d <= shift)
        .collect()
}

/// Every plan that moves one cut of `cuts` by one of [`shifts`]`(shift)` positions, as (cut
/// index, new cuts).
pub fn neighbour_plans(cuts: &[usize], ops: usize, shift: usize) -> Vec<(usize, Vec<usize>)> {
    let mut out = Vec::new();
    for i in 0..cuts.len() {
        let low = if i == 0 { 1 } else { cuts[i - 1] + 1 };
        let high = if i + 1 == cuts.len() {
            ops - 1
        } else {
            cuts[i + 1] - 1
        };
        for d in shifts(shift) {
            for moved in [cuts[i].checked_sub(d), cuts[i].checked_add(d)]
                .into_iter()
                .flatten()
            {
                if moved >= low && moved <= high {
                    let mut c = cuts.to_vec();
                    c[i] = moved;
                    out.push((i, c));
                }
            }
        }
    }
    out
}

/// The segments a round measures: the plan's own segments, then the two changed segments of
/// each of the `neighbours` best-ranked neighbouring plans (`rank` gives a plan's bottleneck
/// and latency, `None` when it cannot be evaluated), skipping those in `known` (measured or
/// excluded) and repeats.
pub fn round_candidates(
    cuts: &[usize],
    ops: usize,
    shift: usize,
    neighbours: usize,
    known: &HashSet<[usize; 2]>,
    rank: &Rank<'_>,
) -> Vec<Candidate> {
    let mut seen: HashSet<[usize; 2]> = known.clone();
    let mut out = Vec::new();
    let mut take = |c: Candidate, out: &mut Vec<Candidate>| {
        if seen.insert(c.op_range) {
            out.push(c);
        }
    };
    for c in plan_segments(cuts, ops) {
        take(c, &mut out);
    }
    let mut ranked: Vec<((f64, f64), usize, Vec<usize>)> = neighbour_plans(cuts, ops, shift)
        .into_iter()
        .filter_map(|(i, c)| rank(&c).map(|r| (r, i, c)))
        .filter(|(r, _, _)| r.0.is_finite())
        .collect();
    ranked.sort_by(|a, b| {
        a.0 .0
            .partial_cmp(&b.0 .0)
            .unwrap_or(Ordering::Equal)
            .then(a.0 .1.partial_cmp(&b.0 .1).unwrap_or(Ordering::Equal))
    });
    // The best `neighbours` plans that still have something to measure.
    let mut taken = 0;
    for (_, i, c) in ranked {
        if taken == neighbours {
            break;
        }
        let segs = plan_segments(&c, ops);
        let before = out.len();
        take(segs[i], &mut out);
        take(segs[i + 1], &mut out);
        taken += usize::from(out.len() > before);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_move_one_cut_and_keep_the_cuts_increasing() {
        let n = neighbour_plans(&[2, 4], 6, 2);
        let plans: Vec<Vec<usize>> = n.iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(plans, vec![vec![1, 4], vec![3, 4], vec![2, 3], vec![2, 5]]);
        assert_eq!(shifts(8), vec![1, 2, 4, 8]);
        assert_eq!(shifts(6), vec![1, 2, 4]);
        let far: Vec<Vec<usize>> = neighbour_plans(&[10], 30, 8)
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        assert_eq!(far.len(), 8);
        assert!(far.contains(&vec![2]) && far.contains(&vec![18]));
        assert!(neighbour_plans(&[], 5, 2).is_empty());
    }

    #[test]
    fn a_round_takes_the_plan_then_the_best_neighbours_segments() {
        // Lower cuts rank better here.
        let rank = |c: &[usize]| Some((c[0] as f64, 0.0));
        let known: HashSet<[usize; 2]> = [[0, 5]].into_iter().collect();
        let got = round_candidates(&[5], 10, 2, 2, &known, &rank);
        let ranges: Vec<[usize; 2]> = got.iter().map(|c| c.op_range).collect();
        // [0,5) is known; then the plan's [5,10); then cut 3 and cut 4.
        assert_eq!(ranges, vec![[5, 10], [0, 3], [3, 10], [0, 4], [4, 10]]);
        // Measured neighbours give way to the next ones.
        let known: HashSet<[usize; 2]> = [[0, 5], [5, 10], [0, 3], [3, 10]].into_iter().collect();
        let got = round_candidates(&[5], 10, 2, 2, &known, &rank);
        let ranges: Vec<[usize; 2]> = got.iter().map(|c| c.op_range).collect();
        assert_eq!(ranges, vec![[0, 4], [4, 10], [0, 6], [6, 10]]);
        assert!(got
            .iter()
            .all(|c| c.index == usize::from(c.op_range[0] > 0)));
        // Unevaluable or infinite neighbours are never taken.
        let none = |_: &[usize]| Some((f64::INFINITY, 0.0));
        assert_eq!(
            round_candidates(&[5], 10, 2, 2, &HashSet::new(), &none).len(),
            2
        );
    }
}
