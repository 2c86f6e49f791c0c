//! End to end: crates using `tpupipe_model!` with `backend = "cpu"` on the fixture models get
//! the committed golden outputs from `infer_raw`, and the same from typed `infer` and streaming.

use std::path::Path;
use tpupipe::runtime::npz::read_npz;
use tpupipe::runtime::plan::Device;

mod conv_residual {
    tpupipe::tpupipe_model!(
        pub(crate) "tests/models/conv_residual.tflite",
        tpus = 3,
        backend = "cpu",
        name = Net
    );
}

mod mobilenet {
    tpupipe::tpupipe_model!(
        pub "tests/models/mobilenet_v2.tflite",
        tpus = 4,
        backend = "cpu",
        strategy = "balanced",
        interface = "pcie",
        name = Net
    );
}

mod uint8_io {
    // Named from the file stem: ConvUint8Io.
    tpupipe::tpupipe_model!(pub "tests/models/conv_uint8_io.tflite", tpus = 2, backend = "cpu");
}

mod float_io {
    tpupipe::tpupipe_model!(
        pub "tests/models/fc_float_io.tflite",
        tpus = 2,
        backend = "cpu",
        replicate = true,
        name = Net
    );
    pub(crate) use self::Net as FloatNet;
    pub(crate) use self::NetServingDefaultInput1 as FloatIn;
}

/// The golden (inputs, outputs) of a fixture, in the order of `names`.
fn goldens(model: &str, inputs: &[&str], outputs: &[&str]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models");
    let pick = |file: String, names: &[&str]| {
        let arrays = read_npz(dir.join(file)).expect("the golden archive reads");
        names
            .iter()
            .map(|n| {
                arrays
                    .iter()
                    .find(|(k, _)| k == n)
                    .unwrap_or_else(|| panic!("no golden for {n}"))
                    .1
                    .data
                    .clone()
            })
            .collect::<Vec<_>>()
    };
    (
        pick(format!("{model}.inputs.npz"), inputs),
        pick(format!("{model}.outputs.npz"), outputs),
    )
}

#[test]
fn conv_residual_infer_raw_and_typed_infer_give_the_goldens() {
    use conv_residual::*;
    let (inputs, outputs) = goldens("conv_residual", Net::INPUT_NAMES, Net::OUTPUT_NAMES);
    let net = Net::open_cpu().expect("the CPU pipeline opens");
    assert_eq!(Net::SEGMENTS, 3);
    let raw: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    assert_eq!(net.infer_raw(&raw).expect("infer_raw runs"), outputs);
    assert_eq!(net.placements().len(), 3);
    assert!(net.placements().iter().all(|p| p.device == Device::Cpu));
    assert_eq!(net.stats().stages.len(), 3);
}

#[test]
fn mobilenet_typed_infer_and_streaming_match_the_goldens() {
    use mobilenet::*;
    let (inputs, outputs) = goldens("mobilenet_v2", Net::INPUT_NAMES, Net::OUTPUT_NAMES);
    let mut net = Net::open_cpu().expect("the CPU pipeline opens");
    let raw: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    assert_eq!(net.infer_raw(&raw).unwrap(), outputs);

    // The typed path: one type per tensor, with its shape and quantization.
    assert_eq!(Net::INPUT_NAMES.len(), 1);
    let input = NetServingDefaultInput1::from_le_bytes(&inputs[0]);
    assert_eq!(input.0.len(), NetServingDefaultInput1::ELEMENTS);
    assert_eq!(NetServingDefaultInput1::SHAPE, [1, 224, 224, 3]);
    assert_eq!(
        NetServingDefaultInput1::DTYPE,
        tpupipe::runtime::ElementType::I8
    );
    let out = net.infer(&input).expect("typed infer runs");
    assert_eq!(out.le_bytes().as_ref(), outputs[0].as_slice());
    // Dequantize / quantize round-trips on the output's grid.
    let real = out.dequantize();
    assert_eq!(NetStatefulPartitionedCall1::quantize(&real), out);

    // Streaming through the iterator and through push / pop.
    let results: Vec<_> = net
        .run_iter((0..6).map(|_| input.clone()))
        .collect::<Result<_, _>>()
        .expect("every streamed item runs");
    assert!(results.iter().all(|r| r == &out));
    net.push(&input).unwrap();
    net.push(&input).unwrap();
    assert_eq!(net.pop().unwrap().unwrap(), out);
    assert_eq!(net.pop().unwrap().unwrap(), out);
    assert!(net.pop().is_none());
    let stats = net.stats();
    assert_eq!(stats.stages.len(), Net::SEGMENTS);
    assert_eq!(stats.popped, 1 + 1 + 6 + 2);

    // The plan literal is the plan the segments were cut by.
    let plan = Net::plan();
    assert_eq!(plan.segments.len(), Net::SEGMENTS);
    assert_eq!(
        plan.interface,
        Some(tpupipe::runtime::plan::Interface::Pcie)
    );
    assert_eq!(plan.model, "mobilenet_v2.tflite");
}

#[test]
fn uint8_and_float_models_run_and_type_their_tensors() {
    use uint8_io::*;
    let (inputs, outputs) = goldens(
        "conv_uint8_io",
        ConvUint8Io::INPUT_NAMES,
        ConvUint8Io::OUTPUT_NAMES,
    );
    let net = ConvUint8Io::open_cpu().unwrap();
    let raw: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    assert_eq!(net.infer_raw(&raw).unwrap(), outputs);

    use float_io::{FloatIn, FloatNet};
    let (inputs, outputs) = goldens("fc_float_io", FloatNet::INPUT_NAMES, FloatNet::OUTPUT_NAMES);
    let net = FloatNet::open_cpu().unwrap();
    assert_eq!(FloatIn::DTYPE, tpupipe::runtime::ElementType::F32);
    let typed = FloatIn::from_le_bytes(&inputs[0]);
    let out = net.infer(&typed).unwrap();
    assert_eq!(out.le_bytes().as_ref(), outputs[0].as_slice());
}

#[test]
fn open_without_an_edge_tpu_is_an_error_not_a_panic() {
    use conv_residual::*;
    // No Edge TPU backend and no fallback: a clear error naming the segment.
    let err = Net::open().expect_err("no Edge TPU here");
    assert!(err.to_string().contains("Edge TPU"), "{err}");
    // With CPU fallback, every stage falls back and says why.
    let net = Net::open_with(&tpupipe::ModelOptions::auto(true)).unwrap();
    assert!(net.placements().iter().all(|p| p.fallback_reason.is_some()));
    // ... and the summary names the reason for generated code (backend = "cpu").
    assert_eq!(
        net.fallback_summary().as_deref(),
        Some(
            "stages 0-2 fell back to the CPU: no compiled segments are embedded \
             (generated with backend = \"cpu\")"
        )
    );
    assert!(Net::open_cpu().unwrap().fallback_summary().is_none());
    // Explicit devices must be one per stage.
    let err = Net::open_with(&tpupipe::ModelOptions::auto(true).with_devices(vec!["usb:0".into()]))
        .expect_err("one device for three stages");
    assert!(
        err.to_string()
            .contains("1 devices were given for 3 stages"),
        "{err}"
    );
}

#[test]
fn a_wrong_input_size_is_an_error() {
    use conv_residual::*;
    let net = Net::open_cpu().unwrap();
    assert!(net.infer_raw(&[&[0u8; 3]]).is_err());
    assert!(net.infer_raw(&[]).is_err());
}
