//! The `balanced` strategy: the exact optimum of the slowest stage over all cut positions.
//!
//! Two dynamic programmes over a table of every candidate segment's cost
//! (`T[s][e]` = cost of positions `s..e`, `L(L+1)/2` entries):
//!
//! 1. `B[k][e]` = the smallest possible slowest stage when positions `0..e` form `k` segments:
//!    `B[1][e] = T[0][e]`, `B[k][e] = min over s of max(B[k-1][s], T[s][e])`. `B[N][L]` is the
//!    optimal bottleneck `B*` (exact: maxima of table entries involve no rounding).
//! 2. Among the plans whose every stage is at most `B*`, minimise (sum of stages, bytes crossing
//!    cuts) lexicographically, both additive, so a shortest-path DP over the same states is
//!    exact: this is the tie-break by end-to-end latency, then by transferred bytes.
//!
//! `O(N L^2)` time. With `allow_fewer`, every segment count `1..=N` is planned and the best
//! objective wins, a smaller count on ties.

use super::strategy::{cmp_ms, Objective, SegmentCostFn};
use super::{Cuts, PlanError};
use std::cmp::Ordering;

/// Every candidate segment's cost: `rows[s][e - s - 1]` = cost of `s..e`.
pub struct CostTable {
    rows: Vec<Vec<f64>>,
    cut_bytes: Vec<u64>,
}

impl CostTable {
    /// Evaluates every candidate segment of `cost`.
    pub fn new(cost: &dyn SegmentCostFn) -> CostTable {
        let len = cost.len();
        CostTable {
            rows: (0..len).map(|s| cost.row(s)).collect(),
            cut_bytes: (0..=len)
                .map(|c| {
                    if c == 0 || c == len {
                        0
                    } else {
                        cost.cut_bytes(c)
                    }
                })
                .collect(),
        }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True without positions.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The cost of positions `s..e` (`s < e <= len`).
    pub fn get(&self, s: usize, e: usize) -> f64 {
        self.rows[s][e - s - 1]
    }
}

/// The balanced cuts for exactly `segments` segments, from a precomputed table.
pub fn balanced_cuts_exact(table: &CostTable, segments: usize) -> Result<Vec<usize>, PlanError> {
    let len = table.len();
    Cuts::check_segment_count(segments, len)?;
    let n = segments;
    let inf = f64::INFINITY;
    // Phase 1: minimal bottleneck; `b[e]` for the current segment count k, e in k..=len.
    let mut b: Vec<f64> = (0..=len)
        .map(|e| if e == 0 { inf } else { table.get(0, e) })
        .collect();
    for k in 2..=n {
        b = (0..=len)
            .map(|e| {
                if e < k {
                    return inf;
                }
                (k - 1..e)
                    .map(|s| b[s].max(table.get(s, e)))
                    .fold(inf, f64::min)
            })
            .collect();
    }
    let bound = b[len];
    // Phase 2: among plans with every stage <= bound, least (sum, cut bytes).
    #[derive(Clone, Copy)]
    struct Best {
        sum: f64,
        bytes: u64,
        from: usize,
    }
    let better = |a: &Best, b: &Best| match cmp_ms(a.sum, b.sum) {
        Ordering::Less => true,
        Ordering::Equal => a.bytes < b.bytes,
        Ordering::Greater => false,
    };
    let first: Vec<Option<Best>> = (0..=len)
        .map(|e| {
            (e >= 1 && table.get(0, e) <= bound).then(|| Best {
                sum: table.get(0, e),
                bytes: 0,
                from: 0,
            })
        })
        .collect();
    let mut d: Vec<Vec<Option<Best>>> = vec![first];
    for k in 2..=n {
        let prev = &d[k - 2];
        let row: Vec<Option<Best>> = (0..=len)
            .map(|e| {
                if e < k {
                    return None;
                }
                let mut best: Option<Best> = None;
                for (s, p) in prev.iter().enumerate().take(e).skip(k - 1) {
                    let Some(p) = p else { continue };
                    let c = table.get(s, e);
                    if c > bound {
                        continue;
                    }
                    let cand = Best {
                        sum: p.sum + c,
                        bytes: p.bytes + table.cut_bytes[s],
                        from: s,
                    };
                    if best.as_ref().map_or(true, |b| better(&cand, b)) {
                        best = Some(cand);
                    }
                }
                best
            })
            .collect();
        d.push(row);
    }
    let mut cuts = Vec::with_capacity(n - 1);
    let mut e = len;
    for k in (2..=n).rev() {
        let s = d[k - 1][e]
            .expect("phase 1 found a plan within the bound, so phase 2 has one")
            .from;
        cuts.push(s);
        e = s;
    }
    cuts.reverse();
    Ok(cuts)
}

/// The balanced cuts for `segments` segments of `cost` (at most `segments` with
/// `allow_fewer`: fewer TPUs when more stages would be slower).
pub fn balanced_cuts(
    cost: &dyn SegmentCostFn,
    segments: usize,
    allow_fewer: bool,
) -> Result<Vec<usize>, PlanError> {
    Cuts::check_segment_count(segments, cost.len())?;
    let table = CostTable::new(cost);
    if !allow_fewer {
        return balanced_cuts_exact(&table, segments);
    }
    let mut best: Option<(Vec<usize>, Objective)> = None;
    for k in 1..=segments {
        let cuts = balanced_cuts_exact(&table, k)?;
        let obj = Objective::of(cost, &cuts);
        let improves = match &best {
            None => true,
            Some((_, b)) => obj.compare(b) == Ordering::Less,
        };
        if improves {
            best = Some((cuts, obj));
        }
    }
    Ok(best.map(|(c, _)| c).unwrap_or_default())
}
