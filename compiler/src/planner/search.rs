//! The exact search behind `balanced`, `profiled` and replication: the layout with the least
//! bottleneck under the cost model, ties broken by latency, then bytes crossing cuts, then TPUs.
//!
//! A segment `s..e` costs `T[s][e]` ms on one TPU. Run on `r` TPUs taking inferences in turn, it
//! delivers a result every `(T[s][e] + h) / r` ms, `h` being the host overhead per stage. When
//! the TPUs share one host wire ([`SegmentCostFn::shared_link`]), the wire must also carry
//! every segment's traffic, `X[s][e]` ms, for each inference: the bottleneck is
//! `max(max over segments of (T + h) / r, S)` with `S` the sum of `X` over the segments.
//!
//! Let `F(θ)` be the least `S` of a layout whose every interval is at most `θ` (a dynamic
//! programme over (TPUs or segments used, end position), `O(U L^2)`). `F` never rises as `θ`
//! grows, so with the candidate intervals `C` sorted, the first `c` in `C` with `c >= F(c)`
//! gives the optimum `min(c, F(c_prev))`: below `c` every layout is bound by its wire time,
//! at least `F(c_prev)`; from `c` on by its interval, at least `c`. A binary search finds `c`.
//! Without a shared wire `F` is 0 or infinite, and a direct min-max programme over the same
//! states finds the optimum in one pass (`O(U L^2)` for segments, `O(U^2 L^2)` with copies).
//!
//! The tie-break is a second programme over the same states, minimising (latency, bytes)
//! among layouts within the optimum, each segment on the fewest TPUs that keep it within. When
//! the wire sets the optimum (`S = F` is then the least wire time of any layout within it),
//! the programme minimises (wire time, latency, bytes) instead, which is exact too. In the
//! remaining case (the interval sets the optimum but the least-latency layout within it would
//! overload the wire) the layout with least wire time is taken: its bottleneck is optimal,
//! its latency may not be the least.

use super::layout::Layout;
use super::strategy::{cmp_ms, SegmentCostFn};
use crate::cost::pipeline::stage_interval_ms;
use std::cmp::Ordering;

/// Every candidate segment's cost and wire time, and the bytes across every cut.
pub struct CostTable {
    rows: Vec<Vec<f64>>,
    links: Vec<Vec<f64>>,
    cut_bytes: Vec<u64>,
    shared: bool,
}

impl CostTable {
    /// Evaluates every candidate segment of `cost`.
    pub fn new(cost: &dyn SegmentCostFn) -> CostTable {
        let len = cost.len();
        let shared = cost.shared_link();
        let (rows, links) = (0..len)
            .map(|s| {
                if shared {
                    cost.rows(s)
                } else {
                    (cost.row(s), Vec::new())
                }
            })
            .unzip();
        CostTable {
            rows,
            links,
            cut_bytes: (0..=len)
                .map(|c| {
                    if c == 0 || c == len {
                        0
                    } else {
                        cost.cut_bytes(c)
                    }
                })
                .collect(),
            shared,
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

    /// The wire time of positions `s..e` counted against a shared wire (0 when not shared).
    pub fn wire(&self, s: usize, e: usize) -> f64 {
        if self.shared {
            self.links[s][e - s - 1]
        } else {
            0.0
        }
    }

    /// Bytes live across cut `c` (0 at the model's ends, `c == 0` or `c == len`).
    pub fn cut_bytes(&self, c: usize) -> u64 {
        self.cut_bytes[c]
    }
}

/// What a layout may look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Exactly `n` segments, one TPU each.
    Segments(usize),
    /// At most `n` TPUs in total, any number of segments, each on one or more TPUs.
    Replicated(usize),
}

impl Shape {
    fn units(self) -> usize {
        match self {
            Shape::Segments(n) | Shape::Replicated(n) => n,
        }
    }
}

/// The searcher for one table, shape and host overhead per stage.
struct Search<'t> {
    table: &'t CostTable,
    shape: Shape,
    host: f64,
}

/// One state of a programme: the best way found to reach (units, end).
#[derive(Clone, Copy)]
struct Step {
    /// What is minimised, in order.
    key: (f64, f64, u64),
    wire: f64,
    from: usize,
    units: usize,
}

/// How the second programme orders layouts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Least wire time only (the feasibility programme).
    Wire,
    /// Latency, then bytes.
    Latency,
    /// Wire time, then latency, then bytes.
    WireThenLatency,
}

fn key_less(a: (f64, f64, u64), b: (f64, f64, u64)) -> bool {
    match cmp_ms(a.0, b.0) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => match cmp_ms(a.1, b.1) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a.2 < b.2,
        },
    }
}

impl Search<'_> {
    /// TPUs (or segments) segment `s..e` needs to stay within `bound`, if it can.
    fn units_for(&self, s: usize, e: usize, bound: f64) -> Option<usize> {
        let t = self.table.get(s, e);
        let within =
            |r: usize| cmp_ms(stage_interval_ms(t, self.host, r), bound) != Ordering::Greater;
        match self.shape {
            Shape::Segments(_) => within(1).then_some(1),
            Shape::Replicated(n) => {
                let guess = ((t + self.host) / bound).floor();
                let start = if guess.is_finite() && guess >= 2.0 {
                    (guess as usize - 1).min(n)
                } else {
                    1
                };
                (start..=n).find(|&r| within(r))
            }
        }
    }

    /// The programme over (units, end) for layouts within `bound`, ordered by `order`. Returns
    /// the best end state (units used, step) and the table for the backtrack.
    fn programme(&self, bound: f64, order: Order) -> Option<(usize, Vec<Vec<Option<Step>>>)> {
        let len = self.table.len();
        let units = self.shape.units();
        let mut d: Vec<Vec<Option<Step>>> = vec![vec![None; len + 1]; units + 1];
        d[0][0] = Some(Step {
            key: (0.0, 0.0, 0),
            wire: 0.0,
            from: 0,
            units: 0,
        });
        for e in 1..=len {
            for s in 0..e {
                let Some(r) = self.units_for(s, e, bound) else {
                    continue;
                };
                let t = self.table.get(s, e) + self.host;
                let x = self.table.wire(s, e);
                let bytes = self.table.cut_bytes(s);
                for u in r..=units {
                    let Some(p) = d[u - r][s] else { continue };
                    let wire = p.wire + x;
                    let key = match order {
                        Order::Wire => (wire, 0.0, 0),
                        Order::Latency => (p.key.0 + t, p.key.1, p.key.2 + bytes),
                        Order::WireThenLatency => (wire, p.key.1 + t, p.key.2 + bytes),
                    };
                    if d[u][e].as_ref().map_or(true, |cur| key_less(key, cur.key)) {
                        d[u][e] = Some(Step {
                            key,
                            wire,
                            from: s,
                            units: r,
                        });
                    }
                }
            }
        }
        let ends: Vec<usize> = match self.shape {
            Shape::Segments(n) => vec![n],
            Shape::Replicated(n) => (1..=n).collect(),
        };
        let mut best: Option<(usize, Step)> = None;
        for u in ends {
            if let Some(step) = d[u][len] {
                if best
                    .as_ref()
                    .map_or(true, |(_, b)| key_less(step.key, b.key))
                {
                    best = Some((u, step));
                }
            }
        }
        best.map(|(u, _)| (u, d))
    }

    /// The least bottleneck without a shared wire, by a direct min-max programme (what the
    /// binary search would find, in one pass): `b[u][e]` = the least slowest interval of
    /// positions `0..e` on `u` units (exactly `u` segments, or at most `u` TPUs).
    fn least_interval(&self) -> f64 {
        let len = self.table.len();
        let inf = f64::INFINITY;
        match self.shape {
            Shape::Segments(n) => {
                let mut b: Vec<f64> = (0..=len)
                    .map(|e| {
                        if e == 0 {
                            inf
                        } else {
                            self.table.get(0, e) + self.host
                        }
                    })
                    .collect();
                for k in 2..=n {
                    b = (0..=len)
                        .map(|e| {
                            (k - 1..e)
                                .map(|s| b[s].max(self.table.get(s, e) + self.host))
                                .fold(inf, f64::min)
                        })
                        .collect();
                }
                b[len]
            }
            Shape::Replicated(n) => {
                let mut b = vec![vec![inf; len + 1]; n + 1];
                for row in b.iter_mut() {
                    row[0] = 0.0;
                }
                for u in 1..=n {
                    for e in 1..=len {
                        let mut best = inf;
                        for r in 1..=u {
                            for (s, &prev) in b[u - r][..e].iter().enumerate() {
                                if prev < best {
                                    let t = self.table.get(s, e);
                                    best = best.min(prev.max(stage_interval_ms(t, self.host, r)));
                                }
                            }
                        }
                        b[u][e] = best;
                    }
                }
                b[n][len]
            }
        }
    }

    /// `F(bound)`: the least wire time of a layout within `bound` (infinite if none).
    fn least_wire(&self, bound: f64) -> f64 {
        match self.programme(bound, Order::Wire) {
            Some((u, d)) => d[u][self.table.len()].map_or(f64::INFINITY, |s| s.wire),
            None => f64::INFINITY,
        }
    }

    fn backtrack(&self, mut u: usize, d: &[Vec<Option<Step>>]) -> Layout {
        let mut cuts = Vec::new();
        let mut replicas = Vec::new();
        let mut e = self.table.len();
        while e > 0 {
            let step = d[u][e].expect("the backtrack follows recorded states");
            replicas.push(step.units);
            if step.from > 0 {
                cuts.push(step.from);
            }
            u -= step.units;
            e = step.from;
        }
        cuts.reverse();
        replicas.reverse();
        Layout { cuts, replicas }
    }
}

/// The optimal layout of `table` in `shape` with `host` ms of host overhead on every stage.
/// `None` when no layout exists (more segments than positions, or no positions).
pub(crate) fn optimal_layout(table: &CostTable, shape: Shape, host: f64) -> Option<Layout> {
    let len = table.len();
    let units = shape.units();
    if len == 0 || units == 0 || matches!(shape, Shape::Segments(n) if n > len) {
        return None;
    }
    let search = Search { table, shape, host };
    if !table.shared {
        // Without a shared wire the optimum is the least slowest interval.
        let bound = search.least_interval();
        let (u, d) = search.programme(bound, Order::Latency)?;
        return Some(search.backtrack(u, &d));
    }
    // Candidate intervals, ascending.
    let max_r = match shape {
        Shape::Segments(_) => 1,
        Shape::Replicated(n) => n,
    };
    let mut candidates = Vec::with_capacity(len * (len + 1) / 2 * max_r);
    for s in 0..len {
        for e in s + 1..=len {
            let t = table.get(s, e);
            for r in 1..=max_r {
                candidates.push(stage_interval_ms(t, host, r));
            }
        }
    }
    candidates.sort_by(|a, b| a.total_cmp(b));
    candidates.dedup();
    // First candidate c with c >= F(c).
    let interval_bound = |c: f64| -> bool {
        let f = search.least_wire(c);
        f.is_finite() && cmp_ms(c, f) != Ordering::Less
    };
    let k = candidates.partition_point(|&c| !interval_bound(c));
    let (bound, wire_bound) = if k == candidates.len() {
        let last = *candidates.last()?;
        (search.least_wire(last), true)
    } else if k == 0 {
        (candidates[0], false)
    } else {
        let below = search.least_wire(candidates[k - 1]);
        if below < candidates[k] {
            (below, true)
        } else {
            (candidates[k], false)
        }
    };
    if !bound.is_finite() {
        return None;
    }
    if !wire_bound {
        let (u, d) = search.programme(bound, Order::Latency)?;
        let best = d[u][len].expect("end state");
        if cmp_ms(best.wire, bound) != Ordering::Greater {
            return Some(search.backtrack(u, &d));
        }
    }
    let (u, d) = search.programme(bound, Order::WireThenLatency)?;
    Some(search.backtrack(u, &d))
}
