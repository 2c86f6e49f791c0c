//! The custom options of the Edge TPU custom op: a FlexBuffer map (libedgetpu
//! `tflite/custom_op_data.cc`, facts §5), plus the stand-in's private key.
//!
//! | key | value |
//! |---|---|
//! | `"1"` | int 0 (version) |
//! | `"4"` | the DWN1 package ([`crate::package`]), as a blob |
//! | `"5"` | int -1 (execution preference) |
//! | `"6"` | `[18]` (chip ids, one per executable) |
//! | `"7"` | `[]` (extra executables) |
//! | [`SEGMENT_KEY`] | blob: a standalone `.tflite` of exactly the replaced operators |
//!
//! The private key is the convention with the stand-in libedgetpu: the blob's subgraph inputs
//! and outputs are exactly the custom op's inputs and outputs, in the same order, with the same
//! names, types, shapes and quantization; the stand-in delegate runs that model.

use flexbuffers::{Blob, Builder, Reader};
use thiserror::Error;

/// The private key holding the replaced operators as a standalone model.
pub const SEGMENT_KEY: &str = "tpupipe_standin_segment";

/// The package key.
pub const PACKAGE_KEY: &str = "4";

/// The chip id v16 writes into key `"6"`.
pub const CHIP_ID: i64 = 18;

/// Builds the custom options map.
pub fn custom_options(package: &[u8], segment_model: &[u8]) -> Vec<u8> {
    let mut b = Builder::default();
    let mut m = b.start_map();
    m.push("1", 0i64);
    m.push(PACKAGE_KEY, Blob(package));
    m.push("5", -1i64);
    let mut chips = m.start_vector("6");
    chips.push(CHIP_ID);
    chips.end_vector();
    let extra = m.start_vector("7");
    extra.end_vector();
    m.push(SEGMENT_KEY, Blob(segment_model));
    m.end_map();
    b.take_buffer()
}

/// A custom options map that does not read as the stand-in expects.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OptionsError {
    /// Not a FlexBuffer map.
    #[error("custom options are not a FlexBuffer map: {0}")]
    NotAMap(String),
    /// A key is missing or has the wrong type.
    #[error("custom option '{0}' is missing or is not a blob")]
    BadKey(String),
}

/// The keys of a custom options map, in stored (sorted) order.
pub fn keys(options: &[u8]) -> Result<Vec<String>, OptionsError> {
    let root = Reader::get_root(options).map_err(|e| OptionsError::NotAMap(e.to_string()))?;
    let map = root
        .get_map()
        .map_err(|e| OptionsError::NotAMap(e.to_string()))?;
    Ok(map.iter_keys().map(str::to_string).collect())
}

/// The FlexBuffer type stored under `key` (the real compiler stores `"4"` as a string of raw
/// bytes; the stand-in writes a blob, which the Rust `flexbuffers` builder can hold without
/// requiring UTF-8).
pub fn value_type(options: &[u8], key: &str) -> Result<flexbuffers::FlexBufferType, OptionsError> {
    let root = Reader::get_root(options).map_err(|e| OptionsError::NotAMap(e.to_string()))?;
    let map = root
        .get_map()
        .map_err(|e| OptionsError::NotAMap(e.to_string()))?;
    map.index(key)
        .map(|v| v.flexbuffer_type())
        .map_err(|_| OptionsError::BadKey(key.to_string()))
}

/// The bytes of the blob stored under `key`.
pub fn bytes_of<'a>(options: &'a [u8], key: &str) -> Result<&'a [u8], OptionsError> {
    let root = Reader::get_root(options).map_err(|e| OptionsError::NotAMap(e.to_string()))?;
    let map = root
        .get_map()
        .map_err(|e| OptionsError::NotAMap(e.to_string()))?;
    map.index(key)
        .and_then(|v| v.get_blob())
        .map(|b| b.0)
        .map_err(|_| OptionsError::BadKey(key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_keys_and_blobs() {
        let o = custom_options(b"DWN1pkg", b"TFL3model");
        assert_eq!(
            keys(&o).unwrap(),
            vec!["1", "4", "5", "6", "7", SEGMENT_KEY]
        );
        assert_eq!(bytes_of(&o, PACKAGE_KEY).unwrap(), b"DWN1pkg");
        assert_eq!(bytes_of(&o, SEGMENT_KEY).unwrap(), b"TFL3model");
        assert!(bytes_of(&o, "5").is_err());
        assert!(keys(b"\x01\x02").is_err());
    }
}
