//! Edge TPUs: enumerating them through libedgetpu, device strings (`usb:N`, `pci:N`, `:N`, a
//! path), and resolving those to one enumerated device.
//!
//! A stage is always pinned by the device's *path*, never by an index: indices shift while a USB
//! accelerator re-enumerates from DFU mode (1a6e:089a) to application mode (18d1:9302), while a
//! USB path is built from port numbers and stays put.

use super::error::EdgeTpuError;
use super::ffi::{EDGETPU_APEX_PCI, EDGETPU_APEX_USB};
use super::libraries::{c_str, EdgeTpuLib};
use std::fmt;
use std::str::FromStr;

/// How an Edge TPU is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// PCIe / M.2 (`/dev/apex_N`), `EDGETPU_APEX_PCI`.
    Pci,
    /// USB Accelerator (`/sys/bus/usb/devices/B-P[.P...]`), `EDGETPU_APEX_USB`.
    Usb,
}

impl DeviceKind {
    /// libedgetpu's `edgetpu_device_type` value.
    pub fn code(self) -> i32 {
        match self {
            DeviceKind::Pci => EDGETPU_APEX_PCI,
            DeviceKind::Usb => EDGETPU_APEX_USB,
        }
    }

    /// From libedgetpu's `edgetpu_device_type` value.
    pub fn from_code(code: i32) -> Result<Self, EdgeTpuError> {
        match code {
            EDGETPU_APEX_PCI => Ok(DeviceKind::Pci),
            EDGETPU_APEX_USB => Ok(DeviceKind::Usb),
            other => Err(EdgeTpuError::UnknownDeviceType(other)),
        }
    }

    /// `"usb"` or `"pci"`, as in device strings.
    pub fn prefix(self) -> &'static str {
        match self {
            DeviceKind::Pci => "pci",
            DeviceKind::Usb => "usb",
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Pci => "PCIe",
            DeviceKind::Usb => "USB",
        })
    }
}

/// One enumerated Edge TPU.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EdgeTpuDevice {
    /// How it is attached.
    pub kind: DeviceKind,
    /// libedgetpu's path for it.
    pub path: String,
}

impl fmt::Display for EdgeTpuDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}

/// Lists the Edge TPUs with `edgetpu_list_devices` (freed with `edgetpu_free_devices`), in
/// libedgetpu's order.
pub fn list_devices(lib: &EdgeTpuLib) -> Result<Vec<EdgeTpuDevice>, EdgeTpuError> {
    let mut n: usize = 0;
    // SAFETY: `n` is a valid out-pointer (libedgetpu aborts on NULL).
    let list = unsafe { (lib.list_devices)(&mut n) };
    if list.is_null() {
        return if n == 0 {
            Ok(Vec::new())
        } else {
            Err(EdgeTpuError::BadDeviceList(format!(
                "NULL list with {n} devices"
            )))
        };
    }
    let mut out = Vec::with_capacity(n);
    let mut bad = None;
    for i in 0..n {
        // SAFETY: libedgetpu returns an array of `n` entries whose paths are NUL-terminated
        // strings in the same block, valid until edgetpu_free_devices below.
        let raw = unsafe { &*list.add(i) };
        match DeviceKind::from_code(raw.kind) {
            Ok(kind) => out.push(EdgeTpuDevice {
                kind,
                // SAFETY: as above.
                path: unsafe { c_str(raw.path) },
            }),
            Err(e) => {
                bad = Some(e);
                break;
            }
        }
    }
    // SAFETY: `list` came from edgetpu_list_devices and is freed exactly once.
    unsafe { (lib.free_devices)(list) };
    match bad {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// A device string, as given on a command line or in a config.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceSpec {
    /// `:N`: the N-th enumerated device of any kind.
    Index(usize),
    /// `usb:N` / `pci:N`: the N-th enumerated device of that kind.
    KindIndex(DeviceKind, usize),
    /// A device path (`/dev/apex_0`, `/sys/bus/usb/devices/2-1`), optionally `usb:`/`pci:`
    /// prefixed.
    Path(Option<DeviceKind>, String),
}

impl FromStr for DeviceSpec {
    type Err = EdgeTpuError;

    fn from_str(s: &str) -> Result<Self, EdgeTpuError> {
        let bad = |reason: &str| EdgeTpuError::InvalidDeviceSpec {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(bad("empty"));
        }
        let (kind, rest) = if let Some(r) = t.strip_prefix("usb:") {
            (Some(DeviceKind::Usb), r)
        } else if let Some(r) = t.strip_prefix("pci:") {
            (Some(DeviceKind::Pci), r)
        } else if let Some(r) = t.strip_prefix(':') {
            (None, r)
        } else if t.starts_with('/') {
            return Ok(DeviceSpec::Path(None, t.to_string()));
        } else {
            return Err(bad("unknown form"));
        };
        if rest.starts_with('/') {
            if kind.is_none() {
                return Err(bad("':' takes an index, not a path"));
            }
            return Ok(DeviceSpec::Path(kind, rest.to_string()));
        }
        if rest.is_empty() {
            return Err(bad("missing index"));
        }
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the index must be a non-negative integer"));
        }
        let n: usize = rest.parse().map_err(|_| bad("index too large"))?;
        Ok(match kind {
            Some(k) => DeviceSpec::KindIndex(k, n),
            None => DeviceSpec::Index(n),
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Index(n) => write!(f, ":{n}"),
            DeviceSpec::KindIndex(k, n) => write!(f, "{}:{n}", k.prefix()),
            DeviceSpec::Path(Some(k), p) => write!(f, "{}:{p}", k.prefix()),
            DeviceSpec::Path(None, p) => f.write_str(p),
        }
    }
}

impl DeviceSpec {
    /// The enumerated device this string names.
    pub fn resolve(&self, devices: &[EdgeTpuDevice]) -> Result<EdgeTpuDevice, EdgeTpuError> {
        match self {
            DeviceSpec::Index(n) => {
                devices
                    .get(*n)
                    .cloned()
                    .ok_or_else(|| EdgeTpuError::DeviceIndexOutOfRange {
                        spec: self.to_string(),
                        available: devices.len(),
                        kind: "Edge TPU".to_string(),
                    })
            }
            DeviceSpec::KindIndex(k, n) => {
                let of_kind: Vec<&EdgeTpuDevice> =
                    devices.iter().filter(|d| d.kind == *k).collect();
                of_kind.get(*n).map(|d| (*d).clone()).ok_or_else(|| {
                    EdgeTpuError::DeviceIndexOutOfRange {
                        spec: self.to_string(),
                        available: of_kind.len(),
                        kind: k.to_string(),
                    }
                })
            }
            DeviceSpec::Path(k, p) => devices
                .iter()
                .find(|d| d.path == *p && k.map_or(true, |k| k == d.kind))
                .cloned()
                .ok_or_else(|| EdgeTpuError::UnknownDevicePath {
                    path: self.to_string(),
                    found: if devices.is_empty() {
                        "none".to_string()
                    } else {
                        devices
                            .iter()
                            .map(|d| format!("{}:{}", d.kind.prefix(), d.path))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                }),
        }
    }
}

/// Which device each stage gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Assignment {
    /// Stage i gets the i-th enumerated device that no other process holds.
    #[default]
    Automatic,
    /// One device string per stage, in stage order.
    Explicit(Vec<DeviceSpec>),
}

impl Assignment {
    /// Parses a comma-separated list of device strings (`"usb:0,usb:1"`); empty means automatic.
    pub fn parse_list(s: &str) -> Result<Self, EdgeTpuError> {
        if s.trim().is_empty() {
            return Ok(Assignment::Automatic);
        }
        s.split(',')
            .map(DeviceSpec::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(Assignment::Explicit)
    }
}
