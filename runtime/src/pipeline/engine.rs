//! The front end: builds the workers and channels, takes items in (`push`, `infer`, `run_iter`)
//! and hands results out in push order (`pop`).
//!
//! Channels are `std::sync::mpsc::sync_channel`s: since Rust 1.67 the standard library's channel
//! is a port of crossbeam-channel (array-backed when bounded, so a send or receive allocates
//! nothing), and every channel here has exactly one sender and one receiver (see
//! the worker module), so crossbeam's extras (MPMC, `select!`) would go unused; the
//! runtime needs no extra dependency for it.

use super::error::PipelineError;
use super::executor::{ExecutorFactory, StageExecutor};
use super::input::{bind, Input};
use super::options::PipelineOptions;
use super::outputs::Outputs;
use super::shared::{Item, Shared};
use super::spec::{PipelineSpec, TensorSpec};
use super::stats::{PipelineStats, PoolStats, ReplicaStats, StageStats};
use super::topology::{SlotId, Topology};
use super::worker::Worker;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;

/// Pipelines with at most this many inputs bind them without allocating.
const INLINE_INPUTS: usize = 16;

/// A running pipeline: one worker thread per stage replica, bounded queues between them, results
/// in push order. `Sync`: any thread may push, pop or infer. Dropping it stops and joins every
/// thread: items still in flight are dropped without running further, and an executor in the
/// middle of an item is waited for (so an executor must return from `run`).
pub struct Pipeline {
    shared: Arc<Shared>,
    host: Mutex<Host>,
    sink: Mutex<Sink>,
    /// Items pushed and not yet popped.
    outstanding: AtomicUsize,
    pushed: AtomicU64,
    popped: AtomicU64,
    threads: Vec<JoinHandle<()>>,
}

/// The sending end, held while an item is pushed.
struct Host {
    /// One channel to each replica of the first stage; empty once closed.
    senders: Vec<SyncSender<Box<Item>>>,
    next_seq: u64,
    closed: bool,
}

/// The receiving end, held while a result is popped.
struct Sink {
    /// One channel from each replica of the last stage.
    receivers: Vec<Receiver<Box<Item>>>,
    next_seq: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; a poisoned lock still holds consistent state.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pipeline {
    /// Validates `spec`, makes every replica's executor with `factory` (on this thread), and
    /// starts the workers.
    pub fn new(
        spec: PipelineSpec,
        mut factory: impl ExecutorFactory,
        options: PipelineOptions,
    ) -> Result<Pipeline, PipelineError> {
        let depth = options.queue_depth;
        if depth == 0 {
            return Err(PipelineError::Options(
                "queue_depth must be at least 1".into(),
            ));
        }
        let topo = Topology::new(spec, depth)?;
        let mut executors: Vec<Vec<Box<dyn StageExecutor>>> = Vec::new();
        for (s, stage) in topo.spec.stages.iter().enumerate() {
            let mut replicas = Vec::with_capacity(stage.replicas);
            for r in 0..stage.replicas {
                let exec = factory
                    .create(s, r)
                    .map_err(|cause| PipelineError::CreateExecutor {
                        stage: s,
                        name: stage.name.clone(),
                        replica: r,
                        cause: Box::new(cause),
                    })?;
                replicas.push(exec);
            }
            executors.push(replicas);
        }
        let stages = topo.stage_count();
        let replicas: Vec<usize> = std::iter::once(1)
            .chain(topo.spec.stages.iter().map(|s| s.replicas))
            .chain(std::iter::once(1))
            .collect();
        let shared = Arc::new(Shared::new(topo, &options));

        // Link q joins position q to q + 1 (0: host, 1..=stages: stages, stages + 1: results).
        let mut outboxes: Vec<Vec<Vec<SyncSender<Box<Item>>>>> = Vec::new();
        let mut inboxes: Vec<Vec<Vec<Receiver<Box<Item>>>>> = Vec::new();
        for q in 0..=stages {
            let (from, to) = (replicas[q], replicas[q + 1]);
            let mut senders: Vec<Vec<SyncSender<Box<Item>>>> = (0..from).map(|_| vec![]).collect();
            let mut receivers: Vec<Vec<Receiver<Box<Item>>>> = (0..to).map(|_| vec![]).collect();
            for sending in senders.iter_mut() {
                for receiving in receivers.iter_mut() {
                    let (tx, rx) = sync_channel(depth);
                    sending.push(tx);
                    receiving.push(rx);
                }
            }
            outboxes.push(senders);
            inboxes.push(receivers);
        }
        let host_senders = outboxes[0].pop().unwrap_or_default();
        let sink_receivers = inboxes[stages].pop().unwrap_or_default();

        let mut threads = Vec::new();
        let mut spawn_error = None;
        for (s, stage_execs) in executors.into_iter().enumerate() {
            let ins = std::mem::take(&mut inboxes[s]);
            let outs = std::mem::take(&mut outboxes[s + 1]);
            for (r, ((executor, inbox), outbox)) in
                stage_execs.into_iter().zip(ins).zip(outs).enumerate()
            {
                let worker = Worker {
                    shared: Arc::clone(&shared),
                    stage: s,
                    replica: r,
                    executor,
                    inbox,
                    outbox,
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("tpupipe-s{s}r{r}"))
                    .spawn(move || worker.run());
                match spawned {
                    Ok(handle) => threads.push(handle),
                    Err(e) => {
                        spawn_error = Some(PipelineError::Spawn(e.to_string()));
                        break;
                    }
                }
            }
            if spawn_error.is_some() {
                break;
            }
        }
        let pipeline = Pipeline {
            shared,
            host: Mutex::new(Host {
                senders: host_senders,
                next_seq: 0,
                closed: false,
            }),
            sink: Mutex::new(Sink {
                receivers: sink_receivers,
                next_seq: 0,
            }),
            outstanding: AtomicUsize::new(0),
            pushed: AtomicU64::new(0),
            popped: AtomicU64::new(0),
            threads,
        };
        match spawn_error {
            // Dropping the half-built pipeline stops and joins the threads already started.
            Some(e) => Err(e),
            None => Ok(pipeline),
        }
    }

    /// The topology the pipeline runs.
    pub fn spec(&self) -> &PipelineSpec {
        &self.shared.topo.spec
    }

    /// The pipeline's inputs, in order.
    pub fn inputs(&self) -> &[TensorSpec] {
        &self.shared.topo.spec.inputs
    }

    /// The position of the output called `name`.
    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.spec().outputs.iter().position(|o| o.name == name)
    }

    /// How many items can be outstanding (pushed, not popped) with a push never waiting for a
    /// pop; `run_iter` keeps this many in flight.
    pub fn capacity(&self) -> usize {
        self.shared.topo.capacity
    }

    /// Items pushed and not yet popped.
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Acquire)
    }

    /// Queues one item. Its inputs are checked (count, names, types, sizes) and copied into
    /// pooled buffers before anything is queued. Waits while the first stage's queue is full: a
    /// caller that pushes more than [`Pipeline::capacity`] items without popping waits for
    /// another thread to pop (use [`Pipeline::run_iter`] to stream from one thread).
    pub fn push(&self, inputs: &[Input<'_>]) -> Result<(), PipelineError> {
        let mut host = lock(&self.host);
        self.push_locked(&mut host, inputs)
    }

    fn push_locked(&self, host: &mut Host, inputs: &[Input<'_>]) -> Result<(), PipelineError> {
        let specs = &self.shared.topo.spec.inputs;
        let mut inline = [0usize; INLINE_INPUTS];
        let mut heap = Vec::new();
        let order: &mut [usize] = if specs.len() <= INLINE_INPUTS {
            &mut inline[..specs.len()]
        } else {
            heap.resize(specs.len(), 0);
            &mut heap
        };
        bind(specs, inputs, order).map_err(PipelineError::Input)?;
        if self.shared.closed_by_failure() {
            return Err(self.shared.closed_error());
        }
        if host.closed {
            return Err(PipelineError::Closed);
        }
        let mut item = self.shared.take_item();
        item.seq = host.next_seq;
        item.failure = None;
        for (i, &g) in order.iter().enumerate() {
            let Some(mut buf) = self.shared.take_buffer(SlotId(i)) else {
                self.shared.recycle(item);
                return Err(PipelineError::Closed);
            };
            buf.copy_from_slice(inputs[g].data);
            item.slots[i] = Some(buf);
        }
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        let to = (host.next_seq % host.senders.len() as u64) as usize;
        item.pushed_at = std::time::Instant::now();
        match host.senders[to].send(item) {
            Ok(()) => {
                self.shared.gauges[0].entered();
                host.next_seq += 1;
                self.pushed.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(returned) => {
                self.outstanding.fetch_sub(1, Ordering::AcqRel);
                self.shared.recycle(returned.0);
                Err(PipelineError::Closed)
            }
        }
    }

    /// The next result in push order: `None` when no pushed item is outstanding, else waits for
    /// it. Every pushed item yields exactly one result.
    pub fn pop(&self) -> Option<Result<Outputs, PipelineError>> {
        let mut sink = lock(&self.sink);
        self.pop_locked(&mut sink)
    }

    fn pop_locked(&self, sink: &mut Sink) -> Option<Result<Outputs, PipelineError>> {
        if self.outstanding.load(Ordering::Acquire) == 0 {
            return None;
        }
        let from = (sink.next_seq % sink.receivers.len().max(1) as u64) as usize;
        let received = sink
            .receivers
            .get(from)
            .and_then(|rx| super::receive::recv(rx, self.shared.spin).ok());
        sink.next_seq += 1;
        self.outstanding.fetch_sub(1, Ordering::AcqRel);
        self.popped.fetch_add(1, Ordering::Relaxed);
        let Some(mut item) = received else {
            return Some(Err(PipelineError::WorkerLost));
        };
        debug_assert_eq!(item.seq + 1, sink.next_seq, "results arrive in order");
        let failure = item
            .failure
            .take()
            .or_else(|| self.shared.closed_error_for(item.seq));
        Some(match failure {
            Some(err) => {
                self.shared.recycle(item);
                Err(err)
            }
            None => Ok(Outputs::new(item, Arc::clone(&self.shared))),
        })
    }

    /// Runs one item through the pipeline and waits for its result (the latency path). The
    /// pipeline must be idle: with streamed items outstanding this returns
    /// [`PipelineError::StreamActive`] rather than wait behind them. Concurrent `infer` calls
    /// take turns.
    pub fn infer(&self, inputs: &[Input<'_>]) -> Result<Outputs, PipelineError> {
        let mut sink = lock(&self.sink);
        let mut host = loop {
            let outstanding = self.outstanding();
            if outstanding > 0 {
                return Err(PipelineError::StreamActive { outstanding });
            }
            // A pusher holds the host lock for long only while waiting for room, and then it
            // has items outstanding: never wait for the lock while holding the results.
            match self.host.try_lock() {
                Ok(guard) => break guard,
                Err(TryLockError::Poisoned(p)) => break p.into_inner(),
                Err(TryLockError::WouldBlock) => std::thread::yield_now(),
            }
        };
        let outstanding = self.outstanding();
        if outstanding > 0 {
            return Err(PipelineError::StreamActive { outstanding });
        }
        self.push_locked(&mut host, inputs)?;
        drop(host);
        self.pop_locked(&mut sink)
            .unwrap_or(Err(PipelineError::WorkerLost))
    }

    /// Pushes every item of `inputs` and yields their results in order, keeping
    /// [`Pipeline::default_window`] items in flight. An item whose inputs are refused yields its
    /// error in its place. Needs an idle pipeline (otherwise it yields one
    /// [`PipelineError::StreamActive`] and ends).
    pub fn run_iter<'p, 'a, I, T>(&'p mut self, inputs: I) -> RunIter<'p, 'a, I::IntoIter, T>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[Input<'a>]>,
    {
        let window = self.default_window();
        self.run_iter_with_window(inputs, window)
    }

    /// [`Pipeline::run_iter`] with `window` items in flight (clamped to 1..=
    /// [`Pipeline::capacity`]): more smooths out uneven stage times, fewer lowers latency.
    pub fn run_iter_with_window<'p, 'a, I, T>(
        &'p mut self,
        inputs: I,
        window: usize,
    ) -> RunIter<'p, 'a, I::IntoIter, T>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[Input<'a>]>,
    {
        let outstanding = self.outstanding();
        let window = window.clamp(1, self.capacity());
        RunIter {
            pipeline: self,
            inputs: inputs.into_iter(),
            pending: VecDeque::with_capacity(window),
            window,
            refused: (outstanding > 0).then_some(PipelineError::StreamActive { outstanding }),
            done: false,
            _marker: std::marker::PhantomData,
        }
    }

    /// The number of items [`Pipeline::run_iter`] keeps in flight: one in every replica and one
    /// waiting for each, plus one, so that no stage waits for work while latency stays near the
    /// pipeline's depth (at most [`Pipeline::capacity`]).
    pub fn default_window(&self) -> usize {
        let replicas: usize = self.spec().stages.iter().map(|s| s.replicas).sum();
        (2 * replicas + 1).min(self.capacity())
    }

    /// Stops taking items: later pushes fail with [`PipelineError::Closed`]; items already
    /// pushed still run and can be popped. The worker threads end once the last item has passed.
    pub fn close(&self) {
        let mut host = lock(&self.host);
        host.closed = true;
        host.senders.clear();
    }

    /// True once [`Pipeline::close`] was called or a failure closed the pipeline.
    pub fn is_closed(&self) -> bool {
        lock(&self.host).closed || self.shared.closed_by_failure()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PipelineStats {
        let shared = &*self.shared;
        let stages = shared
            .topo
            .spec
            .stages
            .iter()
            .enumerate()
            .map(|(s, stage)| {
                let replicas: Vec<ReplicaStats> =
                    shared.counters[s].iter().map(|c| c.snapshot()).collect();
                let mut total = ReplicaStats::default();
                for r in &replicas {
                    total.items += r.items;
                    total.failures += r.failures;
                    total.busy += r.busy;
                    total.waiting_for_input += r.waiting_for_input;
                    total.blocked_on_output += r.blocked_on_output;
                }
                StageStats {
                    name: stage.name.clone(),
                    total,
                    replicas,
                    queue_high_water: shared.gauges[s].high_water(),
                }
            })
            .collect();
        let (objects, grown) = shared.pool_figures();
        PipelineStats {
            pushed: self.pushed.load(Ordering::Relaxed),
            popped: self.popped.load(Ordering::Relaxed),
            stages,
            latency: shared.latency.snapshot(),
            pools: PoolStats { objects, grown },
        }
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.shared.topo.stage_count())
            .field("threads", &self.threads.len())
            .field("outstanding", &self.outstanding())
            .finish()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shared.abort.store(true, Ordering::Relaxed);
        self.shared.close_pools();
        {
            let mut host = lock(&self.host);
            host.closed = true;
            host.senders.clear();
        }
        lock(&self.sink).receivers.clear();
        for handle in self.threads.drain(..) {
            // A worker catches its executor's panics; an error here would be an engine bug, and
            // a panic must not leave `drop`.
            let _ = handle.join();
        }
    }
}

/// What [`RunIter`] has queued, in order.
enum Pending {
    Pushed,
    Refused(PipelineError),
}

/// The iterator [`Pipeline::run_iter`] returns.
pub struct RunIter<'p, 'a, I, T> {
    pipeline: &'p Pipeline,
    inputs: I,
    pending: VecDeque<Pending>,
    window: usize,
    refused: Option<PipelineError>,
    done: bool,
    _marker: std::marker::PhantomData<fn(T) -> &'a ()>,
}

impl<'a, I, T> Iterator for RunIter<'_, 'a, I, T>
where
    I: Iterator<Item = T>,
    T: AsRef<[Input<'a>]>,
{
    type Item = Result<Outputs, PipelineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = self.refused.take() {
            self.done = true;
            return Some(Err(err));
        }
        if self.done {
            return None;
        }
        while self.pending.len() < self.window {
            let Some(inputs) = self.inputs.next() else {
                break;
            };
            self.pending
                .push_back(match self.pipeline.push(inputs.as_ref()) {
                    Ok(()) => Pending::Pushed,
                    Err(err) => Pending::Refused(err),
                });
        }
        match self.pending.pop_front() {
            None => {
                self.done = true;
                None
            }
            Some(Pending::Refused(err)) => Some(Err(err)),
            Some(Pending::Pushed) => Some(
                self.pipeline
                    .pop()
                    .unwrap_or(Err(PipelineError::WorkerLost)),
            ),
        }
    }
}
