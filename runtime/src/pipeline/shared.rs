//! The state every worker and the front end share: the topology, the buffer pools, the counters
//! and the shutdown and failure flags.

use super::error::PipelineError;
use super::options::{FailurePolicy, PipelineOptions};
use super::pool::Pool;
use super::stats::{LatencyHistogram, QueueGauge, WorkerCounters};
use super::topology::{SlotId, Topology};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One item on its way through the pipeline. Records are recycled: the slot table keeps its
/// allocation from one item to the next.
pub(crate) struct Item {
    /// Sequence number: 0 for the first item pushed, then 1, 2, ...
    pub(crate) seq: u64,
    /// When the item was pushed.
    pub(crate) pushed_at: Instant,
    /// From the push to the last stage finishing it.
    pub(crate) latency: Duration,
    /// One buffer per boundary tensor while some reader still needs it.
    pub(crate) slots: Vec<Option<Vec<u8>>>,
    /// Set when a stage failed on the item (or a failure closed the pipeline); the later stages
    /// pass the item on without running it.
    pub(crate) failure: Option<PipelineError>,
}

/// State shared by the workers and the front end.
pub(crate) struct Shared {
    pub(crate) topo: Topology,
    pub(crate) policy: FailurePolicy,
    /// One buffer pool per slot.
    pub(crate) buffers: Vec<Pool<Vec<u8>>>,
    /// Item records.
    pub(crate) items: Pool<Box<Item>>,
    /// Per stage, per replica.
    pub(crate) counters: Vec<Vec<WorkerCounters>>,
    /// Per stage: its input queues.
    pub(crate) gauges: Vec<QueueGauge>,
    pub(crate) latency: LatencyHistogram,
    /// Set when the pipeline is dropped: workers stop running items and let them go.
    pub(crate) abort: AtomicBool,
    /// Sequence number of the item whose failure closed the pipeline (`u64::MAX`: none).
    pub(crate) failed_at: AtomicU64,
    /// That failure.
    pub(crate) failure: Mutex<Option<PipelineError>>,
    /// Receivers spin briefly before sleeping ([`super::receive`]): only when every worker and
    /// the host can have a core of their own, since spinning threads would otherwise take the
    /// cores the working ones need.
    pub(crate) spin: bool,
}

impl Shared {
    pub(crate) fn new(topo: Topology, options: &PipelineOptions) -> Shared {
        let buffers = (0..topo.slot_count())
            .map(|slot| {
                let len = topo.slot_len[slot];
                Pool::new(topo.pool_sizes[slot], || vec![0u8; len])
            })
            .collect();
        let n_slots = topo.slot_count();
        let items = Pool::new(topo.item_records, || new_item(n_slots));
        let counters = topo
            .spec
            .stages
            .iter()
            .map(|s| (0..s.replicas).map(|_| WorkerCounters::default()).collect())
            .collect();
        let gauges = (0..topo.stage_count())
            .map(|_| QueueGauge::default())
            .collect();
        let threads = 1 + topo.spec.stages.iter().map(|s| s.replicas).sum::<usize>();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Shared {
            spin: threads <= cores,
            topo,
            policy: options.failure_policy,
            buffers,
            items,
            counters,
            gauges,
            latency: LatencyHistogram::default(),
            abort: AtomicBool::new(false),
            failed_at: AtomicU64::new(u64::MAX),
            failure: Mutex::new(None),
        }
    }

    /// A buffer for `slot`: pipeline outputs may grow their pool (the caller may hold any number
    /// of results); other slots wait for a buffer to come back. `None` when shutting down.
    pub(crate) fn take_buffer(&self, slot: SlotId) -> Option<Vec<u8>> {
        let pool = &self.buffers[slot.0];
        if self.topo.slot_is_output[slot.0] {
            let len = self.topo.slot_len[slot.0];
            Some(pool.take_or_grow(|| vec![0u8; len]))
        } else {
            pool.take_blocking()
        }
    }

    /// Gives back the buffer of `slot`, if the item holds one.
    pub(crate) fn release(&self, item: &mut Item, slot: SlotId) {
        if let Some(buf) = item.slots[slot.0].take() {
            self.buffers[slot.0].put(buf);
        }
    }

    /// Gives back every buffer the item holds.
    pub(crate) fn release_all(&self, item: &mut Item) {
        for slot in 0..item.slots.len() {
            self.release(item, SlotId(slot));
        }
    }

    /// Gives back the item's buffers and the record itself.
    pub(crate) fn recycle(&self, mut item: Box<Item>) {
        self.release_all(&mut item);
        item.failure = None;
        self.items.put(item);
    }

    /// A fresh (empty) item record.
    pub(crate) fn take_item(&self) -> Box<Item> {
        let n = self.topo.slot_count();
        self.items.take_or_grow(|| new_item(n))
    }

    /// Records `error` (on item `seq`) as the failure that closes the pipeline, unless an
    /// earlier item's failure already did.
    pub(crate) fn close_by_failure(&self, seq: u64, error: &PipelineError) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if seq < self.failed_at.load(Ordering::Acquire) {
            *failure = Some(error.clone());
            self.failed_at.store(seq, Ordering::Release);
        }
    }

    /// The error for an item that comes after the failure that closed the pipeline, if any.
    pub(crate) fn closed_error_for(&self, seq: u64) -> Option<PipelineError> {
        if seq <= self.failed_at.load(Ordering::Acquire) {
            return None;
        }
        Some(self.closed_error())
    }

    /// The error for anything refused because a failure closed the pipeline.
    pub(crate) fn closed_error(&self) -> PipelineError {
        let failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        PipelineError::ClosedByFailure {
            cause: Box::new(failure.clone().unwrap_or(PipelineError::Closed)),
        }
    }

    /// True once a failure has closed the pipeline.
    pub(crate) fn closed_by_failure(&self) -> bool {
        self.failed_at.load(Ordering::Acquire) != u64::MAX
    }

    /// Total objects the pools made, and how many after construction.
    pub(crate) fn pool_figures(&self) -> (u64, u64) {
        let mut made = self.items.made();
        let mut grown = self.items.grown();
        for pool in &self.buffers {
            made += pool.made();
            grown += pool.grown();
        }
        (made, grown)
    }

    /// Wakes everything waiting on a pool, for shutdown.
    pub(crate) fn close_pools(&self) {
        for pool in &self.buffers {
            pool.close();
        }
        self.items.close();
    }
}

fn new_item(slots: usize) -> Box<Item> {
    Box::new(Item {
        seq: 0,
        pushed_at: Instant::now(),
        latency: Duration::ZERO,
        slots: (0..slots).map(|_| None).collect(),
        failure: None,
    })
}
