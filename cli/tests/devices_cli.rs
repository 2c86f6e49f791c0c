//! `tpupipe devices`: says why the Edge TPU backend is unavailable, and lists the libraries and
//! devices when they are there (the stand-in libedgetpu over the real TFLite C library).

use tpupipe_standin_libedgetpu::{build, toolchain, Standin};

#[test]
fn devices_says_why_the_backend_is_unavailable() {
    let tpupipe = tpupipe_testkit::tpupipe!();
    let r = tpupipe.run_with_env(
        &["devices"],
        &[
            ("TPUPIPE_TFLITE_LIB", "/nonexistent/libtensorflowlite_c.so"),
            ("TPUPIPE_EDGETPU_LIB", "/nonexistent/libedgetpu.so.1"),
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("TPUPIPE_TFLITE_LIB"), "{}", r.stdout);
    assert!(r.stdout.contains("backend: unavailable"), "{}", r.stdout);
    assert!(r.stdout.contains("CPU backend"), "{}", r.stdout);
}

#[test]
fn devices_lists_the_libraries_and_the_edge_tpus() {
    let Some(tc) = toolchain() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lib = build(
        &tc,
        &Standin {
            devices: "usb:/sys/bus/usb/devices/2-1,pci:/dev/apex_0",
            defines: &[],
        },
        dir.path(),
    );
    let tpupipe = tpupipe_testkit::tpupipe!();
    let locks = dir.path().join("locks");
    let r = tpupipe.run_with_env(
        &["devices"],
        &[
            ("TPUPIPE_TFLITE_LIB", tc.tflite_lib.to_str().unwrap()),
            ("TPUPIPE_EDGETPU_LIB", lib.to_str().unwrap()),
            ("TPUPIPE_LOCK_DIR", locks.to_str().unwrap()),
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains("/sys/bus/usb/devices/2-1"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("/dev/apex_0"), "{}", r.stdout);
    assert!(!r.stdout.contains("backend: unavailable"), "{}", r.stdout);
}
