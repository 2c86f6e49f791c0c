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
//!
//! **CPU stages.** When the cost allows them ([`SegmentCostFn::max_cpu_stages`]), a segment
//! may also be a CPU stage, costing its host time `C[s][e]` times the contention factor
//! `f(k) = max(1, k / cores)` of the plan's `k` CPU stages; Edge TPU candidates the compiler
//! would not map whole are infinite in the table. Because `f` depends on the whole plan, the
//! search runs once per bound `K` on CPU stages, with `f(K)` for every CPU stage and the states
//! extended by the CPU stages used (`(CPU stages, units, end)`), and keeps the best by the true
//! objective. Every layout a run returns costs at most what the run charged it (its `k <= K`
//! CPU stages contend at most `f(K)`), and the optimum with `k*` CPU stages is charged exactly
//! in the run `K = k*`, so the best of the runs is the optimum. Runs with `K <= cores` all
//! charge 1, so only `K = 0`, `K = min(cores, max)` and `cores < K <= max` are run. A run with
//! CPU stages has more than one stage, so it charges the host overhead of a pipeline. A CPU
//! stage holds Edge TPU operators only where [`cpu_stage_allowed`](super::strategy::cpu_stage_allowed)
//! says so for the shape's TPUs.

use super::layout::{Device, Layout};
use super::strategy::{cmp_ms, cpu_contention, Objective, SegmentCostFn};
use crate::cost::calibration::HOST_STAGE_OVERHEAD_MS;
use crate::cost::pipeline::stage_interval_ms;
use std::cmp::Ordering;

/// Every candidate segment's cost and wire time (Edge TPU) and host time (CPU stage), and the
/// bytes across every cut.
pub struct CostTable {
    rows: Vec<Vec<f64>>,
    links: Vec<Vec<f64>>,
    cpu: Vec<Vec<f64>>,
    max_cpu: usize,
    cores: usize,
    tpu_runs: usize,
    next_tpu: Vec<usize>,
    cut_bytes: Vec<u64>,
    shared: bool,
}

impl CostTable {
    /// Evaluates every candidate segment of `cost`.
    pub fn new(cost: &dyn SegmentCostFn) -> CostTable {
        let len = cost.len();
        let shared = cost.shared_link();
        let (rows, links) = (0..len).map(|s| cost.tpu_rows(s, shared)).unzip();
        let max_cpu = if len > 0 && cost.cpu_ms(0..1).is_some() {
            cost.max_cpu_stages()
        } else {
            0
        };
        let cpu = if max_cpu > 0 {
            (0..len)
                .map(|s| {
                    (s + 1..=len)
                        .map(|e| cost.cpu_ms(s..e).unwrap_or(f64::INFINITY))
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        CostTable {
            rows,
            links,
            cpu,
            max_cpu,
            cores: cost.host_cores().max(1),
            tpu_runs: cost.tpu_runs(),
            next_tpu: (0..=len).map(|s| cost.next_tpu_position(s)).collect(),
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

    /// Host time of a CPU stage over positions `s..e` on one core (infinite without CPU
    /// stages).
    pub fn cpu(&self, s: usize, e: usize) -> f64 {
        if self.max_cpu == 0 {
            f64::INFINITY
        } else {
            self.cpu[s][e - s - 1]
        }
    }

    /// Most CPU stages a layout may have.
    pub fn max_cpu_stages(&self) -> usize {
        self.max_cpu
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

/// The searcher for one table, shape, host overhead per stage and bound on CPU stages.
struct Search<'t> {
    table: &'t CostTable,
    shape: Shape,
    host: f64,
    /// Most CPU stages of this run.
    cpu_max: usize,
    /// True when CPU stages may hold Edge TPU operators (more runs of them than TPUs).
    absorb: bool,
    /// The contention factor every CPU stage of this run is charged.
    factor: f64,
}

/// One state of a programme: the best way found to reach (CPU stages, units, end).
#[derive(Clone, Copy)]
struct Step {
    /// What is minimised, in order.
    key: (f64, f64, u64),
    wire: f64,
    from: usize,
    units: usize,
    cpu: bool,
}

/// The states of a programme, `[CPU stages][units][end]`.
type States = Vec<Vec<Vec<Option<Step>>>>;

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
        if !t.is_finite() {
            return None;
        }
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

    /// The interval of a CPU stage over `s..e` in this run (infinite without CPU stages).
    fn cpu_interval(&self, s: usize, e: usize) -> f64 {
        if self.cpu_max == 0 || (!self.absorb && self.table.next_tpu[s] < e) {
            f64::INFINITY
        } else {
            self.table.cpu(s, e) * self.factor + self.host
        }
    }

    /// The end states a layout may finish in: (CPU stages, units).
    fn ends(&self) -> Vec<(usize, usize)> {
        let units: Vec<usize> = match self.shape {
            Shape::Segments(n) => vec![n],
            Shape::Replicated(n) => (1..=n).collect(),
        };
        (0..=self.cpu_max)
            .flat_map(|k| units.iter().map(move |&u| (k, u)))
            .collect()
    }

    /// The programme over (CPU stages, units, end) for layouts within `bound`, ordered by
    /// `order`. Returns the best end state and the table for the backtrack.
    fn programme(&self, bound: f64, order: Order) -> Option<((usize, usize), States)> {
        let len = self.table.len();
        let units = self.shape.units();
        let mut d: States = vec![vec![vec![None; len + 1]; units + 1]; self.cpu_max + 1];
        d[0][0][0] = Some(Step {
            key: (0.0, 0.0, 0),
            wire: 0.0,
            from: 0,
            units: 0,
            cpu: false,
        });
        let relax = |cur: &mut Option<Step>, p: Step, t: f64, x: f64, bytes: u64, from, r, cpu| {
            let wire = p.wire + x;
            let key = match order {
                Order::Wire => (wire, 0.0, 0),
                Order::Latency => (p.key.0 + t, p.key.1, p.key.2 + bytes),
                Order::WireThenLatency => (wire, p.key.1 + t, p.key.2 + bytes),
            };
            if cur.as_ref().map_or(true, |c| key_less(key, c.key)) {
                *cur = Some(Step {
                    key,
                    wire,
                    from,
                    units: r,
                    cpu,
                });
            }
        };
        for e in 1..=len {
            for s in 0..e {
                let bytes = self.table.cut_bytes(s);
                if let Some(r) = self.units_for(s, e, bound) {
                    let t = self.table.get(s, e) + self.host;
                    let x = self.table.wire(s, e);
                    for dk in d.iter_mut() {
                        for u in r..=units {
                            let Some(p) = dk[u - r][s] else { continue };
                            relax(&mut dk[u][e], p, t, x, bytes, s, r, false);
                        }
                    }
                }
                let c = self.cpu_interval(s, e);
                if c.is_finite() && cmp_ms(c, bound) != Ordering::Greater {
                    for k in 1..=self.cpu_max {
                        let (before, after) = d.split_at_mut(k);
                        for (prev, cur) in before[k - 1].iter().zip(after[0].iter_mut()) {
                            let Some(p) = prev[s] else { continue };
                            relax(&mut cur[e], p, c, 0.0, bytes, s, 0, true);
                        }
                    }
                }
            }
        }
        let mut best: Option<((usize, usize), Step)> = None;
        for (k, u) in self.ends() {
            if let Some(step) = d[k][u][len] {
                if best
                    .as_ref()
                    .map_or(true, |(_, b)| key_less(step.key, b.key))
                {
                    best = Some(((k, u), step));
                }
            }
        }
        best.map(|(ku, _)| (ku, d))
    }

    /// The least bottleneck without a shared wire, by a direct min-max programme (what the
    /// binary search would find, in one pass): `b[k][u][e]` = the least slowest interval of
    /// positions `0..e` with `k` CPU stages on `u` units (segments, or TPUs).
    fn least_interval(&self) -> f64 {
        let len = self.table.len();
        let units = self.shape.units();
        let max_r = match self.shape {
            Shape::Segments(_) => 1,
            Shape::Replicated(n) => n,
        };
        let inf = f64::INFINITY;
        let mut b = vec![vec![vec![inf; len + 1]; units + 1]; self.cpu_max + 1];
        b[0][0][0] = 0.0;
        for e in 1..=len {
            for s in 0..e {
                let t = self.table.get(s, e);
                let c = self.cpu_interval(s, e);
                for k in 0..=self.cpu_max {
                    for u in 0..=units {
                        let prev = b[k][u][s];
                        if prev == inf {
                            continue;
                        }
                        if t.is_finite() {
                            for r in 1..=max_r.min(units - u) {
                                let v = prev.max(stage_interval_ms(t, self.host, r));
                                if v < b[k][u + r][e] {
                                    b[k][u + r][e] = v;
                                }
                            }
                        }
                        if k < self.cpu_max && c.is_finite() {
                            let v = prev.max(c);
                            if v < b[k + 1][u][e] {
                                b[k + 1][u][e] = v;
                            }
                        }
                    }
                }
            }
        }
        self.ends()
            .into_iter()
            .map(|(k, u)| b[k][u][len])
            .fold(inf, f64::min)
    }

    /// `F(bound)`: the least wire time of a layout within `bound` (infinite if none).
    fn least_wire(&self, bound: f64) -> f64 {
        match self.programme(bound, Order::Wire) {
            Some(((k, u), d)) => d[k][u][self.table.len()].map_or(f64::INFINITY, |s| s.wire),
            None => f64::INFINITY,
        }
    }

    fn backtrack(&self, (mut k, mut u): (usize, usize), d: &States) -> Layout {
        let mut cuts = Vec::new();
        let mut replicas = Vec::new();
        let mut devices = Vec::new();
        let mut e = self.table.len();
        while e > 0 {
            let step = d[k][u][e].expect("the backtrack follows recorded states");
            if step.cpu {
                replicas.push(1);
                devices.push(Device::Cpu);
                k -= 1;
            } else {
                replicas.push(step.units);
                devices.push(Device::EdgeTpu);
                u -= step.units;
            }
            if step.from > 0 {
                cuts.push(step.from);
            }
            e = step.from;
        }
        cuts.reverse();
        replicas.reverse();
        devices.reverse();
        Layout {
            cuts,
            replicas,
            devices,
        }
    }

    /// The optimal layout of this run. `None` when no layout exists.
    fn optimum(&self) -> Option<Layout> {
        let table = self.table;
        let len = table.len();
        if !table.shared {
            // Without a shared wire the optimum is the least slowest interval.
            let bound = self.least_interval();
            if !bound.is_finite() {
                return None;
            }
            let (ku, d) = self.programme(bound, Order::Latency)?;
            return Some(self.backtrack(ku, &d));
        }
        // Candidate intervals, ascending.
        let max_r = match self.shape {
            Shape::Segments(_) => 1,
            Shape::Replicated(n) => n,
        };
        let mut candidates = Vec::with_capacity(len * (len + 1) / 2 * (max_r + 1));
        for s in 0..len {
            for e in s + 1..=len {
                let t = table.get(s, e);
                if t.is_finite() {
                    for r in 1..=max_r {
                        candidates.push(stage_interval_ms(t, self.host, r));
                    }
                }
                let c = self.cpu_interval(s, e);
                if c.is_finite() {
                    candidates.push(c);
                }
            }
        }
        candidates.sort_by(|a, b| a.total_cmp(b));
        candidates.dedup();
        // First candidate c with c >= F(c).
        let interval_bound = |c: f64| -> bool {
            let f = self.least_wire(c);
            f.is_finite() && cmp_ms(c, f) != Ordering::Less
        };
        let k = candidates.partition_point(|&c| !interval_bound(c));
        let (bound, wire_bound) = if k == candidates.len() {
            let last = *candidates.last()?;
            (self.least_wire(last), true)
        } else if k == 0 {
            (candidates[0], false)
        } else {
            let below = self.least_wire(candidates[k - 1]);
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
            let (ku, d) = self.programme(bound, Order::Latency)?;
            let best = d[ku.0][ku.1][len].expect("end state");
            if cmp_ms(best.wire, bound) != Ordering::Greater {
                return Some(self.backtrack(ku, &d));
            }
        }
        let (ku, d) = self.programme(bound, Order::WireThenLatency)?;
        Some(self.backtrack(ku, &d))
    }
}

/// The optimal all-Edge-TPU layout of `table` in `shape` with `host` ms of host overhead on
/// every stage. `None` when no layout exists (more segments than positions, no positions, or
/// no candidates the compiler maps whole).
pub(crate) fn optimal_layout(table: &CostTable, shape: Shape, host: f64) -> Option<Layout> {
    let len = table.len();
    let units = shape.units();
    if len == 0 || units == 0 || matches!(shape, Shape::Segments(n) if n > len) {
        return None;
    }
    Search {
        table,
        shape,
        host,
        cpu_max: 0,
        absorb: false,
        factor: 1.0,
    }
    .optimum()
}

/// The optimal layout of `table` in `shape`, CPU stages included where `cost` allows them (at
/// most [`CostTable::max_cpu_stages`]), by [`Objective::compare`] on `cost` (whose table
/// `table` is). `host` is the host overhead per stage of the layouts without CPU stages; those
/// with CPU stages pay the pipeline's. `None` when no layout exists.
pub(crate) fn optimal_placed_layout(
    cost: &dyn SegmentCostFn,
    table: &CostTable,
    shape: Shape,
    host: f64,
) -> Option<Layout> {
    let len = table.len();
    if len == 0 || shape.units() == 0 || matches!(shape, Shape::Segments(n) if n > len) {
        return None;
    }
    let max = table.max_cpu_stages();
    let mut runs = vec![(0, host)];
    if max > 0 {
        let first = max.min(table.cores);
        runs.extend(
            (first..=max)
                .filter(|&k| k == first || k > table.cores)
                .map(|k| (k, HOST_STAGE_OVERHEAD_MS)),
        );
    }
    let mut best: Option<(Layout, Objective)> = None;
    for (k, host) in runs {
        let search = Search {
            table,
            shape,
            host,
            cpu_max: k,
            absorb: table.tpu_runs > shape.units(),
            factor: cpu_contention(k, table.cores),
        };
        let Some(layout) = search.optimum() else {
            continue;
        };
        let obj = Objective::of_layout(cost, &layout);
        if best
            .as_ref()
            .map_or(true, |(_, b)| obj.compare(b) == Ordering::Less)
        {
            best = Some((layout, obj));
        }
    }
    best.map(|(l, _)| l)
}
