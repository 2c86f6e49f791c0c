//! Bad models and bad inputs give clear errors, never panics: unsupported ops name the op index
//! and kind, graph problems are found at load time, wrong input data is a `RunError`.

use tpupipe_runtime::interp::{Interpreter, LoadError, Options, RunError};
use tpupipe_runtime::schema::{self, BuiltinOperator, ModelT, OperatorCodeT};
use tpupipe_runtime::{ModelError, ModelView, OpIndex};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
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

/// Points op `k` at a new operator code.
fn set_opcode(model: &mut ModelT, k: usize, code: OperatorCodeT) {
    let codes = model.operator_codes.get_or_insert_with(Vec::new);
    codes.push(code);
    let idx = codes.len() as u32 - 1;
    model.subgraphs.as_mut().unwrap()[0]
        .operators
        .as_mut()
        .unwrap()[k]
        .opcode_index = idx;
}

#[test]
fn unsupported_op_names_index_and_kind() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let mut code = OperatorCodeT::default();
    code.deprecated_builtin_code = BuiltinOperator::LSTM.0 as i8;
    code.builtin_code = BuiltinOperator::LSTM;
    code.version = 1;
    set_opcode(&mut m, 2, code);
    match load(&pack(&m)) {
        Err(LoadError::Unsupported { op, kind, .. }) => {
            assert_eq!(op, OpIndex(2));
            assert_eq!(kind, "LSTM");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn edgetpu_custom_op_is_refused_clearly() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let mut code = OperatorCodeT::default();
    code.deprecated_builtin_code = BuiltinOperator::CUSTOM.0 as i8;
    code.builtin_code = BuiltinOperator::CUSTOM;
    code.custom_code = Some("edgetpu-custom-op".into());
    code.version = 1;
    set_opcode(&mut m, 0, code);
    let err = load(&pack(&m)).unwrap_err();
    assert!(
        matches!(err, LoadError::Unsupported { op: OpIndex(0), .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Edge TPU"), "{err}");
}

#[test]
fn unsupported_op_version_is_refused() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let codes = m.operator_codes.as_mut().unwrap();
    for c in codes.iter_mut() {
        c.version = 99;
    }
    let err = load(&pack(&m)).unwrap_err();
    assert!(
        matches!(err, LoadError::Unsupported { op: OpIndex(0), .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn ops_out_of_order_are_a_graph_error() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let ops = m.subgraphs.as_mut().unwrap()[0].operators.as_mut().unwrap();
    ops.swap(0, 1);
    let err = load(&pack(&m)).unwrap_err();
    assert!(matches!(err, LoadError::Graph(_)), "{err:?}");
    assert!(err.to_string().contains("earlier op"), "{err}");
}

#[test]
fn writing_a_model_input_is_a_graph_error() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let sg = &mut m.subgraphs.as_mut().unwrap()[0];
    let input = sg.inputs.as_ref().unwrap()[0];
    sg.operators.as_mut().unwrap()[1].outputs = Some(vec![input]);
    let err = load(&pack(&m)).unwrap_err();
    assert!(matches!(err, LoadError::Graph(_)), "{err:?}");
}

#[test]
fn multiple_subgraphs_are_refused() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let sgs = m.subgraphs.as_mut().unwrap();
    let copy = sgs[0].clone();
    sgs.push(copy);
    let err = load(&pack(&m)).unwrap_err();
    assert!(
        matches!(err, LoadError::Model(ModelError::MultipleSubgraphs(2))),
        "{err:?}"
    );
}

#[test]
fn dynamic_batch_signature_with_positive_declared_shape_loads() {
    let mut m = unpack(&fixture("fc_per_tensor.tflite"));
    let sg = &mut m.subgraphs.as_mut().unwrap()[0];
    let input = sg.inputs.as_ref().unwrap()[0] as usize;
    let t = &mut sg.tensors.as_mut().unwrap()[input];
    let mut sig = t.shape.clone().unwrap();
    sig[0] = -1;
    t.shape_signature = Some(sig);
    let interp = load(&pack(&m)).expect("declared shapes are used");
    assert_eq!(interp.input(0).unwrap().shape, vec![1, 64]);
}

#[test]
fn wrong_input_data_is_a_run_error() {
    let bytes = fixture("fc_per_tensor.tflite");
    let mut interp = load(&bytes).unwrap();
    let desc = interp.input(0).unwrap().clone();
    assert_eq!(desc.byte_size, 64);
    let e = interp.set_input(0, &[0u8; 63]).unwrap_err();
    assert!(matches!(e, RunError::BadData { .. }), "{e:?}");
    assert!(e.to_string().contains("expected 64 bytes"), "{e}");
    let e = interp.set_input_f32(0, &[0.0; 16]).unwrap_err();
    assert!(e.to_string().contains("int8"), "{e}");
    let e = interp.set_input(3, &[0u8; 64]).unwrap_err();
    assert!(
        matches!(
            e,
            RunError::BadIndex {
                index: 3,
                count: 1,
                ..
            }
        ),
        "{e:?}"
    );
    let e = interp.set_input_by_name("nope", &[0u8; 64]).unwrap_err();
    assert!(matches!(e, RunError::UnknownTensor { .. }), "{e:?}");
    assert!(e.to_string().contains(&desc.name), "{e}");
    let e = interp.run(&[]).unwrap_err();
    assert!(e.to_string().contains("no data given"), "{e}");
    let e = interp.output_f32(0).unwrap_err();
    assert!(matches!(e, RunError::BadData { .. }), "{e:?}");
    // Correct data still works afterwards.
    interp.set_input_i8(0, &[1i8; 64]).unwrap();
    interp.invoke().unwrap();
    assert_eq!(interp.output_i8(0).unwrap().len(), 10);
}

#[test]
fn arena_reuses_memory_and_preserve_all_keeps_everything() {
    let bytes = fixture("mobilenet_v2.tflite");
    let view = ModelView::parse(&bytes).unwrap();
    let reused = Interpreter::new(&view).unwrap();
    let all = Interpreter::with_options(
        &view,
        Options {
            preserve_all_tensors: true,
        },
    )
    .unwrap();
    let activations: u64 = view
        .main_subgraph()
        .tensors()
        .filter(|t| !t.is_constant())
        .map(|t| t.byte_size().unwrap().0)
        .sum();
    assert!(all.arena_size() as u64 >= activations);
    assert!(
        (reused.arena_size() as u64) < activations / 4,
        "arena {} for {} bytes of activations",
        reused.arena_size(),
        activations
    );
    assert_eq!(reused.arena_size() % 64, 0);
}

#[test]
fn interpreter_moves_to_another_thread() {
    let bytes = fixture("fc_tanh.tflite");
    let view = ModelView::parse(&bytes).unwrap();
    let mut interp = Interpreter::new(&view).unwrap();
    drop(bytes);
    let out = std::thread::spawn(move || {
        interp.set_input_i8(0, &[3i8; 64]).unwrap();
        interp.invoke().unwrap();
        interp.output_i8(0).unwrap().to_vec()
    })
    .join()
    .unwrap();
    assert_eq!(out.len(), 10);
}
