//! What a stage's input and output tensors look like, as TFLite reports them.

use super::ffi::{TfLiteTensor, TfLiteTypeCode};
use super::libraries::{c_str, TfLiteLib};
use crate::ids::ByteCount;
use std::fmt;

/// A `TfLiteType` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TfLiteType(pub i32);

impl TfLiteType {
    /// `kTfLiteUInt8`.
    pub const UINT8: TfLiteType = TfLiteType(3);
    /// `kTfLiteInt8`.
    pub const INT8: TfLiteType = TfLiteType(9);
    /// `kTfLiteFloat32`.
    pub const FLOAT32: TfLiteType = TfLiteType(1);

    /// TFLite's name for it (`uint8`, `int8`, ...), or `type N`.
    pub fn name(self) -> String {
        const NAMES: [&str; 19] = [
            "notype",
            "float32",
            "int32",
            "uint8",
            "int64",
            "string",
            "bool",
            "int16",
            "complex64",
            "int8",
            "float16",
            "float64",
            "complex128",
            "uint64",
            "resource",
            "variant",
            "uint32",
            "uint16",
            "int4",
        ];
        usize::try_from(self.0)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("type {}", self.0))
    }
}

impl fmt::Display for TfLiteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One input or output tensor of a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name in the segment.
    pub name: String,
    /// Its element type.
    pub dtype: TfLiteType,
    /// Its shape.
    pub shape: Vec<i32>,
    /// Its size in bytes, which a buffer for it must match exactly.
    pub bytes: ByteCount,
}

impl TensorInfo {
    /// Reads a tensor's description.
    ///
    /// # Safety
    /// `t` is a live tensor of an interpreter of `lib`.
    pub(crate) unsafe fn read(lib: &TfLiteLib, t: *const TfLiteTensor) -> Self {
        // SAFETY: per the contract, `t` is valid for these accessor calls.
        unsafe {
            let dims = (lib.tensor_num_dims)(t).max(0);
            TensorInfo {
                name: c_str((lib.tensor_name)(t)),
                dtype: TfLiteType((lib.tensor_type)(t) as TfLiteTypeCode),
                shape: (0..dims).map(|i| (lib.tensor_dim)(t, i)).collect(),
                bytes: ByteCount((lib.tensor_byte_size)(t) as u64),
            }
        }
    }
}
