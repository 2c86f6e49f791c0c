//! Tensor element types.

use crate::schema::TensorType;
use std::fmt;

/// The element type of a tensor, as far as tpupipe cares. Types tpupipe does not handle are kept
/// as [`ElementType::Other`] with the raw schema value, so a model using them can still be
/// inspected and split; the interpreter refuses them at load time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Boolean, one byte per element.
    Bool,
    /// Any other schema type (raw `TensorType` value).
    Other(i8),
}

impl ElementType {
    /// Converts from the schema enum.
    pub fn from_schema(t: TensorType) -> Self {
        match t {
            TensorType::FLOAT32 => Self::F32,
            TensorType::FLOAT16 => Self::F16,
            TensorType::INT8 => Self::I8,
            TensorType::UINT8 => Self::U8,
            TensorType::INT16 => Self::I16,
            TensorType::INT32 => Self::I32,
            TensorType::INT64 => Self::I64,
            TensorType::BOOL => Self::Bool,
            other => Self::Other(other.0),
        }
    }

    /// Converts to the schema enum.
    pub fn to_schema(self) -> TensorType {
        match self {
            Self::F32 => TensorType::FLOAT32,
            Self::F16 => TensorType::FLOAT16,
            Self::I8 => TensorType::INT8,
            Self::U8 => TensorType::UINT8,
            Self::I16 => TensorType::INT16,
            Self::I32 => TensorType::INT32,
            Self::I64 => TensorType::INT64,
            Self::Bool => TensorType::BOOL,
            Self::Other(v) => TensorType(v),
        }
    }

    /// Bytes per element, or `None` for types without a fixed size (strings, unknown types).
    pub fn size_bytes(self) -> Option<usize> {
        match self {
            Self::I8 | Self::U8 | Self::Bool => Some(1),
            Self::F16 | Self::I16 => Some(2),
            Self::F32 | Self::I32 => Some(4),
            Self::I64 => Some(8),
            Self::Other(v) => match TensorType(v) {
                TensorType::FLOAT64 | TensorType::UINT64 | TensorType::COMPLEX64 => Some(8),
                TensorType::COMPLEX128 => Some(16),
                TensorType::UINT32 => Some(4),
                TensorType::UINT16 => Some(2),
                _ => None,
            },
        }
    }

    /// True for the 8-bit quantized types the Edge TPU accepts.
    pub fn is_8bit(self) -> bool {
        matches!(self, Self::I8 | Self::U8)
    }

    /// The lower-case name numpy and TFLite use (`int8`, `float32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::I8 => "int8",
            Self::U8 => "uint8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::I64 => "int64",
            Self::Bool => "bool",
            Self::Other(v) => TensorType(v).variant_name().unwrap_or("unknown"),
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
