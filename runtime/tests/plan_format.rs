//! The plan and profile JSON formats, pinned: the runtime (without the compiler) reads a plan
//! that `tpupipe split` wrote before the plan types moved into the runtime, and writes it back
//! byte for byte; a profile round-trips to its golden text.

use std::path::Path;
use tpupipe_runtime::plan::{
    Clock, Device, Interface, Plan, Profile, ProfileEntry, Strategy, PLAN_FORMAT,
};

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn plans_written_by_split_read_and_write_back_byte_for_byte() {
    for name in ["conv_residual_plan_v1.json", "fc_tanh_manual_plan.json"] {
        let text = data(name);
        let plan = Plan::from_json(&text).unwrap();
        assert_eq!(plan.format, PLAN_FORMAT);
        assert_eq!(plan.to_json(), text, "{name}");
        // Every boundary tensor has one producer and is read.
        for r in &plan.routing {
            assert!(r.model_output || !r.consumers.is_empty(), "{}", r.tensor);
        }
        for s in &plan.segments {
            assert_eq!(s.device(), Device::EdgeTpu);
            assert_eq!(s.replica_count(), 1);
            assert!(s.edgetpu_file.is_none());
        }
    }
    let plan = Plan::from_json(&data("conv_residual_plan_v1.json")).unwrap();
    assert_eq!(plan.strategy, Strategy::Balanced);
    assert_eq!(plan.interface, Some(Interface::Usb3));
    assert_eq!(plan.clock, Some(Clock::Max));
    assert_eq!(plan.segments.len(), 3);
    let manual = Plan::from_json(&data("fc_tanh_manual_plan.json")).unwrap();
    assert_eq!(manual.strategy, Strategy::Manual);
    assert_eq!(manual.cuts, vec![3, 6]);
}

#[test]
fn new_optional_fields_are_written_only_when_set() {
    let mut plan = Plan::from_json(&data("conv_residual_plan_v1.json")).unwrap();
    plan.segments[1].device = Some(Device::Cpu);
    plan.segments[1].edgetpu_file = Some("x_edgetpu.tflite".into());
    let text = plan.to_json();
    assert!(text.contains("\"device\": \"cpu\""), "{text}");
    assert!(text.contains("\"edgetpu_file\": \"x_edgetpu.tflite\""));
    assert_eq!(Plan::from_json(&text).unwrap(), plan);
}

#[test]
fn bad_plans_are_refused_with_the_field() {
    let text = data("fc_tanh_manual_plan.json").replace("\"usb3\"", "\"usb9\"");
    let e = Plan::from_json(&text).unwrap_err().to_string();
    assert!(e.contains("usb9"), "{e}");
    let e = Plan::from_json("{\"format\": 1}").unwrap_err().to_string();
    assert!(e.contains("missing field"), "{e}");
}

#[test]
fn profiles_have_a_pinned_json_form() {
    let mut p = Profile::for_model("ab12");
    p.interface = Some(Interface::Pcie);
    p.clock = Some(Clock::Std);
    p.segments.push(ProfileEntry {
        op_range: [2, 5],
        on_chip_bytes: Some(10),
        off_chip_bytes: Some(0),
        latency_ms: Some(0.25),
        failed: None,
    });
    p.segments.push(ProfileEntry {
        op_range: [5, 9],
        on_chip_bytes: None,
        off_chip_bytes: None,
        latency_ms: Some(1.5),
        failed: None,
    });
    let golden = data("profile.json");
    assert_eq!(p.to_json(), golden);
    let back = Profile::parse(Path::new("profile.json"), &golden).unwrap();
    assert_eq!(back, p);
    let index = back
        .validate(Path::new("profile.json"), "m.tflite", "AB12", 9)
        .unwrap();
    assert_eq!(index.get(5, 9).unwrap().latency_ms, Some(1.5));
}
