//! Unit tests of code generation on the token output, formatted with `prettyplease`.

use super::model_struct::{struct_tokens, StructSpec};
use super::tensors::{ModelTensors, TensorInfo};
use super::*;
use std::path::{Path, PathBuf};
use tpupipe_runtime::ElementType;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
        .join(name)
}

fn pretty(tokens: &TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens.clone()).expect("the generated code parses");
    prettyplease::unparse(&file)
}

/// `text` contains `snippet`, whitespace aside.
#[track_caller]
fn assert_has(text: &str, snippet: &str) {
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    assert!(
        squash(text).contains(&squash(snippet)),
        "missing {snippet} in\n{text}"
    );
}

fn expand_fixture(dir: &Path, tpus: usize) -> Expansion {
    let builder = Builder::new(fixture("conv_residual.tflite")).tpus(tpus);
    expand(&builder, &CodegenOptions::new(Backend::Cpu, dir)).expect("the fixture expands")
}

#[test]
fn segments_are_embedded_aligned_by_include_bytes_never_as_literals() {
    let dir = tempfile::tempdir().unwrap();
    let e = expand_fixture(dir.path(), 3);
    let text = pretty(&e.tokens);
    assert_eq!(e.artifacts.cpu_files.len(), 3);
    for (i, f) in e.artifacts.cpu_files.iter().enumerate() {
        let embed = format!(
            "static SEGMENT_{i}_CPU: &::tpupipe::embedded::Aligned<[u8]> = &::tpupipe::embedded::Aligned(\n        *::std::include_bytes!(\"{}\"),\n    );",
            f.to_string_lossy()
        );
        assert_has(&text, &embed);
    }
    // No byte-string or array literal carries segment bytes: the code is far smaller than them.
    let segment_bytes: u64 = e.artifacts.plan.segments.iter().map(|s| s.file_bytes).sum();
    assert!(
        (text.len() as u64) < segment_bytes,
        "{} >= {segment_bytes}",
        text.len()
    );
    assert!(!text.contains("b\"TFL3"));
    // The model is tracked for rebuilds.
    let model = std::fs::canonicalize(fixture("conv_residual.tflite")).unwrap();
    assert_has(
        &text,
        &format!(
            "const _: &[u8] = ::std::include_bytes!(\"{}\");",
            model.to_string_lossy()
        ),
    );
    assert!(e.tracked.contains(&model));
}

#[test]
fn the_struct_is_named_from_the_stem_and_has_the_untyped_path() {
    let dir = tempfile::tempdir().unwrap();
    let e = expand_fixture(dir.path(), 2);
    assert_eq!(e.struct_name, "ConvResidual");
    let text = pretty(&e.tokens);
    assert_has(&text, "struct ConvResidual {");
    assert_has(
        &text,
        "pub const INPUT_NAMES: &'static [&'static str] = &[\"serving_default_input_1:0\"];",
    );
    assert_has(&text, "pub fn infer_raw(");
    assert_has(
        &text,
        "pub fn open_with(options: &::tpupipe::embedded::ModelOptions,)",
    );
    assert_has(
        &text,
        "pub const SHAPE: [usize; 4usize] = [1usize, 32usize, 32usize, 3usize];",
    );
    assert_has(&text, "pub fn quantize(values: &[f32]) -> Self");
}

#[test]
fn the_doc_table_has_one_row_per_segment_and_the_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let e = expand_fixture(dir.path(), 3);
    let plan = &e.artifacts.plan;
    let lines = doc_table::doc_lines(plan, "Net", "x");
    let header = lines
        .iter()
        .position(|l| l.starts_with("| segment | ops | device | parameter bytes"))
        .expect("a table header");
    for (k, s) in plan.segments.iter().enumerate() {
        let row = &lines[header + 2 + k];
        let expected = format!(
            "| {} | {}..{} | edgetpu | {} | {} | {} | {:.3} ms |",
            s.index,
            s.op_range[0],
            s.op_range[1],
            s.param_bytes,
            s.on_chip_bytes.unwrap(),
            s.off_chip_bytes.unwrap(),
            s.latency_ms.unwrap()
        );
        assert_eq!(row, &expected);
    }
    let summary = lines.last().unwrap();
    assert!(
        summary.starts_with(&format!(
            "Predicted throughput {:.1} inferences/s against {:.1} on one TPU",
            plan.throughput_per_s.unwrap(),
            1000.0 / plan.single_tpu_ms.unwrap()
        )),
        "{summary}"
    );
    // The table is the struct's rustdoc.
    let text = pretty(&e.tokens);
    assert_has(&text, "/// | segment | ops | device |");
}

#[test]
fn artifacts_are_reused_when_whole_and_rewritten_when_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let builder = Builder::new(fixture("conv_residual.tflite")).tpus(2);
    let first = artifacts(&builder, Backend::Cpu, dir.path()).unwrap();
    assert!(!first.reused);
    assert!(first.dir.starts_with(dir.path().join(".tpupipe")));
    let name = first.dir.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("conv_residual-") && name.len() == "conv_residual-".len() + 16);
    let again = artifacts(&builder, Backend::Cpu, dir.path()).unwrap();
    assert!(again.reused);
    assert_eq!(again.plan, first.plan);
    // Other options, another directory.
    let other = artifacts(&builder.clone().tpus(3), Backend::Cpu, dir.path()).unwrap();
    assert_ne!(other.dir, first.dir);
    // A damaged segment is noticed and the directory rewritten.
    let good = std::fs::read(&first.cpu_files[1]).unwrap();
    std::fs::write(&first.cpu_files[1], b"garbage").unwrap();
    let fixed = artifacts(&builder, Backend::Cpu, dir.path()).unwrap();
    assert!(!fixed.reused);
    assert_eq!(std::fs::read(&fixed.cpu_files[1]).unwrap(), good);
    // No temporary directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".tpupipe"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn errors_name_their_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let builder = Builder::new(fixture("conv_residual.tflite")).tpus(2);
    // Offline with a cold cache: the backend is at fault, and the message says what to do.
    let e = artifacts(&builder.clone().offline(true), Backend::EdgeTpu, dir.path()).unwrap_err();
    assert_eq!(e.culprit(), Culprit::Backend);
    assert!(e.full_message().contains("holds no build"), "{e}");
    assert!(e.full_message().contains("tpupipe compile"), "{e}");
    let e = expand(
        &builder.clone().tpus(500),
        &CodegenOptions::new(Backend::Cpu, dir.path()),
    )
    .unwrap_err();
    assert_eq!(e.culprit(), Culprit::Tpus, "{e}");
    let e = expand(
        &Builder::new(dir.path().join("missing.tflite")),
        &CodegenOptions::new(Backend::Cpu, dir.path()),
    )
    .unwrap_err();
    assert_eq!(e.culprit(), Culprit::Model);
    assert!(
        e.full_message().contains("missing.tflite"),
        "{}",
        e.full_message()
    );
}

fn info(name: &str, field: &str, ty: &str) -> TensorInfo {
    TensorInfo {
        name: name.to_string(),
        field: field.to_string(),
        type_name: ty.to_string(),
        dtype: ElementType::U8,
        shape: vec![1, 4],
        quantization: Some((0.5, 3)),
    }
}

#[test]
fn several_inputs_and_outputs_get_a_struct_with_named_fields() {
    let tensors = ModelTensors {
        inputs: vec![
            info("image:0", "image", "NetImage"),
            info("type", "r#type", "NetType"),
        ],
        outputs: vec![info("a", "a", "NetA"), info("b", "b", "NetB")],
    };
    let vis = quote::quote!(pub(crate));
    let tokens = struct_tokens(&StructSpec {
        name: "Net",
        visibility: &vis,
        doc: &["doc".to_string()],
        // The plan expression is only printed, never evaluated, in this test.
        plan: &quote::quote!(::core::panic!("not evaluated")),
        tensors: &tensors,
        cpu_files: &[None],
        edgetpu_files: &[None],
        tracked: &[],
    });
    let text = pretty(&tokens);
    assert_has(&text, "pub(crate) struct NetInputs {");
    assert_has(&text, "pub image: NetImage,");
    assert_has(&text, "pub r#type: NetType,");
    assert_has(&text, "pub fn infer(&self, inputs: &NetInputs,) -> ::std::result::Result<NetOutputs, ::tpupipe::Error>");
    assert_has(
        &text,
        "a: NetA::from_le_bytes(::tpupipe::embedded::output_bytes(outputs, 0usize)),",
    );
    assert_has(
        &text,
        "b: NetB::from_le_bytes(::tpupipe::embedded::output_bytes(outputs, 1usize)),",
    );
    assert_has(
        &text,
        "::tpupipe::embedded::quantize_u8(values, Self::SCALE, Self::ZERO_POINT)",
    );
}

#[test]
fn model_tensors_take_the_plans_names_and_unique_rust_names() {
    let dir = tempfile::tempdir().unwrap();
    let e = expand_fixture(dir.path(), 2);
    let file = crate::ModelFile::open(fixture("conv_residual.tflite")).unwrap();
    let view = file.view().unwrap();
    let plan = &e.artifacts.plan;
    // The struct name is reserved: a tensor whose type name would clash is numbered.
    let t = ModelTensors::read(&view, &plan.model_inputs, &plan.model_outputs, "Net").unwrap();
    assert_eq!(t.inputs[0].field, "serving_default_input_1");
    assert_eq!(t.inputs[0].type_name, "NetServingDefaultInput1");
    assert_eq!(t.inputs[0].shape, [1, 32, 32, 3]);
    let err = ModelTensors::read(&view, &[], &plan.model_outputs, "Net").unwrap_err();
    assert_eq!(err.culprit(), Culprit::Model);
}

#[test]
fn generate_needs_out_dir_and_writes_the_code_there() {
    // The only test touching OUT_DIR and CARGO_MANIFEST_DIR's use by `generate`.
    let dir = tempfile::tempdir().unwrap();
    let builder = Builder::new(fixture("conv_residual.tflite")).tpus(2);
    let mut options = CodegenOptions::new(Backend::Cpu, dir.path());
    options.visibility = quote::quote!(pub);
    std::env::remove_var("OUT_DIR");
    let err = generate::generate_with(&builder, &options).unwrap_err();
    assert!(matches!(err, CodegenError::NoOutDir), "{err}");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::env::set_var("OUT_DIR", &out);
    let generated = generate::generate_with(&builder, &options).unwrap();
    std::env::remove_var("OUT_DIR");
    assert_eq!(generated.path, out.join("conv_residual.rs"));
    let text = std::fs::read_to_string(&generated.path).unwrap();
    let code = text.split_once('\n').unwrap().1;
    let parsed: syn::File = syn::parse_str(code).expect("the written code parses");
    assert!(pretty(&quote::quote!(#parsed)).contains("pub struct ConvResidual {"));
}
