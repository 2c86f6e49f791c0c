//! The operator placement model on the committed fixture models and hand-built ones, the
//! float-edge link tensors, and the measured host cost with its cache.

use std::path::PathBuf;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::placement::host_cost::measure::{self, MeasureOptions};
use tpupipe_compiler::placement::{
    link, HostClass, HostCost, HostCostOrigin, OpStatus, Placement, WholeModel,
};
use tpupipe_runtime::schema::{BuiltinOperator, BuiltinOptionsT, Pool2DOptionsT, TensorType};
use tpupipe_runtime::ModelView;
use tpupipe_testkit::ModelBuilder;

fn model_path(rel: &str) -> PathBuf {
    tpupipe_testkit::paths::repo_root()
        .join("tests/models")
        .join(rel)
}

fn with_model<T>(bytes: &[u8], f: impl FnOnce(&ModelView<'_>, &Graph) -> T) -> T {
    let view = ModelView::parse(bytes).expect("model parses");
    let graph = Graph::build(&view).expect("graph builds");
    f(&view, &graph)
}

fn predict_file(rel: &str) -> Vec<(String, OpStatus, Option<String>)> {
    let bytes = std::fs::read(model_path(rel)).unwrap();
    with_model(&bytes, |v, g| {
        let p = Placement::predict(v, g);
        (0..g.len())
            .map(|i| {
                (
                    g.op(i).kind.clone(),
                    p.get(i).status,
                    p.get(i).detail.clone(),
                )
            })
            .collect()
    })
}

fn cpu_of(rel: &str) -> Vec<(String, OpStatus)> {
    predict_file(rel)
        .into_iter()
        .filter(|(_, s, _)| *s != OpStatus::Mapped)
        .map(|(k, s, _)| (k, s))
        .collect()
}

#[test]
fn float_edges_stay_on_the_cpu_and_8bit_edges_are_mapped() {
    assert_eq!(
        cpu_of("fc_float_io.tflite"),
        vec![
            ("QUANTIZE".into(), OpStatus::UnspecifiedLimitation),
            ("DEQUANTIZE".into(), OpStatus::UnsupportedDataType)
        ]
    );
    // uint8 <-> int8 QUANTIZE at both ends counts as mapped.
    let ops = predict_file("conv_uint8_io.tflite");
    assert!(ops.iter().filter(|o| o.0 == "QUANTIZE").count() >= 2);
    assert!(ops.iter().all(|o| o.1 == OpStatus::Mapped), "{ops:?}");
    for m in [
        "mobilenet_v2.tflite",
        "conv_residual.tflite",
        "fc_tanh.tflite",
    ] {
        assert!(cpu_of(m).is_empty(), "{m}");
    }
}

#[test]
fn mobilenet_v3_keeps_hard_swish_on_the_cpu_and_the_whole_compile_stops_at_the_first() {
    let bytes = std::fs::read(model_path("placement/mobilenet_v3_small_float_io.tflite")).unwrap();
    with_model(&bytes, |v, g| {
        let p = Placement::predict(v, g);
        let hard_swish: Vec<usize> = (0..g.len())
            .filter(|&i| g.op(i).kind == "HARD_SWISH")
            .collect();
        assert_eq!(hard_swish.len(), 19);
        assert!(hard_swish
            .iter()
            .all(|&i| p.get(i).status == OpStatus::NotSupported));
        assert_eq!(p.cpu_positions().len(), 21);
        let w = WholeModel::of(&p, g);
        assert_eq!(w.tpu_range, 1..hard_swish[0]);
        assert_eq!(w.statuses[hard_swish[0] + 1], OpStatus::MoreThanOneSubgraph);
        assert_eq!(w.statuses[0], OpStatus::UnspecifiedLimitation);
        assert_eq!(*w.statuses.last().unwrap(), OpStatus::UnsupportedDataType);
        assert_eq!(w.cpu_positions().len(), g.len() - w.tpu_ops());
    });
}

#[test]
fn documented_limitations_on_converter_made_models() {
    let detail_of = |rel: &str, kind: &str| -> (OpStatus, String) {
        let ops = predict_file(rel);
        let (_, s, d) = ops.into_iter().find(|o| o.0 == kind).expect(kind);
        (s, d.unwrap_or_default())
    };
    let lim = OpStatus::UnspecifiedLimitation;
    let (s, d) = detail_of("ops/shape/strided_slice_offset.tflite", "STRIDED_SLICE");
    assert_eq!(s, lim);
    assert!(d.contains("strides"), "{d}");
    let (s, d) = detail_of("ops/math/softmax_int8_depth1001.tflite", "SOFTMAX");
    assert_eq!((s, d.contains("not one-dimensional")), (lim, true), "{d}");
    let (s, d) = detail_of("ops/core/fc_int8_no_bias_batch3.tflite", "FULLY_CONNECTED");
    assert_eq!((s, d.contains("[3, 10]")), (lim, true), "{d}");
    let (s, d) = detail_of("ops/core/mean_int8_last_axis.tflite", "MEAN");
    assert_eq!((s, d.contains("only y and x")), (lim, true), "{d}");
    let (s, _) = detail_of("ops/core/squeeze_int8.tflite", "SQUEEZE");
    assert_eq!(s, lim);
}

/// `[1, 8, 8, c]` int8 input through one operator.
fn one_op(code: BuiltinOperator, input_shape: &[i32], output_shape: &[i32]) -> ModelBuilder {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", input_shape);
    let y = b.int8("y", output_shape);
    b.op(code, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    b
}

fn single_status(bytes: &[u8], runtime: u32) -> (OpStatus, Option<String>) {
    with_model(bytes, |v, g| {
        let p = Placement::predict_for_runtime(v, g, runtime);
        (p.get(0).status, p.get(0).detail.clone())
    })
}

#[test]
fn table_rank_runtime_and_type_rules_on_hand_built_models() {
    // Mapped at runtime 14, not before (TRANSPOSE is a runtime-14 addition).
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4, 6]);
    let perm = b.constant(
        "perm",
        &[3],
        TensorType::INT32,
        [0i32, 2, 1].iter().flat_map(|v| v.to_le_bytes()).collect(),
    );
    let y = b.int8("y", &[1, 6, 4]);
    b.op(BuiltinOperator::TRANSPOSE, &[x, perm], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let bytes = b.finish();
    assert_eq!(single_status(&bytes, 14).0, OpStatus::Mapped);
    let (s, d) = single_status(&bytes, 13);
    assert_eq!(s, OpStatus::NotSupported);
    assert!(d.unwrap().contains("runtime 14"));

    // Batch 2 in a 4-D tensor: more than the 3 innermost dimensions are larger than 1.
    let bytes = one_op(BuiltinOperator::RELU, &[2, 4, 4, 3], &[2, 4, 4, 3]).finish();
    assert_eq!(single_status(&bytes, 14).0, OpStatus::UnsupportedRank);
    let bytes = one_op(BuiltinOperator::RELU, &[1, 4, 4, 3], &[1, 4, 4, 3]).finish();
    assert_eq!(single_status(&bytes, 14).0, OpStatus::Mapped);

    // Not in the table.
    let bytes = one_op(BuiltinOperator::HARD_SWISH, &[1, 4, 4, 3], &[1, 4, 4, 3]).finish();
    assert_eq!(single_status(&bytes, 14).0, OpStatus::NotSupported);

    // Float data.
    let mut b = ModelBuilder::new();
    let x = b.tensor("x", &[1, 8], TensorType::FLOAT32);
    let y = b.tensor("y", &[1, 8], TensorType::FLOAT32);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    assert_eq!(
        single_status(&b.finish(), 14).0,
        OpStatus::UnsupportedDataType
    );

    // A custom operator.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 8]);
    let y = b.int8("y", &[1, 8]);
    b.custom_op("MyOp", &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let (s, d) = single_status(&b.finish(), 14);
    assert_eq!(s, OpStatus::UnsupportedDataType);
    assert!(d.unwrap().contains("MyOp"));

    // Pooling with a fused activation.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4, 4, 3]);
    let y = b.int8("y", &[1, 2, 2, 3]);
    let mut o = Pool2DOptionsT::default();
    o.stride_w = 2;
    o.stride_h = 2;
    o.filter_width = 2;
    o.filter_height = 2;
    o.fused_activation_function = tpupipe_runtime::schema::ActivationFunctionType::RELU;
    b.op_with(
        BuiltinOperator::MAX_POOL_2D,
        BuiltinOptionsT::Pool2DOptions(Box::new(o)),
        &[x],
        &[y],
    );
    b.inputs(&[x]).outputs(&[y]);
    assert_eq!(
        single_status(&b.finish(), 14).0,
        OpStatus::UnspecifiedLimitation
    );

    // SOFTMAX over more than 16,000 elements.
    let bytes = one_op(BuiltinOperator::SOFTMAX, &[1, 16_001], &[1, 16_001]).finish();
    let (s, d) = single_status(&bytes, 14);
    assert_eq!(s, OpStatus::UnspecifiedLimitation);
    assert!(d.unwrap().contains("16001"));
    let bytes = one_op(BuiltinOperator::SOFTMAX, &[1, 16_000], &[1, 16_000]).finish();
    assert_eq!(single_status(&bytes, 14).0, OpStatus::Mapped);
}

#[test]
fn float_edges_cross_the_link_as_their_int8_twins() {
    let bytes = std::fs::read(model_path("fc_float_io.tflite")).unwrap();
    with_model(&bytes, |v, g| {
        let twins = link::edge_twins(v, g);
        assert_eq!(twins.len(), 2);
        let input = g.model_inputs()[0];
        assert_eq!(g.tensor_bytes(input).bytes(), 256);
        assert_eq!(link::link_bytes(v, g, input).bytes(), 64);
        assert_eq!(twins[0].position, 0);
        let output = g.model_outputs()[0];
        assert_eq!(link::link_bytes(v, g, output).bytes(), 10);
        assert_eq!(twins[1].position, g.len() - 1);
        // An int8 tensor is its own link tensor.
        let mid = g.op(1).outputs[0];
        assert_eq!(link::link_tensor(v, g, mid), mid);
    });
    let bytes = std::fs::read(model_path("conv_uint8_io.tflite")).unwrap();
    with_model(&bytes, |v, g| assert!(link::edge_twins(v, g).is_empty()));
}

#[test]
fn measured_host_cost_times_the_cpu_ops_and_caches_them() {
    let bytes = std::fs::read(model_path("placement/mobilenet_v3_small_float_io.tflite")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = MeasureOptions {
        warmup: 1,
        repeats: 3,
        cache_dir: Some(dir.path().to_path_buf()),
        ..MeasureOptions::default()
    };
    with_model(&bytes, |v, g| {
        let p = Placement::predict(v, g);
        let first = measure::measure(v, g, &p, "sha-of-the-model", 2, &options);
        assert_eq!(first.origin, HostCostOrigin::Measured);
        assert!(first.notes().is_empty(), "{:?}", first.notes());
        for i in 0..g.len() {
            assert_eq!(first.is_measured(i), !p.get(i).on_tpu(), "position {i}");
            assert!(first.per_op_ms()[i] >= 0.0);
        }
        assert!(first.range_ms(0..g.len()) > 0.0);
        let rates = HostCost::from_rates(g, HostClass::X86Desktop, 2);
        assert_eq!(first.per_op_ms()[1], rates.per_op_ms()[1]);

        // The second plan reads the cache: doctor every cached figure and see it come back.
        let cache = dir.path().join("host-cost");
        let files: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), p.runs().iter().filter(|r| !r.1).count());
        for f in &files {
            let mut j: serde_json::Value =
                serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            for x in j["per_op_ms"].as_array_mut().unwrap() {
                *x = serde_json::json!(123.0);
            }
            std::fs::write(f, serde_json::to_vec(&j).unwrap()).unwrap();
        }
        let second = measure::measure(v, g, &p, "sha-of-the-model", 2, &options);
        for i in p.cpu_positions() {
            assert_eq!(second.per_op_ms()[i], 123.0);
        }
        // Another model hash measures again.
        let third = measure::measure(v, g, &p, "another-model", 2, &options);
        assert!(p
            .cpu_positions()
            .iter()
            .all(|&i| third.per_op_ms()[i] != 123.0));
    });
}

#[test]
fn an_operator_the_interpreter_refuses_falls_back_to_rates_and_says_so() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 8]);
    let y = b.int8("y", &[1, 8]);
    let z = b.int8("z", &[1, 8]);
    b.custom_op("NoSuchKernel", &[x], &[y]);
    b.op(BuiltinOperator::RELU, &[y], &[z]);
    b.inputs(&[x]).outputs(&[z]);
    let bytes = b.finish();
    with_model(&bytes, |v, g| {
        let p = Placement::predict(v, g);
        assert!(!p.get(0).on_tpu());
        let cost = measure::measure(v, g, &p, "x", 1, &MeasureOptions::default());
        assert!(!cost.is_measured(0));
        assert_eq!(cost.notes().len(), 1);
        assert!(
            cost.notes()[0].contains("x86-desktop rates"),
            "{:?}",
            cost.notes()
        );
        let rates = HostCost::from_rates(g, HostClass::X86Desktop, 1);
        assert_eq!(cost.per_op_ms(), rates.per_op_ms());
    });
}
