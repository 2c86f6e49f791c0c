//! Errors of the Edge TPU backend, each naming what went wrong and what a user can do about it.

use super::device::EdgeTpuDevice;
use std::path::PathBuf;

/// Which of the two run-time libraries an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibraryKind {
    /// The TensorFlow Lite C API, `libtensorflowlite_c.so`.
    TfLite,
    /// The Edge TPU runtime, `libedgetpu.so.1`.
    EdgeTpu,
}

impl LibraryKind {
    /// The environment variable that names this library's file.
    pub fn env_var(self) -> &'static str {
        match self {
            LibraryKind::TfLite => "TPUPIPE_TFLITE_LIB",
            LibraryKind::EdgeTpu => "TPUPIPE_EDGETPU_LIB",
        }
    }

    /// The file name searched for when no path is given (the names pycoral and TFLite's
    /// builds use on each platform).
    pub fn default_name(self) -> &'static str {
        match self {
            LibraryKind::TfLite if cfg!(target_os = "macos") => "libtensorflowlite_c.dylib",
            LibraryKind::TfLite if cfg!(windows) => "tensorflowlite_c.dll",
            LibraryKind::TfLite => "libtensorflowlite_c.so",
            LibraryKind::EdgeTpu if cfg!(target_os = "macos") => "libedgetpu.1.dylib",
            LibraryKind::EdgeTpu if cfg!(windows) => "edgetpu.dll",
            LibraryKind::EdgeTpu => "libedgetpu.so.1",
        }
    }

    /// How to get the library.
    pub fn install_hint(self) -> &'static str {
        match self {
            LibraryKind::TfLite => {
                "build it from TensorFlow's tensorflow/lite/c (CMake, TFLITE_C_BUILD_SHARED_LIBS) \
                 at the TF version your libedgetpu was built against"
            }
            LibraryKind::EdgeTpu => {
                "install the Edge TPU runtime (Coral's apt package libedgetpu1-std or \
                 libedgetpu1-max)"
            }
        }
    }
}

impl std::fmt::Display for LibraryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LibraryKind::TfLite => "TensorFlow Lite C library",
            LibraryKind::EdgeTpu => "Edge TPU runtime library",
        })
    }
}

/// Everything the Edge TPU backend can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EdgeTpuError {
    /// A library could not be loaded.
    #[error(
        "{library} not found: cannot load '{tried}' ({reason}); {hint}, or set {env_var} to its path",
        hint = .library.install_hint(),
        env_var = .library.env_var()
    )]
    LibraryNotFound {
        /// Which library.
        library: LibraryKind,
        /// The name or path that was tried.
        tried: String,
        /// The loader's message.
        reason: String,
    },
    /// A library loaded but lacks a function the backend needs.
    #[error("{library} '{path}' lacks the symbol '{symbol}': wrong or incomplete library")]
    SymbolMissing {
        /// Which library.
        library: LibraryKind,
        /// Its name or path.
        path: String,
        /// The missing function.
        symbol: &'static str,
    },
    /// The two libraries are known not to work together.
    #[error(
        "TFLite {tflite} and libedgetpu '{edgetpu}' do not work together: {reason} \
         (set allow_version_mismatch to try anyway)"
    )]
    IncompatibleLibraries {
        /// `TfLiteVersion()`.
        tflite: String,
        /// `edgetpu_version()`.
        edgetpu: String,
        /// Why.
        reason: String,
    },
    /// `edgetpu_list_devices` found no Edge TPU.
    #[error(
        "no Edge TPU found: plug in a Coral USB Accelerator (check udev rules for 1a6e:089a and \
         18d1:9302) or install the PCIe driver (/dev/apex_*)"
    )]
    NoDevice,
    /// Fewer usable Edge TPUs than pipeline stages.
    #[error(
        "{stages} stages need {stages} Edge TPUs, but only {usable} of the {found} found are \
         usable{busy_note}",
        busy_note = if .busy.is_empty() { String::new() } else { format!(" ({} held by other processes: {})", .busy.len(), .busy.join(", ")) }
    )]
    FewerDevicesThanStages {
        /// Stages to place.
        stages: usize,
        /// Devices enumerated.
        found: usize,
        /// Devices not held by another process.
        usable: usize,
        /// Paths of the devices other processes hold.
        busy: Vec<String>,
    },
    /// A device string could not be parsed.
    #[error(
        "invalid Edge TPU device '{spec}': {reason} (expected usb:N, pci:N, :N or a device path)"
    )]
    InvalidDeviceSpec {
        /// The string.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A device index points past the enumerated devices.
    #[error("Edge TPU '{spec}' does not exist: {available} {kind} device(s) found")]
    DeviceIndexOutOfRange {
        /// The string.
        spec: String,
        /// Devices of the requested kind.
        available: usize,
        /// "USB", "PCIe" or "Edge TPU".
        kind: String,
    },
    /// A device path is not among the enumerated devices.
    #[error("no Edge TPU at '{path}' (found: {found})")]
    UnknownDevicePath {
        /// The path asked for.
        path: String,
        /// The enumerated paths.
        found: String,
    },
    /// An explicit assignment names a different number of devices than there are stages.
    #[error("the device assignment names {devices} devices for {stages} stages")]
    AssignmentLength {
        /// Stages.
        stages: usize,
        /// Devices named.
        devices: usize,
    },
    /// Two stages were assigned the same device.
    #[error("stages {first} and {second} are both assigned to {device}: each stage needs its own Edge TPU")]
    DuplicateDevice {
        /// The device.
        device: EdgeTpuDevice,
        /// First stage.
        first: usize,
        /// Second stage.
        second: usize,
    },
    /// Another process holds the device.
    #[error(
        "Edge TPU {device} is busy: held by {holder} (lock file {}); stop that process or pick \
         another device",
        lock_file.display()
    )]
    DeviceBusy {
        /// The device.
        device: EdgeTpuDevice,
        /// The lock file.
        lock_file: PathBuf,
        /// Who holds it ("process 1234", or "another process").
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock Edge TPU {device} with '{}': {source}", lock_file.display())]
    LockFailed {
        /// The device.
        device: EdgeTpuDevice,
        /// The lock file.
        lock_file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A delegate option is out of range.
    #[error("invalid Edge TPU option {key}={value}: {reason}")]
    InvalidOption {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// The accepted values.
        reason: &'static str,
    },
    /// `edgetpu_create_delegate` returned NULL.
    #[error(
        "libedgetpu could not open Edge TPU {device}: it may be unplugged, held by another \
         process, or reject the options (set verbosity to see libedgetpu's log)"
    )]
    DelegateCreationFailed {
        /// The device.
        device: EdgeTpuDevice,
    },
    /// The segment is not a model TFLite accepts.
    #[error("segment {stage}: not a valid TFLite model: {reason}")]
    InvalidSegment {
        /// Stage index.
        stage: usize,
        /// Why.
        reason: String,
    },
    /// The segment has no Edge TPU custom op.
    #[error("segment {stage} is not compiled for the Edge TPU (no edgetpu-custom-op); run edgetpu_compiler on it")]
    NotCompiled {
        /// Stage index.
        stage: usize,
    },
    /// The segment keeps operators the Edge TPU does not run.
    #[error(
        "segment {stage} is not fully mapped to the Edge TPU: {} op(s) would run on the CPU ({})",
        cpu_ops.len(),
        cpu_ops.join(", ")
    )]
    CpuOpsInSegment {
        /// Stage index.
        stage: usize,
        /// The ops left on the CPU, as `opN KIND`.
        cpu_ops: Vec<String>,
    },
    /// The delegate left Edge TPU custom ops unclaimed.
    #[error(
        "segment {stage}: the Edge TPU delegate did not claim the edgetpu-custom-op nodes \
         (libedgetpu/TFLite mismatch?): {}",
        messages.join(" | ")
    )]
    DelegateDidNotClaim {
        /// Stage index.
        stage: usize,
        /// TFLite's messages.
        messages: Vec<String>,
    },
    /// The interpreter could not be built, its tensors allocated, or the warm-up run failed.
    #[error("segment {stage}: {step} failed{}", fmt_messages(messages))]
    StageSetupFailed {
        /// Stage index.
        stage: usize,
        /// `"creating the interpreter"`, `"allocating tensors"`, `"warm-up invoke"`.
        step: &'static str,
        /// TFLite's messages.
        messages: Vec<String>,
    },
    /// Wrong number of input or output buffers.
    #[error("stage {stage} has {expected} {what} tensors, {given} buffers given")]
    TensorCountMismatch {
        /// Stage index.
        stage: usize,
        /// "input" or "output".
        what: &'static str,
        /// The model's count.
        expected: usize,
        /// The buffers given.
        given: usize,
    },
    /// A buffer's size differs from its tensor's.
    #[error(
        "stage {stage} {what} {index} ('{name}', {dtype}) is {expected} bytes, buffer is {given}"
    )]
    TensorSizeMismatch {
        /// Stage index.
        stage: usize,
        /// "input" or "output".
        what: &'static str,
        /// Tensor position.
        index: usize,
        /// Tensor name.
        name: String,
        /// Tensor type.
        dtype: String,
        /// The tensor's byte size.
        expected: u64,
        /// The buffer's size.
        given: usize,
    },
    /// `TfLiteInterpreterInvoke` failed.
    #[error("stage {stage} on {device}: invoke failed{}", fmt_messages(messages))]
    InvokeFailed {
        /// Stage index.
        stage: usize,
        /// The device.
        device: EdgeTpuDevice,
        /// TFLite's messages.
        messages: Vec<String>,
    },
    /// The device list returned by libedgetpu is malformed.
    #[error("libedgetpu returned a malformed device list: {0}")]
    BadDeviceList(String),
    /// A device of an unknown type code.
    #[error("libedgetpu reported device type {0}, neither PCIe (0) nor USB (1)")]
    UnknownDeviceType(i32),
}

fn fmt_messages(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join(" | "))
    }
}
