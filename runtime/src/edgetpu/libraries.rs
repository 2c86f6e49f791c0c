//! Loading `libtensorflowlite_c.so` and `libedgetpu.so.1` at run time, with every function the
//! backend calls resolved up front: a missing library or symbol is an [`EdgeTpuError`], never a
//! panic at call time.
//!
//! Each loaded library is an `Arc` that every object made from it holds, so the code stays mapped
//! for as long as anything could call into it.

use super::error::{EdgeTpuError, LibraryKind};
use super::ffi::*;
use libloading::Library;
use std::ffi::{c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where to find the two libraries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibraryPaths {
    /// `libtensorflowlite_c.so`; `None` searches the default name on the loader's path.
    pub tflite: Option<PathBuf>,
    /// `libedgetpu.so.1`; `None` searches the default name on the loader's path.
    pub edgetpu: Option<PathBuf>,
}

impl LibraryPaths {
    /// Paths from `TPUPIPE_TFLITE_LIB` and `TPUPIPE_EDGETPU_LIB` (unset or empty: default names).
    pub fn from_env() -> Self {
        let var = |k: LibraryKind| {
            std::env::var_os(k.env_var())
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        LibraryPaths {
            tflite: var(LibraryKind::TfLite),
            edgetpu: var(LibraryKind::EdgeTpu),
        }
    }
}

/// What the loader is asked for: a path, or the default name.
fn target(kind: LibraryKind, path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string())
        .unwrap_or_else(|| kind.default_name().to_string())
}

fn open(kind: LibraryKind, path: Option<&Path>) -> Result<(Library, String), EdgeTpuError> {
    let tried = target(kind, path);
    // SAFETY: loading runs the library's initialisers. Both libraries are plain C/C++ shared
    // objects whose initialisers only set up their own globals; the path is the user's choice.
    let lib = unsafe { Library::new(&tried) }.map_err(|e| EdgeTpuError::LibraryNotFound {
        library: kind,
        tried: tried.clone(),
        reason: e.to_string(),
    })?;
    Ok((lib, tried))
}

/// Resolves `name` in `lib` as a value of the function-pointer type `T`.
///
/// # Safety
/// `T` must be the exact C signature of the symbol.
unsafe fn sym<T: Copy>(
    lib: &Library,
    kind: LibraryKind,
    path: &str,
    name: &'static str,
) -> Result<T, EdgeTpuError> {
    let mut cname = Vec::with_capacity(name.len() + 1);
    cname.extend_from_slice(name.as_bytes());
    cname.push(0);
    // SAFETY: the caller guarantees `T` matches the symbol's type; the pointer is copied out and
    // stays valid while `lib` is loaded, which the owning struct guarantees.
    unsafe { lib.get::<T>(&cname) }
        .map(|s| *s)
        .map_err(|_| EdgeTpuError::SymbolMissing {
            library: kind,
            path: path.to_string(),
            symbol: name,
        })
}

/// The TFLite C API functions the backend uses, resolved from one loaded library.
pub struct TfLiteLib {
    /// The path it was loaded from (the given one, or where the loader found the name).
    pub path: String,
    pub(crate) version: unsafe extern "C" fn() -> *const c_char,
    pub(crate) model_create: unsafe extern "C" fn(*const c_void, usize) -> *mut TfLiteModel,
    pub(crate) model_delete: unsafe extern "C" fn(*mut TfLiteModel),
    pub(crate) options_create: unsafe extern "C" fn() -> *mut TfLiteInterpreterOptions,
    pub(crate) options_delete: unsafe extern "C" fn(*mut TfLiteInterpreterOptions),
    pub(crate) options_set_num_threads: unsafe extern "C" fn(*mut TfLiteInterpreterOptions, i32),
    pub(crate) options_add_delegate:
        unsafe extern "C" fn(*mut TfLiteInterpreterOptions, *mut TfLiteDelegate),
    pub(crate) options_set_error_reporter:
        unsafe extern "C" fn(*mut TfLiteInterpreterOptions, Option<ErrorReporterFn>, *mut c_void),
    pub(crate) interpreter_create: unsafe extern "C" fn(
        *const TfLiteModel,
        *const TfLiteInterpreterOptions,
    ) -> *mut TfLiteInterpreter,
    pub(crate) interpreter_delete: unsafe extern "C" fn(*mut TfLiteInterpreter),
    pub(crate) allocate_tensors: unsafe extern "C" fn(*mut TfLiteInterpreter) -> TfLiteStatus,
    pub(crate) invoke: unsafe extern "C" fn(*mut TfLiteInterpreter) -> TfLiteStatus,
    pub(crate) input_count: unsafe extern "C" fn(*const TfLiteInterpreter) -> i32,
    pub(crate) output_count: unsafe extern "C" fn(*const TfLiteInterpreter) -> i32,
    pub(crate) input_tensor:
        unsafe extern "C" fn(*const TfLiteInterpreter, i32) -> *mut TfLiteTensor,
    pub(crate) output_tensor:
        unsafe extern "C" fn(*const TfLiteInterpreter, i32) -> *const TfLiteTensor,
    pub(crate) tensor_type: unsafe extern "C" fn(*const TfLiteTensor) -> TfLiteTypeCode,
    pub(crate) tensor_num_dims: unsafe extern "C" fn(*const TfLiteTensor) -> i32,
    pub(crate) tensor_dim: unsafe extern "C" fn(*const TfLiteTensor, i32) -> i32,
    pub(crate) tensor_byte_size: unsafe extern "C" fn(*const TfLiteTensor) -> usize,
    pub(crate) tensor_name: unsafe extern "C" fn(*const TfLiteTensor) -> *const c_char,
    pub(crate) tensor_copy_from_buffer:
        unsafe extern "C" fn(*mut TfLiteTensor, *const c_void, usize) -> TfLiteStatus,
    pub(crate) tensor_copy_to_buffer:
        unsafe extern "C" fn(*const TfLiteTensor, *mut c_void, usize) -> TfLiteStatus,
    // Last: the functions above point into it.
    _lib: Library,
}

impl TfLiteLib {
    /// Loads the TFLite C library from `path` (or `libtensorflowlite_c.so` on the loader's path).
    pub fn load(path: Option<&Path>) -> Result<Arc<Self>, EdgeTpuError> {
        let k = LibraryKind::TfLite;
        let (lib, p) = open(k, path)?;
        // SAFETY: every type below is the signature declared in TFLite's `c_api.h`.
        unsafe {
            let version: unsafe extern "C" fn() -> *const c_char =
                sym(&lib, k, &p, "TfLiteVersion")?;
            let p = reported_path(path, p, version as usize);
            Ok(Arc::new(TfLiteLib {
                version,
                model_create: sym(&lib, k, &p, "TfLiteModelCreate")?,
                model_delete: sym(&lib, k, &p, "TfLiteModelDelete")?,
                options_create: sym(&lib, k, &p, "TfLiteInterpreterOptionsCreate")?,
                options_delete: sym(&lib, k, &p, "TfLiteInterpreterOptionsDelete")?,
                options_set_num_threads: sym(&lib, k, &p, "TfLiteInterpreterOptionsSetNumThreads")?,
                options_add_delegate: sym(&lib, k, &p, "TfLiteInterpreterOptionsAddDelegate")?,
                options_set_error_reporter: sym(
                    &lib,
                    k,
                    &p,
                    "TfLiteInterpreterOptionsSetErrorReporter",
                )?,
                interpreter_create: sym(&lib, k, &p, "TfLiteInterpreterCreate")?,
                interpreter_delete: sym(&lib, k, &p, "TfLiteInterpreterDelete")?,
                allocate_tensors: sym(&lib, k, &p, "TfLiteInterpreterAllocateTensors")?,
                invoke: sym(&lib, k, &p, "TfLiteInterpreterInvoke")?,
                input_count: sym(&lib, k, &p, "TfLiteInterpreterGetInputTensorCount")?,
                output_count: sym(&lib, k, &p, "TfLiteInterpreterGetOutputTensorCount")?,
                input_tensor: sym(&lib, k, &p, "TfLiteInterpreterGetInputTensor")?,
                output_tensor: sym(&lib, k, &p, "TfLiteInterpreterGetOutputTensor")?,
                tensor_type: sym(&lib, k, &p, "TfLiteTensorType")?,
                tensor_num_dims: sym(&lib, k, &p, "TfLiteTensorNumDims")?,
                tensor_dim: sym(&lib, k, &p, "TfLiteTensorDim")?,
                tensor_byte_size: sym(&lib, k, &p, "TfLiteTensorByteSize")?,
                tensor_name: sym(&lib, k, &p, "TfLiteTensorName")?,
                tensor_copy_from_buffer: sym(&lib, k, &p, "TfLiteTensorCopyFromBuffer")?,
                tensor_copy_to_buffer: sym(&lib, k, &p, "TfLiteTensorCopyToBuffer")?,
                path: p,
                _lib: lib,
            }))
        }
    }

    /// `TfLiteVersion()`, e.g. `"2.16.1"`.
    pub fn version(&self) -> String {
        // SAFETY: TfLiteVersion returns a static NUL-terminated string (or NULL, handled).
        unsafe { c_str(self.version_ptr()) }
    }

    fn version_ptr(&self) -> *const c_char {
        // SAFETY: no arguments; the function is resolved from the library `self` keeps loaded.
        unsafe { (self.version)() }
    }
}

/// libedgetpu's C API functions, resolved from one loaded library.
pub struct EdgeTpuLib {
    /// The path it was loaded from (the given one, or where the loader found the name).
    pub path: String,
    pub(crate) list_devices: unsafe extern "C" fn(*mut usize) -> *mut EdgeTpuDeviceRaw,
    pub(crate) free_devices: unsafe extern "C" fn(*mut EdgeTpuDeviceRaw),
    pub(crate) create_delegate: unsafe extern "C" fn(
        EdgeTpuDeviceTypeCode,
        *const c_char,
        *const EdgeTpuOptionRaw,
        usize,
    ) -> *mut TfLiteDelegate,
    pub(crate) free_delegate: unsafe extern "C" fn(*mut TfLiteDelegate),
    pub(crate) verbosity: unsafe extern "C" fn(c_int),
    pub(crate) version: unsafe extern "C" fn() -> *const c_char,
    // Last: the functions above point into it.
    _lib: Library,
}

impl EdgeTpuLib {
    /// Loads libedgetpu from `path` (or `libedgetpu.so.1` on the loader's path).
    pub fn load(path: Option<&Path>) -> Result<Arc<Self>, EdgeTpuError> {
        let k = LibraryKind::EdgeTpu;
        let (lib, p) = open(k, path)?;
        // SAFETY: every type below is the signature declared in libedgetpu's `edgetpu_c.h`.
        unsafe {
            let version: unsafe extern "C" fn() -> *const c_char =
                sym(&lib, k, &p, "edgetpu_version")?;
            let p = reported_path(path, p, version as usize);
            Ok(Arc::new(EdgeTpuLib {
                version,
                list_devices: sym(&lib, k, &p, "edgetpu_list_devices")?,
                free_devices: sym(&lib, k, &p, "edgetpu_free_devices")?,
                create_delegate: sym(&lib, k, &p, "edgetpu_create_delegate")?,
                free_delegate: sym(&lib, k, &p, "edgetpu_free_delegate")?,
                verbosity: sym(&lib, k, &p, "edgetpu_verbosity")?,
                path: p,
                _lib: lib,
            }))
        }
    }

    /// `edgetpu_version()`, e.g. `"BuildLabel(...), RuntimeVersion(14)"`.
    pub fn version(&self) -> String {
        // SAFETY: edgetpu_version takes no arguments and returns a static string (NULL handled).
        unsafe { c_str((self.version)()) }
    }

    /// `edgetpu_verbosity(level)`: libedgetpu's log level, 0 (quiet) to 10; clamped to that range.
    pub fn set_verbosity(&self, level: u8) {
        // SAFETY: plain integer argument in libedgetpu's documented range.
        unsafe { (self.verbosity)(c_int::from(level.min(10))) }
    }
}

/// The file a loaded function lives in, from `/proc/self/maps` (Linux), so a library found by
/// name on the loader's path is reported with its real path. `None` elsewhere or when not found.
fn mapped_file(addr: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        let path = fields.nth(4)?;
        (start <= addr && addr < end && path.starts_with('/')).then(|| path.to_string())
    })
}

/// The path to report: the one given, else where the loader found the library.
fn reported_path(given: Option<&Path>, name: String, addr: usize) -> String {
    match given {
        Some(_) => name,
        None => mapped_file(addr).unwrap_or(name),
    }
}

/// Copies a C string, or returns an empty string for NULL.
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string valid for the call.
pub(crate) unsafe fn c_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per the function's contract.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}
