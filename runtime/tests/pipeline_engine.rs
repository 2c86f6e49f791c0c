//! Pipeline engine semantics with test executors: spec validation, skip connections and early
//! outputs, replicas, order, inputs by position and by name, input errors before queueing,
//! close, statistics, the latency path against a stream.

#[path = "pipeline_util/mod.rs"]
mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tpupipe_runtime::pipeline::*;
use tpupipe_runtime::{ByteCount, ElementType};
use util::*;

fn start(spec: PipelineSpec, options: PipelineOptions) -> Pipeline {
    let live = Arc::new(AtomicUsize::new(0));
    Pipeline::new(spec, factory(Arc::default(), live), options).unwrap()
}

fn spec_error(spec: PipelineSpec) -> SpecError {
    match spec.validate() {
        Err(e) => e,
        Ok(()) => panic!("spec accepted"),
    }
}

#[test]
fn valid_specs_pass() {
    chain(&[1]).validate().unwrap();
    chain(&[2, 1, 3]).validate().unwrap();
    skip_spec([1, 2, 1]).validate().unwrap();
}

#[test]
fn spec_errors_name_the_problem() {
    let mut s = chain(&[1, 1]);
    s.stages.clear();
    assert_eq!(spec_error(s), SpecError::NoStages);

    let mut s = chain(&[1, 1]);
    s.stages[1].replicas = 0;
    assert!(matches!(
        spec_error(s),
        SpecError::NoReplicas { stage: 1, .. }
    ));

    // A source pointing forwards, or at itself.
    let mut s = chain(&[1, 1]);
    s.stages[0].inputs[0].source = Source::Stage {
        stage: 1,
        output: 0,
    };
    let e = spec_error(s);
    assert!(matches!(e, SpecError::BadSource { .. }), "{e}");
    assert!(e.to_string().contains("does not come before"), "{e}");

    let mut s = chain(&[1, 1]);
    s.stages[1].inputs[0].source = Source::Stage {
        stage: 0,
        output: 3,
    };
    assert!(spec_error(s).to_string().contains("has no output 3"));

    let mut s = chain(&[1]);
    s.stages[0].inputs[0].source = Source::ModelInput(4);
    assert!(spec_error(s)
        .to_string()
        .contains("model input 4 does not exist"));

    // Sizes and types must agree between producer and consumer.
    let mut s = chain(&[1, 1]);
    s.stages[1].inputs[0].tensor = TensorSpec::new("t1", ElementType::U8, vec![8]).unwrap();
    assert!(matches!(
        spec_error(s),
        SpecError::Mismatch { stage: 1, .. }
    ));
    let mut s = chain(&[1, 1]);
    s.stages[1].inputs[0].tensor = TensorSpec::new("t1", ElementType::I8, vec![16]).unwrap();
    assert!(matches!(
        spec_error(s),
        SpecError::Mismatch { stage: 1, .. }
    ));

    // A size that does not follow from type and shape.
    let mut s = chain(&[1]);
    s.inputs[0].bytes = ByteCount(15);
    assert!(matches!(spec_error(s), SpecError::BadSize { .. }));

    // A stage output nobody reads.
    let mut s = chain(&[1, 1]);
    s.stages[0].outputs.push(t("dangling"));
    let e = spec_error(s);
    assert!(
        matches!(e, SpecError::UnusedOutput { stage: 0, output: 1, ref name, .. } if name == "dangling"),
        "{e}"
    );

    // A model input nobody reads.
    let mut s = chain(&[1]);
    s.inputs.push(t("unused"));
    assert!(matches!(
        spec_error(s),
        SpecError::UnusedInput { input: 1, .. }
    ));

    // The same tensor produced twice.
    let mut s = chain(&[1, 1]);
    s.stages[1].outputs[0].name = "t1".into();
    assert!(matches!(spec_error(s), SpecError::DuplicateTensor { .. }));

    let mut s = skip_spec([1, 1, 1]);
    s.outputs[1].name = "c".into();
    assert!(matches!(spec_error(s), SpecError::DuplicateOutput { .. }));

    let mut s = chain(&[1]);
    s.outputs.clear();
    assert_eq!(spec_error(s), SpecError::NoOutputs);
}

#[test]
fn new_refuses_bad_options_and_failing_factories() {
    let live = Arc::new(AtomicUsize::new(0));
    let e = Pipeline::new(
        chain(&[1]),
        factory(Arc::default(), Arc::clone(&live)),
        PipelineOptions::default().with_queue_depth(0),
    )
    .unwrap_err();
    assert!(matches!(e, PipelineError::Options(_)), "{e}");

    let mut made = 0;
    let failing = |stage: usize, replica: usize| -> Result<Box<dyn StageExecutor>, StageError> {
        made += 1;
        if stage == 1 && replica == 1 {
            return Err(StageError::Failed("no device".into()));
        }
        Ok(Box::new(TestExec::new(
            stage,
            replica,
            Arc::default(),
            Arc::clone(&live),
        )))
    };
    let e = Pipeline::new(chain(&[1, 2]), failing, PipelineOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            PipelineError::CreateExecutor {
                stage: 1,
                replica: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("no device"));
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "executors made so far are dropped"
    );

    let e = Pipeline::new(
        skip_spec([1, 0, 1]),
        factory(Arc::default(), Arc::clone(&live)),
        PipelineOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        PipelineError::Spec(SpecError::NoReplicas { .. })
    ));
}

#[test]
fn infer_routes_skip_connections_early_outputs_and_forwarded_inputs() {
    let _w = Watchdog::new("infer skip", Duration::from_secs(60));
    for replicas in [[1, 1, 1], [2, 3, 1], [1, 1, 4]] {
        let p = start(skip_spec(replicas), PipelineOptions::default());
        for id in 0..20u64 {
            let out = p.infer(&[Input::u8(&input_of(id))]).unwrap();
            let want = skip_expected(id);
            assert_eq!(out.len(), 4);
            for (k, name) in ["c", "a", "x", "b2"].iter().enumerate() {
                assert_eq!(
                    out.get(k).unwrap(),
                    &want[k],
                    "{replicas:?} item {id} output {name}"
                );
                assert_eq!(out.by_name(name).unwrap(), &want[k]);
                assert_eq!(out.name(k), Some(*name));
            }
            assert_eq!(out.seq(), id);
            assert!(out.get(4).is_none() && out.by_name("nope").is_none());
        }
    }
}

#[test]
fn streams_come_out_in_push_order_with_replicas() {
    let _w = Watchdog::new("stream order", Duration::from_secs(60));
    let faults = Arc::new(Faults {
        max_sleep: Duration::from_micros(300),
        ..Faults::default()
    });
    let live = Arc::new(AtomicUsize::new(0));
    for (replicas, depth) in [([2, 3, 1], 1), ([1, 1, 1], 2), ([3, 1, 2], 4)] {
        let mut p = Pipeline::new(
            skip_spec(replicas),
            factory(Arc::clone(&faults), Arc::clone(&live)),
            PipelineOptions::default().with_queue_depth(depth),
        )
        .unwrap();
        let inputs: Vec<[u8; TENSOR_BYTES]> = (0..600).map(input_of).collect();
        let mut n = 0u64;
        for r in p.run_iter(inputs.iter().map(|d| [Input::bytes(d)])) {
            let out = r.unwrap();
            assert_eq!(out.seq(), n);
            assert_eq!(out.to_vecs(), skip_expected(n).map(|a| a.to_vec()).to_vec());
            n += 1;
        }
        assert_eq!(n, 600);
        let stats = p.stats();
        assert_eq!((stats.pushed, stats.popped), (600, 600));
        for (s, stage) in stats.stages.iter().enumerate() {
            assert_eq!(stage.total.items, 600, "stage {s}");
            assert_eq!(stage.replicas.len(), replicas[s]);
            // Replicas take items in turn.
            for (r, rep) in stage.replicas.iter().enumerate() {
                let share = (600 - r as u64).div_ceil(replicas[s] as u64);
                assert_eq!(rep.items, share, "stage {s} replica {r}");
            }
            assert!(stage.queue_high_water >= 1);
            assert!(stage.queue_high_water <= depth * replicas[s] * 4);
            assert!(stage.total.busy > Duration::ZERO);
        }
        assert_eq!(stats.latency.count, 600);
        let l = stats.latency;
        assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max && l.max > Duration::ZERO);
    }
}

#[test]
fn push_and_pop_from_two_threads() {
    let _w = Watchdog::new("two threads", Duration::from_secs(60));
    let faults = Arc::new(Faults {
        max_sleep: Duration::from_micros(200),
        ..Faults::default()
    });
    let p = Pipeline::new(
        chain(&[1, 2, 1, 3]),
        factory(faults, Arc::default()),
        PipelineOptions::default(),
    )
    .unwrap();
    const N: u64 = 2000;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for id in 0..N {
                p.push(&[Input::bytes(&input_of(id))]).unwrap();
            }
        });
        let mut next = 0;
        while next < N {
            match p.pop() {
                Some(r) => {
                    let out = r.unwrap();
                    assert_eq!(out.get(0).unwrap(), &chain_expected(4, next));
                    next += 1;
                }
                None => std::thread::yield_now(),
            }
        }
    });
    assert!(p.pop().is_none());
}

#[test]
fn bad_inputs_are_refused_before_queueing() {
    let mut spec = skip_spec([1, 1, 1]);
    // A second input read by stage 2, so naming and order matter.
    spec.inputs
        .push(TensorSpec::new("w", ElementType::I8, vec![4]).unwrap());
    spec.stages[2].inputs.push(StageInput {
        source: Source::ModelInput(1),
        tensor: TensorSpec::new("w", ElementType::I8, vec![4]).unwrap(),
    });
    let p = start(spec, PipelineOptions::default());
    let x = input_of(3);
    let w = [1i8, 2, 3, 4];
    let cases: Vec<(Vec<Input>, &str)> = vec![
        (
            vec![Input::bytes(&x)],
            "1 input tensors given; the pipeline takes 2",
        ),
        (
            vec![Input::bytes(&x), Input::bytes(&x[..4]), Input::bytes(&x)],
            "3 input",
        ),
        (
            vec![Input::bytes(&x[..8]), Input::i8(&w)],
            "takes 16 bytes, but 8",
        ),
        (
            vec![Input::i8(&[0; 16]), Input::i8(&w)],
            "holds uint8, but int8",
        ),
        (
            vec![Input::named("x", &x), Input::bytes(&x[..4])],
            "has no name",
        ),
        (
            vec![Input::named("x", &x), Input::named("q", &x[..4])],
            "no pipeline input is called 'q'",
        ),
        (
            vec![Input::named("x", &x), Input::named("x", &x)],
            "more than once",
        ),
    ];
    for (inputs, want) in cases {
        let e = p.push(&inputs).unwrap_err();
        assert!(matches!(e, PipelineError::Input(_)), "{e}");
        assert!(e.to_string().contains(want), "{e} does not say '{want}'");
        let e = p.infer(&inputs).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    assert_eq!(p.outstanding(), 0);
    assert_eq!(p.stats().pushed, 0);
    assert!(p.pop().is_none());
    // The same inputs, right: accepted, by position and by name in any order.
    let out = p.infer(&[Input::bytes(&x), Input::i8(&w)]).unwrap();
    assert_eq!(out.by_name("x").unwrap(), &x);
    let again = p
        .infer(&[Input::named("w", &[1, 2, 3, 4]), Input::named("x", &x)])
        .unwrap();
    assert_eq!(again.to_vecs(), out.to_vecs());
}

#[test]
fn named_inputs_in_any_order() {
    let mut spec = chain(&[1]);
    spec.inputs.push(t("extra"));
    spec.outputs.push(OutputSpec {
        name: "echo".into(),
        source: Source::ModelInput(1),
    });
    let p = start(spec, PipelineOptions::default());
    let a = input_of(7);
    let b = input_of(99);
    let out = p
        .infer(&[Input::named("extra", &b), Input::named("t0", &a)])
        .unwrap();
    assert_eq!(out.by_name("y").unwrap(), &chain_expected(1, 7));
    assert_eq!(out.by_name("echo").unwrap(), &b);
    let out2 = p.infer(&[Input::bytes(&a), Input::bytes(&b)]).unwrap();
    assert_eq!(out2.to_vecs(), out.to_vecs());
}

#[test]
fn close_drains_what_was_pushed() {
    let _w = Watchdog::new("close", Duration::from_secs(60));
    let p = start(chain(&[1, 2]), PipelineOptions::default());
    for id in 0..5 {
        p.push(&[Input::bytes(&input_of(id))]).unwrap();
    }
    p.close();
    assert!(p.is_closed());
    let e = p.push(&[Input::bytes(&input_of(5))]).unwrap_err();
    assert_eq!(e, PipelineError::Closed);
    assert_eq!(
        p.infer(&[Input::bytes(&input_of(5))]).unwrap_err(),
        PipelineError::StreamActive { outstanding: 5 }
    );
    for id in 0..5 {
        let out = p.pop().unwrap().unwrap();
        assert_eq!(out.get(0).unwrap(), &chain_expected(2, id));
    }
    assert!(p.pop().is_none());
    assert_eq!(
        p.infer(&[Input::bytes(&input_of(5))]).unwrap_err(),
        PipelineError::Closed
    );
}

#[test]
fn infer_refuses_to_wait_behind_a_stream_and_run_iter_needs_an_idle_pipeline() {
    let mut p = start(chain(&[1, 1]), PipelineOptions::default());
    p.push(&[Input::bytes(&input_of(0))]).unwrap();
    let e = p.infer(&[Input::bytes(&input_of(1))]).unwrap_err();
    assert_eq!(e, PipelineError::StreamActive { outstanding: 1 });
    let items = [input_of(1)];
    let results: Vec<_> = p
        .run_iter(items.iter().map(|d| [Input::bytes(d)]))
        .collect();
    assert_eq!(results.len(), 1);
    assert!(matches!(
        results[0],
        Err(PipelineError::StreamActive { outstanding: 1 })
    ));
    assert_eq!(p.pop().unwrap().unwrap().seq(), 0);
    // Idle again: both work, and sequence numbers continue.
    assert_eq!(p.infer(&[Input::bytes(&input_of(1))]).unwrap().seq(), 1);
    let results: Vec<u64> = p
        .run_iter(items.iter().map(|d| [Input::bytes(d)]))
        .map(|r| r.unwrap().seq())
        .collect();
    assert_eq!(results, vec![2]);
}

#[test]
fn run_iter_yields_refused_items_in_their_place() {
    let mut p = start(chain(&[2, 1]), PipelineOptions::default());
    let items: Vec<Vec<u8>> = (0..50u64)
        .map(|id| {
            if id % 7 == 3 {
                vec![0u8; 5]
            } else {
                input_of(id).to_vec()
            }
        })
        .collect();
    for (id, r) in p
        .run_iter(items.iter().map(|d| [Input::from(d)]))
        .enumerate()
    {
        if id % 7 == 3 {
            assert!(matches!(
                r,
                Err(PipelineError::Input(InputError::Size { .. }))
            ));
        } else {
            assert_eq!(r.unwrap().get(0).unwrap(), &chain_expected(2, id as u64));
        }
    }
}

#[test]
fn results_held_by_the_caller_grow_the_output_pool_instead_of_blocking() {
    let _w = Watchdog::new("held results", Duration::from_secs(60));
    let mut p = start(chain(&[1, 1]), PipelineOptions::default());
    let items: Vec<[u8; TENSOR_BYTES]> = (0..300).map(input_of).collect();
    let held: Vec<Outputs> = p
        .run_iter(items.iter().map(|d| [Input::bytes(d)]))
        .map(|r| r.unwrap())
        .collect();
    for (id, out) in held.iter().enumerate() {
        assert_eq!(out.get(0).unwrap(), &chain_expected(2, id as u64));
    }
    assert!(p.stats().pools.grown > 0);
    drop(held);
    let grown = p.stats().pools.grown;
    let n = p
        .run_iter(items.iter().map(|d| [Input::bytes(d)]))
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(n, 300);
    assert_eq!(p.stats().pools.grown, grown, "recycled buffers are reused");
}

#[test]
fn pipelines_and_results_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Pipeline>();
    send::<Outputs>();
    send_sync::<PipelineError>();
}

#[test]
fn concurrent_infer_calls_take_turns() {
    let _w = Watchdog::new("concurrent infer", Duration::from_secs(60));
    let p = start(skip_spec([1, 2, 1]), PipelineOptions::default());
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let p = &p;
            scope.spawn(move || {
                for k in 0..100u64 {
                    let id = thread * 1000 + k;
                    let out = p.infer(&[Input::bytes(&input_of(id))]).unwrap();
                    assert_eq!(out.get(0).unwrap(), &skip_expected(id)[0]);
                }
            });
        }
    });
    assert_eq!(p.stats().popped, 400);
    assert_eq!(p.outstanding(), 0);
}
