//! The stand-in libedgetpu itself, through its C entry points: it must behave as libedgetpu does
//! (facts in shared/docs/edgetpu-runtime-facts.md, 1.1-1.3), or the backend tests prove nothing.

#![cfg(feature = "edgetpu")]

mod edgetpu_support;
use edgetpu_support as support;

use libloading::Library;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use support::{build_standin, toolchain, Standin};

#[repr(C)]
struct Device {
    kind: c_int,
    path: *const c_char,
}

#[repr(C)]
struct Opt {
    name: *const c_char,
    value: *const c_char,
}

type ListFn = unsafe extern "C" fn(*mut usize) -> *mut Device;
type FreeDevicesFn = unsafe extern "C" fn(*mut Device);
type CreateFn = unsafe extern "C" fn(c_int, *const c_char, *const Opt, usize) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type PluginCreateFn = unsafe extern "C" fn(
    *mut *mut c_char,
    *mut *mut c_char,
    usize,
    Option<unsafe extern "C" fn(*const c_char)>,
) -> *mut c_void;
type RefsFn = unsafe extern "C" fn(*const c_char) -> c_int;
type VersionFn = unsafe extern "C" fn() -> *const c_char;

const PCI: c_int = 0;
const USB: c_int = 1;
const USB_A: &str = "/sys/bus/usb/devices/7-1";
const USB_B: &str = "/sys/bus/usb/devices/7-2";
const PCI_A: &str = "/dev/apex_0";

/// The stand-in, loaded, with typed calls.
struct Api {
    lib: Library,
}

impl Api {
    fn load(devices: &str) -> Option<Api> {
        let tc = toolchain()?;
        let path = build_standin(
            &tc,
            &Standin {
                devices,
                defines: &[],
            },
        );
        // SAFETY: the stand-in's initialisers only set up its globals.
        Some(Api {
            lib: unsafe { Library::new(path) }.unwrap(),
        })
    }

    fn f<T: Copy>(&self, name: &str) -> T {
        let n = format!("{name}\0");
        // SAFETY: each caller names the type matching the stand-in's declaration.
        unsafe { *self.lib.get::<T>(n.as_bytes()).unwrap() }
    }

    fn list(&self) -> Vec<(c_int, String)> {
        let mut n = 0usize;
        // SAFETY: valid out-pointer; the block is read before it is freed.
        unsafe {
            let p = self.f::<ListFn>("edgetpu_list_devices")(&mut n);
            let v = (0..n)
                .map(|i| {
                    let d = &*p.add(i);
                    (d.kind, CStr::from_ptr(d.path).to_str().unwrap().to_string())
                })
                .collect();
            if !p.is_null() {
                self.f::<FreeDevicesFn>("edgetpu_free_devices")(p);
            }
            v
        }
    }

    fn create(&self, kind: c_int, name: Option<&str>, opts: &[(&str, &str)]) -> *mut c_void {
        let name = name.map(|n| CString::new(n).unwrap());
        let strings: Vec<(CString, CString)> = opts
            .iter()
            .map(|(k, v)| (CString::new(*k).unwrap(), CString::new(*v).unwrap()))
            .collect();
        let raw: Vec<Opt> = strings
            .iter()
            .map(|(k, v)| Opt {
                name: k.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        // SAFETY: strings live across the call; NULL options when there are none.
        unsafe {
            self.f::<CreateFn>("edgetpu_create_delegate")(
                kind,
                name.as_ref().map_or(ptr::null(), |n| n.as_ptr()),
                if raw.is_empty() {
                    ptr::null()
                } else {
                    raw.as_ptr()
                },
                raw.len(),
            )
        }
    }

    fn free(&self, d: *mut c_void) {
        // SAFETY: `d` came from edgetpu_create_delegate.
        unsafe { self.f::<FreeFn>("edgetpu_free_delegate")(d) }
    }

    fn plugin(&self, opts: &[(&str, &str)]) -> *mut c_void {
        let keys: Vec<CString> = opts
            .iter()
            .map(|(k, _)| CString::new(*k).unwrap())
            .collect();
        let vals: Vec<CString> = opts
            .iter()
            .map(|(_, v)| CString::new(*v).unwrap())
            .collect();
        let mut kp: Vec<*mut c_char> = keys.iter().map(|k| k.as_ptr() as *mut c_char).collect();
        let mut vp: Vec<*mut c_char> = vals.iter().map(|v| v.as_ptr() as *mut c_char).collect();
        // SAFETY: arrays of NUL-terminated strings valid across the call.
        unsafe {
            self.f::<PluginCreateFn>("tflite_plugin_create_delegate")(
                kp.as_mut_ptr(),
                vp.as_mut_ptr(),
                opts.len(),
                None,
            )
        }
    }

    fn plugin_free(&self, d: *mut c_void) {
        // SAFETY: `d` came from tflite_plugin_create_delegate.
        unsafe { self.f::<FreeFn>("tflite_plugin_destroy_delegate")(d) }
    }

    fn refs(&self, path: &str) -> c_int {
        let c = CString::new(path).unwrap();
        // SAFETY: test hook taking a NUL-terminated path.
        unsafe { self.f::<RefsFn>("tpupipe_standin_open_refs")(c.as_ptr()) }
    }
}

#[test]
fn lists_devices_in_order_and_none_as_null() {
    let Some(api) = Api::load(&format!("usb:{USB_A},pci:{PCI_A}")) else {
        return;
    };
    assert_eq!(
        api.list(),
        vec![(USB, USB_A.to_string()), (PCI, PCI_A.to_string())]
    );
    let Some(none) = Api::load("") else { return };
    assert_eq!(none.list(), vec![]);
    // SAFETY: no arguments; static string.
    let v = unsafe { CStr::from_ptr(api.f::<VersionFn>("edgetpu_version")()) };
    assert_eq!(
        v.to_str().unwrap(),
        "BuildLabel(tpupipe-standin,TF=2.19.0), RuntimeVersion(14)"
    );
}

#[test]
fn open_without_a_path_returns_the_already_open_device() {
    let Some(api) = Api::load(&format!("usb:{USB_A},usb:{USB_B}")) else {
        return;
    };
    let first = api.create(USB, None, &[]);
    let second = api.create(USB, None, &[]);
    assert!(!first.is_null() && !second.is_null());
    // Both on the first device: libedgetpu shares an open device before opening another.
    assert_eq!((api.refs(USB_A), api.refs(USB_B)), (2, 0));
    // Pinned by path, the second device opens.
    let pinned = api.create(USB, Some(USB_B), &[("Performance", "Max")]);
    assert!(!pinned.is_null());
    assert_eq!(api.refs(USB_B), 1);
    // A pinned path that is already open is shared, not refused.
    let again = api.create(USB, Some(USB_B), &[]);
    assert_eq!(api.refs(USB_B), 2);
    for d in [first, second, pinned, again] {
        api.free(d);
    }
    assert_eq!((api.refs(USB_A), api.refs(USB_B)), (0, 0));
    // Wrong type or unknown path: NULL.
    assert!(api.create(PCI, None, &[]).is_null());
    assert!(api
        .create(USB, Some("/sys/bus/usb/devices/9-9"), &[])
        .is_null());
}

#[test]
fn options_are_validated_with_the_real_keys() {
    let Some(api) = Api::load(&format!("usb:{USB_A}")) else {
        return;
    };
    for (k, v, ok) in [
        ("Performance", "Low", true),
        ("Performance", "Max", true),
        ("Performance", "Fast", false),
        ("Performance", "max", false),
        ("Usb.MaxBulkInQueueLength", "0", true),
        ("Usb.MaxBulkInQueueLength", "256", true),
        ("Usb.MaxBulkInQueueLength", "257", false),
        ("Usb.MaxBulkInQueueLength", "8x", false),
        ("Usb.AlwaysDfu", "True", true),
        ("Usb.AlwaysDfu", "yes", false),
        ("usb_max_bulk_in_queue_length", "nonsense", true),
    ] {
        let d = api.create(USB, Some(USB_A), &[(k, v)]);
        assert_eq!(!d.is_null(), ok, "{k}={v}");
        if !d.is_null() {
            api.free(d);
        }
    }
}

#[test]
fn plugin_device_strings_follow_libedgetpu() {
    let Some(api) = Api::load(&format!("usb:{USB_A},pci:{PCI_A},usb:{USB_B}")) else {
        return;
    };
    let open = |opts: &[(&str, &str)]| {
        let d = api.plugin(opts);
        let where_ = [USB_A, PCI_A, USB_B].map(|p| api.refs(p));
        if !d.is_null() {
            api.plugin_free(d);
        }
        (!d.is_null(), where_)
    };
    // No device key: any device, PCIe first.
    assert_eq!(open(&[]), (true, [0, 1, 0]));
    assert_eq!(open(&[("device", "usb")]), (true, [1, 0, 0]));
    assert_eq!(open(&[("device", ":2")]), (true, [0, 0, 1]));
    assert_eq!(open(&[("device", "usb:1")]), (true, [0, 0, 1]));
    assert_eq!(open(&[("device", "pci:0")]), (true, [0, 1, 0]));
    assert!(!open(&[("device", "usb:2")]).0);
    assert!(!open(&[("device", "usb:-1")]).0);
    assert!(!open(&[("device", "tpu")]).0);
    // A later duplicate key wins.
    assert_eq!(
        open(&[("device", "usb:0"), ("device", "usb:1")]),
        (true, [0, 0, 1])
    );
    // Options reach the device only with an index form.
    assert!(open(&[("device", "usb"), ("Performance", "Fast")]).0);
    assert!(!open(&[("device", "usb:0"), ("Performance", "Fast")]).0);
}
