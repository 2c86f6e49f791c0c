//! Raw C types of the TFLite C API (`tensorflow/lite/c/c_api.h`) and libedgetpu's C API
//! (`edgetpu_c.h`), as far as the backend uses them. Function signatures live with the loaders in
//! [`super::libraries`].

use std::ffi::{c_char, c_int, c_void};

/// `TfLiteStatus` (`c_api_types.h`): 0 is `kTfLiteOk`; new values may be added.
pub type TfLiteStatus = c_int;
/// `kTfLiteOk`.
pub const TFLITE_OK: TfLiteStatus = 0;

/// `TfLiteType` (`c_api_types.h`).
pub type TfLiteTypeCode = c_int;

/// Opaque `TfLiteModel`.
#[repr(C)]
pub struct TfLiteModel {
    _private: [u8; 0],
}

/// Opaque `TfLiteInterpreterOptions`.
#[repr(C)]
pub struct TfLiteInterpreterOptions {
    _private: [u8; 0],
}

/// Opaque `TfLiteInterpreter`.
#[repr(C)]
pub struct TfLiteInterpreter {
    _private: [u8; 0],
}

/// `TfLiteTensor`, used only through the C API's accessors (never dereferenced here).
#[repr(C)]
pub struct TfLiteTensor {
    _private: [u8; 0],
}

/// `TfLiteDelegate`, only ever handled by pointer: its layout belongs to the TFLite version.
#[repr(C)]
pub struct TfLiteDelegate {
    _private: [u8; 0],
}

/// `enum edgetpu_device_type`.
pub type EdgeTpuDeviceTypeCode = c_int;
/// `EDGETPU_APEX_PCI`.
pub const EDGETPU_APEX_PCI: EdgeTpuDeviceTypeCode = 0;
/// `EDGETPU_APEX_USB`.
pub const EDGETPU_APEX_USB: EdgeTpuDeviceTypeCode = 1;

/// `struct edgetpu_device`.
#[repr(C)]
pub struct EdgeTpuDeviceRaw {
    /// Device type.
    pub kind: EdgeTpuDeviceTypeCode,
    /// NUL-terminated path, owned by the list block.
    pub path: *const c_char,
}

/// `struct edgetpu_option`.
#[repr(C)]
pub struct EdgeTpuOptionRaw {
    /// Key.
    pub name: *const c_char,
    /// Value.
    pub value: *const c_char,
}

/// The error reporter callback of `TfLiteInterpreterOptionsSetErrorReporter`. The `va_list` is
/// passed as a pointer at the ABI level on the targets where the backend installs a reporter
/// (x86-64 and aarch64 Linux; see [`super::error_log`]).
pub type ErrorReporterFn =
    unsafe extern "C" fn(user_data: *mut c_void, format: *const c_char, args: *mut c_void);
