//! The stand-in's output on the two real edgetpu_compiler v16 inputs of
//! `../shared/edgetpu-samples`, compared structurally with the real outputs: the same tensors
//! kept (names, types, shapes, quantization), the same operators and operator codes, the same
//! custom option keys (plus the private one), the same buffer count, description, dropped
//! signatures and metadata, the package's identifier and runtime version, and the log statuses.
//! Skips with a message where the shared folder is absent.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use tpupipe_runtime::schema;
use tpupipe_runtime::{ModelView, OpKind};
use tpupipe_standins::options::{self, SEGMENT_KEY};
use tpupipe_standins::package;

#[derive(Debug, PartialEq)]
struct TensorFacts {
    name: String,
    dtype: String,
    shape: Vec<i32>,
    scale: Vec<f32>,
    zero_point: Vec<i64>,
}

#[derive(Debug, PartialEq)]
struct Structure {
    description: Option<String>,
    version: u32,
    subgraphs: usize,
    tensors: Vec<TensorFacts>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// (op name, input names, output names).
    ops: Vec<(String, Vec<String>, Vec<String>)>,
    /// (kind, version, deprecated_builtin_code).
    opcodes: Vec<(String, i32, i8)>,
    buffers: usize,
    signatures: usize,
    metadata: usize,
}

fn tensor_facts(t: tpupipe_runtime::TensorView<'_>) -> TensorFacts {
    let q = t.quantization();
    TensorFacts {
        name: t.name().to_string(),
        dtype: format!("{:?}", t.dtype()),
        shape: t.shape(),
        scale: q.as_ref().map(|q| q.scale.clone()).unwrap_or_default(),
        zero_point: q.map(|q| q.zero_point).unwrap_or_default(),
    }
}

fn structure(m: &ModelView<'_>) -> Structure {
    let sg = m.main_subgraph();
    let name = |t: tpupipe_runtime::TensorId| sg.tensor(t).name().to_string();
    Structure {
        description: m.description().map(str::to_string),
        version: m.schema_version(),
        subgraphs: m.subgraph_count(),
        tensors: sg.tensors().map(tensor_facts).collect(),
        inputs: sg.inputs().into_iter().map(name).collect(),
        outputs: sg.outputs().into_iter().map(name).collect(),
        ops: sg
            .operators()
            .map(|op| {
                (
                    op.kind().name(),
                    op.present_inputs().into_iter().map(name).collect(),
                    op.outputs().into_iter().map(name).collect(),
                )
            })
            .collect(),
        opcodes: (0..m.opcode_count())
            .map(|i| {
                let code = m.raw().operator_codes().unwrap().get(i);
                let (kind, version) = m.opcode(i);
                (kind.name(), version, code.deprecated_builtin_code())
            })
            .collect(),
        buffers: m.buffer_count(),
        signatures: m.raw().signature_defs().map_or(0, |s| s.len()),
        metadata: m.raw().metadata().map_or(0, |s| s.len()),
    }
}

/// The custom options of the single edgetpu custom op.
fn custom_options<'a>(m: &ModelView<'a>) -> &'a [u8] {
    let sg = m.main_subgraph();
    let ops: Vec<_> = sg
        .operators()
        .filter(|op| matches!(op.kind(), OpKind::Custom(c) if c == "edgetpu-custom-op"))
        .collect();
    assert_eq!(ops.len(), 1, "one edgetpu-custom-op");
    assert_eq!(
        ops[0].raw().custom_options_format(),
        schema::CustomOptionsFormat::FLEXBUFFERS
    );
    ops[0]
        .raw()
        .custom_options()
        .expect("custom options")
        .bytes()
}

/// The `Operator / Count / Status` rows of a log, as (operator, count, status).
fn log_rows(log: &str) -> BTreeSet<(String, usize, String)> {
    let mut lines = log.lines().skip_while(|l| !l.starts_with("Operator "));
    lines.next();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            (
                l[..30].trim_end().to_string(),
                l[31..41].trim_end().parse().unwrap(),
                l[42..].to_string(),
            )
        })
        .collect()
}

fn compile(dir: &Path, input: &Path) -> (Vec<u8>, String) {
    let out = common::run(&["-o", dir.to_str().unwrap(), input.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "stand-in failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stem = input.file_stem().unwrap().to_str().unwrap();
    let model = std::fs::read(dir.join(format!("{stem}_edgetpu.tflite"))).unwrap();
    let log = std::fs::read_to_string(dir.join(format!("{stem}_edgetpu.log"))).unwrap();
    (model, log)
}

fn compare(stem: &str) -> Option<(String, String)> {
    let Some(shared) = common::shared_dir() else {
        eprintln!("skipping: ../shared (or TPUPIPE_SHARED) is absent");
        return None;
    };
    let samples = shared.join("edgetpu-samples");
    let input = samples.join(format!("{stem}.tflite"));
    let real_bytes = std::fs::read(samples.join(format!("{stem}_edgetpu.tflite"))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ours_bytes, log) = compile(dir.path(), &input);
    let real = ModelView::parse(&real_bytes).unwrap();
    let ours = ModelView::parse(&ours_bytes).expect("the stand-in writes a valid model");

    assert_eq!(structure(&ours), structure(&real));

    // Custom option keys: the real ones plus the private key.
    let real_options = custom_options(&real);
    let our_options = custom_options(&ours);
    let mut real_keys = options::keys(real_options).unwrap();
    real_keys.push(SEGMENT_KEY.to_string());
    real_keys.sort();
    let mut our_keys = options::keys(our_options).unwrap();
    our_keys.sort();
    assert_eq!(our_keys, real_keys);

    // The package: DWN1, page-aligned MultiExecutable, the same runtime version and compiler.
    let ours_package = options::bytes_of(our_options, "4").unwrap();
    let ours_facts = package::read_package(ours_package).expect("a DWN1 package");
    let real_at = real_options
        .windows(4)
        .position(|w| w == b"DWN1")
        .expect("the real options hold a DWN1 package")
        - 4;
    let real_facts = package::read_package(&real_options[real_at..]).unwrap();
    assert_eq!(
        ours_facts.min_runtime_version,
        real_facts.min_runtime_version
    );
    assert_eq!(ours_facts.compiler_version, real_facts.compiler_version);
    assert_eq!(real_facts.multi_executable_offset, 4096);
    assert_eq!(ours_facts.multi_executable_offset, 4096);
    assert_eq!(ours_package.len() % 4096, 0);

    // The private segment: a model whose I/O are the custom op's I/O.
    let segment = options::bytes_of(our_options, SEGMENT_KEY).unwrap();
    let segment = ModelView::parse(segment).expect("the private segment is a model");
    let seg_sg = segment.main_subgraph();
    let sg = ours.main_subgraph();
    let custom = sg.operators().next().unwrap();
    let facts = |view: tpupipe_runtime::SubgraphView<'_>, ids: Vec<tpupipe_runtime::TensorId>| {
        ids.into_iter()
            .map(|t| tensor_facts(view.tensor(t)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        facts(seg_sg, seg_sg.inputs()),
        facts(sg, custom.present_inputs())
    );
    assert_eq!(facts(seg_sg, seg_sg.outputs()), facts(sg, custom.outputs()));
    Some((log, shared.to_string_lossy().into_owned()))
}

#[test]
fn dummy_matches_the_real_compile() {
    let Some((log, shared)) = compare("dummy") else {
        return;
    };
    // The real log, quoted in the samples README.
    let readme =
        std::fs::read_to_string(Path::new(&shared).join("edgetpu-samples/README.md")).unwrap();
    let start = readme.find("Edge TPU Compiler version").unwrap();
    let end = start + readme[start..].find("```").unwrap();
    let real_log = &readme[start..end];
    assert_eq!(log_rows(&log), log_rows(real_log));
    assert!(!log_rows(&log).is_empty());
}

#[test]
fn mobilenet_matches_the_real_compile() {
    let Some((log, _)) = compare("mobilenet_v2_1.0_224_inat_bird_quant") else {
        return;
    };
    // The README lists the real log's operators, all mapped.
    let real: BTreeSet<&str> = [
        "CONV_2D",
        "SOFTMAX",
        "ADD",
        "FULLY_CONNECTED",
        "AVERAGE_POOL_2D",
        "DEPTHWISE_CONV_2D",
    ]
    .into();
    let rows = log_rows(&log);
    let ours: BTreeSet<&str> = rows.iter().map(|(op, _, _)| op.as_str()).collect();
    assert_eq!(ours, real);
    assert!(rows.iter().all(|(_, _, s)| s == "Mapped to Edge TPU"));
}
