//! The Edge TPU backend: each compiled segment (`*_edgetpu.tflite`, one `edgetpu-custom-op`)
//! runs on its own Coral Edge TPU through the TensorFlow Lite C API and libedgetpu's delegate.
//!
//! Both libraries are loaded at run time ([`libloading`]), so a binary without them starts and
//! can fall back to the CPU interpreter; every missing library or symbol is an [`EdgeTpuError`]
//! naming what to install and which variable to set (`TPUPIPE_TFLITE_LIB`,
//! `TPUPIPE_EDGETPU_LIB`). The binding is a small hand-written one over the functions used here,
//! resolved up front.
//!
//! Ownership follows the C API's rules by construction: a [`SegmentModel`] owns the bytes TFLite
//! reads; an [`EdgeTpuStage`] owns its interpreter together with its model, its [`Delegate`]
//! and the error log its reporter writes to, and deletes the interpreter first; the delegate
//! owns its device's [`DeviceLock`] and frees the delegate before releasing it; every object
//! holds an `Arc` of the library it calls.
//!
//! ```no_run
//! use tpupipe_runtime::edgetpu::{Assignment, BackendConfig, EdgeTpuBackend, StageOptions};
//! # fn main() -> Result<(), tpupipe_runtime::edgetpu::EdgeTpuError> {
//! let backend = EdgeTpuBackend::open(&BackendConfig::from_env())?;
//! let segments = vec![std::fs::read("m_segment_0_of_2_edgetpu.tflite").unwrap(),
//!                     std::fs::read("m_segment_1_of_2_edgetpu.tflite").unwrap()];
//! let assignment = Assignment::parse_list("usb:0,usb:1")?;
//! let mut stages = backend.open_stages(segments, &assignment, &StageOptions::default())?;
//! let input = vec![0u8; stages[0].inputs()[0].bytes.0 as usize];
//! let mut mid = vec![0u8; stages[0].outputs()[0].bytes.0 as usize];
//! stages[0].run(&[&input], &mut [&mut mid])?;
//! # Ok(()) }
//! ```

mod backend;
mod delegate;
mod device;
mod error;
mod error_log;
mod ffi;
mod libraries;
mod lock;
mod options;
mod report;
mod segment;
mod stage;
mod tensor;
mod version;

pub use backend::{BackendConfig, EdgeTpuBackend, StageOptions};
pub use delegate::Delegate;
pub use device::{list_devices, Assignment, DeviceKind, DeviceSpec, EdgeTpuDevice};
pub use error::{EdgeTpuError, LibraryKind};
pub use libraries::{EdgeTpuLib, LibraryPaths, TfLiteLib};
pub use lock::{default_lock_dir, lock_file_path, DeviceLock};
pub use options::{
    BulkInQueueLength, DelegateOptions, Performance, BULK_IN_QUEUE_KEY, PERFORMANCE_KEY,
};
pub use report::{device_report, DeviceReport, DeviceState, LibraryStatus};
pub use segment::{check_segment, SegmentModel};
pub use stage::EdgeTpuStage;
pub use tensor::{TensorInfo, TfLiteType};
pub use version::{
    Compatibility, EdgeTpuVersion, LibraryVersions, TfLiteVersion, KNOWN_LIBEDGETPU_TF_VERSIONS,
    MIN_RUNTIME_VERSION,
};
