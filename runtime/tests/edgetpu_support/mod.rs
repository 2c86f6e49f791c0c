//! Test support for the Edge TPU backend tests: the stand-in libedgetpu (built by the
//! `tpupipe-standin-libedgetpu` test crate), backend configs over it, and wrapping a fixture model as an Edge TPU "compiled" model
//! per the stand-in convention (one `edgetpu-custom-op` whose options embed the model).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use tpupipe_runtime::edgetpu::{BackendConfig, LibraryPaths};
use tpupipe_runtime::schema;

#[allow(unused_imports)] // each test binary uses a part
pub use tpupipe_standin_libedgetpu::{shared_dir, toolchain, Standin, Toolchain};

/// A fresh directory under the test target's temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "edgetpu-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles the stand-in into a fresh directory and returns the path of its `libedgetpu.so.1`.
pub fn build_standin(tc: &Toolchain, s: &Standin) -> PathBuf {
    tpupipe_standin_libedgetpu::build(tc, s, &temp_dir("standin"))
}

/// A backend config over the shared TFLite library, `edgetpu`, and a fresh lock directory.
pub fn config(tc: &Toolchain, edgetpu: &Path) -> BackendConfig {
    BackendConfig {
        libraries: LibraryPaths {
            tflite: Some(tc.tflite_lib.clone()),
            edgetpu: Some(edgetpu.to_path_buf()),
        },
        lock_dir: temp_dir("locks"),
        allow_version_mismatch: false,
        verbosity: None,
    }
}

/// The repository's fixture models.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models")
}

/// A stand-in for a DWN1 package: the identifier at offset 4, padded to a 4 KiB page.
fn fake_package() -> Vec<u8> {
    let mut p = vec![0u8; 4096];
    p[0..4].copy_from_slice(&0x0fc8u32.to_le_bytes());
    p[4..8].copy_from_slice(b"DWN1");
    p
}

/// The custom options of the stand-in convention: libedgetpu's keys plus the embedded segment.
pub fn custom_options(segment: &[u8]) -> Vec<u8> {
    let mut b = flexbuffers::Builder::default();
    let mut m = b.start_map();
    m.push("1", 0i64);
    m.push("4", flexbuffers::Blob(&fake_package()[..]));
    m.push("5", -1i64);
    let mut chips = m.start_vector("6");
    chips.push(18i64);
    chips.end_vector();
    m.start_vector("7").end_vector();
    m.push("tpupipe_standin_segment", flexbuffers::Blob(segment));
    m.end_map();
    b.view().to_vec()
}

/// Wraps a whole model as a "compiled" model: its main subgraph's inputs and outputs (names,
/// types, shapes, quantization kept) around one `edgetpu-custom-op` whose options embed
/// `model`. With `extra_cpu_op`, a RESHAPE of the first output stays after it (a segment not
/// fully mapped).
pub fn wrap_as_edgetpu(model: &[u8], extra_cpu_op: bool) -> Vec<u8> {
    wrap_with_options(model, custom_options(model), extra_cpu_op)
}

/// [`wrap_as_edgetpu`] with the given custom options bytes.
pub fn wrap_with_options(model: &[u8], options: Vec<u8>, extra_cpu_op: bool) -> Vec<u8> {
    let src = schema::root_as_model(model)
        .expect("fixture parses")
        .unpack();
    let sg = &src.subgraphs.as_ref().unwrap()[0];
    let tensors = sg.tensors.as_ref().unwrap();
    let io: Vec<i32> = sg
        .inputs
        .iter()
        .flatten()
        .chain(sg.outputs.iter().flatten())
        .copied()
        .collect();
    let mut new_tensors: Vec<schema::TensorT> = io
        .iter()
        .map(|&t| {
            let mut t = tensors[t as usize].clone();
            t.buffer = 0;
            t
        })
        .collect();
    let n_in = sg.inputs.as_ref().map_or(0, |v| v.len()) as i32;
    let n_out = sg.outputs.as_ref().map_or(0, |v| v.len()) as i32;
    let inputs: Vec<i32> = (0..n_in).collect();
    let outputs: Vec<i32> = (n_in..n_in + n_out).collect();
    // The object API's types are non-exhaustive: build them from defaults.
    let code = |builtin: schema::BuiltinOperator, custom: Option<&str>| {
        let mut c = schema::OperatorCodeT::default();
        c.deprecated_builtin_code = builtin.0.min(127) as i8;
        c.builtin_code = builtin;
        c.custom_code = custom.map(str::to_string);
        c.version = 1;
        c
    };
    let op = |opcode: u32, inputs: Vec<i32>, outputs: Vec<i32>| {
        let mut o = schema::OperatorT::default();
        o.opcode_index = opcode;
        o.inputs = Some(inputs);
        o.outputs = Some(outputs);
        o
    };
    let mut codes = vec![code(
        schema::BuiltinOperator::CUSTOM,
        Some("edgetpu-custom-op"),
    )];
    let mut custom = op(0, inputs.clone(), outputs.clone());
    custom.custom_options = Some(options);
    custom.custom_options_format = schema::CustomOptionsFormat::FLEXBUFFERS;
    let mut ops = vec![custom];
    let mut sg_outputs = outputs.clone();
    if extra_cpu_op {
        codes.push(code(schema::BuiltinOperator::RESHAPE, None));
        let mut reshaped = new_tensors[outputs[0] as usize].clone();
        reshaped.name = Some("reshaped".to_string());
        new_tensors.push(reshaped);
        let id = new_tensors.len() as i32 - 1;
        let mut reshape = op(1, vec![outputs[0]], vec![id]);
        let mut ro = schema::ReshapeOptionsT::default();
        ro.new_shape = new_tensors[outputs[0] as usize].shape.clone();
        reshape.builtin_options = schema::BuiltinOptionsT::ReshapeOptions(Box::new(ro));
        ops.push(reshape);
        sg_outputs[0] = id;
    }
    let mut subgraph = schema::SubGraphT::default();
    subgraph.tensors = Some(new_tensors);
    subgraph.inputs = Some(inputs);
    subgraph.outputs = Some(sg_outputs);
    subgraph.operators = Some(ops);
    subgraph.name = sg.name.clone();
    let mut wrapped = schema::ModelT::default();
    wrapped.version = 3;
    wrapped.operator_codes = Some(codes);
    wrapped.subgraphs = Some(vec![subgraph]);
    wrapped.description = Some("Exported from Subgraph.".to_string());
    wrapped.buffers = Some(vec![schema::BufferT::default()]);
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = wrapped.pack(&mut fbb);
    schema::finish_model_buffer(&mut fbb, root);
    fbb.finished_data().to_vec()
}

/// The stand-in's test hooks, on the instance the backend loaded from the same file.
pub struct Hooks {
    lib: libloading::Library,
}

impl Hooks {
    /// Opens the hooks of the stand-in at `path` (already loaded: the same instance).
    pub fn new(path: &Path) -> Hooks {
        // SAFETY: the stand-in's initialisers only set up its globals.
        Hooks {
            lib: unsafe { libloading::Library::new(path) }.unwrap(),
        }
    }

    fn call<T: Copy + Into<i64>>(&self, name: &[u8], device: &str) -> i64 {
        let c = std::ffi::CString::new(device).unwrap();
        // SAFETY: both hooks take a NUL-terminated path and return an integer of type T.
        unsafe {
            let f = *self
                .lib
                .get::<unsafe extern "C" fn(*const std::ffi::c_char) -> T>(name)
                .unwrap();
            f(c.as_ptr()).into()
        }
    }

    /// Custom-op kernel runs on the device at `device` so far.
    pub fn invocations(&self, device: &str) -> i64 {
        self.call::<i64>(b"tpupipe_standin_invocations\0", device)
    }

    /// Delegates currently holding the device at `device`.
    pub fn open_refs(&self, device: &str) -> i64 {
        self.call::<i32>(b"tpupipe_standin_open_refs\0", device)
    }
}
