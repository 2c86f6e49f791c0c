//! Real edgetpu_compiler v16 outputs (shared/edgetpu-samples): the backend accepts them as Edge
//! TPU segments, the stand-in's FlexBuffer reader reads their custom options, survives corrupted
//! copies of them, and a real compiled model (no embedded segment) fails with a clear message.

#![cfg(feature = "edgetpu")]

mod edgetpu_support;
use edgetpu_support as support;

use libloading::Library;
use std::ffi::{c_char, c_int, CString};
use std::path::PathBuf;
use support::{build_standin, config, custom_options, shared_dir, toolchain, Standin};
use tpupipe_runtime::edgetpu::{
    check_segment, Assignment, EdgeTpuBackend, EdgeTpuError, StageOptions,
};
use tpupipe_runtime::{ModelView, OpIndex};

const FBT_INT: c_int = 1;
const FBT_STRING: c_int = 5;
const FBT_BLOB: c_int = 25;

type ProbeFn = unsafe extern "C" fn(
    *const u8,
    usize,
    *const c_char,
    *mut c_int,
    *mut i64,
    *mut usize,
    *mut usize,
) -> c_int;

/// What the stand-in's reader finds under one key.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Malformed,
    Absent,
    Value {
        ty: c_int,
        int: i64,
        blob: std::ops::Range<usize>,
    },
}

struct Probe {
    lib: Library,
}

impl Probe {
    fn new() -> Option<Probe> {
        let tc = toolchain()?;
        let path = build_standin(
            &tc,
            &Standin {
                devices: "",
                defines: &[],
            },
        );
        // SAFETY: the stand-in's initialisers only set up its globals.
        Some(Probe {
            lib: unsafe { Library::new(path) }.unwrap(),
        })
    }

    fn get(&self, options: &[u8], key: &str) -> Found {
        let k = CString::new(key).unwrap();
        let (mut ty, mut int, mut off, mut size) = (0, 0i64, 0usize, 0usize);
        // SAFETY: the hook's signature; every pointer is valid for the call.
        let rc = unsafe {
            let f = *self
                .lib
                .get::<ProbeFn>(b"tpupipe_standin_probe_options\0")
                .unwrap();
            f(
                options.as_ptr(),
                options.len(),
                k.as_ptr(),
                &mut ty,
                &mut int,
                &mut off,
                &mut size,
            )
        };
        match rc {
            0 => Found::Value {
                ty,
                int,
                blob: off..off + size,
            },
            1 => Found::Absent,
            _ => Found::Malformed,
        }
    }
}

fn samples() -> Vec<PathBuf> {
    let dir = shared_dir().join("edgetpu-samples");
    let v: Vec<PathBuf> = [
        "dummy_edgetpu.tflite",
        "mobilenet_v2_1.0_224_inat_bird_quant_edgetpu.tflite",
    ]
    .iter()
    .map(|n| dir.join(n))
    .filter(|p| p.is_file())
    .collect();
    if v.is_empty() {
        eprintln!("SKIPPED: no compiled samples in {}", dir.display());
    }
    v
}

fn custom_options_of(model: &[u8]) -> Vec<u8> {
    let view = ModelView::parse(model).unwrap();
    let op = view.main_subgraph().operator(OpIndex(0));
    op.raw().custom_options().unwrap().bytes().to_vec()
}

#[test]
fn real_compiled_models_are_edgetpu_segments() {
    for p in samples() {
        let bytes = std::fs::read(&p).unwrap();
        check_segment(0, &bytes, false).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

#[test]
fn reader_reads_real_custom_options() {
    let samples = samples();
    if samples.is_empty() {
        return;
    }
    let Some(probe) = Probe::new() else { return };
    for p in samples {
        let opts = custom_options_of(&std::fs::read(&p).unwrap());
        let name = p.display();
        assert!(
            matches!(
                probe.get(&opts, "1"),
                Found::Value {
                    ty: FBT_INT,
                    int: 0,
                    ..
                }
            ),
            "{name}"
        );
        assert!(
            matches!(
                probe.get(&opts, "5"),
                Found::Value {
                    ty: FBT_INT,
                    int: -1,
                    ..
                }
            ),
            "{name}"
        );
        match probe.get(&opts, "4") {
            Found::Value { ty, blob, .. } => {
                assert!(ty == FBT_STRING || ty == FBT_BLOB, "{name}: type {ty}");
                let package = &opts[blob];
                assert_eq!(package.len() % 4096, 0, "{name}: package length");
                assert_eq!(&package[4..8], b"DWN1", "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(
            matches!(probe.get(&opts, "6"), Found::Value { .. }),
            "{name}"
        );
        assert_eq!(
            probe.get(&opts, "tpupipe_standin_segment"),
            Found::Absent,
            "{name}"
        );
        assert_eq!(probe.get(&opts, "0"), Found::Absent, "{name}");
    }
}

#[test]
fn reader_reads_the_convention_written_by_the_flexbuffers_crate() {
    let Some(probe) = Probe::new() else { return };
    let segment: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let opts = custom_options(&segment);
    match probe.get(&opts, "tpupipe_standin_segment") {
        Found::Value {
            ty: FBT_BLOB, blob, ..
        } => assert_eq!(&opts[blob], &segment[..]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        probe.get(&opts, "5"),
        Found::Value { int: -1, .. }
    ));
}

/// Truncated and bit-flipped options never crash the reader (a crash would end this process).
#[test]
fn reader_survives_corrupt_options() {
    let samples = samples();
    let Some(probe) = Probe::new() else { return };
    let mut inputs = vec![custom_options(&[7u8; 300])];
    for p in samples {
        inputs.push(custom_options_of(&std::fs::read(&p).unwrap()));
    }
    let keys = ["1", "4", "5", "6", "7", "tpupipe_standin_segment"];
    let mut seed = 0x9e37_79b9_u32;
    let mut probes = 0;
    for opts in &inputs {
        // Every short prefix and a spread of longer ones.
        let n = opts.len();
        let cuts: Vec<usize> = (0..n.min(64))
            .chain((64..n).step_by((n / 200).max(1)))
            .collect();
        for cut in cuts {
            for k in keys {
                let _ = probe.get(&opts[..cut], k);
                probes += 1;
            }
        }
        // Flips near the end, where the root, the map header and the keys are.
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let mut c = opts.clone();
            let span = n.min(96);
            let at = n - 1 - (seed as usize % span);
            c[at] ^= 1 << (seed >> 29);
            for k in keys {
                if let Found::Value { blob, .. } = probe.get(&c, k) {
                    assert!(blob.end <= c.len(), "blob past the end");
                }
                probes += 1;
            }
        }
    }
    eprintln!("{probes} probes of corrupt options, no crash");
}

#[test]
fn real_compiled_model_without_the_convention_fails_clearly_on_the_standin() {
    let samples = samples();
    let Some(p) = samples.first() else { return };
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "usb:/sys/bus/usb/devices/8-1",
            defines: &[],
        },
    );
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let e = backend
        .open_stages(
            vec![std::fs::read(p).unwrap()],
            &Assignment::Automatic,
            &StageOptions::default(),
        )
        .unwrap_err();
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::StageSetupFailed { messages, .. } => assert!(
            messages
                .iter()
                .any(|m| m.contains("no readable \"tpupipe_standin_segment\" blob")),
            "{messages:?}"
        ),
        other => panic!("{other:?}"),
    }
}
