//! A compiled segment (`*_edgetpu.tflite`) loaded into TFLite, with the buffer it was built from,
//! and the check that it runs entirely on the Edge TPU.

use super::error::EdgeTpuError;
use super::ffi::TfLiteModel;
use super::libraries::TfLiteLib;
use crate::model::{ModelView, OpKind, EDGETPU_CUSTOM_CODE};
use std::ptr::NonNull;
use std::sync::Arc;

/// Checks that `bytes` is an Edge TPU segment: at least one `edgetpu-custom-op` and, unless
/// `allow_cpu_ops`, nothing else (ops left on the CPU would run there, slowly).
pub fn check_segment(stage: usize, bytes: &[u8], allow_cpu_ops: bool) -> Result<(), EdgeTpuError> {
    let view = ModelView::parse(bytes).map_err(|e| EdgeTpuError::InvalidSegment {
        stage,
        reason: e.to_string(),
    })?;
    if !view.is_edgetpu_compiled() {
        return Err(EdgeTpuError::NotCompiled { stage });
    }
    let mut cpu_ops = Vec::new();
    for sg in 0..view.subgraph_count() {
        let sg = view.subgraph(crate::ids::SubgraphIndex(sg as u32));
        for op in sg.operators() {
            if !matches!(op.kind(), OpKind::Custom(c) if c == EDGETPU_CUSTOM_CODE) {
                cpu_ops.push(format!("{} {}", op.index(), op.kind()));
            }
        }
    }
    if !cpu_ops.is_empty() && !allow_cpu_ops {
        return Err(EdgeTpuError::CpuOpsInSegment { stage, cpu_ops });
    }
    Ok(())
}

/// A `TfLiteModel` and the bytes it reads. TFLite does not copy the buffer, so the model owns
/// it and deletes the `TfLiteModel` before the bytes go; interpreters hold the `SegmentModel`
/// by value, so the bytes outlive them too.
pub struct SegmentModel {
    raw: NonNull<TfLiteModel>,
    lib: Arc<TfLiteLib>,
    // Read by TFLite through `raw`; never touched again, never moved (boxed).
    _bytes: Box<[u8]>,
}

impl SegmentModel {
    /// `TfLiteModelCreate` over `bytes` (TFLite verifies the flatbuffer).
    pub fn load(lib: Arc<TfLiteLib>, stage: usize, bytes: Vec<u8>) -> Result<Self, EdgeTpuError> {
        let bytes = bytes.into_boxed_slice();
        // SAFETY: the pointer and length describe `bytes`, which the returned value owns and
        // never changes, and which is dropped only after TfLiteModelDelete (see Drop).
        let raw = unsafe { (lib.model_create)(bytes.as_ptr().cast(), bytes.len()) };
        let raw = NonNull::new(raw).ok_or_else(|| EdgeTpuError::InvalidSegment {
            stage,
            reason: "TfLiteModelCreate refused it".to_string(),
        })?;
        Ok(SegmentModel {
            raw,
            lib,
            _bytes: bytes,
        })
    }

    pub(crate) fn as_ptr(&self) -> *const TfLiteModel {
        self.raw.as_ptr()
    }
}

impl Drop for SegmentModel {
    fn drop(&mut self) {
        // SAFETY: `raw` came from TfLiteModelCreate and is deleted once; the bytes are still
        // alive (fields drop after this).
        unsafe { (self.lib.model_delete)(self.raw.as_ptr()) };
    }
}
