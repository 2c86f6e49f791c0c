//! Reading and writing NumPy `.npy` arrays and `.npz` archives (a zip of `.npy` files).
//!
//! Supported: format versions 1, 2 and 3; little-endian (or byte-order-free) `int8`, `uint8`,
//! `int16`, `int32`, `int64`, `float32` and `bool`; C order. Fortran order, big-endian data and
//! other types are refused with an error that says so. Archives are written uncompressed, as
//! `np.savez` does; compressed archives (`np.savez_compressed`) are read too.

use crate::ElementType;
use std::io::{Read, Write};
use std::path::Path;
use thiserror::Error;

/// Why an `.npy` / `.npz` could not be read or written.
#[derive(Debug, Error)]
pub enum NpzError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The zip container is broken.
    #[error("{path}: not a valid .npz (zip) archive: {reason}")]
    Zip {
        /// The file.
        path: String,
        /// What the zip reader said.
        reason: String,
    },
    /// An array inside is malformed or unsupported.
    #[error("array '{name}': {reason}")]
    Array {
        /// The array's key (file name without `.npy`).
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// One n-dimensional array: element type, shape and little-endian C-order bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Element type.
    pub dtype: ElementType,
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The elements, little-endian, C order.
    pub data: Vec<u8>,
}

impl Array {
    /// Builds an array, checking the data length against the shape.
    pub fn new(dtype: ElementType, shape: Vec<usize>, data: Vec<u8>) -> Result<Array, String> {
        let elem = supported_size(dtype).ok_or_else(|| format!("type {dtype} is not supported"))?;
        let n: usize = shape.iter().product();
        if n * elem != data.len() {
            return Err(format!(
                "{} bytes do not hold a {dtype} array of shape {shape:?}",
                data.len()
            ));
        }
        Ok(Array { dtype, shape, data })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for arrays with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn supported_size(dtype: ElementType) -> Option<usize> {
    match dtype {
        ElementType::I8 | ElementType::U8 | ElementType::Bool => Some(1),
        ElementType::I16 => Some(2),
        ElementType::I32 | ElementType::F32 => Some(4),
        ElementType::I64 => Some(8),
        _ => None,
    }
}

fn descr_of(dtype: ElementType) -> Option<&'static str> {
    Some(match dtype {
        ElementType::I8 => "|i1",
        ElementType::U8 => "|u1",
        ElementType::Bool => "|b1",
        ElementType::I16 => "<i2",
        ElementType::I32 => "<i4",
        ElementType::I64 => "<i8",
        ElementType::F32 => "<f4",
        _ => return None,
    })
}

fn dtype_of(descr: &str) -> Result<ElementType, String> {
    let (order, code) = descr.split_at(descr.len().min(1));
    let t = match code {
        "i1" => ElementType::I8,
        "u1" => ElementType::U8,
        "b1" => ElementType::Bool,
        "i2" => ElementType::I16,
        "i4" => ElementType::I32,
        "i8" => ElementType::I64,
        "f4" => ElementType::F32,
        _ => {
            return Err(format!(
                "dtype '{descr}' is not supported (int8, uint8, int16, int32, int64, float32, bool)"
            ))
        }
    };
    match order {
        "<" | "|" | "=" => Ok(t),
        ">" if supported_size(t) == Some(1) => Ok(t),
        ">" => Err(format!(
            "dtype '{descr}' is big-endian; only little-endian data is supported"
        )),
        _ => Err(format!("dtype '{descr}' has no byte-order mark")),
    }
}

/// Finds `'key': value` in a header dict and returns the text of the value.
fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else if let Some(q) = rest.strip_prefix('\'') {
        q.find('\'')? + 2
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Parses one `.npy` file.
pub fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (bad magic)".into());
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let header = bytes.get(start..start + hlen).ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let descr = header_value(header, "descr").ok_or("header has no 'descr'")?;
    let descr = descr.trim_matches('\'');
    let dtype = dtype_of(descr)?;
    match header_value(header, "fortran_order") {
        Some("False") => {}
        Some("True") => {
            return Err("the array is in Fortran order; only C order is supported".into())
        }
        _ => return Err("header has no valid 'fortran_order'".into()),
    }
    let shape_text = header_value(header, "shape").ok_or("header has no 'shape'")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or("malformed 'shape'")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("malformed shape {shape_text}"))?;
    let data = &bytes[start + hlen..];
    let elem = supported_size(dtype).expect("dtype_of returns supported types");
    let want = shape
        .iter()
        .try_fold(elem, |acc, &d| acc.checked_mul(d))
        .ok_or("shape too large")?;
    if data.len() != want {
        return Err(format!(
            "holds {} data bytes, but shape {shape:?} of {dtype} needs {want}",
            data.len()
        ));
    }
    Ok(Array {
        dtype,
        shape,
        data: data.to_vec(),
    })
}

/// Encodes one array as a version 1.0 `.npy` file.
pub fn encode_npy(a: &Array) -> Result<Vec<u8>, String> {
    let descr = descr_of(a.dtype).ok_or_else(|| format!("type {} is not supported", a.dtype))?;
    let shape = match a.shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", a.shape[0]),
        _ => format!(
            "({})",
            a.shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad with spaces so that magic + version + length + header is a multiple of 64, then '\n'.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    if header.len() > u16::MAX as usize {
        return Err("header too long".into());
    }
    let mut out = Vec::with_capacity(10 + header.len() + a.data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&a.data);
    Ok(out)
}

/// Reads every array of an `.npz` archive, in archive order, keyed by name (without `.npy`).
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>, NpzError> {
    let path = path.as_ref();
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| NpzError::Io {
        path: p.clone(),
        source,
    })?;
    let zip_err = |e: zip::result::ZipError| NpzError::Zip {
        path: p.clone(),
        reason: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(zip_err)?;
    let mut arrays = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let name = entry.name().to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|source| NpzError::Io {
                path: format!("{p} ({name})"),
                source,
            })?;
        let array = parse_npy(&bytes).map_err(|reason| NpzError::Array {
            name: key.clone(),
            reason,
        })?;
        arrays.push((key, array));
    }
    Ok(arrays)
}

/// Writes arrays to an uncompressed `.npz` archive (keys become `KEY.npy`).
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(String, Array)]) -> Result<(), NpzError> {
    let path = path.as_ref();
    let p = path.display().to_string();
    let io = |source| NpzError::Io {
        path: p.clone(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut zw = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(arrays.iter().any(|(_, a)| a.data.len() >= (1 << 31)));
    for (name, a) in arrays {
        let bytes = encode_npy(a).map_err(|reason| NpzError::Array {
            name: name.clone(),
            reason,
        })?;
        zw.start_file(format!("{name}.npy"), options)
            .map_err(|e| NpzError::Zip {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        zw.write_all(&bytes).map_err(io)?;
    }
    let mut inner = zw.finish().map_err(|e| NpzError::Zip {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    inner.flush().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_all_types() {
        for (dtype, shape) in [
            (ElementType::I8, vec![2, 3]),
            (ElementType::U8, vec![5]),
            (ElementType::I16, vec![]),
            (ElementType::I32, vec![1, 1, 2]),
            (ElementType::I64, vec![3]),
            (ElementType::F32, vec![2, 2]),
            (ElementType::Bool, vec![4]),
        ] {
            let n: usize = shape.iter().product();
            let data: Vec<u8> = (0..n * supported_size(dtype).unwrap())
                .map(|i| i as u8)
                .collect();
            let a = Array::new(dtype, shape, data).unwrap();
            let bytes = encode_npy(&a).unwrap();
            assert_eq!(bytes.iter().position(|&b| b == b'\n').unwrap() % 64, 63);
            assert_eq!(parse_npy(&bytes).unwrap(), a);
        }
    }

    #[test]
    fn refuses_fortran_big_endian_and_unknown() {
        let mk = |h: &str| {
            let mut v = b"\x93NUMPY\x01\x00".to_vec();
            v.extend_from_slice(&(h.len() as u16).to_le_bytes());
            v.extend_from_slice(h.as_bytes());
            v.extend_from_slice(&[0; 8]);
            v
        };
        let e = parse_npy(&mk(
            "{'descr': '<i4', 'fortran_order': True, 'shape': (2,), }",
        ))
        .unwrap_err();
        assert!(e.contains("Fortran"), "{e}");
        let e = parse_npy(&mk(
            "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
        ))
        .unwrap_err();
        assert!(e.contains("big-endian"), "{e}");
        let e = parse_npy(&mk(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
        ))
        .unwrap_err();
        assert!(e.contains("not supported"), "{e}");
        let e = parse_npy(&mk(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
        ))
        .unwrap_err();
        assert!(e.contains("needs 12"), "{e}");
    }

    #[test]
    fn npz_round_trip() {
        let path =
            std::env::temp_dir().join(format!("tpupipe-npz-test-{}.npz", std::process::id()));
        let arrays = vec![
            (
                "a:0".to_string(),
                Array::new(ElementType::I8, vec![2], vec![1, 255]).unwrap(),
            ),
            (
                "b".to_string(),
                Array::new(ElementType::F32, vec![1], 1.5f32.to_le_bytes().to_vec()).unwrap(),
            ),
        ];
        write_npz(&path, &arrays).unwrap();
        let back = read_npz(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(back.unwrap(), arrays);
    }
}
