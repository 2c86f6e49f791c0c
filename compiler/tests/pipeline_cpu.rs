//! Real splits through the runtime pipeline on the CPU: every fixture in `tests/models/` split
//! 2..6 ways (the equal-parameter cuts `tpupipe split` writes), the segment files loaded by
//! `CpuPipelineBuilder`, and the pipeline must give exactly the full model's golden outputs
//! (`NAME.outputs.npz`) for one `infer`, and for a stream of 1,000 items in push order (items
//! cycle through the golden input and seven pseudo-random ones, whose expected outputs come from
//! the full model on the interpreter). One split of each model also runs with its middle stage
//! replicated.
//!
//! MobileNetV2 streams 1,000 items for its 4-way split and 64 for the others (about 6 ms of CPU
//! per item); `TPUPIPE_PIPELINE_FULL=1` streams 1,000 for every split.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tpupipe_compiler::{Builder, Strategy};
use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::npz::read_npz;
use tpupipe_runtime::pipeline::cpu::CpuPipelineBuilder;
use tpupipe_runtime::pipeline::{Input, Pipeline, PipelineOptions};
use tpupipe_runtime::ModelView;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models")
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(models_dir())
        .expect("tests/models exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect();
    v.sort();
    assert!(v.len() >= 8, "expected the fixture models in tests/models");
    v
}

/// One item: bytes per model input, in the plan's input order.
type Item = Vec<Vec<u8>>;

/// Expected bytes per output name.
type Expected = HashMap<String, Vec<u8>>;

/// The golden input, seven pseudo-random ones, and the full model's outputs (by name) for each.
fn reference_items(
    model: &Path,
    input_names: &[String],
    output_names: &[String],
) -> (Vec<Item>, Vec<Expected>) {
    let stem = model.file_stem().unwrap().to_string_lossy().into_owned();
    let golden_in: HashMap<String, Vec<u8>> =
        read_npz(models_dir().join(format!("{stem}.inputs.npz")))
            .unwrap()
            .into_iter()
            .map(|(k, a)| (k, a.data))
            .collect();
    let golden_out: HashMap<String, Vec<u8>> =
        read_npz(models_dir().join(format!("{stem}.outputs.npz")))
            .unwrap()
            .into_iter()
            .map(|(k, a)| (k, a.data))
            .collect();
    let bytes = std::fs::read(model).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let mut full = Interpreter::new(&view).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut items = vec![input_names
        .iter()
        .map(|n| golden_in[n].clone())
        .collect::<Item>()];
    for _ in 0..7 {
        items.push(
            input_names
                .iter()
                .map(|n| {
                    (0..golden_in[n].len())
                        .map(|_| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            (seed >> 56) as u8
                        })
                        .collect()
                })
                .collect(),
        );
    }
    // Float inputs: random bytes can be NaN or huge; keep them finite and small.
    for (k, name) in input_names.iter().enumerate() {
        if full.input_by_name(name).unwrap().dtype == tpupipe_runtime::ElementType::F32 {
            for item in items.iter_mut().skip(1) {
                for chunk in item[k].chunks_exact_mut(4) {
                    let v = (u32::from_le_bytes(chunk.try_into().unwrap()) % 2001) as f32 / 1000.0
                        - 1.0;
                    chunk.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    let mut expected = Vec::new();
    for item in &items {
        let named: Vec<(&str, &[u8])> = input_names
            .iter()
            .zip(item)
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        full.run(&named).unwrap();
        expected.push(
            output_names
                .iter()
                .map(|n| (n.clone(), full.output_bytes_by_name(n).unwrap().to_vec()))
                .collect::<HashMap<_, _>>(),
        );
    }
    for n in output_names {
        assert_eq!(
            expected[0][n], golden_out[n],
            "{stem}: the full model on the interpreter does not reproduce golden output '{n}'"
        );
    }
    (items, expected)
}

fn check_outputs(ctx: &str, out: &tpupipe_runtime::pipeline::Outputs, want: &Expected) {
    assert_eq!(out.len(), want.len(), "{ctx}");
    for (name, bytes) in want {
        assert_eq!(
            out.by_name(name)
                .unwrap_or_else(|| panic!("{ctx}: no output '{name}'")),
            bytes.as_slice(),
            "{ctx}: output '{name}' differs from the full model's"
        );
    }
}

fn stream(ctx: &str, pipeline: &mut Pipeline, items: &[Item], expected: &[Expected], count: usize) {
    let inputs = (0..count).map(|k| {
        items[k % items.len()]
            .iter()
            .map(|d| Input::bytes(d))
            .collect::<Vec<_>>()
    });
    let mut n = 0;
    let mut first_seq = None;
    for r in pipeline.run_iter(inputs) {
        let out = r.unwrap_or_else(|e| panic!("{ctx}: item {n}: {e}"));
        let first = *first_seq.get_or_insert(out.seq());
        assert_eq!(out.seq(), first + n as u64, "{ctx}: results out of order");
        check_outputs(&format!("{ctx} item {n}"), &out, &expected[n % items.len()]);
        n += 1;
    }
    assert_eq!(n, count, "{ctx}: one result per item");
}

#[test]
fn every_fixture_split_2_to_6_ways_matches_the_full_model() {
    let watchdog_limit = Duration::from_secs(900);
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(watchdog_limit) {
            eprintln!("watchdog: pipeline_cpu still running after {watchdog_limit:?}; aborting");
            std::process::abort();
        }
    });
    let full_streams = std::env::var("TPUPIPE_PIPELINE_FULL").is_ok_and(|v| v == "1");
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for model_path in fixtures() {
        let stem = model_path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut reference: Option<(Vec<Item>, Vec<Expected>)> = None;
        for n in 2..=6usize {
            let dir = tmp.path().join(format!("{stem}_{n}"));
            let outcome = match Builder::new(&model_path)
                .tpus(n)
                .strategy(Strategy::Params)
                .out_dir(dir)
                .split()
            {
                Ok(o) => o,
                Err(e) => panic!("{stem}: split into {n}: {e}"),
            };
            let plan = &outcome.plan;
            let (items, expected) = reference.get_or_insert_with(|| {
                reference_items(&model_path, &plan.model_inputs, &plan.model_outputs)
            });
            let ctx = format!("{stem} split {n} ways (cuts {:?})", plan.cuts);
            let builder = CpuPipelineBuilder::from_files(&outcome.segment_paths)
                .unwrap()
                .model_inputs(plan.model_inputs.clone())
                .model_outputs(plan.model_outputs.clone());
            let mut pipeline = builder
                .build(PipelineOptions::default())
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));

            // One item, the latency path, inputs by name.
            let named: Vec<Input> = plan
                .model_inputs
                .iter()
                .zip(&items[0])
                .map(|(name, d)| Input::named(name, d))
                .collect();
            let out = pipeline.infer(&named).unwrap();
            check_outputs(&format!("{ctx} infer"), &out, &expected[0]);
            drop(out);

            let count = if stem != "mobilenet_v2" || full_streams || n == 4 {
                1000
            } else {
                64
            };
            stream(&ctx, &mut pipeline, items, expected, count);
            let stats = pipeline.stats();
            assert_eq!(stats.pools.grown, 0, "{ctx}: a pool grew");
            for s in &stats.stages {
                assert_eq!(s.total.items as usize, count + 1, "{ctx}: {}", s.name);
                assert_eq!(s.total.failures, 0);
            }
            drop(pipeline);

            // The middle stage replicated.
            if n == 3 {
                let replicated = CpuPipelineBuilder::from_files(&outcome.segment_paths)
                    .unwrap()
                    .model_inputs(plan.model_inputs.clone())
                    .model_outputs(plan.model_outputs.clone())
                    .replicas(1, 2)
                    .unwrap();
                let mut pipeline = replicated.build(PipelineOptions::default()).unwrap();
                let count = if stem == "mobilenet_v2" { 64 } else { 1000 };
                stream(
                    &format!("{ctx}, stage 1 x2"),
                    &mut pipeline,
                    items,
                    expected,
                    count,
                );
            }
            runs += 1;
        }
    }
    assert!(runs >= 40, "only {runs} splits ran");
    eprintln!(
        "{runs} splits checked in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(tx);
    let _ = watchdog.join();
}

#[test]
fn mismatched_segments_are_refused_with_the_tensor_name() {
    let tmp = tempfile::tempdir().unwrap();
    let outcome = Builder::new(models_dir().join("conv_residual.tflite"))
        .tpus(3)
        .strategy(Strategy::Params)
        .out_dir(tmp.path())
        .split()
        .unwrap();
    // Segments out of order: the second one reads tensors nothing before it writes.
    let mut paths = outcome.segment_paths.clone();
    paths.swap(0, 1);
    let e = CpuPipelineBuilder::from_files(&paths)
        .unwrap()
        .model_inputs(outcome.plan.model_inputs.clone())
        .model_outputs(outcome.plan.model_outputs.clone())
        .spec()
        .unwrap_err();
    assert!(
        e.to_string().contains("which no earlier segment writes"),
        "{e}"
    );

    // The last segment missing: the model output is written by nobody.
    let e = CpuPipelineBuilder::from_files(&outcome.segment_paths[..2])
        .unwrap()
        .model_outputs(outcome.plan.model_outputs.clone())
        .spec()
        .unwrap_err();
    assert!(e.to_string().contains("is written by no segment"), "{e}");

    // A file that is not a model.
    let bogus = tmp.path().join("bogus.tflite");
    std::fs::write(&bogus, b"not a flatbuffer").unwrap();
    let e = CpuPipelineBuilder::from_files(&[&bogus]).unwrap_err();
    assert!(e.to_string().contains("bogus.tflite"), "{e}");
    let e = CpuPipelineBuilder::from_files(&[tmp.path().join("missing.tflite")]).unwrap_err();
    assert!(e.to_string().contains("cannot read segment"), "{e}");
}
