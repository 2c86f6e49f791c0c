//! What a model compiled by `edgetpu_compiler` holds: which operators stayed on the CPU, and
//! for each `edgetpu-custom-op` what its executable package says (facts §5): the custom
//! options are a FlexBuffer map whose key `"4"` holds the `DWN1` package (a string of raw bytes
//! from the real compiler, a blob from the stand-in; both are read), a flatbuffer whose
//! `Package` table has `min_runtime_version` (field 0), `serialized_multi_executable` (field 1)
//! and `compiler_version` (field 4).
//!
//! Both formats are read by hand with every offset bounds-checked, so a damaged file gives a
//! [`PackageError`] for that op, never a panic.

use thiserror::Error;
use tpupipe_runtime::model::EDGETPU_CUSTOM_CODE;
use tpupipe_runtime::{ModelView, OpKind};

/// The package's flatbuffer file identifier.
pub const PACKAGE_IDENTIFIER: &[u8; 4] = b"DWN1";

/// Why a custom op's package could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackageError {
    /// The op has no custom options.
    #[error("the custom op has no custom options")]
    NoOptions,
    /// The custom options are not a FlexBuffer map as expected.
    #[error("the custom options are not a FlexBuffer map: {0}")]
    BadOptions(&'static str),
    /// Key `"4"` is absent.
    #[error("the custom options have no key \"4\" (the executable package)")]
    NoPackage,
    /// Key `"4"` is not a string or blob.
    #[error("key \"4\" of the custom options is not a string or blob (FlexBuffer type {0})")]
    PackageType(u8),
    /// The package is not a `DWN1` flatbuffer that reads.
    #[error("the executable package is not readable: {0}")]
    BadPackage(&'static str),
}

/// The fields of an executable package tpupipe reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageInfo {
    /// The package's size.
    pub bytes: u64,
    /// True when the flatbuffer carries the `DWN1` identifier (libedgetpu only warns otherwise).
    pub dwn1: bool,
    /// The oldest Edge TPU runtime that runs it.
    pub min_runtime_version: i32,
    /// The compiler's changelist text (`cl/` for v16).
    pub compiler_version: String,
    /// Size of the serialized MultiExecutable.
    pub multi_executable_bytes: u64,
}

/// One `edgetpu-custom-op` node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EdgeTpuOp {
    /// Its operator index in the file.
    pub op: u32,
    /// Its package, or why it could not be read.
    #[serde(serialize_with = "package_or_error")]
    pub package: Result<PackageInfo, PackageError>,
}

fn package_or_error<S: serde::Serializer>(
    p: &Result<PackageInfo, PackageError>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    match p {
        Ok(info) => info.serialize(s),
        Err(e) => serde_json::json!({ "error": e.to_string() }).serialize(s),
    }
}

/// An operator left on the CPU.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CpuOpInfo {
    /// Its operator index in the file.
    pub op: u32,
    /// `DEQUANTIZE`, `CUSTOM(...)`.
    pub kind: String,
    /// The tensors it writes.
    pub outputs: Vec<String>,
}

/// The Edge TPU side of a compiled model's main subgraph.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompiledModelInfo {
    /// The `edgetpu-custom-op` nodes, in file order.
    pub edgetpu_ops: Vec<EdgeTpuOp>,
    /// The other operators (they run on the CPU), in file order.
    pub cpu_ops: Vec<CpuOpInfo>,
}

impl CompiledModelInfo {
    /// Reads the main subgraph of `model`; `None` when it has no `edgetpu-custom-op`.
    pub fn read(model: &ModelView<'_>) -> Option<CompiledModelInfo> {
        let sg = model.main_subgraph();
        let mut edgetpu_ops = Vec::new();
        let mut cpu_ops = Vec::new();
        for op in sg.operators() {
            let kind = op.kind();
            if matches!(kind, OpKind::Custom(c) if c == EDGETPU_CUSTOM_CODE) {
                let package = match op.raw().custom_options() {
                    Some(o) => read_package(o.bytes()),
                    None => Err(PackageError::NoOptions),
                };
                edgetpu_ops.push(EdgeTpuOp {
                    op: op.index().0,
                    package,
                });
            } else {
                cpu_ops.push(CpuOpInfo {
                    op: op.index().0,
                    kind: kind.name(),
                    outputs: op
                        .outputs()
                        .into_iter()
                        .map(|t| sg.tensor(t).name().to_string())
                        .collect(),
                });
            }
        }
        (!edgetpu_ops.is_empty()).then_some(CompiledModelInfo {
            edgetpu_ops,
            cpu_ops,
        })
    }
}

/// Reads the package in the custom options `options`.
pub fn read_package(options: &[u8]) -> Result<PackageInfo, PackageError> {
    let bytes = flex::map_bytes(options, "4")?;
    package_info(bytes)
}

fn le(b: &[u8], at: usize, width: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(width)?)?;
    Some(
        s.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// A minimal FlexBuffer reader: the root map, a key, a string or blob value.
mod flex {
    use super::{le, PackageError};

    const STRING: u8 = 5;
    const MAP: u8 = 9;
    const BLOB: u8 = 25;

    fn bad(why: &'static str) -> PackageError {
        PackageError::BadOptions(why)
    }

    /// The position an offset stored at `at` (`width` bytes) points back to.
    fn deref(b: &[u8], at: usize, width: usize) -> Result<usize, PackageError> {
        let off = le(b, at, width).ok_or(bad("an offset is out of bounds"))?;
        at.checked_sub(usize::try_from(off).map_err(|_| bad("an offset is too large"))?)
            .ok_or(bad("an offset points before the buffer"))
    }

    fn width(byte: u8) -> usize {
        1 << (byte & 3)
    }

    /// The bytes of the string or blob value of `key` in the root map of `b`.
    pub fn map_bytes<'a>(b: &'a [u8], key: &str) -> Result<&'a [u8], PackageError> {
        let n = b.len();
        if n < 3 {
            return Err(bad("too short"));
        }
        let root_width = usize::from(b[n - 1]);
        if !matches!(root_width, 1 | 2 | 4 | 8) {
            return Err(bad("the root width is not 1, 2, 4 or 8"));
        }
        let root_type = b[n - 2];
        if root_type >> 2 != MAP {
            return Err(bad("the root is not a map"));
        }
        let root_at = n.checked_sub(2 + root_width).ok_or(bad("too short"))?;
        let map = deref(b, root_at, root_width)?;
        let w = width(root_type);
        let len = le(b, map.checked_sub(w).ok_or(bad("bad map"))?, w).ok_or(bad("bad map"))?;
        let len = usize::try_from(len).map_err(|_| bad("bad map length"))?;
        let keys_at = map.checked_sub(3 * w).ok_or(bad("bad map"))?;
        let keys = deref(b, keys_at, w)?;
        let key_width = le(b, map - 2 * w, w).ok_or(bad("bad map"))?;
        let key_width = usize::try_from(key_width).map_err(|_| bad("bad key width"))?;
        if !matches!(key_width, 1 | 2 | 4 | 8) {
            return Err(bad("the key width is not 1, 2, 4 or 8"));
        }
        for i in 0..len {
            let k = deref(b, keys + i * key_width, key_width)?;
            let rest = b.get(k..).ok_or(bad("a key is out of bounds"))?;
            let end = rest
                .iter()
                .position(|&c| c == 0)
                .ok_or(bad("a key is not terminated"))?;
            if &rest[..end] != key.as_bytes() {
                continue;
            }
            let types = map.checked_add(len * w).ok_or(bad("bad map"))?;
            let packed = *b
                .get(types + i)
                .ok_or(bad("a value type is out of bounds"))?;
            let kind = packed >> 2;
            if kind != STRING && kind != BLOB {
                return Err(PackageError::PackageType(kind));
            }
            let value = deref(b, map + i * w, w)?;
            let vw = width(packed);
            let size = le(b, value.checked_sub(vw).ok_or(bad("bad value"))?, vw)
                .ok_or(bad("bad value"))?;
            let size = usize::try_from(size).map_err(|_| bad("bad value size"))?;
            return b
                .get(value..value.checked_add(size).ok_or(bad("bad value size"))?)
                .ok_or(bad("the value runs past the buffer"));
        }
        Err(PackageError::NoPackage)
    }
}

/// Reads the `Package` table's fields.
fn package_info(p: &[u8]) -> Result<PackageInfo, PackageError> {
    let bad = PackageError::BadPackage;
    let u32_at = |at: usize| le(p, at, 4).map(|v| v as usize);
    let table = u32_at(0).ok_or(bad("too short"))?;
    let soffset = le(p, table, 4).ok_or(bad("the root table is out of bounds"))? as u32 as i32;
    let vtable = usize::try_from(table as i64 - i64::from(soffset))
        .map_err(|_| bad("the vtable is out of bounds"))?;
    let vt_len = le(p, vtable, 2).ok_or(bad("the vtable is out of bounds"))? as usize;
    let field = |id: usize| -> Option<usize> {
        let slot = 4 + 2 * id;
        if slot + 2 > vt_len {
            return None;
        }
        let off = le(p, vtable + slot, 2)? as usize;
        (off != 0).then_some(table + off)
    };
    let vector = |at: usize| -> Result<(usize, usize), PackageError> {
        let start = at
            .checked_add(u32_at(at).ok_or(bad("a vector offset is out of bounds"))?)
            .ok_or(bad("a vector offset is too large"))?;
        let len = u32_at(start).ok_or(bad("a vector is out of bounds"))?;
        let data = start + 4;
        if data.checked_add(len).map_or(true, |end| end > p.len()) {
            return Err(bad("a vector runs past the package"));
        }
        Ok((data, len))
    };
    let min_runtime_version = match field(0) {
        Some(at) => le(p, at, 4).ok_or(bad("min_runtime_version is out of bounds"))? as u32 as i32,
        None => 0,
    };
    let multi_executable_bytes = match field(1) {
        Some(at) => vector(at)?.1 as u64,
        None => 0,
    };
    let compiler_version = match field(4) {
        Some(at) => {
            let (data, len) = vector(at)?;
            String::from_utf8_lossy(&p[data..data + len]).into_owned()
        }
        None => String::new(),
    };
    Ok(PackageInfo {
        bytes: p.len() as u64,
        dwn1: p.get(4..8) == Some(PACKAGE_IDENTIFIER.as_slice()),
        min_runtime_version,
        compiler_version,
        multi_executable_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_options_are_errors() {
        for junk in [
            &b""[..],
            b"\x00\x00\x01",
            b"\xff\xff\xff\xff\x24\x01",
            &[0u8; 64],
        ] {
            assert!(read_package(junk).is_err(), "{junk:?}");
        }
        assert!(package_info(&[0xff; 16]).is_err());
        assert!(package_info(&[]).is_err());
    }
}
