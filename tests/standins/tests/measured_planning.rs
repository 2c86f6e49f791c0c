//! Measured planning (`Builder::measure`, `tpupipe compile --measure`) with both stand-ins: the
//! stand-in libedgetpu is built with a latency model (each invoke lasts a fixed time plus a
//! time per byte of its segment), so measured latencies follow a known law that differs from
//! the cost model's; the re-plan must move the cut toward the law's optimum, with far fewer
//! measurements than libcoral's profiling partitioner would take, and the final plan must run
//! bit-exactly. Also: no device is a clear error (or a warning when asked), and a candidate the
//! compiler crashes on is excluded.

mod common;

use std::path::{Path, PathBuf};
use tpupipe_compiler::compile::measure::timer::Timing;
use tpupipe_compiler::compile::measure::MeasureSettings;
use tpupipe_compiler::{Builder, CompileError, Plan};
use tpupipe_runtime::edgetpu::{Assignment, BackendConfig, LibraryPaths};
use tpupipe_runtime::npz::read_npz;
use tpupipe_runtime::pipeline::{
    read_segments, BackendChoice, Input, PlanPipeline, PlanPipelineOptions,
};
use tpupipe_runtime::plan::{Device, Profile};
use tpupipe_standin_libedgetpu::{build, toolchain, Standin, Toolchain};

const DEVICES: &str = "usb:/sys/bus/usb/devices/2-1,usb:/sys/bus/usb/devices/2-2";
/// The latency law: 1 ms per invoke plus 40 ns per byte of the segment (large against the
/// scheduling noise of a shared host).
const BASE_US: f64 = 1000.0;
const NS_PER_BYTE: f64 = 40.0;

fn fixture(name: &str) -> PathBuf {
    common::workspace().join("tests/models").join(name)
}

fn backend(tc: &Toolchain, lib: PathBuf, work: &Path) -> BackendConfig {
    BackendConfig {
        libraries: LibraryPaths {
            tflite: Some(tc.tflite_lib.clone()),
            edgetpu: Some(lib),
        },
        lock_dir: work.join("locks"),
        allow_version_mismatch: false,
        verbosity: None,
    }
}

fn settings(config: BackendConfig) -> MeasureSettings {
    MeasureSettings {
        timing: Timing {
            warm_up: 1,
            repeats: 7,
        },
        backend: Some(config),
        max_rounds: 16,
        ..MeasureSettings::default()
    }
}

/// The law's latency of positions `[s, e)`, ms, from the segment's parameter bytes (the
/// embedded segment is its parameters plus a few KiB of structure).
fn law_ms(model: &tpupipe_compiler::LoadedModel, [s, e]: [usize; 2]) -> f64 {
    let bytes = model.graph().unique_param_bytes(s..e).bytes() as f64;
    (BASE_US * 1e3 + NS_PER_BYTE * bytes) / 1e6
}

fn law_bottleneck(model: &tpupipe_compiler::LoadedModel, cut: usize) -> f64 {
    law_ms(model, [0, cut]).max(law_ms(model, [cut, model.op_count()]))
}

#[test]
fn measurements_move_the_cut_to_the_measured_optimum_and_the_plan_runs_bit_exactly() {
    let Some(tc) = toolchain() else { return };
    let work = tempfile::tempdir().unwrap();
    let lib = build(
        &tc,
        &Standin {
            devices: DEVICES,
            defines: &[
                &format!("STANDIN_DELAY_US={}", BASE_US as u64),
                &format!("STANDIN_DELAY_NS_PER_BYTE={}", NS_PER_BYTE as u64),
            ],
        },
        &work.path().join("lib"),
    );
    let config = backend(&tc, lib, work.path());
    let name = "mobilenet_v2";
    let model_path = fixture(&format!("{name}.tflite"));
    let model = Builder::new(&model_path).load().unwrap();
    let ops = model.op_count();
    let out = work.path().join("out");
    let outcome = Builder::new(&model_path)
        .tpus(2)
        .out_dir(&out)
        .cache_dir(work.path().join("cache"))
        .edgetpu_compiler(common::standin())
        .measure(Some(settings(config.clone())))
        .compile()
        .unwrap_or_else(|e| panic!("{e}"));
    let planning = outcome.planning.as_ref().expect("a planning record");
    let m = planning.measured.as_ref().expect("measured planning ran");
    eprintln!("{}", m.summary());
    for r in &m.rounds {
        for x in &r.measured {
            eprintln!(
                "round from {:?}: {:?} measured {:.3} ms, law {:.3} ms, predicted {:.3} ms",
                r.cuts,
                x.op_range,
                x.latency_ms,
                law_ms(&model, x.op_range),
                x.predicted_ms
            );
        }
    }

    let law_ns = |r: [usize; 2]| Some((law_ms(&model, r) * 1e6) as i64);
    let initial_params = Builder::new(&model_path)
        .tpus(2)
        .strategy(tpupipe_compiler::Strategy::Params)
        .plan()
        .unwrap()
        .cuts;
    let first_output = ops - 1;
    let on_law = tpupipe_compiler::compile::measure::libcoral::replay(
        ops,
        2,
        first_output,
        &initial_params,
        &law_ns,
        tpupipe_compiler::compile::measure::libcoral::DEFAULT_DIFF_THRESHOLD_NS,
        1_000_000,
    );
    eprintln!("libcoral's partitioner replayed on the law itself: {on_law:?}");
    // The law's optimum, by brute force over every cut.
    let best = (1..ops)
        .min_by(|&a, &b| law_bottleneck(&model, a).total_cmp(&law_bottleneck(&model, b)))
        .unwrap();
    let initial = m.initial_cuts[0];
    let last = m.final_cuts[0];
    assert_eq!(outcome.plan.segments.len(), 2);
    assert_eq!(
        outcome.plan.segments[1].op_range[0], last,
        "the plan built is the measured one"
    );
    // The cost model's plan is far from the law's optimum; measuring moves the cut most of
    // the way there (the host is shared, so measurements are noisy: the test asks for the
    // direction and a large gain, not the exact optimum).
    assert!(
        initial.abs_diff(best) >= 10,
        "the fixture shows nothing: {initial} vs {best}"
    );
    assert!(
        last.abs_diff(best) * 3 <= initial.abs_diff(best),
        "cut {initial} -> {last}, the law's optimum is {best}"
    );
    assert!(
        law_bottleneck(&model, last) < 0.8 * law_bottleneck(&model, initial),
        "the law's bottleneck went from {} to {} ms",
        law_bottleneck(&model, initial),
        law_bottleneck(&model, last)
    );
    // Every segment of the final plan was measured, and never faster than the law allows.
    for s in &outcome.plan.segments {
        let r = m
            .rounds
            .iter()
            .flat_map(|r| &r.measured)
            .find(|x| x.op_range == s.op_range)
            .unwrap_or_else(|| panic!("{:?} was not measured", s.op_range));
        let law = law_ms(&model, s.op_range);
        assert!(
            r.latency_ms >= law * 0.99,
            "{:?}: measured {} ms, law {law} ms",
            s.op_range,
            r.latency_ms
        );
    }
    // The profile holds the measurements as measured entries.
    let profile = Profile::read(&out.join(format!("{name}_profile.json"))).unwrap();
    let measured_entries = profile
        .segments
        .iter()
        .filter(|e| e.latency_ms.is_some())
        .count();
    assert_eq!(measured_entries, m.measurements);
    // Bounded, and far fewer than measuring every candidate segment of a 2-TPU plan.
    assert!(m.measurements <= 64, "{}", m.measurements);
    assert!(m.measurements * 2 <= 2 * (ops - 1), "{}", m.measurements);
    assert_eq!(
        m.measurements,
        m.rounds.iter().map(|r| r.measured.len()).sum::<usize>()
    );
    // libcoral's count is reported, replayed on the measured costs.
    let lib = m.libcoral.as_ref().expect("libcoral's count");
    assert!(lib.segment_measurements >= 2, "{lib:?}");
    // The final plan runs on the stand-in Edge TPUs, bit-exactly.
    let plan = Plan::from_json(&std::fs::read_to_string(&outcome.plan_path).unwrap()).unwrap();
    let built = PlanPipeline::new(
        &plan,
        read_segments(&plan, &out).unwrap(),
        &PlanPipelineOptions {
            backend: BackendChoice::EdgeTpu,
            cpu_fallback: false,
            edgetpu: Some(config),
            devices: Assignment::Automatic,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(built.placements.iter().all(|p| p.device == Device::EdgeTpu));
    let models = common::workspace().join("tests/models");
    let inputs = read_npz(models.join(format!("{name}.inputs.npz"))).unwrap();
    let golden = read_npz(models.join(format!("{name}.outputs.npz"))).unwrap();
    let item: Vec<Input<'_>> = inputs
        .iter()
        .map(|(n, a)| Input::named(n, &a.data).with_dtype(a.dtype))
        .collect();
    let got = built.pipeline.infer(&item).unwrap();
    for (n, a) in &golden {
        assert_eq!(got.by_name(n), Some(&a.data[..]), "{n}");
    }
}

#[test]
fn without_an_edge_tpu_measuring_fails_clearly_or_is_skipped_when_asked() {
    let Some(tc) = toolchain() else { return };
    let work = tempfile::tempdir().unwrap();
    let lib = build(
        &tc,
        &Standin {
            devices: "",
            defines: &[],
        },
        &work.path().join("lib"),
    );
    let config = backend(&tc, lib, work.path());
    let builder = |skip: bool, cache: &str| {
        let mut s = settings(config.clone());
        s.skip_without_device = skip;
        Builder::new(fixture("fc_tanh.tflite"))
            .tpus(2)
            .out_dir(work.path().join(cache))
            .cache_dir(work.path().join(cache))
            .edgetpu_compiler(common::standin())
            .measure(Some(s))
    };
    let e = builder(false, "a").compile().unwrap_err();
    assert!(matches!(e, CompileError::NoEdgeTpu { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("--measure") && msg.contains("Edge TPU"),
        "{msg}"
    );
    // No compile ran before the error.
    assert!(!work.path().join("a").join("fc_tanh_plan.json").exists());
    let ok = builder(true, "b").compile().unwrap();
    assert!(
        ok.warnings
            .iter()
            .any(|w| w.contains("measured planning skipped")),
        "{:?}",
        ok.warnings
    );
    assert!(ok.planning.unwrap().measured.is_none());
}
