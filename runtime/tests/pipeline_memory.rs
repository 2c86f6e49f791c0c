//! Memory stays flat over a long stream: 100,000 items through a pipeline with replicas and a
//! skip connection allocate nothing in steady state (a counting global allocator sees every
//! allocation of every thread), and no pool ever grows.

#[path = "pipeline_util/mod.rs"]
mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tpupipe_runtime::pipeline::*;
use util::*;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_long_stream_allocates_nothing_per_item() {
    let _w = Watchdog::new("memory", Duration::from_secs(120));
    const N: u64 = 100_000;
    let mut p = Pipeline::new(
        skip_spec([2, 1, 3]),
        factory(Arc::default(), Arc::default()),
        PipelineOptions::default(),
    )
    .unwrap();
    // All inputs made up front, so that the stream itself allocates nothing.
    let inputs: Vec<[u8; TENSOR_BYTES]> = (0..N).map(input_of).collect();
    let warm = 1000usize;
    let mut checked = 0u64;
    let mut check = |r: Result<Outputs, PipelineError>| {
        let out = r.unwrap();
        let (id, _) = decode(out.get(0).unwrap());
        assert_eq!(id, out.seq());
        checked += 1;
    };
    for r in p.run_iter(inputs[..warm].iter().map(|d| [Input::bytes(d)])) {
        check(r);
    }
    let pools_before = p.stats().pools;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    // `run_iter` allocates its queue of pending items once.
    for r in p.run_iter(inputs[warm..].iter().map(|d| [Input::bytes(d)])) {
        check(r);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let pools_after = p.stats().pools;
    eprintln!("{allocations} allocations over {} items", N - warm as u64);
    assert_eq!(checked, N);
    assert_eq!(pools_before.grown, 0);
    assert_eq!(pools_after, pools_before, "a pool grew");
    assert!(
        allocations <= 16,
        "{allocations} allocations for {} items",
        N - warm as u64
    );
    // And the outputs were right (spot check, after the measured run).
    let out = p.infer(&[Input::bytes(&input_of(N))]).unwrap();
    assert_eq!(out.to_vecs(), skip_expected(N).map(|a| a.to_vec()).to_vec());
}
