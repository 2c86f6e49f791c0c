//! Structural checks run once by [`ModelView::parse`], after the flatbuffers verifier.

use super::{ModelError, ModelView, MAX_TENSOR_BYTES};
use crate::dtype::ElementType;

fn out_of_range(what: String, index: i64, len: usize) -> ModelError {
    ModelError::IndexOutOfRange { what, index, len }
}

/// Checks every cross-reference of the model.
pub(super) fn check_model(view: &ModelView<'_>) -> Result<(), ModelError> {
    let model = view.raw();
    let subgraphs = model
        .subgraphs()
        .ok_or_else(|| ModelError::Invalid("the model has no subgraphs".into()))?;
    if subgraphs.is_empty() {
        return Err(ModelError::Invalid("the model has no subgraphs".into()));
    }
    let n_buffers = view.buffer_count();
    let n_codes = view.opcode_count();

    for (sg_index, sg) in subgraphs.iter().enumerate() {
        let tensors = sg.tensors();
        let n_tensors = tensors.map_or(0, |t| t.len());

        if let Some(tensors) = tensors {
            for (ti, t) in tensors.iter().enumerate() {
                let name = t.name().unwrap_or("");
                let buffer = t.buffer() as usize;
                if buffer >= n_buffers.max(1) && !(buffer == 0 && n_buffers == 0) {
                    return Err(out_of_range(
                        format!("subgraph {sg_index} tensor {ti} ('{name}') buffer"),
                        buffer as i64,
                        n_buffers,
                    ));
                }
                let shape: Vec<i32> = t.shape().map(|v| v.iter().collect()).unwrap_or_default();
                let bad_shape = |detail: String| ModelError::BadShape {
                    tensor: ti as u32,
                    name: name.to_string(),
                    shape: shape.clone(),
                    detail,
                };
                if shape.len() > 16 {
                    return Err(bad_shape(format!("rank {} is above 16", shape.len())));
                }
                if let Some(d) = shape.iter().find(|&&d| d < 0) {
                    return Err(bad_shape(format!("dimension {d} is negative")));
                }
                let dtype = ElementType::from_schema(t.type_());
                let elem = dtype.size_bytes().unwrap_or(1) as u64;
                let mut bytes: u64 = elem;
                for &d in &shape {
                    bytes = bytes
                        .checked_mul(d as u64)
                        .ok_or_else(|| bad_shape("its byte size overflows 64 bits".to_string()))?;
                }
                if bytes > MAX_TENSOR_BYTES {
                    return Err(bad_shape(format!(
                        "{bytes} bytes, more than the {MAX_TENSOR_BYTES} bytes a TFLite tensor can hold"
                    )));
                }
                if let Some(sig) = t.shape_signature() {
                    if sig.len() != shape.len() {
                        return Err(bad_shape(format!(
                            "but its shape signature has rank {}",
                            sig.len()
                        )));
                    }
                }
                if let Some(data) = view.buffer_data(crate::ids::BufferIndex(buffer as u32)) {
                    if dtype.size_bytes().is_some() && data.len() as u64 != bytes {
                        return Err(ModelError::Invalid(format!(
                            "subgraph {sg_index} tensor {ti} ('{name}') of shape {shape:?} and type {dtype} needs {bytes} bytes of constant data but buffer {buffer} holds {}",
                            data.len()
                        )));
                    }
                }
                if let Some(q) = t.quantization() {
                    let n_scale = q.scale().map_or(0, |s| s.len());
                    let n_zp = q.zero_point().map_or(0, |z| z.len());
                    if n_scale > 0 && n_zp != 0 && n_zp != n_scale {
                        return Err(ModelError::Invalid(format!(
                            "subgraph {sg_index} tensor {ti} ('{name}') has {n_scale} quantization scales but {n_zp} zero points"
                        )));
                    }
                    if n_scale > 1 {
                        let axis = q.quantized_dimension();
                        if axis < 0 || axis as usize >= shape.len() {
                            return Err(ModelError::Invalid(format!(
                                "subgraph {sg_index} tensor {ti} ('{name}') is quantized along axis {axis} but has rank {}",
                                shape.len()
                            )));
                        }
                        if shape[axis as usize] as usize != n_scale {
                            return Err(ModelError::Invalid(format!(
                                "subgraph {sg_index} tensor {ti} ('{name}') has {n_scale} per-axis scales for dimension {axis} of size {}",
                                shape[axis as usize]
                            )));
                        }
                    }
                }
            }
        }

        let check_list = |what: &str,
                          list: Option<flatbuffers::Vector<'_, i32>>,
                          allow_absent: bool| {
            if let Some(list) = list {
                for (k, i) in list.iter().enumerate() {
                    if (i < 0 && !(allow_absent && i == -1)) || (i >= 0 && i as usize >= n_tensors)
                    {
                        return Err(out_of_range(
                            format!("subgraph {sg_index} {what} {k}: tensor"),
                            i as i64,
                            n_tensors,
                        ));
                    }
                }
            }
            Ok(())
        };
        check_list("input", sg.inputs(), false)?;
        check_list("output", sg.outputs(), false)?;

        if let Some(ops) = sg.operators() {
            for (oi, op) in ops.iter().enumerate() {
                let code = op.opcode_index() as usize;
                if code >= n_codes {
                    return Err(out_of_range(
                        format!("subgraph {sg_index} op {oi} operator code"),
                        code as i64,
                        n_codes,
                    ));
                }
                check_list(&format!("op {oi} input"), op.inputs(), true)?;
                check_list(&format!("op {oi} output"), op.outputs(), false)?;
                check_list(&format!("op {oi} intermediate"), op.intermediates(), true)?;
            }
        }
    }
    Ok(())
}
