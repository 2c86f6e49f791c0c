//! `tpupipe_compiler::compiled_model` (what `tpupipe inspect` shows of a compiled model) on the
//! real v16 compiles in `../shared/edgetpu-samples` (key "4" a FlexBuffer string) and on the
//! stand-in's output (a blob), with the operators left on the CPU.

mod common;

use tpupipe_compiler::compiled_model::{read_package, CompiledModelInfo, PackageError};
use tpupipe_compiler::Builder;
use tpupipe_runtime::ModelView;

#[test]
fn reads_the_real_compiler_packages() {
    let Some(shared) = common::shared_dir() else {
        println!("skipped: ../shared/edgetpu-samples is absent (set TPUPIPE_SHARED)");
        return;
    };
    let samples = shared.join("edgetpu-samples");
    for (name, size) in [
        ("dummy_edgetpu.tflite", 53_248u64),
        (
            "mobilenet_v2_1.0_224_inat_bird_quant_edgetpu.tflite",
            4_169_728,
        ),
    ] {
        let bytes = std::fs::read(samples.join(name)).unwrap();
        let view = ModelView::parse(&bytes).unwrap();
        let info = CompiledModelInfo::read(&view).expect("a compiled model");
        assert_eq!(info.edgetpu_ops.len(), 1, "{name}");
        assert!(info.cpu_ops.is_empty(), "{name}: {:?}", info.cpu_ops);
        let p = info.edgetpu_ops[0].package.as_ref().unwrap();
        assert!(p.dwn1, "{name}");
        assert_eq!(p.min_runtime_version, 14, "{name}");
        assert_eq!(p.compiler_version, "cl/", "{name}");
        assert_eq!(p.bytes % 4096, 0, "{name}: {}", p.bytes);
        assert!(
            p.bytes >= size * 9 / 10 && p.bytes <= size,
            "{name}: {}",
            p.bytes
        );
        assert!(p.multi_executable_bytes > 0 && p.multi_executable_bytes < p.bytes);
    }
    // The source models have no custom op.
    let bytes = std::fs::read(samples.join("dummy.tflite")).unwrap();
    assert!(CompiledModelInfo::read(&ModelView::parse(&bytes).unwrap()).is_none());
}

#[test]
fn reads_the_standins_package_and_the_cpu_operators() {
    let dir = tempfile::tempdir().unwrap();
    let o = Builder::new(common::workspace().join("tests/models/fc_float_io.tflite"))
        .tpus(1)
        .min_runtime_version(13)
        .out_dir(dir.path().join("out"))
        .cache_dir(dir.path().join("cache"))
        .edgetpu_compiler(common::standin())
        .compile()
        .unwrap();
    let bytes = std::fs::read(&o.edgetpu_paths[0]).unwrap();
    let info = CompiledModelInfo::read(&ModelView::parse(&bytes).unwrap()).unwrap();
    let p = info.edgetpu_ops[0].package.as_ref().unwrap();
    assert_eq!(p.min_runtime_version, 13, "the -m option is in the package");
    let kinds: Vec<&str> = info.cpu_ops.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["QUANTIZE", "DEQUANTIZE"]);
    assert!(info.cpu_ops.iter().all(|c| !c.outputs.is_empty()));
    // A damaged package gives an error, not a panic.
    for cut in [0usize, 3, 100] {
        let e = read_package(&bytes[..cut.min(bytes.len())]);
        assert!(matches!(e, Err(PackageError::BadOptions(_))), "{e:?}");
    }
}
