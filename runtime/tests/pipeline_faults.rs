//! Fault injection: stages that fail or panic on chosen items while every stage sleeps at
//! random. Every pushed item yields exactly one result, in push order, `Ok` with the right bytes
//! or an error naming the stage; nothing hangs (a watchdog aborts a hung test after 60 s); every
//! executor is dropped (its thread joined) by the time the pipeline's drop returns.

#[path = "pipeline_util/mod.rs"]
mod util;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tpupipe_runtime::pipeline::*;
use util::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Deterministic pseudo-random picks of (stage, item).
fn picks(seed: u64, stages: usize, items: u64, count: usize) -> HashSet<(usize, u64)> {
    let mut s = seed;
    let mut out = HashSet::new();
    while out.len() < count {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.insert(((s >> 40) as usize % stages, s % items));
    }
    out
}

/// The stage that should fail item `id` first (the earliest of its faults), if any.
fn first_fault(faults: &Faults, id: u64, stages: usize) -> Option<usize> {
    (0..stages).find(|&s| faults.fail.contains(&(s, id)) || faults.panic.contains(&(s, id)))
}

#[test]
fn failing_and_panicking_stages_fail_only_their_items() {
    let _w = Watchdog::new("fail item", LIMIT);
    quiet_injected_panics();
    const N: u64 = 3000;
    for (seed, replicas) in [(1u64, [2, 1, 3]), (2, [1, 1, 1]), (3, [3, 2, 1])] {
        let faults = Arc::new(Faults {
            fail: picks(seed, 3, N, 40),
            panic: picks(seed * 77, 3, N, 40),
            max_sleep: Duration::from_micros(150),
        });
        let live = Arc::new(AtomicUsize::new(0));
        let mut p = Pipeline::new(
            skip_spec(replicas),
            factory(Arc::clone(&faults), Arc::clone(&live)),
            PipelineOptions::default(),
        )
        .unwrap();
        let inputs: Vec<[u8; TENSOR_BYTES]> = (0..N).map(input_of).collect();
        let mut seen = 0u64;
        let mut failed = 0u64;
        for (id, r) in p
            .run_iter(inputs.iter().map(|d| [Input::bytes(d)]))
            .enumerate()
        {
            let id = id as u64;
            seen += 1;
            match (r, first_fault(&faults, id, 3)) {
                (Ok(out), None) => {
                    assert_eq!(out.seq(), id);
                    assert_eq!(
                        out.to_vecs(),
                        skip_expected(id).map(|a| a.to_vec()).to_vec()
                    );
                }
                (
                    Err(PipelineError::Stage {
                        item, stage, cause, ..
                    }),
                    Some(want),
                ) => {
                    failed += 1;
                    assert_eq!((item, stage), (id, want), "{cause}");
                    let panicked = faults.panic.contains(&(want, id));
                    if panicked {
                        assert!(
                            matches!(*cause, StageError::Panicked(ref m) if m.contains("injected panic"))
                        );
                    } else {
                        assert!(matches!(*cause, StageError::Failed(_)), "{cause}");
                    }
                }
                (r, want) => panic!("item {id}: got {r:?}, expected a fault at {want:?}"),
            }
        }
        assert_eq!(seen, N, "one result per item");
        let stats = p.stats();
        let counted: u64 = stats.stages.iter().map(|s| s.total.failures).sum();
        assert_eq!(counted, failed);
        assert_eq!(stats.latency.count, N - failed);
        drop(p);
        assert_eq!(live.load(Ordering::SeqCst), 0, "every worker joined");
    }
}

#[test]
fn close_pipeline_policy_fails_everything_after_the_failure() {
    let _w = Watchdog::new("close policy", LIMIT);
    quiet_injected_panics();
    for (replicas, panic) in [([1, 1, 1], false), ([2, 3, 2], true)] {
        let mut faults = Faults {
            max_sleep: Duration::from_micros(100),
            ..Faults::default()
        };
        if panic {
            faults.panic.insert((1, 50));
        } else {
            faults.fail.insert((1, 50));
        }
        let faults = Arc::new(faults);
        let live = Arc::new(AtomicUsize::new(0));
        let mut p = Pipeline::new(
            skip_spec(replicas),
            factory(Arc::clone(&faults), Arc::clone(&live)),
            PipelineOptions::default().with_failure_policy(FailurePolicy::ClosePipeline),
        )
        .unwrap();
        let inputs: Vec<[u8; TENSOR_BYTES]> = (0..200).map(input_of).collect();
        let results: Vec<_> = p
            .run_iter(inputs.iter().map(|d| [Input::bytes(d)]))
            .collect();
        assert_eq!(results.len(), 200);
        for (id, r) in results.iter().enumerate() {
            match id {
                0..=49 => assert_eq!(
                    r.as_ref().unwrap().to_vecs(),
                    skip_expected(id as u64).map(|a| a.to_vec()).to_vec()
                ),
                50 => assert!(
                    matches!(
                        r,
                        Err(PipelineError::Stage {
                            item: 50,
                            stage: 1,
                            ..
                        })
                    ),
                    "{r:?}"
                ),
                _ => match r {
                    Err(PipelineError::ClosedByFailure { cause }) => {
                        assert!(matches!(**cause, PipelineError::Stage { item: 50, .. }))
                    }
                    other => panic!("item {id}: {other:?}"),
                },
            }
        }
        drop(results);
        assert!(p.is_closed());
        let e = p.push(&[Input::bytes(&input_of(0))]).unwrap_err();
        assert!(matches!(e, PipelineError::ClosedByFailure { .. }), "{e}");
        assert!(e.to_string().contains("stage 1 ('s1')"), "{e}");
        drop(p);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn dropping_mid_stream_joins_every_thread() {
    let _w = Watchdog::new("drop mid-stream", LIMIT);
    for (replicas, popped) in [([1, 1, 1], 0), ([2, 1, 3], 3), ([1, 4, 1], 10)] {
        let faults = Arc::new(Faults {
            max_sleep: Duration::from_millis(2),
            ..Faults::default()
        });
        let live = Arc::new(AtomicUsize::new(0));
        let p = Pipeline::new(
            skip_spec(replicas),
            factory(Arc::clone(&faults), Arc::clone(&live)),
            PipelineOptions::default(),
        )
        .unwrap();
        assert_eq!(live.load(Ordering::SeqCst), replicas.iter().sum::<usize>());
        let n = p.capacity();
        for id in 0..n as u64 {
            p.push(&[Input::bytes(&input_of(id))]).unwrap();
        }
        let held: Vec<_> = (0..popped).map(|_| p.pop().unwrap().unwrap()).collect();
        drop(p);
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "{replicas:?}: a worker outlived the drop"
        );
        // Results popped before the drop stay readable.
        for (id, out) in held.iter().enumerate() {
            assert_eq!(out.get(0).unwrap(), &skip_expected(id as u64)[0]);
        }
    }
}

#[test]
fn dropping_while_a_stage_is_blocked_on_a_full_queue() {
    let _w = Watchdog::new("drop blocked", LIMIT);
    let live = Arc::new(AtomicUsize::new(0));
    let p = Pipeline::new(
        chain(&[1, 1, 1]),
        factory(Arc::default(), Arc::clone(&live)),
        PipelineOptions::default().with_queue_depth(1),
    )
    .unwrap();
    // Fill every queue: the last stage waits for room in the (never popped) result queue.
    for id in 0..p.capacity() as u64 {
        p.push(&[Input::bytes(&input_of(id))]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    drop(p);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn a_stage_that_panics_on_every_item_still_answers_every_item() {
    let _w = Watchdog::new("always panics", LIMIT);
    quiet_injected_panics();
    let faults = Arc::new(Faults {
        panic: (0..100).map(|id| (0, id)).collect(),
        ..Faults::default()
    });
    let mut p = Pipeline::new(
        chain(&[2, 1]),
        factory(faults, Arc::default()),
        PipelineOptions::default(),
    )
    .unwrap();
    let inputs: Vec<[u8; TENSOR_BYTES]> = (0..100).map(input_of).collect();
    let errors = p
        .run_iter(inputs.iter().map(|d| [Input::bytes(d)]))
        .filter(|r| matches!(r, Err(PipelineError::Stage { stage: 0, .. })))
        .count();
    assert_eq!(errors, 100);
    // The pipeline still works for items that do not panic.
    let out = p.infer(&[Input::bytes(&input_of(100))]).unwrap();
    assert_eq!(out.get(0).unwrap(), &chain_expected(2, 100));
}

#[test]
fn capacity_items_fit_without_a_pop_for_any_replicas_and_depth() {
    // `capacity()` is what `run_iter` may keep in flight from one thread: if it were too large,
    // a push would wait for a pop that never comes, and the watchdog would fire.
    let _w = Watchdog::new("capacity", LIMIT);
    let faults = Arc::new(Faults {
        max_sleep: Duration::from_micros(50),
        ..Faults::default()
    });
    for depth in 1..=3 {
        for r0 in 1..=3 {
            for r1 in 1..=3 {
                for r2 in [1, 3] {
                    let replicas = [r0, r1, r2];
                    let mut p = Pipeline::new(
                        skip_spec(replicas),
                        factory(Arc::clone(&faults), Arc::default()),
                        PipelineOptions::default().with_queue_depth(depth),
                    )
                    .unwrap();
                    let capacity = p.capacity();
                    for id in 0..capacity as u64 {
                        p.push(&[Input::bytes(&input_of(id))]).unwrap();
                    }
                    for id in 0..capacity as u64 {
                        let out = p.pop().unwrap().unwrap();
                        assert_eq!(out.get(0).unwrap(), &skip_expected(id)[0]);
                    }
                    let inputs: Vec<[u8; TENSOR_BYTES]> = (0..150).map(input_of).collect();
                    let n = p
                        .run_iter_with_window(inputs.iter().map(|d| [Input::bytes(d)]), usize::MAX)
                        .enumerate()
                        .map(|(k, r)| {
                            let out = r.unwrap();
                            assert_eq!(out.get(0).unwrap(), &skip_expected(k as u64)[0]);
                        })
                        .count();
                    assert_eq!(n, 150, "{replicas:?} depth {depth}");
                }
            }
        }
    }
}
