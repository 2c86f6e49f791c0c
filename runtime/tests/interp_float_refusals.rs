//! The unquantized head/tail kernels refuse what LiteRT cannot run (or what they do not
//! implement) at load time with the op and the reason, and fail an inference whose data LiteRT
//! rejects (zero divisors, out-of-range gather indices) with a clear error instead of computing
//! something.

use tpupipe_runtime::interp::{Interpreter, LoadError};
use tpupipe_runtime::schema::{self, BuiltinOperator, ModelT, OperatorCodeT, TensorType};
use tpupipe_runtime::ModelView;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models/ops/float")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unpack(bytes: &[u8]) -> ModelT {
    schema::root_as_model(bytes)
        .expect("valid fixture")
        .unpack()
}

fn pack(model: &ModelT) -> Vec<u8> {
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = model.pack(&mut fbb);
    schema::finish_model_buffer(&mut fbb, root);
    fbb.finished_data().to_vec()
}

fn load(bytes: &[u8]) -> Result<Interpreter, LoadError> {
    let view = ModelView::parse(bytes).expect("the edited model still parses");
    Interpreter::new(&view)
}

/// The model with its single operator's code replaced by `op`.
fn with_op(name: &str, op: BuiltinOperator) -> Vec<u8> {
    let mut m = unpack(&fixture(name));
    let mut code = OperatorCodeT::default();
    code.deprecated_builtin_code = op.0.min(127) as i8;
    code.builtin_code = op;
    code.version = 1;
    m.operator_codes = Some(vec![code]);
    pack(&m)
}

/// The model with tensor `name`'s element type replaced.
fn with_tensor_type(model: &str, tensor: &str, ty: TensorType) -> Vec<u8> {
    let mut m = unpack(&fixture(model));
    for t in m.subgraphs.as_mut().unwrap()[0].tensors.as_mut().unwrap() {
        if t.name.as_deref() == Some(tensor) {
            t.type_ = ty;
        }
    }
    pack(&m)
}

fn expect_unsupported(bytes: &[u8], kind: &str, words: &[&str]) {
    match load(bytes) {
        Err(LoadError::Unsupported {
            kind: k, reason, ..
        }) => {
            assert_eq!(k, kind);
            for w in words {
                assert!(reason.contains(w), "reason '{reason}' should mention '{w}'");
            }
        }
        Err(e) => panic!("expected Unsupported for {kind}, got {e}"),
        Ok(_) => panic!("expected {kind} to be refused at load"),
    }
}

#[test]
fn int64_division_is_refused_at_load_like_litert() {
    expect_unsupported(
        &with_op("add_int64_bcast.tflite", BuiltinOperator::DIV),
        "DIV",
        &["int64"],
    );
    expect_unsupported(
        &with_op("add_int64_bcast.tflite", BuiltinOperator::FLOOR_DIV),
        "FLOOR_DIV",
        &["int64"],
    );
}

#[test]
fn cast_to_float16_is_refused_with_the_type() {
    expect_unsupported(
        &with_tensor_type("cast_float32_to_int8.tflite", "output", TensorType::FLOAT16),
        "CAST",
        &["float16"],
    );
}

#[test]
fn float_logistic_into_a_quantized_output_is_refused() {
    expect_unsupported(
        &with_tensor_type("logistic_float32_7.tflite", "output", TensorType::INT8),
        "LOGISTIC",
        &["int8"],
    );
}

#[test]
fn a_zero_integer_divisor_fails_the_inference() {
    for model in [
        "div_int32_same.tflite",
        "floor_div_int32_same.tflite",
        "floor_mod_int32_same.tflite",
        "floor_div_float32_same.tflite",
    ] {
        let bytes = fixture(model);
        let mut interp = load(&bytes).expect("loads");
        let esize = 4;
        let n = interp.output_bytes_by_name("z").unwrap().len() / esize;
        let mut y = vec![0u8; n * esize];
        // All ones, one zero in the middle.
        for k in 0..n {
            let one: [u8; 4] = if model.contains("float") {
                1.0f32.to_le_bytes()
            } else {
                1i32.to_le_bytes()
            };
            if k != n / 2 {
                y[k * esize..(k + 1) * esize].copy_from_slice(&one);
            }
        }
        interp.set_input_by_name("y", &y).unwrap();
        let err = interp.invoke().expect_err("a zero divisor must fail");
        assert!(
            err.to_string().contains("division by zero"),
            "{model}: unexpected error {err}"
        );
    }
}

#[test]
fn float_division_by_zero_is_infinity_clamped_not_an_error() {
    let bytes = fixture("div_float32_same_37.tflite");
    let mut interp = load(&bytes).expect("loads");
    let x: Vec<u8> = (0..37).flat_map(|_| 1.0f32.to_le_bytes()).collect();
    let y = vec![0u8; 37 * 4];
    interp.set_input_by_name("x", &x).unwrap();
    interp.set_input_by_name("y", &y).unwrap();
    interp.invoke().expect("float DIV by zero runs");
    let z = interp.output_bytes_by_name("z").unwrap();
    let first = f32::from_le_bytes([z[0], z[1], z[2], z[3]]);
    assert_eq!(
        first,
        f32::MAX,
        "1 / 0 is +inf, clamped to f32::MAX as LiteRT does"
    );
}

#[test]
fn an_out_of_range_gather_nd_index_fails_the_inference() {
    let bytes = fixture("gather_nd_int8_full_index.tflite");
    let mut interp = load(&bytes).expect("loads");
    // params (5, 6), indices (4, 2) int64: [1, 7] has a flat position inside params but a
    // column past the end; LiteRT refuses it, so must we.
    for bad in [[1i64, 7], [5, 0], [-1, 2]] {
        let mut idx = Vec::new();
        for pair in [[0i64, 0], bad, [1, 1], [2, 2]] {
            for v in pair {
                idx.extend_from_slice(&v.to_le_bytes());
            }
        }
        interp.set_input_by_name("indices", &idx).unwrap();
        let err = interp.invoke().expect_err("out-of-range index must fail");
        assert!(
            err.to_string().contains("out of range"),
            "unexpected error {err}"
        );
    }
}

#[test]
fn nan_along_a_contiguous_arg_max_axis_fails_instead_of_guessing() {
    // (5, 9) reduced along its last axis: LiteRT's 4-lane search, whose NaN index is
    // lane-dependent. Without NaN the fixture matches LiteRT (ops_float.rs); with one, the
    // inference fails with a clear error.
    let bytes = fixture("arg_max_float32_int64_axis-1.tflite");
    let mut interp = load(&bytes).expect("loads");
    let mut x: Vec<u8> = (0..45).flat_map(|k| (k as f32).to_le_bytes()).collect();
    x[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    interp.set_input_by_name("input", &x).unwrap();
    let err = interp.invoke().expect_err("NaN must fail here");
    assert!(err.to_string().contains("NaN"), "unexpected error {err}");
}
