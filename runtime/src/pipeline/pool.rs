//! Free lists of recycled objects (tensor buffers, item records), so that a pipeline in steady
//! state allocates nothing per item.
//!
//! A pool is filled when the pipeline is built. [`Pool::take_blocking`] waits while the pool is
//! empty (a producer that runs ahead waits for a reader to finish); [`Pool::take_or_grow`] makes a
//! new object instead, for the buffers of results the caller holds on to, whose number the
//! pipeline cannot bound. Every object made after construction is counted, so tests can check
//! that a long stream never grows a pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A free list of `T`.
pub(crate) struct Pool<T> {
    state: Mutex<State<T>>,
    available: Condvar,
    /// Objects made in total (at construction and since).
    made: AtomicU64,
    /// Objects made after construction.
    grown: AtomicU64,
}

struct State<T> {
    free: Vec<T>,
    closed: bool,
}

impl<T> Pool<T> {
    /// A pool holding `count` objects made by `make`.
    pub(crate) fn new(count: usize, mut make: impl FnMut() -> T) -> Pool<T> {
        let free: Vec<T> = (0..count).map(|_| make()).collect();
        Pool {
            state: Mutex::new(State {
                free,
                closed: false,
            }),
            available: Condvar::new(),
            made: AtomicU64::new(count as u64),
            grown: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the free list inconsistent (push and pop
        // are the only operations), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An object, waiting while the pool is empty; `None` once the pool is closed.
    pub(crate) fn take_blocking(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(t) = state.free.pop() {
                return Some(t);
            }
            state = self
                .available
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// An object, made with `make` when the pool is empty.
    pub(crate) fn take_or_grow(&self, make: impl FnOnce() -> T) -> T {
        let taken = {
            let mut state = self.lock();
            let t = state.free.pop();
            if t.is_none() {
                // Room for the new object when it comes back, so `put` never reallocates.
                state.free.reserve(1);
            }
            t
        };
        taken.unwrap_or_else(|| {
            self.made.fetch_add(1, Ordering::Relaxed);
            self.grown.fetch_add(1, Ordering::Relaxed);
            make()
        })
    }

    /// Gives an object back.
    pub(crate) fn put(&self, t: T) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.free.push(t);
        drop(state);
        self.available.notify_one();
    }

    /// Wakes every waiting taker with `None` and drops what comes back from now on.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.free.clear();
        drop(state);
        self.available.notify_all();
    }

    /// Objects made in total.
    pub(crate) fn made(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// Objects made after construction.
    pub(crate) fn grown(&self) -> u64 {
        self.grown.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn take_blocking_waits_for_put() {
        let pool = Arc::new(Pool::new(1, || 7u32));
        let first = pool.take_blocking().unwrap();
        let p = Arc::clone(&pool);
        let waiter = std::thread::spawn(move || p.take_blocking());
        pool.put(first);
        assert_eq!(waiter.join().unwrap(), Some(7));
        assert_eq!(pool.grown(), 0);
    }

    #[test]
    fn close_wakes_waiters() {
        let pool = Arc::new(Pool::new(0, || 0u8));
        let p = Arc::clone(&pool);
        let waiter = std::thread::spawn(move || p.take_blocking());
        pool.close();
        assert_eq!(waiter.join().unwrap(), None);
    }

    #[test]
    fn take_or_grow_counts_new_objects() {
        let pool = Pool::new(1, || 1u8);
        let a = pool.take_or_grow(|| 2);
        let b = pool.take_or_grow(|| 2);
        assert_eq!((a, b), (1, 2));
        assert_eq!((pool.made(), pool.grown()), (2, 1));
        pool.put(a);
        pool.put(b);
        let _ = pool.take_or_grow(|| 3);
        assert_eq!(pool.grown(), 1);
    }
}
