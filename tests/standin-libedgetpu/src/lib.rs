//! Builds the stand-in `libedgetpu.so.1` (the C sources in `c/`, see `c/README.md`) for tests:
//! the real libedgetpu's C API and plugin entry points with the real semantics, and a real
//! `TfLiteDelegate` that runs the segment the stand-in `edgetpu_compiler` embeds in each
//! `edgetpu-custom-op`, on the shared TFLite C library.
//!
//! Only std types cross this crate's API, so any test crate can use it.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared material: `TPUPIPE_SHARED`, else `../shared` beside the workspace.
pub fn shared_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TPUPIPE_SHARED").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// What the stand-in needs: the TFLite C library and its headers, and a C compiler.
pub struct Toolchain {
    /// `libtensorflowlite_c.so`.
    pub tflite_lib: PathBuf,
    /// Its `include/` directory.
    pub include: PathBuf,
    /// The C compiler.
    pub cc: String,
}

/// The toolchain, or `None` after printing why the calling test is skipped.
pub fn toolchain() -> Option<Toolchain> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("SKIPPED: the shared TFLite C library is built for x86-64 Linux only");
        return None;
    }
    let tflite = shared_dir().join("tflite");
    let lib = tflite.join("lib/libtensorflowlite_c.so");
    let include = tflite.join("include");
    if !lib.is_file() || !include.join("tensorflow/lite/c/common.h").is_file() {
        eprintln!(
            "SKIPPED: no TFLite C library at {} (set TPUPIPE_SHARED)",
            lib.display()
        );
        return None;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let ok = Command::new(&cc)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: no C compiler '{cc}' to build the stand-in libedgetpu");
        return None;
    }
    Some(Toolchain {
        tflite_lib: lib,
        include,
        cc,
    })
}

/// How to build one stand-in: its devices (`usb:PATH,pci:PATH`) and extra `-D` defines
/// (`STANDIN_OMIT_FREE_DELEGATE`, `STANDIN_CLAIM_NONE`, `STANDIN_TF_VERSION="\"2.5.0\""`).
pub struct Standin<'a> {
    /// The device list baked in.
    pub devices: &'a str,
    /// Extra defines.
    pub defines: &'a [&'a str],
}

/// Compiles the stand-in into `out_dir/libedgetpu.so.1` (its own copy of the globals, so tests
/// do not share device state) and returns its path. Panics, failing the test, if the C compiler
/// fails.
pub fn build(tc: &Toolchain, s: &Standin, out_dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
    std::fs::create_dir_all(out_dir).expect("create the stand-in's directory");
    let out = out_dir.join("libedgetpu.so.1");
    let lib_dir = tc.tflite_lib.parent().expect("the library has a directory");
    let mut cmd = Command::new(&tc.cc);
    cmd.args(["-shared", "-fPIC", "-O1", "-fvisibility=hidden", "-Wall"])
        .arg("-I")
        .arg(&tc.include)
        .arg("-I")
        .arg(&src)
        .arg(format!("-DSTANDIN_DEVICES=\"{}\"", s.devices));
    for d in s.defines {
        cmd.arg(format!("-D{d}"));
    }
    for f in [
        "standin_devices.c",
        "standin_delegate.c",
        "standin_probe.c",
        "flexbuffer_map.c",
    ] {
        cmd.arg(src.join(f));
    }
    cmd.arg("-o")
        .arg(&out)
        .arg("-L")
        .arg(lib_dir)
        .arg("-ltensorflowlite_c")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lpthread");
    let o = cmd.output().expect("run the C compiler");
    assert!(
        o.status.success(),
        "building the stand-in failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}
