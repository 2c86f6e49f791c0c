//! A reader for the FlexBuffer maps that hold custom operators' options.
//!
//! TFLite custom operators (`TFLite_Detection_PostProcess`, ...) store their options as a
//! FlexBuffer map (`custom_options_format = FLEXBUFFERS`) and read them with the `flexbuffers`
//! C++ library: `GetRoot(buf).AsMap()[key].AsInt32()` and so on. This module reads the same
//! layout and converts values the way that library does (`AsInt64`, `AsDouble`, `AsBool`), but
//! every read is bounds-checked: a truncated or corrupt buffer gives a [`FlexError`], never a
//! panic.
//!
//! Layout (all integers little-endian): the buffer ends with the root's byte width `w`, before it
//! the root's packed type, before that the root value (`w` bytes). A map value is an unsigned
//! offset back to its values; before the values sit the keys vector's offset, the keys' byte
//! width and the element count (each as wide as the values); after the values, one packed type
//! byte per value. A packed type is `type << 2 | log2(byte width)`. Keys are sorted, and looked up
//! by binary search as the C++ library does.

use thiserror::Error;

/// A malformed FlexBuffer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed FlexBuffer options: {0}")]
pub struct FlexError(String);

fn err<T>(what: impl Into<String>) -> Result<T, FlexError> {
    Err(FlexError(what.into()))
}

// FlexBuffer value types (flexbuffers.h `Type`).
const FBT_NULL: u8 = 0;
const FBT_INT: u8 = 1;
const FBT_UINT: u8 = 2;
const FBT_FLOAT: u8 = 3;
const FBT_INDIRECT_INT: u8 = 6;
const FBT_INDIRECT_UINT: u8 = 7;
const FBT_INDIRECT_FLOAT: u8 = 8;
const FBT_MAP: u8 = 9;
const FBT_BOOL: u8 = 26;

/// A scalar read from a map, converted as the C++ `flexbuffers::Reference` accessors convert.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FlexScalar {
    /// A signed integer (`FBT_INT`, `FBT_INDIRECT_INT`).
    Int(i64),
    /// An unsigned integer (`FBT_UINT`, `FBT_INDIRECT_UINT`).
    UInt(u64),
    /// A float (`FBT_FLOAT`, `FBT_INDIRECT_FLOAT`), widened to `f64`.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl FlexScalar {
    /// `Reference::AsDouble`.
    pub fn as_f64(self) -> f64 {
        match self {
            FlexScalar::Int(v) => v as f64,
            FlexScalar::UInt(v) => v as f64,
            FlexScalar::Float(v) => v,
            FlexScalar::Bool(b) => u8::from(b) as f64,
        }
    }

    /// `Reference::AsFloat`: the double rounded to `f32`.
    pub fn as_f32(self) -> f32 {
        self.as_f64() as f32
    }

    /// `Reference::AsBool`: non-zero is true.
    pub fn as_bool(self) -> bool {
        match self {
            FlexScalar::Int(v) => v != 0,
            FlexScalar::UInt(v) => v != 0,
            FlexScalar::Float(v) => v != 0.0,
            FlexScalar::Bool(b) => b,
        }
    }

    /// `Reference::AsInt64` narrowed to `i32`, or `None` where the C++ conversion would wrap or
    /// be undefined (a value outside `i32`, a NaN). Floats truncate toward zero, as
    /// `static_cast<int64_t>` does.
    pub fn as_i32(self) -> Option<i32> {
        match self {
            FlexScalar::Int(v) => i32::try_from(v).ok(),
            FlexScalar::UInt(v) => i32::try_from(v).ok(),
            FlexScalar::Float(v) => {
                let t = v.trunc();
                (t >= i32::MIN as f64 && t <= i32::MAX as f64).then_some(t as i32)
            }
            FlexScalar::Bool(b) => Some(i32::from(b)),
        }
    }
}

/// What a key of a map holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FlexValue {
    /// The key is absent, or its value is `null` (the C++ `IsNull()`).
    Null,
    /// A number or boolean.
    Scalar(FlexScalar),
    /// Anything else (a string, vector, map or blob), by its FlexBuffer type code.
    Other(u8),
}

/// A FlexBuffer map at the root of a buffer.
#[derive(Clone, Copy, Debug)]
pub struct FlexMap<'a> {
    buf: &'a [u8],
    /// Start of the values.
    values: usize,
    /// Byte width of each value.
    width: usize,
    /// Number of values.
    len: usize,
    /// Start of the keys vector.
    keys: usize,
    /// Byte width of each key offset.
    keys_width: usize,
    /// Number of keys.
    keys_len: usize,
}

fn byte_width(log2: u8) -> usize {
    1usize << (log2 & 3)
}

fn read_uint(buf: &[u8], pos: usize, width: usize) -> Result<u64, FlexError> {
    let Some(bytes) = pos.checked_add(width).and_then(|end| buf.get(pos..end)) else {
        return err(format!(
            "a {width}-byte value at offset {pos} lies beyond the end ({} bytes)",
            buf.len()
        ));
    };
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(bytes);
    Ok(u64::from_le_bytes(le))
}

fn read_int(buf: &[u8], pos: usize, width: usize) -> Result<i64, FlexError> {
    let raw = read_uint(buf, pos, width)?;
    let shift = 64 - 8 * width as u32;
    Ok(((raw << shift) as i64) >> shift)
}

fn read_float(buf: &[u8], pos: usize, width: usize) -> Result<f64, FlexError> {
    let raw = read_uint(buf, pos, width)?;
    match width {
        4 => Ok(f32::from_bits(raw as u32) as f64),
        8 => Ok(f64::from_bits(raw)),
        _ => err(format!("a float of {width} bytes at offset {pos}")),
    }
}

/// The position `pos - offset`, where `offset` is read at `pos`.
fn indirect(buf: &[u8], pos: usize, width: usize) -> Result<usize, FlexError> {
    let off = read_uint(buf, pos, width)?;
    usize::try_from(off)
        .ok()
        .and_then(|o| pos.checked_sub(o))
        .map_or_else(
            || err(format!("offset {off} at {pos} points before the buffer")),
            Ok,
        )
}

fn checked_width(w: usize, what: &str) -> Result<usize, FlexError> {
    if matches!(w, 1 | 2 | 4 | 8) {
        Ok(w)
    } else {
        err(format!("{what} byte width {w} is not 1, 2, 4 or 8"))
    }
}

impl<'a> FlexMap<'a> {
    /// Reads the root of `buf`, which must be a map.
    pub fn parse(buf: &'a [u8]) -> Result<Self, FlexError> {
        if buf.len() < 3 {
            return err(format!("{} bytes is too short", buf.len()));
        }
        let root_width = checked_width(buf[buf.len() - 1] as usize, "root")?;
        let packed = buf[buf.len() - 2];
        if packed >> 2 != FBT_MAP {
            return err(format!("the root has type {}, not a map", packed >> 2));
        }
        let Some(root) = (buf.len() - 2).checked_sub(root_width) else {
            return err("the root value lies before the buffer");
        };
        let width = byte_width(packed);
        let values = indirect(buf, root, root_width)?;
        let header = |k: usize| {
            values
                .checked_sub(k * width)
                .map_or_else(|| err("the map header lies before the buffer"), Ok)
        };
        let len = usize::try_from(read_uint(buf, header(1)?, width)?)
            .map_err(|_| FlexError("map size does not fit in memory".into()))?;
        let keys_width = checked_width(
            usize::try_from(read_uint(buf, header(2)?, width)?).unwrap_or(0),
            "keys",
        )?;
        let keys = indirect(buf, header(3)?, width)?;
        let Some(keys_size_pos) = keys.checked_sub(keys_width) else {
            return err("the keys vector's size lies before the buffer");
        };
        let keys_len = usize::try_from(read_uint(buf, keys_size_pos, keys_width)?)
            .map_err(|_| FlexError("keys count does not fit in memory".into()))?;
        // The values, their type bytes and the key offsets must all lie inside the buffer.
        let values_end = len
            .checked_mul(width)
            .and_then(|n| n.checked_add(values))
            .and_then(|n| n.checked_add(len));
        if values_end.map_or(true, |end| end > buf.len()) {
            return err(format!("a map of {len} values runs past the end"));
        }
        let keys_end = keys_len
            .checked_mul(keys_width)
            .and_then(|n| n.checked_add(keys));
        if keys_end.map_or(true, |end| end > buf.len()) {
            return err(format!(
                "a keys vector of {keys_len} keys runs past the end"
            ));
        }
        Ok(FlexMap {
            buf,
            values,
            width,
            len,
            keys,
            keys_width,
            keys_len,
        })
    }

    /// The bytes of key `i` (without its terminating NUL).
    fn key(&self, i: usize) -> Result<&'a [u8], FlexError> {
        let pos = self.keys + i * self.keys_width;
        let start = indirect(self.buf, pos, self.keys_width)?;
        let rest = &self.buf[start..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => Ok(&rest[..n]),
            None => err(format!("key {i} has no terminating NUL")),
        }
    }

    /// Every key, in stored order.
    #[cfg(test)]
    pub fn keys(&self) -> Result<Vec<String>, FlexError> {
        (0..self.keys_len)
            .map(|i| self.key(i).map(|k| String::from_utf8_lossy(k).into_owned()))
            .collect()
    }

    /// The value under `key`: a binary search over the sorted keys, as `Map::operator[]` does
    /// (glibc `bsearch` with `strcmp`), so that a map with unsorted or repeated keys resolves to
    /// the same entry as in TFLite.
    pub fn get(&self, key: &str) -> Result<FlexValue, FlexError> {
        let want = key.as_bytes();
        let (mut lo, mut hi) = (0usize, self.keys_len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match want.cmp(self.key(mid)?) {
                std::cmp::Ordering::Less => hi = mid,
                std::cmp::Ordering::Greater => lo = mid + 1,
                std::cmp::Ordering::Equal => return self.value(mid),
            }
        }
        Ok(FlexValue::Null)
    }

    /// Value `i` (`Vector::operator[]`: past the end is null).
    fn value(&self, i: usize) -> Result<FlexValue, FlexError> {
        if i >= self.len {
            return Ok(FlexValue::Null);
        }
        let pos = self.values + i * self.width;
        let packed = self.buf[self.values + self.len * self.width + i];
        let (ty, child) = (packed >> 2, byte_width(packed));
        let w = self.width;
        let b = self.buf;
        let scalar = match ty {
            FBT_NULL => return Ok(FlexValue::Null),
            FBT_INT => FlexScalar::Int(read_int(b, pos, w)?),
            FBT_UINT => FlexScalar::UInt(read_uint(b, pos, w)?),
            FBT_FLOAT => FlexScalar::Float(read_float(b, pos, w)?),
            FBT_BOOL => FlexScalar::Bool(read_uint(b, pos, w)? != 0),
            FBT_INDIRECT_INT => FlexScalar::Int(read_int(b, indirect(b, pos, w)?, child)?),
            FBT_INDIRECT_UINT => FlexScalar::UInt(read_uint(b, indirect(b, pos, w)?, child)?),
            FBT_INDIRECT_FLOAT => FlexScalar::Float(read_float(b, indirect(b, pos, w)?, child)?),
            other => return Ok(FlexValue::Other(other)),
        };
        Ok(FlexValue::Scalar(scalar))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `flatbuffers.flexbuffers.Dumps({'a': 10, 'b': 0.6, 'c': False, 'd': 10.0})` from the Python
    /// `flatbuffers` package: 8-byte values.
    const PY_DUMPS: &str = "610062006300640004090807060000000700000000000000010000000000000004\
        000000000000000a00000000000000333333333333e33f00000000000000000000000000002440070f6b0f242701";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_the_python_builders_map() {
        let buf = hex(PY_DUMPS);
        let m = FlexMap::parse(&buf).unwrap();
        assert_eq!(m.keys().unwrap(), ["a", "b", "c", "d"]);
        assert_eq!(m.get("a").unwrap(), FlexValue::Scalar(FlexScalar::Int(10)));
        assert_eq!(
            m.get("b").unwrap(),
            FlexValue::Scalar(FlexScalar::Float(0.6))
        );
        assert_eq!(
            m.get("c").unwrap(),
            FlexValue::Scalar(FlexScalar::Bool(false))
        );
        assert_eq!(
            m.get("d").unwrap(),
            FlexValue::Scalar(FlexScalar::Float(10.0))
        );
        assert_eq!(m.get("e").unwrap(), FlexValue::Null);
        assert_eq!(m.get("").unwrap(), FlexValue::Null);
    }

    #[test]
    fn reads_narrow_and_indirect_values_of_the_rust_builder() {
        let mut b = flexbuffers::Builder::default();
        let mut m = b.start_map();
        m.push("i8", -3i8);
        m.push("u16", 40000u16);
        m.push("f32", 0.25f32);
        m.push("t", true);
        m.push("s", "text");
        m.push("ii", flexbuffers::IndirectInt(-70000));
        m.push("if", flexbuffers::IndirectFloat(1.5));
        m.end_map();
        let buf = b.view().to_vec();
        let m = FlexMap::parse(&buf).unwrap();
        let scalar = |k: &str| match m.get(k).unwrap() {
            FlexValue::Scalar(s) => s,
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(scalar("i8").as_i32(), Some(-3));
        assert_eq!(scalar("u16").as_i32(), Some(40000));
        assert_eq!(scalar("f32").as_f32(), 0.25);
        assert!(scalar("t").as_bool());
        assert_eq!(scalar("ii").as_i32(), Some(-70000));
        assert_eq!(scalar("if").as_f32(), 1.5);
        assert!(matches!(m.get("s").unwrap(), FlexValue::Other(5)));
        assert_eq!(m.get("missing").unwrap(), FlexValue::Null);
    }

    #[test]
    fn conversions_follow_the_cpp_accessors() {
        assert_eq!(FlexScalar::Float(10.9).as_i32(), Some(10));
        assert_eq!(FlexScalar::Float(-10.9).as_i32(), Some(-10));
        assert_eq!(FlexScalar::Float(f64::NAN).as_i32(), None);
        assert_eq!(FlexScalar::Int(1 << 40).as_i32(), None);
        assert_eq!(FlexScalar::UInt(7).as_i32(), Some(7));
        assert_eq!(FlexScalar::Bool(true).as_i32(), Some(1));
        assert_eq!(FlexScalar::Int(3).as_f32(), 3.0);
        assert_eq!(FlexScalar::Float(0.6).as_f32(), 0.6f32);
        assert!(FlexScalar::Int(-1).as_bool());
        assert!(!FlexScalar::Float(0.0).as_bool());
    }

    #[test]
    fn truncated_and_corrupt_buffers_are_errors_not_panics() {
        let buf = hex(PY_DUMPS);
        for n in 0..buf.len() {
            if let Ok(m) = FlexMap::parse(&buf[..n]) {
                let _ = m.get("a");
                let _ = m.keys();
            }
        }
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[i] ^= 1 << bit;
                if let Ok(m) = FlexMap::parse(&b) {
                    for k in ["a", "b", "c", "d", "zz"] {
                        let _ = m.get(k);
                    }
                    let _ = m.keys();
                }
            }
        }
        assert!(FlexMap::parse(&[]).is_err());
        assert!(
            FlexMap::parse(&[0, 0x04, 1]).is_err(),
            "root is a key, not a map"
        );
    }
}
