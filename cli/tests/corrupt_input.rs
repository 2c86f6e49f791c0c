//! Hostile and corrupt inputs: the `tpupipe` binary must fail with one `error:` line (never a
//! panic), and `ModelView::parse` + `Graph::build` must return `Err` or `Ok` on any byte string.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use tpupipe_cli::commands::inspect::InspectReport;
use tpupipe_compiler::graph::Graph;
use tpupipe_runtime::schema::{BuiltinOperator, ModelT};
use tpupipe_runtime::ModelView;
use tpupipe_testkit::*;

/// A fixture model's bytes, when the fixtures are present.
fn fixture(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
        .join(format!("{name}.tflite"));
    std::fs::read(path).ok()
}

/// A valid model to corrupt: the conv_small fixture when present, else the residual diamond.
fn base_model() -> Vec<u8> {
    fixture("conv_small").unwrap_or_else(residual)
}

fn unpack(bytes: &[u8]) -> ModelT {
    ModelView::parse(bytes).unwrap().raw().unpack()
}

/// Runs `tpupipe ARGS` and checks it fails with exactly one `error:` line and no panic.
fn assert_one_line_error(args: &[&std::ffi::OsStr], case: &str) -> String {
    let out = tpupipe_testkit::tpupipe!()
        .command::<&str>(&[])
        .args(args)
        .output()
        .expect("run tpupipe");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{case}: tpupipe {args:?} succeeded");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{case}: exit status, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{case}: panic: {stderr}");
    assert!(stderr.starts_with("error: "), "{case}: stderr: {stderr}");
    assert_eq!(
        stderr.trim_end_matches('\n').lines().count(),
        1,
        "{case}: not one line: {stderr}"
    );
    stderr
}

/// Writes `bytes` to a temporary file and runs `inspect` and `split` on it; returns the
/// `inspect` message.
fn check_rejected(bytes: &[u8], case: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.tflite");
    std::fs::write(&model, bytes).unwrap();
    let msg = assert_one_line_error(&["inspect".as_ref(), model.as_os_str()], case);
    let out_dir: PathBuf = dir.path().join("segments");
    assert_one_line_error(
        &[
            "split".as_ref(),
            model.as_os_str(),
            "-n".as_ref(),
            "2".as_ref(),
            "-o".as_ref(),
            out_dir.as_os_str(),
        ],
        &format!("{case} (split)"),
    );
    msg
}

#[test]
fn valid_models_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ok.tflite");
    std::fs::write(&model, base_model()).unwrap();
    let out = tpupipe_testkit::tpupipe!()
        .command::<&str>(&[])
        .arg("inspect")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn truncated_files() {
    let bytes = base_model();
    let n = bytes.len();
    for len in [0, 3, 7, 8, 16, 64, n / 4, n / 2, n - 100, n - 1] {
        let msg = check_rejected(&bytes[..len], &format!("truncated to {len} bytes"));
        assert!(
            msg.contains("not a TFLite model") || msg.contains("corrupt"),
            "truncated to {len}: {msg}"
        );
    }
}

#[test]
fn random_bytes() {
    let mut state = 0x9e3779b97f4a7c15u64;
    for (k, len) in [1usize, 9, 100, 4096, 65536].into_iter().enumerate() {
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        check_rejected(&bytes, &format!("random {len} bytes"));
        // Random bytes with a valid identifier go further, into the verifier.
        if len >= 8 {
            bytes[4..8].copy_from_slice(b"TFL3");
            bytes[0..4].copy_from_slice(&(8 + 4 * k as u32).to_le_bytes());
            check_rejected(&bytes, &format!("random {len} bytes with TFL3"));
        }
    }
}

#[test]
fn nonexistent_path_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tflite");
    let msg = assert_one_line_error(&["inspect".as_ref(), missing.as_os_str()], "missing file");
    assert!(msg.contains("missing.tflite"), "{msg}");
    assert_one_line_error(&["inspect".as_ref(), dir.path().as_os_str()], "directory");
}

fn main_sg(m: &mut ModelT) -> &mut tpupipe_runtime::schema::SubGraphT {
    &mut m.subgraphs.as_mut().unwrap()[0]
}

#[test]
fn tensor_index_in_an_op_out_of_range() {
    let mut m = unpack(&base_model());
    let n = main_sg(&mut m).tensors.as_ref().unwrap().len() as i32;
    main_sg(&mut m).operators.as_mut().unwrap()[1]
        .inputs
        .as_mut()
        .unwrap()[0] = n + 5;
    let msg = check_rejected(&serialize(&m), "op input out of range");
    assert!(
        msg.contains("op 1 input") && msg.contains("out of range"),
        "{msg}"
    );

    let mut m = unpack(&base_model());
    main_sg(&mut m).operators.as_mut().unwrap()[0]
        .outputs
        .as_mut()
        .unwrap()[0] = -3;
    check_rejected(&serialize(&m), "negative op output");

    let mut m = unpack(&base_model());
    main_sg(&mut m).inputs.as_mut().unwrap()[0] = n;
    check_rejected(&serialize(&m), "model input out of range");
}

#[test]
fn buffer_index_out_of_range() {
    let mut m = unpack(&base_model());
    let nb = m.buffers.as_ref().unwrap().len() as u32;
    main_sg(&mut m).tensors.as_mut().unwrap()[1].buffer = nb + 3;
    let msg = check_rejected(&serialize(&m), "buffer out of range");
    assert!(
        msg.contains("buffer") && msg.contains("out of range"),
        "{msg}"
    );
}

#[test]
fn opcode_index_out_of_range() {
    let mut m = unpack(&base_model());
    let nc = m.operator_codes.as_ref().unwrap().len() as u32;
    main_sg(&mut m).operators.as_mut().unwrap()[2].opcode_index = nc;
    let msg = check_rejected(&serialize(&m), "opcode out of range");
    assert!(
        msg.contains("operator code") && msg.contains("out of range"),
        "{msg}"
    );
}

#[test]
fn constant_data_of_the_wrong_size() {
    let mut m = unpack(&base_model());
    let sg = &m.subgraphs.as_ref().unwrap()[0];
    let buffers = m.buffers.as_ref().unwrap();
    let has_data = |b: u32| {
        buffers[b as usize]
            .data
            .as_ref()
            .is_some_and(|d| !d.is_empty())
    };
    let t = sg
        .tensors
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| has_data(t.buffer))
        .unwrap();
    let buffer = t.buffer as usize;
    m.buffers.as_mut().unwrap()[buffer]
        .data
        .as_mut()
        .unwrap()
        .pop();
    check_rejected(&serialize(&m), "short constant");
}

#[test]
fn huge_and_negative_shapes() {
    for (shape, what) in [
        (vec![1 << 30, 1 << 30, 4], "overflowing"),
        (vec![65536, 65536], "4 GiB"),
        (vec![1, -4], "negative"),
        (vec![1; 40], "rank 40"),
    ] {
        let mut m = unpack(&base_model());
        main_sg(&mut m).tensors.as_mut().unwrap()[0].shape = Some(shape);
        let msg = check_rejected(&serialize(&m), what);
        assert!(msg.contains("shape"), "{what}: {msg}");
    }
}

#[test]
fn cycles_and_bad_dataflow() {
    let msg = check_rejected(&cycle(), "cycle");
    assert!(msg.contains("cycle") && msg.contains("op0 (ADD)"), "{msg}");
    let msg = check_rejected(&produced_twice(), "produced twice");
    assert!(msg.contains("produced twice"), "{msg}");

    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    b.inputs(&[x]).outputs(&[x]);
    let msg = check_rejected(&b.finish(), "no operators");
    assert!(msg.contains("no operators"), "{msg}");

    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let ghost = b.int8("ghost", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::ADD, &[x, ghost], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let msg = check_rejected(&b.finish(), "unproduced");
    assert!(msg.contains("'ghost'"), "{msg}");
}

#[test]
fn names_with_line_breaks_stay_on_one_line() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("evil\nname\r\n", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    // `inspect` only: the message comes from the file, and `split` prints it unescaped for now.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.tflite");
    std::fs::write(&model, b.finish()).unwrap();
    let msg = assert_one_line_error(
        &["inspect".as_ref(), model.as_os_str()],
        "newline in a name",
    );
    assert!(msg.contains("evil\\nname"), "{msg}");
}

/// Builds the graph and touches every query, so that a parse that succeeds is fully exercised.
fn exercise(bytes: &[u8]) {
    let Ok(view) = ModelView::parse(bytes) else {
        return;
    };
    let _ = tpupipe_compiler::segment::ensure_splittable(&view);
    let Ok(g) = Graph::build(&view) else {
        return;
    };
    let n = g.len();
    for cut in 0..=n {
        let _ = g.live_across(cut);
        let _ = g.live_bytes(cut);
    }
    for start in 0..=n.min(40) {
        for end in start..=n.min(40) {
            let _ = g.segment_io(start..end);
            let _ = g.macs(start..end);
            let _ = g.param_bytes(start..end);
        }
    }
    for t in 0..g.tensor_count() as u32 {
        let t = tpupipe_runtime::TensorId(t);
        let _ = (
            g.tensor_name(t),
            g.tensor_bytes(t),
            g.tensor_shape(t),
            g.producer(t),
        );
        let _ = g.consumers(t);
    }
    let _ = InspectReport::build("fuzz", &view).map(|r| r.to_text());
}

/// The number of fuzz cases: `PROPTEST_CASES` when set (for a longer run), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Interesting 32-bit values for word-sized mutations (indices, offsets, lengths, dims).
const WORDS: [u32; 10] = [
    0,
    1,
    2,
    3,
    0x7f,
    0xff,
    0xffff_ffff,
    0x7fff_ffff,
    0x8000_0000,
    0x0001_0000,
];

fn mutation_bases() -> Vec<Vec<u8>> {
    let mut v = vec![residual(), chain(2)];
    v.extend(fixture("conv_small"));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), ..ProptestConfig::default() })]

    #[test]
    fn mutated_bytes_never_panic(
        base in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let bases = mutation_bases();
        let mut bytes = bases[base % bases.len()].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        exercise(&bytes);
    }

    #[test]
    fn mutated_words_never_panic(
        base in 0usize..3,
        words in prop::collection::vec((any::<prop::sample::Index>(), 0usize..WORDS.len()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let bases = mutation_bases();
        let mut bytes = bases[base % bases.len()].clone();
        for (at, w) in words {
            let i = at.index(bytes.len() / 4) * 4;
            bytes[i..i + 4].copy_from_slice(&WORDS[w].to_le_bytes());
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        exercise(&bytes);
    }
}

#[test]
fn every_single_word_mutation_of_a_small_model() {
    // Exhaustive over positions for a small model: each 4-byte word set to each interesting value.
    let base = residual();
    for i in (0..base.len() / 4).map(|k| k * 4) {
        for w in WORDS {
            let mut bytes = base.clone();
            bytes[i..i + 4].copy_from_slice(&w.to_le_bytes());
            exercise(&bytes);
        }
    }
}

/// One structure-aware corruption of a model, applied through the object API so that the file
/// still passes the flatbuffers verifier and reaches the cross-reference checks and the graph.
#[derive(Debug, Clone)]
enum Edit {
    OpInput {
        op: usize,
        slot: usize,
        value: i32,
    },
    OpOutput {
        op: usize,
        slot: usize,
        value: i32,
    },
    DropOpInputs {
        op: usize,
    },
    Buffer {
        tensor: usize,
        value: u32,
    },
    Shape {
        tensor: usize,
        dims: Vec<i32>,
    },
    Signature {
        tensor: usize,
        dims: Vec<i32>,
    },
    Type {
        tensor: usize,
        value: i8,
    },
    Quant {
        tensor: usize,
        scales: usize,
        zero_points: usize,
        axis: i32,
    },
    Opcode {
        code: usize,
        builtin: i32,
        deprecated: i8,
    },
    ModelInputs(Vec<i32>),
    ModelOutputs(Vec<i32>),
    SwapOps(usize, usize),
    DropTensors,
    TruncateBuffer {
        buffer: usize,
        keep: usize,
    },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let idx = -3i32..24;
    let dim = prop_oneof![Just(-1i32), Just(0), 1i32..5, Just(1 << 20), Just(i32::MAX)];
    prop_oneof![
        (0usize..8, 0usize..4, idx.clone()).prop_map(|(op, slot, value)| Edit::OpInput {
            op,
            slot,
            value
        }),
        (0usize..8, 0usize..2, idx.clone()).prop_map(|(op, slot, value)| Edit::OpOutput {
            op,
            slot,
            value
        }),
        (0usize..8).prop_map(|op| Edit::DropOpInputs { op }),
        (0usize..24, 0u32..24).prop_map(|(tensor, value)| Edit::Buffer { tensor, value }),
        (0usize..24, prop::collection::vec(dim.clone(), 0..6))
            .prop_map(|(tensor, dims)| Edit::Shape { tensor, dims }),
        (0usize..24, prop::collection::vec(dim, 0..6))
            .prop_map(|(tensor, dims)| Edit::Signature { tensor, dims }),
        (0usize..24, -2i8..20).prop_map(|(tensor, value)| Edit::Type { tensor, value }),
        (0usize..24, 0usize..10, 0usize..10, -2i32..6).prop_map(
            |(tensor, scales, zero_points, axis)| Edit::Quant {
                tensor,
                scales,
                zero_points,
                axis
            }
        ),
        (0usize..8, -5i32..210, any::<i8>()).prop_map(|(code, builtin, deprecated)| Edit::Opcode {
            code,
            builtin,
            deprecated
        }),
        prop::collection::vec(-2i32..24, 0..3).prop_map(Edit::ModelInputs),
        prop::collection::vec(-2i32..24, 0..3).prop_map(Edit::ModelOutputs),
        (0usize..8, 0usize..8).prop_map(|(a, b)| Edit::SwapOps(a, b)),
        Just(Edit::DropTensors),
        (0usize..24, 0usize..64).prop_map(|(buffer, keep)| Edit::TruncateBuffer { buffer, keep }),
    ]
}

fn apply(m: &mut ModelT, edit: &Edit) {
    let n_codes = m.operator_codes.as_ref().map_or(0, |c| c.len());
    let n_buffers = m.buffers.as_ref().map_or(0, |b| b.len());
    let sg = main_sg(m);
    let n_ops = sg.operators.as_ref().map_or(0, |o| o.len());
    let n_tensors = sg.tensors.as_ref().map_or(0, |t| t.len());
    match edit.clone() {
        Edit::OpInput { op, slot, value } | Edit::OpOutput { op, slot, value } if n_ops > 0 => {
            let o = &mut sg.operators.as_mut().unwrap()[op % n_ops];
            let list = if matches!(edit, Edit::OpInput { .. }) {
                &mut o.inputs
            } else {
                &mut o.outputs
            };
            if let Some(list) = list.as_mut().filter(|l| !l.is_empty()) {
                let k = slot % list.len();
                list[k] = value;
            }
        }
        Edit::DropOpInputs { op } if n_ops > 0 => {
            sg.operators.as_mut().unwrap()[op % n_ops].inputs = None
        }
        Edit::Buffer { tensor, value } if n_tensors > 0 => {
            sg.tensors.as_mut().unwrap()[tensor % n_tensors].buffer = value;
        }
        Edit::Shape { tensor, dims } if n_tensors > 0 => {
            sg.tensors.as_mut().unwrap()[tensor % n_tensors].shape = Some(dims);
        }
        Edit::Signature { tensor, dims } if n_tensors > 0 => {
            sg.tensors.as_mut().unwrap()[tensor % n_tensors].shape_signature = Some(dims);
        }
        Edit::Type { tensor, value } if n_tensors > 0 => {
            sg.tensors.as_mut().unwrap()[tensor % n_tensors].type_ =
                tpupipe_runtime::schema::TensorType(value);
        }
        Edit::Quant {
            tensor,
            scales,
            zero_points,
            axis,
        } if n_tensors > 0 => {
            sg.tensors.as_mut().unwrap()[tensor % n_tensors].quantization = Some(Box::new(quant(
                vec![0.5; scales],
                vec![1; zero_points],
                axis,
            )));
        }
        Edit::ModelInputs(v) => sg.inputs = Some(v),
        Edit::ModelOutputs(v) => sg.outputs = Some(v),
        Edit::SwapOps(a, b) if n_ops > 0 => {
            sg.operators.as_mut().unwrap().swap(a % n_ops, b % n_ops)
        }
        Edit::DropTensors => sg.tensors = None,
        Edit::Opcode {
            code,
            builtin,
            deprecated,
        } if n_codes > 0 => {
            let c = &mut m.operator_codes.as_mut().unwrap()[code % n_codes];
            c.builtin_code = tpupipe_runtime::schema::BuiltinOperator(builtin);
            c.deprecated_builtin_code = deprecated;
        }
        Edit::TruncateBuffer { buffer, keep } if n_buffers > 0 => {
            if let Some(d) = m.buffers.as_mut().unwrap()[buffer % n_buffers]
                .data
                .as_mut()
            {
                d.truncate(keep);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(600), ..ProptestConfig::default() })]

    #[test]
    fn structured_corruptions_never_panic(
        base in 0usize..3,
        edits in prop::collection::vec(edit_strategy(), 1..4),
    ) {
        let bases = mutation_bases();
        let mut m = unpack(&bases[base % bases.len()]);
        for e in &edits {
            apply(&mut m, e);
        }
        exercise(&serialize(&m));
    }
}
