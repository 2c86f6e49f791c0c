//! What `tpupipe devices` prints: the libraries found (paths, versions), the Edge TPUs, and why
//! the backend is unavailable when it is.

use super::backend::{BackendConfig, EdgeTpuBackend};
use super::device::EdgeTpuDevice;
use super::error::EdgeTpuError;
use super::libraries::{EdgeTpuLib, TfLiteLib};
use super::version::{Compatibility, LibraryVersions};
use std::fmt;

/// One library's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LibraryStatus {
    /// Loaded, with every symbol the backend needs.
    Loaded {
        /// The name or path it was loaded from.
        path: String,
        /// Its version string.
        version: String,
    },
    /// Not usable, and why.
    Unavailable(String),
}

/// Whether another process holds a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// Free for this process.
    Free,
    /// Held by another process (or stage): who, e.g. "process 1234".
    Busy(String),
    /// Its lock file cannot be used (the error's text).
    LockFailed(String),
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceReport {
    /// `libtensorflowlite_c.so`.
    pub tflite: LibraryStatus,
    /// `libedgetpu.so.1`.
    pub edgetpu: LibraryStatus,
    /// The versions and their verdict, when both loaded.
    pub versions: Option<LibraryVersions>,
    /// The Edge TPUs and whether each is free.
    pub devices: Vec<(EdgeTpuDevice, DeviceState)>,
    /// Why the backend cannot run stages, if it cannot.
    pub unavailable: Option<String>,
}

impl DeviceReport {
    /// True when stages can be opened (both libraries, compatible, at least one free device).
    pub fn is_available(&self) -> bool {
        self.unavailable.is_none()
    }
}

/// Gathers the report; never fails (every problem lands in the report).
pub fn device_report(config: &BackendConfig) -> DeviceReport {
    let status = |r: Result<(String, String), EdgeTpuError>| match r {
        Ok((path, version)) => LibraryStatus::Loaded { path, version },
        Err(e) => LibraryStatus::Unavailable(e.to_string()),
    };
    let tflite = status(
        TfLiteLib::load(config.libraries.tflite.as_deref()).map(|l| (l.path.clone(), l.version())),
    );
    let edgetpu = status(
        EdgeTpuLib::load(config.libraries.edgetpu.as_deref())
            .map(|l| (l.path.clone(), l.version())),
    );
    let mut report = DeviceReport {
        tflite,
        edgetpu,
        versions: None,
        devices: Vec::new(),
        unavailable: None,
    };
    let backend = match EdgeTpuBackend::open(config) {
        Ok(b) => b,
        Err(e) => {
            if let (
                LibraryStatus::Loaded { version: t, .. },
                LibraryStatus::Loaded { version: e, .. },
            ) = (&report.tflite, &report.edgetpu)
            {
                report.versions = Some(LibraryVersions::judge(t, e));
            }
            report.unavailable = Some(e.to_string());
            return report;
        }
    };
    report.versions = Some(backend.versions().clone());
    match backend.devices() {
        Ok(devices) if devices.is_empty() => {
            report.unavailable = Some(EdgeTpuError::NoDevice.to_string());
        }
        Ok(devices) => {
            for d in devices {
                let state = match backend.lock(&d) {
                    Ok(_lock) => DeviceState::Free,
                    Err(EdgeTpuError::DeviceBusy { holder, .. }) => DeviceState::Busy(holder),
                    Err(e) => DeviceState::LockFailed(e.to_string()),
                };
                report.devices.push((d, state));
            }
            if report
                .devices
                .iter()
                .all(|(_, s)| !matches!(s, DeviceState::Free))
            {
                report.unavailable =
                    Some("every Edge TPU is held by another process or cannot be locked".into());
            }
        }
        Err(e) => report.unavailable = Some(e.to_string()),
    }
    report
}

impl fmt::Display for LibraryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryStatus::Loaded { path, version } => write!(f, "{path} (version {version})"),
            LibraryStatus::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
}

impl fmt::Display for DeviceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "TensorFlow Lite C library: {}", self.tflite)?;
        writeln!(f, "Edge TPU runtime library:  {}", self.edgetpu)?;
        if let Some(v) = &self.versions {
            let verdict = match &v.compatibility {
                Compatibility::Matched => "ok".to_string(),
                other => other.to_string(),
            };
            writeln!(f, "version pairing: {verdict}")?;
        }
        if self.devices.is_empty() {
            writeln!(f, "Edge TPUs: none")?;
        } else {
            writeln!(f, "Edge TPUs: {}", self.devices.len())?;
            for (i, (d, state)) in self.devices.iter().enumerate() {
                let state = match state {
                    DeviceState::Free => "free".to_string(),
                    DeviceState::Busy(holder) => format!("busy: held by {holder}"),
                    DeviceState::LockFailed(why) => why.clone(),
                };
                writeln!(f, "  :{i}  {}:{}  ({state})", d.kind.prefix(), d.path)?;
            }
        }
        match &self.unavailable {
            None => writeln!(f, "backend: available"),
            Some(why) => writeln!(f, "backend: unavailable: {why}"),
        }
    }
}
