//! Every failure of the Edge TPU backend a user can meet gives one clear error: missing
//! libraries or symbols, no or too few devices, busy devices, bad assignments, a delegate that
//! cannot open its device or does not claim the custom op, incompatible versions, segments not
//! fully on the TPU, and buffer mismatches.

#![cfg(feature = "edgetpu")]

mod edgetpu_support;
use edgetpu_support as support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use support::{
    build_standin, config, models_dir, toolchain, wrap_as_edgetpu, wrap_with_options, Standin,
    Toolchain,
};
use tpupipe_runtime::edgetpu::{
    lock_file_path, Assignment, BulkInQueueLength, DeviceKind, DeviceLock, EdgeTpuBackend,
    EdgeTpuDevice, EdgeTpuError, LibraryKind, StageOptions,
};

const USB_A: &str = "/sys/bus/usb/devices/5-1";
const USB_B: &str = "/sys/bus/usb/devices/5-2";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join(format!("{name}.tflite"))).unwrap()
}

fn segment() -> Vec<u8> {
    wrap_as_edgetpu(&fixture("fc_tanh"), false)
}

fn standin(tc: &Toolchain, devices: &str, defines: &[&str]) -> PathBuf {
    build_standin(tc, &Standin { devices, defines })
}

fn open_err(backend: &EdgeTpuBackend, segments: Vec<Vec<u8>>, a: &Assignment) -> EdgeTpuError {
    backend
        .open_stages(segments, a, &StageOptions::default())
        .expect_err("opening must fail")
}

fn usb(path: &str) -> EdgeTpuDevice {
    EdgeTpuDevice {
        kind: DeviceKind::Usb,
        path: path.to_string(),
    }
}

#[test]
fn missing_tflite_library() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, USB_A, &[]);
    let mut cfg = config(&tc, &lib);
    cfg.libraries.tflite = Some(PathBuf::from("/nonexistent/libtensorflowlite_c.so"));
    let e = EdgeTpuBackend::open(&cfg).unwrap_err();
    assert!(
        matches!(
            e,
            EdgeTpuError::LibraryNotFound {
                library: LibraryKind::TfLite,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("TPUPIPE_TFLITE_LIB") && msg.contains("/nonexistent/"),
        "{msg}"
    );
}

#[test]
fn missing_edgetpu_library() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, USB_A, &[]);
    let mut cfg = config(&tc, &lib);
    cfg.libraries.edgetpu = Some(PathBuf::from("/nonexistent/libedgetpu.so.1"));
    let e = EdgeTpuBackend::open(&cfg).unwrap_err();
    assert!(
        matches!(
            e,
            EdgeTpuError::LibraryNotFound {
                library: LibraryKind::EdgeTpu,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("TPUPIPE_EDGETPU_LIB") && msg.contains("libedgetpu1-std"),
        "{msg}"
    );
}

#[test]
fn edgetpu_library_lacking_a_symbol() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, USB_A, &["STANDIN_OMIT_FREE_DELEGATE"]);
    let e = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap_err();
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::SymbolMissing {
            library: LibraryKind::EdgeTpu,
            symbol,
            ..
        } => assert_eq!(*symbol, "edgetpu_free_delegate"),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("edgetpu_free_delegate"));
}

#[test]
fn tflite_library_lacking_the_c_api() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, USB_A, &[]);
    let mut cfg = config(&tc, &lib);
    // A real shared library, but not the TFLite C API (and not linked to it).
    let dir = support::temp_dir("not-tflite");
    std::fs::write(
        dir.join("empty.c"),
        "int tpupipe_nothing(void) { return 0; }\n",
    )
    .unwrap();
    let not_tflite = dir.join("libnot_tflite.so");
    let ok = Command::new(&tc.cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&not_tflite)
        .arg(dir.join("empty.c"))
        .status()
        .unwrap();
    assert!(ok.success());
    cfg.libraries.tflite = Some(not_tflite);
    let e = EdgeTpuBackend::open(&cfg).unwrap_err();
    assert!(
        matches!(
            e,
            EdgeTpuError::SymbolMissing {
                library: LibraryKind::TfLite,
                symbol: "TfLiteVersion",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn no_devices() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, "", &[]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    assert_eq!(backend.devices().unwrap(), vec![]);
    let e = open_err(&backend, vec![segment()], &Assignment::Automatic);
    assert!(matches!(e, EdgeTpuError::NoDevice), "{e:?}");
    assert!(e.to_string().contains("no Edge TPU found"));
}

#[test]
fn fewer_devices_than_stages() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &[]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let e = open_err(&backend, vec![segment(), segment()], &Assignment::Automatic);
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::FewerDevicesThanStages {
            stages: 2,
            found: 1,
            usable: 1,
            busy,
        } => assert!(busy.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "2 stages need 2 Edge TPUs, but only 1 of the 1 found are usable"
    );
}

/// Holds `lock_file` with util-linux `flock` in a child process until killed.
fn hold_lock_in_child(lock_file: &std::path::Path) -> Option<Child> {
    let mut child = match Command::new("flock")
        // -F: no fork, so the process killed below is the one holding the lock.
        .args(["-x", "-F"])
        .arg(lock_file)
        .args(["-c", "echo locked; exec sleep 120"])
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("no flock(1) ({e}): taking the lock in-test instead");
            return None;
        }
    };
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    Some(child)
}

#[test]
fn busy_device_held_by_another_process() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A},usb:{USB_B}"), &[]);
    let cfg = config(&tc, &lib);
    let backend = EdgeTpuBackend::open(&cfg).unwrap();
    let lock_file = lock_file_path(&cfg.lock_dir, &usb(USB_A));
    let mut child = hold_lock_in_child(&lock_file);
    let in_test = match child {
        Some(_) => None,
        None => Some(DeviceLock::try_acquire(&cfg.lock_dir, &usb(USB_A)).unwrap()),
    };

    // Explicitly asking for the held device: busy.
    let e = open_err(
        &backend,
        vec![segment()],
        &Assignment::parse_list("usb:0").unwrap(),
    );
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::DeviceBusy {
            device,
            lock_file: f,
            ..
        } => {
            assert_eq!(device.path, USB_A);
            assert_eq!(f, &lock_file);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("is busy"), "{e}");
    // Automatic placement skips it...
    let stages = backend
        .open_stages(
            vec![segment()],
            &Assignment::Automatic,
            &StageOptions::default(),
        )
        .unwrap();
    assert_eq!(stages[0].device().path, USB_B);
    drop(stages);
    // ...and says so when that leaves too few.
    let e = open_err(&backend, vec![segment(), segment()], &Assignment::Automatic);
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::FewerDevicesThanStages {
            stages: 2,
            found: 2,
            usable: 1,
            busy,
        } => assert_eq!(busy, &vec![USB_A.to_string()]),
        other => panic!("{other:?}"),
    }
    if let Some(c) = child.as_mut() {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    drop(in_test);
    // Released: the device opens again.
    let stages = backend
        .open_stages(
            vec![segment()],
            &Assignment::parse_list("usb:0").unwrap(),
            &StageOptions::default(),
        )
        .unwrap();
    assert_eq!(stages[0].device().path, USB_A);
}

#[test]
fn a_stage_holds_its_device_until_dropped() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &[]);
    let cfg = config(&tc, &lib);
    let backend = EdgeTpuBackend::open(&cfg).unwrap();
    let first = backend
        .open_stages(
            vec![segment()],
            &Assignment::Automatic,
            &StageOptions::default(),
        )
        .unwrap();
    let e = DeviceLock::try_acquire(&cfg.lock_dir, &usb(USB_A)).unwrap_err();
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::DeviceBusy { holder, .. } => {
            assert_eq!(holder, &format!("process {}", std::process::id()))
        }
        other => panic!("{other:?}"),
    }
    drop(first);
    DeviceLock::try_acquire(&cfg.lock_dir, &usb(USB_A)).unwrap();
}

#[test]
fn bad_explicit_assignments() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A},pci:/dev/apex_0"), &[]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let two = || vec![segment(), segment()];
    let e = open_err(
        &backend,
        two(),
        &Assignment::parse_list("usb:0,:0").unwrap(),
    );
    assert!(
        matches!(
            e,
            EdgeTpuError::DuplicateDevice {
                first: 0,
                second: 1,
                ..
            }
        ),
        "{e:?}"
    );
    let e = open_err(
        &backend,
        two(),
        &Assignment::parse_list("usb:0,usb:1").unwrap(),
    );
    assert!(
        matches!(&e, EdgeTpuError::DeviceIndexOutOfRange { available: 1, kind, .. } if kind == "USB"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "Edge TPU 'usb:1' does not exist: 1 USB device(s) found"
    );
    let e = open_err(
        &backend,
        two(),
        &Assignment::parse_list("/dev/apex_0,/dev/apex_9").unwrap(),
    );
    assert!(matches!(e, EdgeTpuError::UnknownDevicePath { .. }), "{e:?}");
    assert!(e.to_string().contains("pci:/dev/apex_0"), "{e}");
    let e = open_err(&backend, two(), &Assignment::parse_list("pci:0").unwrap());
    assert!(
        matches!(
            e,
            EdgeTpuError::AssignmentLength {
                stages: 2,
                devices: 1
            }
        ),
        "{e:?}"
    );
    // A good explicit one, mixing forms: a PCIe path and a USB index.
    let stages = backend
        .open_stages(
            two(),
            &Assignment::parse_list("/dev/apex_0,usb:0").unwrap(),
            &StageOptions::default(),
        )
        .unwrap();
    assert_eq!(stages[0].device().kind, DeviceKind::Pci);
    assert_eq!(stages[1].device().path, USB_A);
}

#[test]
fn delegate_creation_failure() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &["STANDIN_REJECT_OPEN"]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let e = open_err(&backend, vec![segment()], &Assignment::Automatic);
    assert!(
        matches!(e, EdgeTpuError::DelegateCreationFailed { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains(USB_A), "{e}");
}

#[test]
fn delegate_that_does_not_claim_the_custom_op() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &["STANDIN_CLAIM_NONE"]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let e = open_err(&backend, vec![segment()], &Assignment::Automatic);
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::DelegateDidNotClaim { stage: 0, messages } => {
            assert!(
                messages.iter().any(|m| m.contains("edgetpu-custom-op")),
                "{messages:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_custom_options_fail_at_setup_with_the_delegates_message() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &[]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let seg = wrap_with_options(&fixture("fc_tanh"), vec![0xff; 7], false);
    let e = open_err(&backend, vec![seg], &Assignment::Automatic);
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::StageSetupFailed { messages, .. } => assert!(
            messages.iter().any(|m| m.contains("not a FlexBuffer")),
            "{messages:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn incompatible_library_versions_are_refused_unless_allowed() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(
        &tc,
        &format!("usb:{USB_A}"),
        &["STANDIN_TF_VERSION=\"2.5.0\""],
    );
    let mut cfg = config(&tc, &lib);
    let e = EdgeTpuBackend::open(&cfg).unwrap_err();
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::IncompatibleLibraries {
            tflite, edgetpu, ..
        } => {
            assert_eq!(tflite, "2.19.0");
            assert!(edgetpu.contains("TF=2.5.0"), "{edgetpu}");
        }
        other => panic!("{other:?}"),
    }
    cfg.allow_version_mismatch = true;
    let backend = EdgeTpuBackend::open(&cfg).unwrap();
    assert!(backend
        .version_warning()
        .is_some_and(|w| w.starts_with("allowed mismatch: libedgetpu is built against TF 2.5.0")));
}

#[test]
fn segments_not_fully_on_the_tpu() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &[]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let e = open_err(
        &backend,
        vec![wrap_as_edgetpu(&fixture("fc_tanh"), true)],
        &Assignment::Automatic,
    );
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::CpuOpsInSegment { cpu_ops, .. } => {
            assert_eq!(cpu_ops, &vec!["op1 RESHAPE".to_string()])
        }
        other => panic!("{other:?}"),
    }
    let e = open_err(&backend, vec![fixture("fc_tanh")], &Assignment::Automatic);
    assert!(matches!(e, EdgeTpuError::NotCompiled { stage: 0 }), "{e:?}");
    let e = open_err(
        &backend,
        vec![b"not a model".to_vec()],
        &Assignment::Automatic,
    );
    assert!(
        matches!(e, EdgeTpuError::InvalidSegment { stage: 0, .. }),
        "{e:?}"
    );
}

#[test]
fn buffer_count_and_size_mismatches() {
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &[]);
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let mut stage = backend
        .open_stages(
            vec![segment()],
            &Assignment::Automatic,
            &StageOptions::default(),
        )
        .unwrap()
        .pop()
        .unwrap();
    let input = vec![0u8; 64];
    let mut out = vec![0u8; 10];
    let e = stage.run(&[], &mut [&mut out]).unwrap_err();
    assert!(
        matches!(
            e,
            EdgeTpuError::TensorCountMismatch {
                what: "input",
                expected: 1,
                given: 0,
                ..
            }
        ),
        "{e:?}"
    );
    let e = stage.run(&[&input[..63]], &mut [&mut out]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "stage 0 input 0 ('serving_default_input_1:0', int8) is 64 bytes, buffer is 63"
    );
    let mut short = vec![0u8; 9];
    let e = stage.run(&[&input], &mut [&mut short]).unwrap_err();
    assert!(
        matches!(
            e,
            EdgeTpuError::TensorSizeMismatch {
                what: "output",
                expected: 10,
                given: 9,
                ..
            }
        ),
        "{e:?}"
    );
    stage.run(&[&input], &mut [&mut out]).unwrap();
}

#[test]
fn option_values_out_of_range() {
    let e = BulkInQueueLength::new(257).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid Edge TPU option Usb.MaxBulkInQueueLength=257: expected 0..=256"
    );
    assert_eq!(BulkInQueueLength::new(256).unwrap().get(), 256);
    let e = "Fast"
        .parse::<tpupipe_runtime::edgetpu::Performance>()
        .unwrap_err();
    assert!(e.to_string().contains("Performance=Fast"), "{e}");
}

#[test]
fn default_library_names_are_searched_and_named_in_the_error() {
    // libedgetpu is not installed on the test machines; where it is, loading it is fine too.
    match tpupipe_runtime::edgetpu::EdgeTpuLib::load(None) {
        Ok(lib) => eprintln!("libedgetpu found at {}", lib.path),
        Err(EdgeTpuError::LibraryNotFound { library, tried, .. }) => {
            assert_eq!(library, LibraryKind::EdgeTpu);
            assert_eq!(tried, LibraryKind::EdgeTpu.default_name());
        }
        Err(other) => panic!("{other:?}"),
    }
}

const CHILD_ENV: &str = "TPUPIPE_EDGETPU_TEST_CHILD";

/// In the child: open a stage on usb:0 with the stand-in and lock dir named in `CHILD_ENV`,
/// say so, and hold it until stdin closes.
fn hold_a_stage_as_child(spec: &str) {
    let (lib, lock_dir) = spec.split_once('|').unwrap();
    let tc = toolchain().unwrap();
    let mut cfg = config(&tc, std::path::Path::new(lib));
    cfg.lock_dir = PathBuf::from(lock_dir);
    let backend = EdgeTpuBackend::open(&cfg).unwrap();
    let _stages = backend
        .open_stages(
            vec![segment()],
            &Assignment::parse_list("usb:0").unwrap(),
            &StageOptions::default(),
        )
        .unwrap();
    println!("holding");
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
}

/// Another tpupipe process holds a stage on the device: this one is refused, naming that
/// process, until it exits.
#[test]
fn device_held_by_a_stage_in_another_process() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        hold_a_stage_as_child(&spec);
        return;
    }
    let Some(tc) = toolchain() else { return };
    let lib = standin(&tc, &format!("usb:{USB_A}"), &[]);
    let cfg = config(&tc, &lib);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "device_held_by_a_stage_in_another_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(
            CHILD_ENV,
            format!("{}|{}", lib.display(), cfg.lock_dir.display()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        // The harness prints "test NAME ... " before it, on the same line.
        if line.trim_end().ends_with("holding") {
            break;
        }
    }
    let backend = EdgeTpuBackend::open(&cfg).unwrap();
    let e = open_err(
        &backend,
        vec![segment()],
        &Assignment::parse_list("usb:0").unwrap(),
    );
    eprintln!("error: {e}");
    match &e {
        EdgeTpuError::DeviceBusy { holder, .. } => {
            assert_eq!(holder, &format!("process {}", child.id()))
        }
        other => panic!("{other:?}"),
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    backend
        .open_stages(
            vec![segment()],
            &Assignment::parse_list("usb:0").unwrap(),
            &StageOptions::default(),
        )
        .unwrap();
}
