//! One Edge TPU delegate, pinned to one device by its enumerated path.

use super::device::EdgeTpuDevice;
use super::error::EdgeTpuError;
use super::ffi::{EdgeTpuOptionRaw, TfLiteDelegate};
use super::libraries::EdgeTpuLib;
use super::lock::DeviceLock;
use super::options::DelegateOptions;
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

/// A delegate from `edgetpu_create_delegate`, holding its device's lock. Dropping it frees the
/// delegate (which closes the device when nothing else shares it) and only then releases the
/// lock. Interpreters using it hold it by value, so it outlives them.
pub struct Delegate {
    raw: NonNull<TfLiteDelegate>,
    device: EdgeTpuDevice,
    lib: Arc<EdgeTpuLib>,
    _lock: DeviceLock,
}

impl Delegate {
    /// Opens the locked device with `options`: `edgetpu_create_delegate(kind, path, options)`.
    pub fn create(
        lib: Arc<EdgeTpuLib>,
        lock: DeviceLock,
        options: &DelegateOptions,
    ) -> Result<Self, EdgeTpuError> {
        let device = lock.device().clone();
        let nul = |what: &str| EdgeTpuError::InvalidDeviceSpec {
            spec: what.to_string(),
            reason: "contains a NUL byte".to_string(),
        };
        let path = CString::new(device.path.as_str()).map_err(|_| nul(&device.path))?;
        let pairs: Vec<(CString, CString)> = options
            .pairs(device.kind)
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    CString::new(k).map_err(|_| nul(k))?,
                    CString::new(v.clone()).map_err(|_| nul(&v))?,
                ))
            })
            .collect::<Result<_, EdgeTpuError>>()?;
        let raw_options: Vec<EdgeTpuOptionRaw> = pairs
            .iter()
            .map(|(k, v)| EdgeTpuOptionRaw {
                name: k.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let options_ptr = if raw_options.is_empty() {
            std::ptr::null()
        } else {
            raw_options.as_ptr()
        };
        // SAFETY: `path` and the option strings are NUL-terminated and live until the call
        // returns, which is all libedgetpu requires; the name is non-NULL whenever options are
        // passed (libedgetpu aborts otherwise).
        let raw = unsafe {
            (lib.create_delegate)(
                device.kind.code(),
                path.as_ptr(),
                options_ptr,
                raw_options.len(),
            )
        };
        let raw = NonNull::new(raw).ok_or(EdgeTpuError::DelegateCreationFailed {
            device: device.clone(),
        })?;
        Ok(Delegate {
            raw,
            device,
            lib,
            _lock: lock,
        })
    }

    /// The device it runs on.
    pub fn device(&self) -> &EdgeTpuDevice {
        &self.device
    }

    pub(crate) fn as_ptr(&self) -> *mut TfLiteDelegate {
        self.raw.as_ptr()
    }
}

impl Drop for Delegate {
    fn drop(&mut self) {
        // SAFETY: `raw` came from edgetpu_create_delegate and is freed once; every interpreter
        // using it owns this Delegate and has deleted its interpreter before dropping it.
        unsafe { (self.lib.free_delegate)(self.raw.as_ptr()) };
    }
}
