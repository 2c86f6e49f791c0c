//! Pipelines built from split plans (`tpupipe_runtime::pipeline::from_plan`): the whole model's
//! golden outputs through every split, and one clear error for each way a plan and its segments
//! can disagree.

use std::path::Path;
use tpupipe_compiler::{Builder, Plan};
use tpupipe_runtime::npz::read_npz;
use tpupipe_runtime::pipeline::{
    read_segments, BackendChoice, Input, PlanPipeline, PlanPipelineError, PlanPipelineOptions,
};
use tpupipe_runtime::plan::Device;
use tpupipe_testkit::paths::{fixture, models_dir};

fn cpu() -> PlanPipelineOptions {
    PlanPipelineOptions {
        backend: BackendChoice::Cpu,
        ..Default::default()
    }
}

fn split(name: &str, tpus: usize, dir: &Path) -> Plan {
    Builder::new(fixture(name))
        .tpus(tpus)
        .out_dir(dir)
        .split()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .plan
}

fn build(plan: &Plan, dir: &Path) -> Result<PlanPipeline, PlanPipelineError> {
    PlanPipeline::new(plan, read_segments(plan, dir)?, &cpu())
}

#[test]
fn every_fixture_split_runs_to_its_golden_outputs() {
    for name in [
        "conv_residual",
        "conv_small",
        "conv_uint8_io",
        "fc_float_io",
        "fc_tanh",
        "zero_bias",
    ] {
        let inputs = read_npz(models_dir().join(format!("{name}.inputs.npz"))).unwrap();
        let golden = read_npz(models_dir().join(format!("{name}.outputs.npz"))).unwrap();
        for tpus in [2, 3] {
            let dir = tempfile::tempdir().unwrap();
            let plan = split(name, tpus, dir.path());
            let built = build(&plan, dir.path()).unwrap();
            assert!(built.placements.iter().all(|p| p.device == Device::Cpu));
            let items: Vec<Input<'_>> = inputs
                .iter()
                .map(|(n, a)| Input::named(n, &a.data).with_dtype(a.dtype))
                .collect();
            let out = built.pipeline.infer(&items).unwrap();
            for (n, a) in &golden {
                assert_eq!(out.by_name(n), Some(&a.data[..]), "{name} in {tpus}: {n}");
            }
        }
    }
}

#[test]
fn plans_that_disagree_with_their_segments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = split("conv_residual", 3, dir.path());
    assert!(build(&plan, dir.path()).is_ok());

    let mut p = plan.clone();
    p.segments[1].inputs[0] = "renamed".into();
    let e = build(&p, dir.path()).unwrap_err();
    assert!(matches!(e, PlanPipelineError::Routing { .. }), "{e}");

    let mut p = plan.clone();
    let t = p.segments[1].outputs[0].clone();
    p.routing.iter_mut().find(|r| r.tensor == t).unwrap().bytes += 1;
    let e = build(&p, dir.path()).unwrap_err();
    assert!(
        matches!(e, PlanPipelineError::Size { segment: 1, .. }),
        "{e}"
    );

    let mut p = plan.clone();
    p.routing
        .iter_mut()
        .find(|r| r.tensor == t)
        .unwrap()
        .producer = Some(0);
    let e = build(&p, dir.path()).unwrap_err();
    assert!(e.to_string().contains("produced by Some(0)"), "{e}");

    let mut p = plan.clone();
    p.segments.swap(0, 1);
    let e = build(&p, dir.path()).unwrap_err();
    assert!(matches!(e, PlanPipelineError::SegmentOrder { .. }), "{e}");

    let mut p = plan.clone();
    p.segments[2].file = "missing.tflite".into();
    let e = build(&p, dir.path()).unwrap_err();
    assert!(
        matches!(e, PlanPipelineError::Read { segment: 2, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("missing.tflite"), "{e}");

    // A segment file that is another segment's: names disagree with the plan.
    let mut p = plan.clone();
    p.segments[2].file = p.segments[1].file.clone();
    let e = build(&p, dir.path()).unwrap_err();
    assert!(
        matches!(e, PlanPipelineError::Interface { segment: 2, .. }),
        "{e}"
    );

    // A corrupt segment file.
    std::fs::write(dir.path().join("bad.tflite"), b"not a model").unwrap();
    let mut p = plan.clone();
    p.segments[0].file = "bad.tflite".into();
    let e = build(&p, dir.path()).unwrap_err();
    assert!(
        matches!(e, PlanPipelineError::Load { segment: 0, .. }),
        "{e}"
    );

    // Without an Edge TPU backend, `edgetpu` fails and `auto` falls back only when allowed.
    let models = read_segments(&plan, dir.path()).unwrap();
    let strict = PlanPipelineOptions {
        backend: BackendChoice::EdgeTpu,
        ..Default::default()
    };
    let e = PlanPipeline::new(&plan, models.clone(), &strict).unwrap_err();
    assert!(
        matches!(e, PlanPipelineError::EdgeTpuUnavailable { .. }),
        "{e}"
    );
    let auto = PlanPipelineOptions {
        backend: BackendChoice::Auto,
        cpu_fallback: true,
        ..Default::default()
    };
    let built = PlanPipeline::new(&plan, models, &auto).unwrap();
    assert!(built
        .placements
        .iter()
        .all(|p| p.device == Device::Cpu && p.fallback_reason.is_some()));
}
