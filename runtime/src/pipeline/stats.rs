//! Counters the workers update per item (atomics, no locks, no allocation) and the snapshots
//! [`Pipeline::stats`](super::Pipeline::stats) returns.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// What one replica's worker counts.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    items: AtomicU64,
    failures: AtomicU64,
    busy_ns: AtomicU64,
    wait_input_ns: AtomicU64,
    wait_output_ns: AtomicU64,
}

impl WorkerCounters {
    pub(crate) fn add_item(&self, busy: Duration, failed: bool) {
        self.items.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.busy_ns.fetch_add(nanos(busy), Ordering::Relaxed);
    }

    pub(crate) fn add_wait_input(&self, d: Duration) {
        self.wait_input_ns.fetch_add(nanos(d), Ordering::Relaxed);
    }

    pub(crate) fn add_wait_output(&self, d: Duration) {
        self.wait_output_ns.fetch_add(nanos(d), Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ReplicaStats {
        ReplicaStats {
            items: self.items.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed)),
            waiting_for_input: Duration::from_nanos(self.wait_input_ns.load(Ordering::Relaxed)),
            blocked_on_output: Duration::from_nanos(self.wait_output_ns.load(Ordering::Relaxed)),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How many items wait in a stage's input queues, and the most there ever were.
#[derive(Default)]
pub(crate) struct QueueGauge {
    len: AtomicI64,
    high: AtomicI64,
}

impl QueueGauge {
    /// After a successful send.
    pub(crate) fn entered(&self) {
        let now = self.len.fetch_add(1, Ordering::Relaxed) + 1;
        self.high.fetch_max(now, Ordering::Relaxed);
    }

    /// After a successful receive.
    pub(crate) fn left(&self) {
        self.len.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn high_water(&self) -> usize {
        self.high.load(Ordering::Relaxed).max(0) as usize
    }
}

/// Sub-buckets per power of two (16: each bucket is at most 1/16 of its lower bound wide).
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS) as usize + 1) * SUB as usize;

/// A log-linear histogram of latencies in nanoseconds: fixed memory, lock-free updates, 6%
/// resolution; the maximum is exact.
pub(crate) struct LatencyHistogram {
    counts: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    (shift as u64 * SUB + (v >> shift)) as usize
}

/// The largest value that falls into bucket `i`.
fn bucket_top(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let shift = i / SUB - 1;
    let mant = i - shift * SUB;
    let top = ((u128::from(mant) + 1) << shift) - 1;
    u64::try_from(top).unwrap_or(u64::MAX)
}

impl LatencyHistogram {
    pub(crate) fn record(&self, d: Duration) {
        let v = nanos(d);
        self.counts[bucket_of(v)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(v, Ordering::Relaxed);
        self.max_ns.fetch_max(v, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LatencyStats {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let max = self.max_ns.load(Ordering::Relaxed);
        let quantile = |q: f64| -> Duration {
            if total == 0 {
                return Duration::ZERO;
            }
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            for (i, &c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Duration::from_nanos(bucket_top(i).min(max));
                }
            }
            Duration::from_nanos(max)
        };
        let count = self.count.load(Ordering::Relaxed);
        LatencyStats {
            count,
            mean: Duration::from_nanos(self.sum_ns.load(Ordering::Relaxed) / count.max(1)),
            p50: quantile(0.50),
            p90: quantile(0.90),
            p99: quantile(0.99),
            max: Duration::from_nanos(max),
        }
    }
}

/// One replica's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    /// Items this replica handled (run, failed, or passed on after an earlier failure).
    pub items: u64,
    /// Items on which this replica's executor failed or panicked.
    pub failures: u64,
    /// Time inside the executor.
    pub busy: Duration,
    /// Time waiting for the next item.
    pub waiting_for_input: Duration,
    /// Time waiting for room in the next queue (or for an output buffer).
    pub blocked_on_output: Duration,
}

/// One stage's figures, summed over its replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageStats {
    /// The stage's name.
    pub name: String,
    /// The sums over the replicas.
    pub total: ReplicaStats,
    /// Each replica's figures.
    pub replicas: Vec<ReplicaStats>,
    /// The most items ever waiting in the stage's input queues.
    pub queue_high_water: usize,
}

/// End-to-end latency, from a push to its result being ready (before it is popped).
/// Percentiles are within 6.25% (log-linear buckets); the maximum is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyStats {
    /// Items measured.
    pub count: u64,
    /// Mean.
    pub mean: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

/// Buffers the pipeline holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Tensor buffers and item records made in total.
    pub objects: u64,
    /// Of those, made after construction (only when the caller holds on to many results).
    pub grown: u64,
}

/// A snapshot of a pipeline's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineStats {
    /// Items accepted by a push.
    pub pushed: u64,
    /// Results handed out by a pop.
    pub popped: u64,
    /// Each stage's figures, in order.
    pub stages: Vec<StageStats>,
    /// End-to-end latency of every item that completed successfully.
    pub latency: LatencyStats,
    /// Buffer pools.
    pub pools: PoolStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, 123_456_789, u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last || v < 5000 && b == last);
            assert!(b < BUCKETS, "{v}");
            assert!(bucket_top(b) >= v, "{v}");
            assert!(
                bucket_top(b) - v <= v / 16 + 1,
                "{v}: top {}",
                bucket_top(b)
            );
            last = b;
        }
    }

    #[test]
    fn percentiles_of_a_known_spread() {
        let h = LatencyHistogram::default();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 100);
        assert_eq!(s.max, Duration::from_micros(100));
        let near = |d: Duration, us: u64| {
            let x = d.as_nanos() as f64 / 1000.0;
            (x - us as f64).abs() <= us as f64 * 0.07
        };
        assert!(near(s.p50, 50), "{:?}", s.p50);
        assert!(near(s.p90, 90), "{:?}", s.p90);
        assert!(near(s.p99, 99), "{:?}", s.p99);
    }
}
