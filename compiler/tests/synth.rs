//! Tests of `tpupipe synth` and the synthetic-model builder: structure, parameter sizes,
//! quantization rules, determinism, errors, and a run through tpupipe's interpreter.

use std::collections::HashSet;
use tpupipe_compiler::synth::builder::{BuildError, ModelBuilder, BUFFER_ALIGN};
use tpupipe_compiler::synth::emit::versions;
use tpupipe_compiler::synth::net::Spatial;
use tpupipe_compiler::synth::quant::{per_axis, per_tensor};
use tpupipe_compiler::synth::{
    synth_conv, synth_fc, ConvSpec, FcSpec, SynthError, WeightGranularity,
};
use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::schema::{
    ActivationFunctionType, BuiltinOperator as B, BuiltinOptionsT, Padding,
};
use tpupipe_runtime::{ElementType, ModelView, OpIndex, TensorId};

fn ops(view: &ModelView<'_>) -> Vec<B> {
    view.main_subgraph()
        .operators()
        .map(|o| o.kind().builtin().expect("builtin"))
        .collect()
}

/// (int8 constant bytes, int32 constant bytes) of a model.
fn param_bytes(view: &ModelView<'_>) -> (u64, u64) {
    let mut i8_bytes = 0;
    let mut i32_bytes = 0;
    for t in view.main_subgraph().tensors() {
        if let Some(d) = t.data() {
            match t.dtype() {
                ElementType::I8 => i8_bytes += d.len() as u64,
                ElementType::I32 => i32_bytes += d.len() as u64,
                other => panic!("unexpected constant type {other}"),
            }
        }
    }
    (i8_bytes, i32_bytes)
}

fn fc(hidden: usize, layers: usize) -> FcSpec {
    FcSpec::new(hidden, layers)
}

#[test]
fn fc_model_has_the_family_structure_and_sizes() {
    let n = 100u64;
    let bytes = synth_fc(&fc(100, 4)).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    const FC: B = B::FULLY_CONNECTED;
    const TANH: B = B::TANH;
    assert_eq!(ops(&view), vec![FC, TANH, FC, TANH, FC, TANH, FC, TANH, FC]);
    let (w, b) = param_bytes(&view);
    assert_eq!(w, 64 * n + 3 * n * n + 10 * n);
    assert_eq!(b, 4 * (4 * n + 10));
    assert_eq!(w, fc(100, 4).weight_bytes());
    assert_eq!(b, fc(100, 4).bias_bytes());
    let sg = view.main_subgraph();
    let input = sg.tensor(sg.inputs()[0]);
    assert_eq!(input.name(), "serving_default_input:0");
    assert_eq!(input.shape(), vec![1, 64]);
    assert_eq!(input.dtype(), ElementType::I8);
    let output = sg.tensor(sg.outputs()[0]);
    assert_eq!(output.shape(), vec![1, 10]);
    assert_eq!(output.dtype(), ElementType::I8);
    tpupipe_compiler::segment::ensure_splittable(&view).unwrap();
}

#[test]
fn conv_model_has_the_family_structure_and_sizes() {
    let f = 8u64;
    let spec = ConvSpec::new(8, 5, 12);
    let bytes = synth_conv(&spec).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    assert_eq!(ops(&view), vec![B::CONV_2D; 5]);
    let (w, b) = param_bytes(&view);
    assert_eq!(w, 27 * f + 9 * f * f * 4);
    assert_eq!(b, 4 * f * 5);
    assert_eq!((w, b), (spec.weight_bytes(), spec.bias_bytes()));
    assert_eq!(spec.macs(), 12 * 12 * 9 * (3 * f + 4 * f * f));
    let sg = view.main_subgraph();
    assert_eq!(sg.tensor(sg.inputs()[0]).shape(), vec![1, 12, 12, 3]);
    assert_eq!(sg.tensor(sg.outputs()[0]).shape(), vec![1, 12, 12, 8]);
    for op in sg.operators() {
        let o = op
            .raw()
            .builtin_options_as_conv_2_doptions()
            .expect("conv options");
        assert_eq!(o.padding(), Padding::SAME);
        assert_eq!((o.stride_w(), o.stride_h()), (1, 1));
        assert_eq!(o.fused_activation_function(), ActivationFunctionType::RELU);
        let w = sg.tensor(op.inputs()[1].unwrap());
        assert_eq!(w.shape()[0], 8);
        assert_eq!(&w.shape()[1..3], &[3, 3]);
    }
}

#[test]
fn residual_variants_add_the_output_of_two_layers_before() {
    let mut spec = fc(16, 6);
    spec.residual = true;
    let bytes = synth_fc(&spec).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    const FC: B = B::FULLY_CONNECTED;
    const TANH: B = B::TANH;
    const ADD: B = B::ADD;
    let expected = vec![
        FC, TANH, FC, TANH, FC, TANH, ADD, FC, TANH, FC, TANH, ADD, FC, TANH, FC,
    ];
    assert_eq!(ops(&view), expected);
    assert_eq!(ops(&view), spec.op_sequence());
    let sg = view.main_subgraph();
    let out = |i: u32| sg.operator(OpIndex(i)).outputs()[0];
    let add1 = sg.operator(OpIndex(6));
    // Layer 3's tanh plus layer 1's output.
    assert_eq!(add1.inputs(), vec![Some(out(5)), Some(out(1))]);
    let add2 = sg.operator(OpIndex(11));
    // Layer 5's tanh plus layer 3's output (the first ADD).
    assert_eq!(add2.inputs(), vec![Some(out(10)), Some(out(6))]);
    // The layer after an ADD reads it.
    assert_eq!(sg.operator(OpIndex(7)).inputs()[0], Some(out(6)));
    assert_eq!(param_bytes(&view).0, spec.weight_bytes());

    let mut spec = ConvSpec::new(4, 5, 8);
    spec.residual = true;
    let bytes = synth_conv(&spec).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    const C: B = B::CONV_2D;
    assert_eq!(ops(&view), vec![C, C, C, ADD, C, C, ADD]);
    let sg = view.main_subgraph();
    let out = |i: u32| sg.operator(OpIndex(i)).outputs()[0];
    assert_eq!(
        sg.operator(OpIndex(3)).inputs(),
        vec![Some(out(2)), Some(out(0))]
    );
    assert_eq!(
        sg.operator(OpIndex(6)).inputs(),
        vec![Some(out(5)), Some(out(3))]
    );
    for i in [3, 6] {
        let add = sg.operator(OpIndex(i));
        let o = add
            .raw()
            .builtin_options_as_add_options()
            .expect("add options");
        assert_eq!(o.fused_activation_function(), ActivationFunctionType::NONE);
        // Both operands and the sum are ReLU-range tensors.
        assert_eq!(
            sg.tensor(add.outputs()[0])
                .quantization()
                .unwrap()
                .zero_point,
            vec![-128]
        );
    }
}

#[test]
fn float_io_wraps_the_network_in_quantize_and_dequantize() {
    let mut spec = fc(8, 2);
    spec.float_io = true;
    let bytes = synth_fc(&spec).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let o = ops(&view);
    assert_eq!(o.first(), Some(&B::QUANTIZE));
    assert_eq!(o.last(), Some(&B::DEQUANTIZE));
    let sg = view.main_subgraph();
    let input = sg.tensor(sg.inputs()[0]);
    let output = sg.tensor(sg.outputs()[0]);
    assert_eq!(
        (input.dtype(), output.dtype()),
        (ElementType::F32, ElementType::F32)
    );
    assert_eq!(input.name(), "serving_default_input:0");
    assert_eq!(output.name(), "StatefulPartitionedCall:0");
    assert!(input.quantization().is_none());

    let mut spec = ConvSpec::new(4, 2, 6);
    spec.float_io = true;
    let bytes = synth_conv(&spec).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    assert_eq!(
        ops(&view),
        vec![B::QUANTIZE, B::CONV_2D, B::CONV_2D, B::DEQUANTIZE]
    );
}

#[test]
fn operator_versions_are_those_of_int8_models() {
    let mut spec = fc(8, 3);
    spec.residual = true;
    spec.float_io = true;
    let bytes = synth_fc(&spec).unwrap();
    let mut conv = ConvSpec::new(4, 1, 4);
    conv.float_io = true;
    let conv_bytes = synth_conv(&conv).unwrap();
    let mut seen = HashSet::new();
    for b in [&bytes, &conv_bytes] {
        let view = ModelView::parse(b).unwrap();
        for op in view.main_subgraph().operators() {
            let kind = op.kind().builtin().unwrap();
            let expected = match kind {
                B::CONV_2D => versions::CONV_2D,
                B::FULLY_CONNECTED => versions::FULLY_CONNECTED,
                B::TANH => versions::TANH,
                B::ADD => versions::ADD,
                B::QUANTIZE => versions::QUANTIZE,
                B::DEQUANTIZE => versions::DEQUANTIZE,
                other => panic!("unexpected op {other:?}"),
            };
            assert_eq!(op.version(), expected, "{kind:?}");
            seen.insert(kind);
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(
        (
            versions::CONV_2D,
            versions::FULLY_CONNECTED,
            versions::TANH,
            versions::ADD
        ),
        (3, 4, 2, 2)
    );
    assert_eq!((versions::QUANTIZE, versions::DEQUANTIZE), (1, 2));
}

/// Checks the converter's quantization rules on every tensor and operator of a model.
fn check_quantization(view: &ModelView<'_>, fc_per_tensor: bool) {
    let sg = view.main_subgraph();
    for t in sg.tensors() {
        if t.dtype() == ElementType::I8 {
            let q = t
                .quantization()
                .unwrap_or_else(|| panic!("{} has no quantization", t.name()));
            assert!(
                q.scale.iter().all(|s| *s > 0.0 && s.is_finite()),
                "{}",
                t.name()
            );
            assert!(
                q.zero_point.iter().all(|z| (-128..=127).contains(z)),
                "{}",
                t.name()
            );
            if t.is_constant() {
                assert!(
                    q.zero_point.iter().all(|&z| z == 0),
                    "weights {} symmetric",
                    t.name()
                );
                let data = t.data().unwrap();
                assert!(
                    data.iter().all(|&b| b as i8 != -128),
                    "{}: narrow range",
                    t.name()
                );
            }
        }
    }
    for op in sg.operators() {
        let kind = op.kind().builtin().unwrap();
        let q = |id: TensorId| sg.tensor(id).quantization().unwrap();
        match kind {
            B::FULLY_CONNECTED | B::CONV_2D => {
                let ins = op.present_inputs();
                let (x, w, b) = (q(ins[0]), q(ins[1]), q(ins[2]));
                let channels = sg.tensor(ins[1]).shape()[0] as usize;
                if kind == B::FULLY_CONNECTED && fc_per_tensor {
                    assert_eq!(w.scale.len(), 1);
                } else {
                    assert_eq!(w.scale.len(), channels);
                    assert_eq!(w.axis, 0);
                }
                assert_eq!(sg.tensor(ins[2]).dtype(), ElementType::I32);
                assert_eq!(b.scale.len(), w.scale.len());
                assert!(b.zero_point.iter().all(|&z| z == 0));
                for (bs, ws) in b.scale.iter().zip(&w.scale) {
                    assert_eq!(*bs, x.scale[0] * ws, "bias scale of op {}", op.index());
                }
                if kind == B::CONV_2D {
                    assert_eq!(q(op.outputs()[0]).zero_point, vec![-128]);
                }
            }
            B::TANH => {
                let o = q(op.outputs()[0]);
                assert_eq!((o.scale[0], o.zero_point[0]), (1.0 / 128.0, 0));
            }
            _ => {}
        }
    }
}

#[test]
fn quantization_follows_the_converter_rules() {
    for per_tensor in [false, true] {
        let mut spec = fc(24, 5);
        spec.residual = true;
        spec.float_io = true;
        spec.weights = if per_tensor {
            WeightGranularity::PerTensor
        } else {
            WeightGranularity::PerChannel
        };
        let bytes = synth_fc(&spec).unwrap();
        check_quantization(&ModelView::parse(&bytes).unwrap(), per_tensor);
    }
    let mut spec = ConvSpec::new(6, 4, 10);
    spec.residual = true;
    let bytes = synth_conv(&spec).unwrap();
    check_quantization(&ModelView::parse(&bytes).unwrap(), false);
}

#[test]
fn same_seed_gives_the_same_bytes_and_other_seeds_differ() {
    let a = synth_fc(&fc(32, 3)).unwrap();
    let b = synth_fc(&fc(32, 3)).unwrap();
    assert_eq!(a, b);
    let mut other = fc(32, 3);
    other.seed = 1;
    let c = synth_fc(&other).unwrap();
    assert_ne!(a, c);
    assert_eq!(a.len(), c.len(), "the seed changes values, not layout");

    let conv = ConvSpec::new(4, 3, 9);
    assert_eq!(synth_conv(&conv).unwrap(), synth_conv(&conv).unwrap());
    let mut other = conv.clone();
    other.seed = 9;
    assert_ne!(synth_conv(&conv).unwrap(), synth_conv(&other).unwrap());
}

#[test]
fn constant_data_is_aligned_and_names_are_unique() {
    let mut spec = fc(13, 3);
    spec.residual = true;
    spec.float_io = true;
    for bytes in [
        synth_fc(&spec).unwrap(),
        synth_conv(&ConvSpec::new(5, 3, 7)).unwrap(),
    ] {
        assert_eq!(bytes.len() % BUFFER_ALIGN, 0);
        let view = ModelView::parse(&bytes).unwrap();
        let base = bytes.as_ptr() as usize;
        let sg = view.main_subgraph();
        let mut names = HashSet::new();
        for t in sg.tensors() {
            assert!(
                names.insert(t.name().to_string()),
                "duplicate name {}",
                t.name()
            );
            if let Some(d) = t.data() {
                assert_eq!(
                    (d.as_ptr() as usize - base) % BUFFER_ALIGN,
                    0,
                    "{}",
                    t.name()
                );
            } else {
                assert_eq!(t.buffer().0, 0, "activations use the empty buffer 0");
            }
        }
        assert!(view.buffer_data(tpupipe_runtime::BufferIndex(0)).is_none());
        let sig = view.raw().signature_defs().expect("signature");
        assert_eq!(sig.get(0).signature_key(), Some("serving_default"));
    }
}

#[test]
fn calibration_stays_within_its_budget() {
    // Small models calibrate at their own size; the paper's largest conv model on a small
    // wrap-around image.
    assert_eq!(
        ConvSpec::new(8, 5, 16).calibration_plan(),
        (Spatial::Same(16), 4)
    );
    let (spatial, samples) = ConvSpec::new(702, 5, 64).calibration_plan();
    let side = match spatial {
        Spatial::Circular(s) => s,
        other => panic!("{other:?}"),
    };
    assert!(side >= 4 && samples >= 1);
    let macs = (side * side * samples) as u64 * ConvSpec::new(702, 5, 64).macs_per_pixel();
    assert!(
        macs <= 2 * tpupipe_compiler::synth::CALIBRATION_MAC_BUDGET,
        "{macs}"
    );
    assert_eq!(fc(100, 4).calibration_samples(), 64);
    assert!(fc(3000, 4).calibration_samples() < 64);
}

#[test]
fn invalid_specs_are_refused_with_a_reason() {
    let msg = |e: SynthError| e.to_string();
    assert!(msg(synth_fc(&fc(0, 4)).unwrap_err()).contains("--hidden"));
    assert!(msg(synth_fc(&fc(4, 0)).unwrap_err()).contains("--layers"));
    let mut r = fc(4, 2);
    r.residual = true;
    assert!(msg(synth_fc(&r).unwrap_err()).contains("at least 3 layers"));
    assert!(msg(synth_conv(&ConvSpec::new(0, 5, 8)).unwrap_err()).contains("--filters"));
    assert!(msg(synth_conv(&ConvSpec::new(4, 5, 0)).unwrap_err()).contains("--input"));
    assert!(msg(synth_fc(&fc(100_000, 4)).unwrap_err()).contains("parameters"));
    assert!(msg(synth_conv(&ConvSpec::new(4, 1, 100_000)).unwrap_err()).contains("too large"));
}

#[test]
fn builder_refuses_inconsistent_models() {
    let q = || Some(per_tensor(0.1, 0));
    let mut b = ModelBuilder::new("t");
    let x = b
        .add_activation("x", &[1, 4], ElementType::I8, q())
        .unwrap();
    assert!(matches!(
        b.add_activation("x", &[1, 4], ElementType::I8, q()),
        Err(BuildError::DuplicateName(_))
    ));
    assert!(matches!(
        b.add_constant_i8("w", &[2, 4], &[0; 7], q()),
        Err(BuildError::DataSize {
            expected: 8,
            actual: 7,
            ..
        })
    ));
    assert!(matches!(
        b.add_constant_i8("w", &[2, 4], &[0; 8], Some(per_axis(vec![0.1; 3], 0))),
        Err(BuildError::BadQuantization { .. })
    ));
    assert!(matches!(
        b.add_activation("z", &[4], ElementType::I8, Some(per_tensor(0.1, 300))),
        Err(BuildError::BadQuantization { .. })
    ));
    assert!(matches!(
        b.add_activation("z", &[4], ElementType::I8, Some(per_tensor(0.0, 0))),
        Err(BuildError::BadQuantization { .. })
    ));
    assert!(matches!(
        b.add_op(
            B::TANH,
            2,
            &[Some(x)],
            &[TensorId(9)],
            BuiltinOptionsT::NONE
        ),
        Err(BuildError::UnknownTensor { .. })
    ));
    assert!(matches!(
        b.add_op(B::TANH, 0, &[Some(x)], &[x], BuiltinOptionsT::NONE),
        Err(BuildError::BadVersion { .. })
    ));
    assert!(matches!(b.finish(), Err(BuildError::MissingIo("inputs"))));
    // A failed addition leaves the builder usable.
    let w = b
        .add_constant_i8("w", &[2, 4], &[1; 8], Some(per_axis(vec![0.1, 0.2], 0)))
        .unwrap();
    assert_eq!(b.tensor_count(), 2);
    assert_eq!(b.constant_bytes(), 8);
    let y = b
        .add_activation("y", &[1, 2], ElementType::I8, q())
        .unwrap();
    let bias = b
        .add_constant_i32("b", &[2], &[5, -5], Some(per_axis(vec![0.01, 0.02], 0)))
        .unwrap();
    b.add_op(
        B::FULLY_CONNECTED,
        4,
        &[Some(x), Some(w), Some(bias)],
        &[y],
        BuiltinOptionsT::FullyConnectedOptions(Box::default()),
    )
    .unwrap();
    b.add_input(x, "x");
    b.add_output(y, "y");
    let bytes = b.finish().unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let sg = view.main_subgraph();
    assert_eq!(
        sg.tensor(bias).data().unwrap(),
        &[5, 0, 0, 0, 0xfb, 0xff, 0xff, 0xff]
    );
    assert_eq!(view.opcode_count(), 1);
    assert_eq!(sg.operator(OpIndex(0)).version(), 4);
}

/// Runs `bytes` in tpupipe's interpreter on a float input and returns the float output.
fn interpret_float(bytes: &[u8], input: &[f32]) -> Vec<f32> {
    let view = ModelView::parse(bytes).unwrap();
    let mut interp = Interpreter::new(&view).unwrap();
    interp.set_input_f32(0, input).unwrap();
    interp.invoke().unwrap();
    interp.output_f32(0).unwrap()
}

#[test]
fn interpreter_runs_a_synthetic_fc_model_close_to_its_float_network() {
    let mut spec = fc(48, 5);
    spec.residual = true;
    spec.float_io = true;
    spec.seed = 11;
    let bytes = synth_fc(&spec).unwrap();
    let (net, _) = spec.float_net();
    let mut rng = tpupipe_compiler::synth::rng::SynthRng::new(77, 0);
    let mut outputs = Vec::new();
    for _ in 0..4 {
        let x = rng.uniform_vec(64, 1.0);
        let y = interpret_float(&bytes, &x);
        let reference = net.forward(x, Spatial::Flat).pop().unwrap();
        assert_eq!(y.len(), 10);
        let range = reference
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()))
            .max(0.5);
        let err = y
            .iter()
            .zip(&reference)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err < 0.1 * range,
            "error {err} against range {range}: {y:?} vs {reference:?}"
        );
        outputs.push(y);
    }
    assert!(
        outputs.windows(2).all(|w| w[0] != w[1]),
        "outputs depend on the input"
    );
}

#[test]
fn interpreter_runs_a_synthetic_residual_conv_model_close_to_its_float_network() {
    let mut spec = ConvSpec::new(6, 5, 9);
    spec.residual = true;
    spec.float_io = true;
    spec.seed = 5;
    let bytes = synth_conv(&spec).unwrap();
    let (net, _) = spec.float_net();
    let mut rng = tpupipe_compiler::synth::rng::SynthRng::new(78, 0);
    let x = rng.uniform_vec(9 * 9 * 3, 1.0);
    let y = interpret_float(&bytes, &x);
    let reference = net.forward(x, Spatial::Same(9)).pop().unwrap();
    assert_eq!(y.len(), 9 * 9 * 6);
    let range = reference.iter().fold(0.0f32, |m, v| m.max(*v));
    assert!(range > 0.0, "the float network is not dead");
    let sq: f32 = y
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let rms = (sq / y.len() as f32).sqrt();
    assert!(rms < 0.02 * range, "RMS error {rms} against range {range}");
    assert!(
        y.iter().any(|&v| v > 0.25 * range),
        "outputs are not all near zero"
    );
}
