//! The DarwiNN executable package stored in custom option `"4"` (facts §5).
//!
//! Laid out like the real ones: a `Package` flatbuffer with file identifier `DWN1` whose
//! `serialized_multi_executable` starts at byte 4096 and whose length is a multiple of 4096; the
//! MultiExecutable holds a `PARAMETER_CACHING` executable named "Unknown" and an
//! `EXECUTION_ONLY` executable named "model" (holding the input and output layers), both for
//! chip "beagle", batch size 1, with one shared `parameter_caching_token`. There are no
//! instruction bitstreams and no parameters (the private segment model carries the weights, so
//! the file is not twice their size): nothing can run this package on a real Edge TPU; the
//! stand-in libedgetpu runs the private segment model instead.
//!
//! Field ids follow libedgetpu's `executable/executable.fbs` (a field's vtable slot is
//! `4 + 2 * id`).

use flatbuffers::{FlatBufferBuilder, Push, PushAlignment, WIPOffset};
use tpupipe_runtime::{ElementType, Quantization};

/// The package file identifier.
pub const PACKAGE_IDENTIFIER: &str = "DWN1";

/// The host page size the package is aligned and padded to.
pub const PAGE: usize = 4096;

/// One input or output layer of the executable.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    /// The TFLite tensor name.
    pub name: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
    /// Its element type.
    pub dtype: ElementType,
    /// Its quantization (first scale and zero point are recorded).
    pub quantization: Option<Quantization>,
}

/// What goes into one package.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSpec {
    /// `min_runtime_version`.
    pub min_runtime_version: u32,
    /// `compiler_version` (`cl/` for v16).
    pub compiler_version: String,
    /// Shared by co-compiled models and the segments of one compile.
    pub parameter_caching_token: u64,
    /// Input layers, in custom-op input order.
    pub inputs: Vec<LayerInfo>,
    /// Output layers, in custom-op output order.
    pub outputs: Vec<LayerInfo>,
}

/// Raises the builder's minimum alignment to a page so the finished buffer is page-sized.
struct PageAlign;

impl Push for PageAlign {
    type Output = PageAlign;

    // SAFETY: pushes zero bytes (size 0), so it never writes into `dst`.
    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}

    fn size() -> usize {
        0
    }

    fn alignment() -> PushAlignment {
        PushAlignment::new(PAGE)
    }
}

const fn slot(id: u16) -> flatbuffers::VOffsetT {
    4 + 2 * id
}

// DataType values of executable.fbs.
const FIXED_POINT8: i16 = 0;
const SIGNED_FIXED_POINT8: i16 = 8;
const SIGNED_FIXED_POINT16: i16 = 9;
const SINGLE: i16 = 5;
// ExecutableType values.
const PARAMETER_CACHING: i16 = 1;
const EXECUTION_ONLY: i16 = 2;

fn data_type(t: ElementType) -> i16 {
    match t {
        ElementType::U8 => FIXED_POINT8,
        ElementType::I8 => SIGNED_FIXED_POINT8,
        ElementType::I16 => SIGNED_FIXED_POINT16,
        _ => SINGLE,
    }
}

fn layer<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    l: &LayerInfo,
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let name = fbb.create_string(&l.name);
    let (zero_point, scale) = l.quantization.as_ref().map_or((0, 0.0), |q| {
        (
            q.zero_point.first().copied().unwrap_or(0) as i32,
            q.scale[0],
        )
    });
    let numerics = {
        let t = fbb.start_table();
        fbb.push_slot::<i32>(slot(0), zero_point, 0);
        fbb.push_slot::<f32>(slot(1), scale, 0.0);
        fbb.end_table(t)
    };
    let dims = &l.shape;
    let z = dims.last().copied().unwrap_or(1);
    let x = if dims.len() >= 2 {
        dims[dims.len() - 2]
    } else {
        1
    };
    let y: usize = if dims.len() >= 3 {
        dims[..dims.len() - 2].iter().product()
    } else {
        1
    };
    let size = (x * y * z * l.dtype.size_bytes().unwrap_or(1)) as i32;
    let t = fbb.start_table();
    fbb.push_slot_always(slot(0), name);
    fbb.push_slot::<i32>(slot(1), size, 0);
    fbb.push_slot::<i32>(slot(2), y as i32, 0);
    fbb.push_slot::<i32>(slot(3), x as i32, 0);
    fbb.push_slot::<i32>(slot(4), z as i32, 0);
    fbb.push_slot_always(slot(5), numerics);
    fbb.push_slot_always::<i16>(slot(6), data_type(l.dtype));
    fbb.end_table(t)
}

fn executable(spec: &PackageSpec, kind: i16) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let name = if kind == PARAMETER_CACHING {
        "Unknown"
    } else {
        "model"
    };
    let (inputs, outputs) = if kind == EXECUTION_ONLY {
        let i: Vec<_> = spec.inputs.iter().map(|l| layer(&mut fbb, l)).collect();
        let o: Vec<_> = spec.outputs.iter().map(|l| layer(&mut fbb, l)).collect();
        (Some(fbb.create_vector(&i)), Some(fbb.create_vector(&o)))
    } else {
        (None, None)
    };
    let name = fbb.create_string(name);
    let chip = fbb.create_string("beagle");
    let t = fbb.start_table();
    fbb.push_slot_always(slot(1), name);
    fbb.push_slot::<i32>(slot(3), 1, 0);
    if let Some(i) = inputs {
        fbb.push_slot_always(slot(8), i);
    }
    if let Some(o) = outputs {
        fbb.push_slot_always(slot(9), o);
    }
    fbb.push_slot_always(slot(10), chip);
    fbb.push_slot_always::<i16>(slot(13), kind);
    fbb.push_slot_always::<u64>(slot(14), spec.parameter_caching_token);
    let root = fbb.end_table(t);
    fbb.finish_minimal(root);
    fbb.finished_data().to_vec()
}

fn multi_executable(spec: &PackageSpec) -> Vec<u8> {
    let exes = [
        executable(spec, PARAMETER_CACHING),
        executable(spec, EXECUTION_ONLY),
    ];
    let mut fbb = FlatBufferBuilder::new();
    let strings: Vec<_> = exes.iter().map(|e| fbb.create_byte_string(e)).collect();
    let list = fbb.create_vector(&strings);
    let t = fbb.start_table();
    fbb.push_slot_always(slot(0), list);
    let root = fbb.end_table(t);
    fbb.finish_minimal(root);
    fbb.finished_data().to_vec()
}

/// Writes the package.
pub fn package(spec: &PackageSpec) -> Vec<u8> {
    let multi = multi_executable(spec);
    let mut fbb = FlatBufferBuilder::with_capacity(multi.len() + 2 * PAGE);
    // The MultiExecutable first, so it ends up at the end, page-aligned.
    fbb.push(PageAlign);
    let used = fbb.unfinished_data().len();
    let pad = (PAGE - (used + multi.len()) % PAGE) % PAGE;
    for _ in 0..pad {
        fbb.push(0u8);
    }
    let multi = fbb.create_vector(&multi);
    let signature = fbb.create_vector::<u8>(&[]);
    let compiler_version = fbb.create_string(&spec.compiler_version);
    let model_identifier = fbb.create_string("");
    let t = fbb.start_table();
    fbb.push_slot_always::<i32>(slot(0), spec.min_runtime_version as i32);
    fbb.push_slot_always(slot(1), multi);
    fbb.push_slot_always(slot(2), signature);
    fbb.push_slot_always::<i32>(slot(3), 0);
    fbb.push_slot_always(slot(4), compiler_version);
    fbb.push_slot_always::<i32>(slot(5), 0);
    fbb.push_slot_always(slot(7), model_identifier);
    let root = fbb.end_table(t);
    fbb.finish(root, Some(PACKAGE_IDENTIFIER));
    fbb.finished_data().to_vec()
}

/// A few fields read back from a package (for tests and checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFacts {
    /// `min_runtime_version`.
    pub min_runtime_version: i32,
    /// `compiler_version`.
    pub compiler_version: String,
    /// Byte offset of the serialized MultiExecutable in the package.
    pub multi_executable_offset: usize,
    /// Its length.
    pub multi_executable_len: usize,
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Reads the package fields of [`PackageFacts`] by hand (no generated code for this schema);
/// `None` for bytes that are not a well-formed package.
pub fn read_package(b: &[u8]) -> Option<PackageFacts> {
    if b.get(4..8)? != PACKAGE_IDENTIFIER.as_bytes() {
        return None;
    }
    let table = read_u32(b, 0)? as usize;
    let vtable = table
        .checked_sub(i32::from_le_bytes(b.get(table..table + 4)?.try_into().ok()?) as usize)?;
    let vt_len = read_u16(b, vtable)? as usize;
    let field = |id: u16| -> Option<usize> {
        let at = slot(id) as usize;
        if at + 2 > vt_len {
            return None;
        }
        let off = read_u16(b, vtable + at)? as usize;
        (off != 0).then_some(table + off)
    };
    let min_runtime_version = field(0).and_then(|p| read_u32(b, p)).unwrap_or(0) as i32;
    let vector = |p: usize| -> Option<(usize, usize)> {
        let start = p + read_u32(b, p)? as usize;
        let len = read_u32(b, start)? as usize;
        b.get(start + 4..start + 4 + len)?;
        Some((start + 4, len))
    };
    let (multi_executable_offset, multi_executable_len) = vector(field(1)?)?;
    let compiler_version = match field(4) {
        Some(p) => {
            let (s, l) = vector(p)?;
            String::from_utf8(b[s..s + l].to_vec()).ok()?
        }
        None => String::new(),
    };
    Some(PackageFacts {
        min_runtime_version,
        compiler_version,
        multi_executable_offset,
        multi_executable_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_is_page_aligned_and_reads_back() {
        let spec = PackageSpec {
            min_runtime_version: 14,
            compiler_version: "cl/".into(),
            parameter_caching_token: 42,
            inputs: vec![LayerInfo {
                name: "in".into(),
                shape: vec![1, 8, 8, 3],
                dtype: ElementType::U8,
                quantization: None,
            }],
            outputs: vec![],
        };
        let p = package(&spec);
        assert_eq!(p.len() % PAGE, 0);
        assert_eq!(&p[4..8], b"DWN1");
        let facts = read_package(&p).unwrap();
        assert_eq!(facts.min_runtime_version, 14);
        assert_eq!(facts.compiler_version, "cl/");
        assert_eq!(facts.multi_executable_offset % PAGE, 0);
        assert!(facts.multi_executable_len > 0);
    }
}
