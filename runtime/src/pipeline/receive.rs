//! Receiving from a queue with a short spin before sleeping: a thread woken from a futex takes
//! several microseconds to run again, which would be most of a handoff between two stages that
//! each finish quickly. Spinning for a bounded few microseconds first catches an item that is
//! about to arrive; after that the thread sleeps as usual, so idle stages cost no CPU. Only
//! when the pipeline's threads fit the cores: otherwise spinning slows the threads doing work.

use std::sync::mpsc::{Receiver, RecvError, TryRecvError};
use std::time::{Duration, Instant};

/// How long a receiver spins before it sleeps.
const SPIN: Duration = Duration::from_micros(20);

/// [`Receiver::recv`], spinning for at most [`SPIN`] first when `spin` is set.
pub(crate) fn recv<T>(rx: &Receiver<T>, spin: bool) -> Result<T, RecvError> {
    if !spin {
        return rx.recv();
    }
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(item) => return Ok(item),
                Err(TryRecvError::Disconnected) => return Err(RecvError),
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= SPIN {
            return rx.recv();
        }
    }
}
