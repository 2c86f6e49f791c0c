//! How many measurements libcoral's profiling partitioner would take for the same model: its
//! algorithm (google-coral/libcoral `coral/tools/partitioner/profiling_based_partitioner.cc`,
//! `BisectPartition`) replayed on a latency function instead of devices.
//!
//! The partitioner compiles the whole model with `--num_segments=N` and benchmarks it to get a
//! lower and upper bound (the fastest and slowest segment). It then bisects the target latency
//! between them until they are within `diff_threshold_ns` (1 ms by default). For each target
//! it searches segment by segment: the segment starts as long as possible (every later
//! segment one step long, the last one from the first output operator on) and shrinks by
//! `partition_search_step` (1) until its latency meets the target, recursing into the next
//! segment. Every candidate partition costs N compiles and one benchmark of all N segments,
//! unless the segment under search was measured before (libcoral caches latencies by segment)
//! or a segment is known not to compile. The final partition is compiled once more.
//!
//! This replays exactly that control flow, counting compiles, benchmark runs and segment
//! measurements; latencies are whole nanoseconds as libcoral's are. Where libcoral would stop
//! on a failed `CHECK` the replay stops and says so.

use std::collections::{HashMap, HashSet};

/// libcoral's default `--diff_threshold_ns`.
pub const DEFAULT_DIFF_THRESHOLD_NS: i64 = 1_000_000;

/// What the replay counted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LibcoralCount {
    /// Compiler runs (the whole-model `--num_segments` compile counts once).
    pub compiles: usize,
    /// Benchmarks of a whole candidate partition.
    pub benchmark_runs: usize,
    /// Segment latencies measured (N per benchmark run).
    pub segment_measurements: usize,
    /// The partition it ends with (cuts), if it finds one.
    pub cuts: Option<Vec<usize>>,
    /// Where the replay stopped early: a `CHECK` libcoral would fail, or the step bound.
    pub stopped: Option<String>,
}

struct Replay<'a> {
    ops: usize,
    n: usize,
    first_output: usize,
    step: usize,
    latency_ns: &'a dyn Fn([usize; 2]) -> Option<i64>,
    cache: HashMap<[usize; 2], i64>,
    failures: HashSet<[usize; 2]>,
    count: LibcoralCount,
    calls: usize,
    max_calls: usize,
}

/// Why the replay stops.
struct Stop(String);

impl Replay<'_> {
    fn ranges(num_ops: &[usize]) -> Vec<[usize; 2]> {
        let mut start = 0;
        num_ops
            .iter()
            .map(|&k| {
                let r = [start, start + k];
                start += k;
                r
            })
            .collect()
    }

    /// `PartitionCompileAndAnalyze`: the latency of segment `index` of the partition (ns), or
    /// -1 when a segment does not compile.
    fn analyze(&mut self, num_ops: &[usize], index: usize) -> Result<i64, Stop> {
        self.calls += 1;
        if self.calls > self.max_calls {
            return Err(Stop(format!(
                "more than {} candidate partitions",
                self.max_calls
            )));
        }
        let ranges = Self::ranges(num_ops);
        if let Some(&l) = self.cache.get(&ranges[index]) {
            return Ok(l);
        }
        if ranges.iter().any(|r| self.failures.contains(r)) {
            return Ok(-1);
        }
        self.count.compiles += self.n;
        let mut latencies = Vec::with_capacity(self.n);
        let mut ok = true;
        for r in &ranges {
            match (self.latency_ns)(*r) {
                Some(l) => latencies.push(l),
                None => {
                    self.failures.insert(*r);
                    ok = false;
                }
            }
        }
        if !ok {
            return Ok(-1);
        }
        self.count.benchmark_runs += 1;
        self.count.segment_measurements += self.n;
        for (r, l) in ranges.iter().zip(&latencies) {
            self.cache.insert(*r, *l);
        }
        Ok(latencies[index])
    }

    /// `SearchPartition`.
    fn search(&mut self, cand: &mut Vec<usize>, target: i64, index: usize) -> Result<bool, Stop> {
        let n = cand.len();
        if index == n - 1 {
            return Ok(true);
        }
        let searchable: usize = cand[index..].iter().sum();
        cand[n - 1] = (self.ops - self.first_output).max(self.step);
        // libcoral starts this loop at `partition_search_step + 1`, not `index + 1`.
        for c in cand.iter_mut().take(n - 1).skip(self.step + 1) {
            *c = self.step;
        }
        let rest = (n - 2 - index) * self.step + cand[n - 1];
        if searchable <= rest {
            return Err(Stop(format!(
                "CHECK_GT fails: segment {index} would be empty"
            )));
        }
        cand[index] = searchable - rest;
        if cand[index..].iter().sum::<usize>() != searchable {
            return Err(Stop(format!("CHECK_EQ fails at segment {index}")));
        }
        let mut tmp = cand.clone();
        while tmp[index] > 0 {
            let l = self.analyze(&tmp, index)?;
            if l > 0 && l <= target && self.search(&mut tmp, target, index + 1)? {
                *cand = tmp;
                return Ok(true);
            }
            let delta = tmp[index].min(self.step);
            tmp[index] -= delta;
            tmp[index + 1] += delta;
        }
        Ok(false)
    }

    /// `PartitionOnTargetLatency`: the last segment's latency of the partition meeting
    /// `target`, or `i64::MAX` when none does.
    fn on_target(&mut self, target: i64) -> Result<(i64, Option<Vec<usize>>), Stop> {
        let mut num_ops = vec![self.step; self.n];
        num_ops[0] = self.ops - (self.n - 1) * self.step;
        if !self.search(&mut num_ops, target, 0)? {
            return Ok((i64::MAX, None));
        }
        let last = self.analyze(&num_ops, self.n - 1)?;
        if last <= 0 {
            return Err(Stop("CHECK_GT fails: the last segment does not run".into()));
        }
        Ok((last, Some(num_ops)))
    }
}

fn cuts_of(num_ops: &[usize]) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut at = 0;
    for k in &num_ops[..num_ops.len() - 1] {
        at += k;
        cuts.push(at);
    }
    cuts
}

/// Replays libcoral's `BisectPartition` for `segments` segments of a model with `ops`
/// operators whose first output operator is at position `first_output`, starting from the
/// compiler's own split `initial_cuts`, with `latency_ns` giving a segment's latency (`None`
/// when it does not compile). Partition search step 1, at most `max_calls` candidate
/// partitions.
pub fn replay(
    ops: usize,
    segments: usize,
    first_output: usize,
    initial_cuts: &[usize],
    latency_ns: &dyn Fn([usize; 2]) -> Option<i64>,
    diff_threshold_ns: i64,
    max_calls: usize,
) -> LibcoralCount {
    let mut r = Replay {
        ops,
        n: segments,
        first_output: first_output.min(ops.saturating_sub(1)),
        step: 1,
        latency_ns,
        cache: HashMap::new(),
        failures: HashSet::new(),
        count: LibcoralCount {
            compiles: 0,
            benchmark_runs: 0,
            segment_measurements: 0,
            cuts: None,
            stopped: None,
        },
        calls: 0,
        max_calls,
    };
    if segments < 2 || segments > ops {
        r.count.stopped = Some("libcoral needs 2 or more segments, each non-empty".into());
        return r.count;
    }
    // GetBounds: one whole-model compile and one benchmark.
    r.count.compiles += 1;
    let mut bounds = Vec::with_capacity(segments);
    let mut cuts = vec![0];
    cuts.extend_from_slice(initial_cuts);
    cuts.push(ops);
    for w in cuts.windows(2) {
        match latency_ns([w[0], w[1]]) {
            Some(l) => bounds.push(l),
            None => {
                r.count.stopped = Some("CHECK fails: cannot compile the initial partition".into());
                return r.count;
            }
        }
    }
    r.count.benchmark_runs += 1;
    r.count.segment_measurements += segments;
    let mut lower = *bounds.iter().min().expect("segments >= 2");
    let mut upper = *bounds.iter().max().expect("segments >= 2");
    if upper - lower <= diff_threshold_ns {
        // libcoral keeps the compiler's split and stops here.
        r.count.cuts = Some(initial_cuts.to_vec());
        return r.count;
    }
    let mut best: Option<Vec<usize>> = None;
    while (upper - lower).abs() > diff_threshold_ns {
        let target = (lower + upper) / 2;
        let (last, partition) = match r.on_target(target) {
            Ok(x) => x,
            Err(Stop(why)) => {
                r.count.stopped = Some(why);
                return r.count;
            }
        };
        if last < target {
            best = partition;
            upper = target;
        } else {
            if last < upper {
                best = partition;
                upper = last;
            }
            lower = target;
        }
    }
    if let Some(b) = &best {
        r.count.compiles += segments;
        r.count.cuts = Some(cuts_of(b));
    }
    r.count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Latency proportional to the segment's length (ns per op), plus a fixed part.
    fn linear(per_op: i64) -> impl Fn([usize; 2]) -> Option<i64> {
        move |[s, e]| Some(100_000 + per_op * (e - s) as i64)
    }

    #[test]
    fn close_bounds_stop_after_the_first_benchmark() {
        let l = linear(1_000);
        let c = replay(20, 2, 19, &[10], &l, DEFAULT_DIFF_THRESHOLD_NS, 100_000);
        assert_eq!(c.benchmark_runs, 1);
        assert_eq!(c.segment_measurements, 2);
        assert_eq!(c.compiles, 1);
        assert_eq!(c.cuts, Some(vec![10]));
    }

    #[test]
    fn the_bisection_finds_the_balanced_cut_with_many_measurements() {
        // 1 ms per op: the compiler's split at 4 of 20 gives 4 ms and 16 ms.
        let l = linear(1_000_000);
        let c = replay(20, 2, 19, &[4], &l, DEFAULT_DIFF_THRESHOLD_NS, 100_000);
        assert!(c.stopped.is_none(), "{c:?}");
        let cut = c.cuts.clone().unwrap()[0];
        assert!((9..=11).contains(&cut), "{c:?}");
        // Segment 0 shrinks from 19 ops one at a time: every length down to the cut is one
        // benchmark of both segments (cached across targets).
        assert!(c.benchmark_runs > 19 - cut, "{c:?}");
        assert_eq!(c.segment_measurements, 2 * c.benchmark_runs);
        assert_eq!(c.compiles, 1 + 2 * (c.benchmark_runs - 1) + 2);
    }

    #[test]
    fn segments_that_do_not_compile_are_skipped_like_libcoral_does() {
        let l = |[s, e]: [usize; 2]| (s != 0 || e != 12).then_some(1_000_000 * (e - s) as i64);
        let c = replay(20, 2, 19, &[4], &l, DEFAULT_DIFF_THRESHOLD_NS, 100_000);
        assert!(c.cuts.is_some(), "{c:?}");
        assert_ne!(c.cuts, Some(vec![12]));
        let fails = |_: [usize; 2]| None;
        let c = replay(20, 2, 19, &[4], &fails, DEFAULT_DIFF_THRESHOLD_NS, 100_000);
        assert!(c.stopped.unwrap().contains("initial partition"));
    }
}
