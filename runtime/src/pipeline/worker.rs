//! One worker thread: runs one replica of one stage on every item that replica takes.
//!
//! Replica `k` of a stage with `R` replicas takes items `k`, `k + R`, `k + 2R`, ... Between two
//! positions of the pipeline (host, stages, results) there is one bounded channel per pair of
//! sending and receiving replicas, so every channel carries its items in order and a receiver
//! that knows which item comes next knows which channel it arrives on: items are handed on, and
//! results come out, in push order without any reordering buffer.
//!
//! The item record travels through every stage; a stage reads the slots it needs from it and
//! writes its outputs into it, so a tensor a later stage reads is never copied on the way (the
//! record holds a pointer to the buffer). A slot's buffer goes back to its pool right after its
//! last reader ran.

use super::error::{PipelineError, StageError};
use super::executor::StageExecutor;
use super::shared::{Item, Shared};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::Instant;

/// Stages with at most this many inputs or outputs build their slice tables on the stack.
const INLINE: usize = 16;

/// Everything one worker thread owns.
pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) stage: usize,
    pub(crate) replica: usize,
    pub(crate) executor: Box<dyn StageExecutor>,
    /// One channel from each replica of the previous position.
    pub(crate) inbox: Vec<Receiver<Box<Item>>>,
    /// One channel to each replica of the next position.
    pub(crate) outbox: Vec<SyncSender<Box<Item>>>,
}

impl Worker {
    /// Runs until the previous position hangs up.
    pub(crate) fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let replicas = shared.topo.spec.stages[self.stage].replicas as u64;
        let last = self.stage + 1 == shared.topo.stage_count();
        let counters = &shared.counters[self.stage][self.replica];
        let mut out_bufs: Vec<Vec<u8>> =
            Vec::with_capacity(shared.topo.stage_outputs[self.stage].len());
        let mut next = self.replica as u64;
        loop {
            let waiting = Instant::now();
            let from = (next % self.inbox.len() as u64) as usize;
            let Ok(mut item) = super::receive::recv(&self.inbox[from], shared.spin) else {
                return;
            };
            shared.gauges[self.stage].left();
            counters.add_wait_input(waiting.elapsed());
            debug_assert_eq!(item.seq, next, "items arrive in order");

            if shared.abort.load(Ordering::Relaxed) {
                // Shutting down: let the item go; keep receiving until the upstream hangs up.
                next += replicas;
                continue;
            }
            let started = Instant::now();
            let failed_here = self.process(&mut item, &mut out_bufs);
            counters.add_item(started.elapsed(), failed_here);
            if last && item.failure.is_none() {
                item.latency = item.pushed_at.elapsed();
                shared.latency.record(item.latency);
            }

            let blocked = Instant::now();
            let to = (next % self.outbox.len() as u64) as usize;
            if self.outbox[to].send(item).is_err() {
                // The next position is gone (the pipeline is being dropped).
                return;
            }
            if !last {
                shared.gauges[self.stage + 1].entered();
            }
            counters.add_wait_output(blocked.elapsed());
            next += replicas;
        }
    }

    /// Runs the stage on `item` unless it already failed. True when this stage failed on it.
    fn process(&mut self, item: &mut Item, out_bufs: &mut Vec<Vec<u8>>) -> bool {
        let shared_arc = Arc::clone(&self.shared);
        let shared = &*shared_arc;
        if item.failure.is_none() {
            if let Some(err) = shared.closed_error_for(item.seq) {
                shared.release_all(item);
                item.failure = Some(err);
            }
        }
        if item.failure.is_some() {
            return false;
        }
        let outputs = &shared.topo.stage_outputs[self.stage];
        for &slot in outputs {
            match shared.take_buffer(slot) {
                Some(buf) => out_bufs.push(buf),
                None => {
                    // The pools close only when the pipeline is dropped.
                    for (buf, &slot) in out_bufs.drain(..).zip(outputs) {
                        shared.buffers[slot.0].put(buf);
                    }
                    shared.release_all(item);
                    item.failure = Some(PipelineError::Closed);
                    return false;
                }
            }
        }
        let result = self.run_executor(item, out_bufs);
        match result {
            Ok(()) => {
                for (buf, &slot) in out_bufs.drain(..).zip(outputs) {
                    item.slots[slot.0] = Some(buf);
                }
                for &slot in &shared.topo.release_after[self.stage] {
                    shared.release(item, slot);
                }
                false
            }
            Err(cause) => {
                for (buf, &slot) in out_bufs.drain(..).zip(outputs) {
                    shared.buffers[slot.0].put(buf);
                }
                shared.release_all(item);
                let err = PipelineError::Stage {
                    item: item.seq,
                    stage: self.stage,
                    name: shared.topo.spec.stages[self.stage].name.clone(),
                    replica: self.replica,
                    cause: Box::new(cause),
                };
                if shared.policy == super::FailurePolicy::ClosePipeline {
                    shared.close_by_failure(item.seq, &err);
                }
                item.failure = Some(err);
                true
            }
        }
    }

    /// Calls the executor with the item's input slots and the fresh output buffers, catching a
    /// panic.
    fn run_executor(&mut self, item: &Item, out_bufs: &mut [Vec<u8>]) -> Result<(), StageError> {
        let inputs = &self.shared.topo.stage_inputs[self.stage];
        let slot = |s: usize| -> &[u8] { item.slots[s].as_deref().unwrap_or(&[]) };
        let executor = &mut self.executor;
        let mut call =
            |ins: &[&[u8]], outs: &mut [&mut [u8]]| match catch_unwind(AssertUnwindSafe(|| {
                executor.run(ins, outs)
            })) {
                Ok(result) => result,
                Err(payload) => Err(StageError::Panicked(panic_message(payload.as_ref()))),
            };
        if inputs.len() <= INLINE && out_bufs.len() <= INLINE {
            let mut ins: [&[u8]; INLINE] = [&[]; INLINE];
            for (dst, s) in ins.iter_mut().zip(inputs) {
                *dst = slot(s.0);
            }
            let mut outs: [&mut [u8]; INLINE] = Default::default();
            let n_out = out_bufs.len();
            for (dst, buf) in outs.iter_mut().zip(out_bufs.iter_mut()) {
                *dst = buf.as_mut_slice();
            }
            call(&ins[..inputs.len()], &mut outs[..n_out])
        } else {
            let ins: Vec<&[u8]> = inputs.iter().map(|s| slot(s.0)).collect();
            let mut outs: Vec<&mut [u8]> = out_bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
            call(&ins, &mut outs)
        }
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
