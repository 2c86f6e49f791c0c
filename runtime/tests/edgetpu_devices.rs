//! Device strings, version strings and their verdicts, and the `tpupipe devices` report.

#![cfg(feature = "edgetpu")]

mod edgetpu_support;
use edgetpu_support as support;

use std::path::PathBuf;
use support::{build_standin, config, toolchain, Standin};
use tpupipe_runtime::edgetpu::{
    device_report, Assignment, Compatibility, DeviceKind, DeviceSpec, DeviceState, EdgeTpuBackend,
    EdgeTpuDevice, EdgeTpuError, EdgeTpuLib, EdgeTpuVersion, LibraryStatus, LibraryVersions,
    TfLiteLib,
};

fn spec(s: &str) -> DeviceSpec {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn device_strings_parse() {
    assert_eq!(spec("usb:0"), DeviceSpec::KindIndex(DeviceKind::Usb, 0));
    assert_eq!(spec("pci:12"), DeviceSpec::KindIndex(DeviceKind::Pci, 12));
    assert_eq!(spec(":3"), DeviceSpec::Index(3));
    assert_eq!(
        spec("/dev/apex_0"),
        DeviceSpec::Path(None, "/dev/apex_0".to_string())
    );
    assert_eq!(
        spec("usb:/sys/bus/usb/devices/3-5.1.2"),
        DeviceSpec::Path(Some(DeviceKind::Usb), "/sys/bus/usb/devices/3-5.1.2".into())
    );
    assert_eq!(spec(" usb:1 "), DeviceSpec::KindIndex(DeviceKind::Usb, 1));
    for s in [
        "usb:0",
        "pci:7",
        ":2",
        "/dev/apex_1",
        "usb:/sys/bus/usb/devices/1-1",
    ] {
        assert_eq!(spec(s).to_string(), s, "display round trip");
    }
}

#[test]
fn bad_device_strings_are_refused_with_the_reason() {
    for (s, why) in [
        ("", "empty"),
        ("usb", "unknown form"),
        ("usb:", "missing index"),
        ("usb:-1", "non-negative integer"),
        ("pci:x", "non-negative integer"),
        (":/dev/apex_0", "takes an index"),
        ("tpu:0", "unknown form"),
        ("usb:99999999999999999999999", "too large"),
    ] {
        match s.parse::<DeviceSpec>() {
            Err(EdgeTpuError::InvalidDeviceSpec { spec, reason }) => {
                assert_eq!(spec, s);
                assert!(reason.contains(why), "{s}: {reason}");
            }
            other => panic!("{s}: {other:?}"),
        }
    }
}

#[test]
fn assignments_parse_as_lists() {
    assert_eq!(Assignment::parse_list("").unwrap(), Assignment::Automatic);
    assert_eq!(
        Assignment::parse_list("usb:1,pci:0,:2").unwrap(),
        Assignment::Explicit(vec![
            DeviceSpec::KindIndex(DeviceKind::Usb, 1),
            DeviceSpec::KindIndex(DeviceKind::Pci, 0),
            DeviceSpec::Index(2),
        ])
    );
    assert!(Assignment::parse_list("usb:0,,usb:1").is_err());
}

fn devices() -> Vec<EdgeTpuDevice> {
    let d = |kind, path: &str| EdgeTpuDevice {
        kind,
        path: path.to_string(),
    };
    vec![
        d(DeviceKind::Pci, "/dev/apex_0"),
        d(DeviceKind::Usb, "/sys/bus/usb/devices/2-1"),
        d(DeviceKind::Usb, "/sys/bus/usb/devices/2-2"),
    ]
}

#[test]
fn device_strings_resolve_against_the_enumeration() {
    let ds = devices();
    assert_eq!(spec(":0").resolve(&ds).unwrap(), ds[0]);
    assert_eq!(spec(":2").resolve(&ds).unwrap(), ds[2]);
    assert_eq!(spec("usb:0").resolve(&ds).unwrap(), ds[1]);
    assert_eq!(spec("usb:1").resolve(&ds).unwrap(), ds[2]);
    assert_eq!(spec("pci:0").resolve(&ds).unwrap(), ds[0]);
    assert_eq!(
        spec("/sys/bus/usb/devices/2-2").resolve(&ds).unwrap(),
        ds[2]
    );
    assert!(matches!(
        spec("pci:1").resolve(&ds),
        Err(EdgeTpuError::DeviceIndexOutOfRange { available: 1, .. })
    ));
    assert!(matches!(
        spec(":3").resolve(&ds),
        Err(EdgeTpuError::DeviceIndexOutOfRange { available: 3, .. })
    ));
    // A path of the wrong kind is not that device.
    assert!(matches!(
        spec("pci:/sys/bus/usb/devices/2-1").resolve(&ds),
        Err(EdgeTpuError::UnknownDevicePath { .. })
    ));
}

#[test]
fn edgetpu_version_strings_parse() {
    let v = EdgeTpuVersion::parse(
        "BuildLabel(COMPILER=6.3.0 20170516,DATE=redacted,TIME=redacted), RuntimeVersion(14)",
    );
    assert_eq!(
        v.build_label.as_deref(),
        Some("COMPILER=6.3.0 20170516,DATE=redacted,TIME=redacted")
    );
    assert_eq!(v.runtime_version, Some(14));
    assert_eq!(v.built_against_tf, None);
    let v = EdgeTpuVersion::parse("BuildLabel(N/A), RuntimeVersion(13)");
    assert_eq!(v.build_label.as_deref(), Some("N/A"));
    assert_eq!(v.runtime_version, Some(13));
    let v = EdgeTpuVersion::parse("BuildLabel(tpupipe-standin,TF=2.16.1), RuntimeVersion(14)");
    assert_eq!(v.built_against_tf.as_deref(), Some("2.16.1"));
    let v = EdgeTpuVersion::parse("something else");
    assert_eq!((v.build_label, v.runtime_version), (None, None));
}

#[test]
fn version_pairs_are_judged() {
    let real =
        "BuildLabel(COMPILER=6.3.0 20170516,DATE=redacted,TIME=redacted), RuntimeVersion(14)";
    // Google's libedgetpu with TFLite 2.5: possible, unverified.
    let j = LibraryVersions::judge("2.5.0", real);
    assert!(matches!(j.compatibility, Compatibility::Unverified(ref n) if n.contains("2.5")));
    // With TFLite 2.19: no libedgetpu release is built against it.
    let j = LibraryVersions::judge("2.19.0", real);
    match &j.compatibility {
        Compatibility::Unverified(n) => assert!(n.contains("no libedgetpu release"), "{n}"),
        other => panic!("{other:?}"),
    }
    // A label naming the TF version decides.
    let tagged = |tf: &str| format!("BuildLabel(x,TF={tf}), RuntimeVersion(14)");
    assert_eq!(
        LibraryVersions::judge("2.16.1", &tagged("2.16.0")).compatibility,
        Compatibility::Matched
    );
    assert!(matches!(
        LibraryVersions::judge("2.16.1", &tagged("2.5.0")).compatibility,
        Compatibility::Incompatible(_)
    ));
    // A runtime older than libedgetpu's minimum.
    assert!(matches!(
        LibraryVersions::judge("2.5.0", "BuildLabel(N/A), RuntimeVersion(9)").compatibility,
        Compatibility::Incompatible(ref r) if r.contains("RuntimeVersion 9")
    ));
}

#[test]
fn report_lists_libraries_versions_and_devices() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "pci:/dev/apex_0,usb:/sys/bus/usb/devices/6-1",
            defines: &[],
        },
    );
    let cfg = config(&tc, &lib);
    // Hold the USB device, as another stage would.
    let backend = EdgeTpuBackend::open(&cfg).unwrap();
    assert_eq!(backend.version_warning(), None);
    let held = backend.lock(&backend.devices().unwrap()[1]).unwrap();
    let r = device_report(&cfg);
    assert!(r.is_available(), "{r}");
    assert_eq!(
        r.tflite,
        LibraryStatus::Loaded {
            path: tc.tflite_lib.display().to_string(),
            version: "2.19.0".to_string()
        }
    );
    assert!(
        matches!(&r.edgetpu, LibraryStatus::Loaded { version, .. } if version.contains("RuntimeVersion(14)"))
    );
    assert_eq!(r.devices.len(), 2);
    assert_eq!(r.devices[0].1, DeviceState::Free);
    assert_eq!(
        r.devices[1].1,
        DeviceState::Busy(format!("process {}", std::process::id()))
    );
    let text = r.to_string();
    eprintln!("{text}");
    assert!(text.contains(":0  pci:/dev/apex_0  (free)"), "{text}");
    assert!(
        text.contains(":1  usb:/sys/bus/usb/devices/6-1  (busy: held by process"),
        "{text}"
    );
    assert!(text.contains("version pairing: ok"), "{text}");
    assert!(text.contains("backend: available"), "{text}");
    drop(held);
}

#[test]
fn report_says_why_the_backend_is_unavailable() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "",
            defines: &[],
        },
    );
    let mut cfg = config(&tc, &lib);
    let r = device_report(&cfg);
    assert_eq!(
        r.unavailable.as_deref(),
        Some(EdgeTpuError::NoDevice.to_string().as_str())
    );
    cfg.libraries.edgetpu = Some(PathBuf::from("/nonexistent/libedgetpu.so.1"));
    let r = device_report(&cfg);
    assert!(matches!(r.tflite, LibraryStatus::Loaded { .. }));
    assert!(matches!(r.edgetpu, LibraryStatus::Unavailable(_)));
    let text = r.to_string();
    eprintln!("{text}");
    assert!(
        text.contains("backend: unavailable: Edge TPU runtime library not found"),
        "{text}"
    );
}

/// A library loaded by name is reported with the file the loader picked. Loading the stand-in
/// first puts the TFLite library (its dependency, by soname) in the process, so the name
/// resolves without touching the loader's search path.
#[test]
fn a_library_found_by_name_is_reported_with_its_path() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "",
            defines: &[],
        },
    );
    let _edgetpu = EdgeTpuLib::load(Some(&lib)).unwrap();
    let tflite = TfLiteLib::load(None).unwrap();
    assert_eq!(
        std::fs::canonicalize(&tflite.path).unwrap(),
        std::fs::canonicalize(&tc.tflite_lib).unwrap()
    );
    assert_eq!(tflite.version(), "2.19.0");
}
