//! The whole Edge TPU path with both stand-ins: a model split by the `Builder`, every segment
//! compiled by the stand-in `edgetpu_compiler` (through the driver), the plan naming both files
//! of each segment, and the pipeline run on the stand-in libedgetpu over the real TFLite C
//! library, one device per stage: exactly the whole model's golden outputs, and each stage on
//! its own device.

use std::path::{Path, PathBuf};
use tpupipe_compiler::edgetpu::{CompileOptions, Compiler, SegmentJob};
use tpupipe_compiler::{Builder, Plan};
use tpupipe_runtime::edgetpu::{Assignment, BackendConfig, LibraryPaths};
use tpupipe_runtime::npz::read_npz;
use tpupipe_runtime::pipeline::{
    read_segments, BackendChoice, Input, PlanPipeline, PlanPipelineError, PlanPipelineOptions,
};
use tpupipe_runtime::plan::Device;
use tpupipe_standin_libedgetpu::{build, toolchain, Standin, Toolchain};
use tpupipe_testkit::paths::{fixture, models_dir};

const DEVICES: &str = "usb:/sys/bus/usb/devices/2-1,usb:/sys/bus/usb/devices/2-2,pci:/dev/apex_0";

/// Splits `name` into `tpus` segments and compiles each with the stand-in compiler, writing
/// `..._edgetpu.tflite` beside it and naming it in the plan.
fn split_and_compile(name: &str, tpus: usize, dir: &Path) -> Plan {
    let mut plan = Builder::new(fixture(name))
        .tpus(tpus)
        .out_dir(dir)
        .split()
        .unwrap()
        .plan;
    let compiler = Compiler::at(env!("CARGO_BIN_EXE_edgetpu_compiler")).unwrap();
    let jobs: Vec<SegmentJob> = plan
        .segments
        .iter()
        .map(|s| SegmentJob {
            index: s.index,
            stem: s.file.trim_end_matches(".tflite").to_string(),
            model: std::fs::read(dir.join(&s.file)).unwrap(),
        })
        .collect();
    let results = compiler.compile_segments(&jobs, &CompileOptions::default());
    for (s, r) in plan.segments.iter_mut().zip(results) {
        let compiled = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = s.file.replace(".tflite", "_edgetpu.tflite");
        std::fs::write(dir.join(&file), &compiled.edgetpu_model).unwrap();
        s.edgetpu_file = Some(file);
    }
    plan
}

/// The shared TFLite C library, the stand-in libedgetpu at `lib`, and lock files under `work`.
fn backend_config(tc: &Toolchain, lib: PathBuf, work: &Path) -> BackendConfig {
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

fn options(config: BackendConfig, backend: BackendChoice) -> PlanPipelineOptions {
    PlanPipelineOptions {
        backend,
        cpu_fallback: backend == BackendChoice::Auto,
        edgetpu: Some(config),
        devices: Assignment::Automatic,
        ..Default::default()
    }
}

#[test]
fn compiled_segments_run_on_their_own_edge_tpus_bit_exactly() {
    let Some(tc) = toolchain() else { return };
    let work = tempfile::tempdir().unwrap();
    let lib = build(
        &tc,
        &Standin {
            devices: DEVICES,
            defines: &[],
        },
        &work.path().join("lib"),
    );
    let config = backend_config(&tc, lib, work.path());
    for (name, tpus) in [("conv_residual", 3), ("fc_tanh", 2), ("mobilenet_v2", 3)] {
        let dir = work.path().join(name);
        let plan = split_and_compile(name, tpus, &dir);
        let models = read_segments(&plan, &dir).unwrap();
        let built = PlanPipeline::new(
            &plan,
            models,
            &options(config.clone(), BackendChoice::EdgeTpu),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut seen = Vec::new();
        for p in &built.placements {
            assert_eq!(p.device, Device::EdgeTpu, "{name}: {p:?}");
            assert!(
                !seen.contains(&p.detail),
                "{name}: two stages on {}",
                p.detail
            );
            seen.push(p.detail.clone());
        }
        let inputs = read_npz(models_dir().join(format!("{name}.inputs.npz"))).unwrap();
        let golden = read_npz(models_dir().join(format!("{name}.outputs.npz"))).unwrap();
        let item: Vec<Input<'_>> = inputs
            .iter()
            .map(|(n, a)| Input::named(n, &a.data).with_dtype(a.dtype))
            .collect();
        let out = built.pipeline.infer(&item).unwrap();
        for (n, a) in &golden {
            assert_eq!(out.by_name(n), Some(&a.data[..]), "{name}: {n}");
        }
        drop(out);
        // A stream through the devices, in order.
        let mut built = built;
        let results: Vec<_> = built
            .pipeline
            .run_iter((0..20).map(|_| item.as_slice()))
            .map(|r| r.unwrap().to_vecs())
            .collect();
        let want: Vec<Vec<u8>> = golden.iter().map(|(_, a)| a.data.clone()).collect();
        assert!(
            results.iter().all(|r| *r == want),
            "{name}: streamed outputs differ"
        );
    }
}

#[test]
fn too_few_edge_tpus_fail_or_fall_back_to_the_cpu() {
    let Some(tc) = toolchain() else { return };
    let work = tempfile::tempdir().unwrap();
    let lib = build(
        &tc,
        &Standin {
            devices: "usb:/sys/bus/usb/devices/2-1",
            defines: &[],
        },
        &work.path().join("lib"),
    );
    let config = backend_config(&tc, lib, work.path());
    let dir = work.path().join("m");
    let plan = split_and_compile("conv_residual", 3, &dir);
    let strict = PlanPipeline::new(
        &plan,
        read_segments(&plan, &dir).unwrap(),
        &options(config.clone(), BackendChoice::EdgeTpu),
    )
    .unwrap_err();
    assert!(
        matches!(
            strict,
            PlanPipelineError::EdgeTpuUnavailable { segment: 1, .. }
        ),
        "{strict}"
    );
    // `auto` puts the first stage on the one TPU and the others on the CPU, saying why.
    let built = PlanPipeline::new(
        &plan,
        read_segments(&plan, &dir).unwrap(),
        &options(config, BackendChoice::Auto),
    )
    .unwrap();
    let devices: Vec<Device> = built.placements.iter().map(|p| p.device).collect();
    assert_eq!(devices, [Device::EdgeTpu, Device::Cpu, Device::Cpu]);
    assert!(built.placements[1].fallback_reason.is_some());
    let inputs = read_npz(models_dir().join("conv_residual.inputs.npz")).unwrap();
    let golden = read_npz(models_dir().join("conv_residual.outputs.npz")).unwrap();
    let item: Vec<Input<'_>> = inputs
        .iter()
        .map(|(n, a)| Input::named(n, &a.data).with_dtype(a.dtype))
        .collect();
    let out = built.pipeline.infer(&item).unwrap();
    assert_eq!(out.get(0), Some(&golden[0].1.data[..]));
}

/// What `Builder::compile` (`tpupipe compile`) writes runs as it is: the plan it writes names
/// both files of every segment, and the pipeline runs each compiled segment on its own stand-in
/// Edge TPU, giving the whole model's golden outputs; compile-profiled planning too.
#[test]
fn compile_output_runs_on_edge_tpus_as_written() {
    let Some(tc) = toolchain() else { return };
    let work = tempfile::tempdir().unwrap();
    let lib = build(
        &tc,
        &Standin {
            devices: DEVICES,
            defines: &[],
        },
        &work.path().join("lib"),
    );
    let config = backend_config(&tc, lib, work.path());
    for (name, tpus, profiled) in [("conv_residual", 3, false), ("fc_tanh", 2, true)] {
        let out = work.path().join(format!("{name}-out"));
        let outcome = Builder::new(fixture(name))
            .tpus(tpus)
            .out_dir(&out)
            .cache_dir(work.path().join("cache"))
            .edgetpu_compiler(env!("CARGO_BIN_EXE_edgetpu_compiler"))
            .compile_profiled(profiled)
            .compile()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = std::fs::read_to_string(&outcome.plan_path).unwrap();
        let plan = Plan::from_json(&text).unwrap();
        assert!(
            plan.segments.iter().all(|s| s.edgetpu_file.is_some()),
            "{name}"
        );
        let built = PlanPipeline::new(
            &plan,
            read_segments(&plan, &out).unwrap(),
            &options(config.clone(), BackendChoice::EdgeTpu),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(built.placements.iter().all(|p| p.device == Device::EdgeTpu));
        let inputs = read_npz(models_dir().join(format!("{name}.inputs.npz"))).unwrap();
        let golden = read_npz(models_dir().join(format!("{name}.outputs.npz"))).unwrap();
        let item: Vec<Input<'_>> = inputs
            .iter()
            .map(|(n, a)| Input::named(n, &a.data).with_dtype(a.dtype))
            .collect();
        let got = built.pipeline.infer(&item).unwrap();
        for (n, a) in &golden {
            assert_eq!(got.by_name(n), Some(&a.data[..]), "{name}: {n}");
        }
    }
}
