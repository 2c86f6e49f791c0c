//! `tpupipe bench`: a plan's pipeline and a model measured, with per-stage figures.

use serde_json::Value;
use tpupipe_testkit::paths::fixture;

#[test]
fn bench_reports_every_stage_of_a_plan_and_a_model() {
    let tpupipe = tpupipe_testkit::tpupipe!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let model = fixture("conv_residual");
    tpupipe.ok(&["split", model.to_str().unwrap(), "--tpus", "3", "--out", d]);
    let plan = dir.path().join("conv_residual_plan.json");
    let out = tpupipe.ok(&[
        "bench",
        plan.to_str().unwrap(),
        "--backend",
        "cpu",
        "--items",
        "50",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["items"], 50);
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 3);
    for (i, s) in stages.iter().enumerate() {
        assert_eq!(s["stage"], i);
        assert_eq!(s["device"], "cpu");
        assert_eq!(s["items"], 50, "{s}");
        assert!(s["busy_ms_per_item"].as_f64().unwrap() > 0.0);
    }
    assert!(v["throughput_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["latency_ms"]["p99"].as_f64().unwrap() >= v["latency_ms"]["p50"].as_f64().unwrap());

    let text = tpupipe.ok(&["bench", model.to_str().unwrap(), "--items", "20"]);
    assert!(text.contains("one interpreter"), "{text}");

    // CPU timings are not Edge TPU measurements: no profile from them.
    let profile = dir.path().join("p.json");
    let r = tpupipe.run(&[
        "bench",
        plan.to_str().unwrap(),
        "--backend",
        "cpu",
        "--items",
        "5",
        "--profile-out",
        profile.to_str().unwrap(),
    ]);
    assert!(
        !r.ok && r.stderr.contains("no stage ran on an Edge TPU"),
        "{}",
        r.stderr
    );
    assert!(!profile.exists());
    let e = tpupipe.fails(&["bench", plan.to_str().unwrap(), "--items", "0"]);
    assert!(e.contains("--items must be at least 1"), "{e}");
}
