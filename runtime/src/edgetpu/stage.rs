//! [`EdgeTpuStage`]: one compiled segment running on its own Edge TPU through the TFLite C API.

use super::delegate::Delegate;
use super::device::EdgeTpuDevice;
use super::error::EdgeTpuError;
use super::error_log::ErrorLog;
use super::ffi::{TfLiteInterpreter, TFLITE_OK};
use super::libraries::TfLiteLib;
use super::segment::SegmentModel;
use super::tensor::TensorInfo;
use std::ptr::NonNull;
use std::sync::Arc;

/// A TFLite interpreter with everything it points into: the delegate (and so the device lock),
/// the model and its bytes, and the error log its reporter writes to. `Drop` deletes the
/// interpreter before any of them can go.
struct StageInterpreter {
    raw: NonNull<TfLiteInterpreter>,
    lib: Arc<TfLiteLib>,
    delegate: Delegate,
    _model: SegmentModel,
    log: Box<ErrorLog>,
}

impl Drop for StageInterpreter {
    fn drop(&mut self) {
        // SAFETY: `raw` came from TfLiteInterpreterCreate and is deleted once, while the
        // delegate, model and log it uses are still alive (fields drop after this).
        unsafe { (self.lib.interpreter_delete)(self.raw.as_ptr()) };
    }
}

/// Whether a message says the delegate left a custom op to the CPU, which has no kernel for it.
fn is_unclaimed_custom_op(message: &str) -> bool {
    message.contains("unresolved custom op") || message.contains("edgetpu-custom-op) failed")
}

/// One pipeline stage on one Edge TPU.
///
/// `Send` (not `Sync`): a TFLite interpreter has no thread affinity and may be used from any
/// thread as long as one thread at a time calls into it, which `&mut self` on [`run`] guarantees;
/// libedgetpu serialises requests to a device with its own mutex, and the stage owns its device.
///
/// [`run`]: EdgeTpuStage::run
pub struct EdgeTpuStage {
    index: usize,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    interp: StageInterpreter,
}

// SAFETY: see the type's docs: the interpreter and delegate are only reached through `&mut self`
// (or `&self` accessors that read Rust-side copies), and neither is tied to the creating thread.
unsafe impl Send for EdgeTpuStage {}

impl EdgeTpuStage {
    /// Builds the interpreter for `model` with `delegate` (one thread), allocates its tensors and,
    /// when `warm_up`, runs it once on zeroed inputs (the first run loads the parameters onto
    /// the TPU).
    pub(crate) fn new(
        lib: Arc<TfLiteLib>,
        index: usize,
        model: SegmentModel,
        delegate: Delegate,
        warm_up: bool,
    ) -> Result<Self, EdgeTpuError> {
        let log = Box::new(ErrorLog::default());
        // SAFETY: plain constructor.
        let options = unsafe { (lib.options_create)() };
        if options.is_null() {
            return Err(EdgeTpuError::StageSetupFailed {
                stage: index,
                step: "creating the interpreter options",
                messages: Vec::new(),
            });
        }
        // SAFETY: `options` is live until deleted below; the log is boxed (stable address) and
        // moves into the StageInterpreter that outlives the interpreter; the delegate and model
        // likewise. The options may be deleted right after TfLiteInterpreterCreate.
        let raw = unsafe {
            (lib.options_set_num_threads)(options, 1);
            (lib.options_add_delegate)(options, delegate.as_ptr());
            log.install(&lib, options);
            let raw = (lib.interpreter_create)(model.as_ptr(), options);
            (lib.options_delete)(options);
            raw
        };
        let Some(raw) = NonNull::new(raw) else {
            let messages = log.take();
            if messages.iter().any(|m| is_unclaimed_custom_op(m)) {
                return Err(EdgeTpuError::DelegateDidNotClaim {
                    stage: index,
                    messages,
                });
            }
            return Err(EdgeTpuError::StageSetupFailed {
                stage: index,
                step: "creating the interpreter (applying the Edge TPU delegate)",
                messages,
            });
        };
        let interp = StageInterpreter {
            raw,
            lib,
            delegate,
            _model: model,
            log,
        };
        // SAFETY: the interpreter is live.
        if unsafe { (interp.lib.allocate_tensors)(interp.raw.as_ptr()) } != TFLITE_OK {
            let messages = interp.log.take();
            if messages.iter().any(|m| is_unclaimed_custom_op(m)) {
                return Err(EdgeTpuError::DelegateDidNotClaim {
                    stage: index,
                    messages,
                });
            }
            return Err(EdgeTpuError::StageSetupFailed {
                stage: index,
                step: "allocating tensors",
                messages,
            });
        }
        let lib = &interp.lib;
        let ptr = interp.raw.as_ptr();
        // SAFETY: the interpreter is live and its tensors allocated; indices are below the
        // counts TFLite reports (the C API does not bounds-check them).
        let (inputs, outputs) = unsafe {
            let n_in = (lib.input_count)(ptr).max(0);
            let n_out = (lib.output_count)(ptr).max(0);
            (
                (0..n_in)
                    .map(|i| TensorInfo::read(lib, (lib.input_tensor)(ptr, i)))
                    .collect::<Vec<_>>(),
                (0..n_out)
                    .map(|i| TensorInfo::read(lib, (lib.output_tensor)(ptr, i)))
                    .collect::<Vec<_>>(),
            )
        };
        let mut stage = EdgeTpuStage {
            index,
            inputs,
            outputs,
            interp,
        };
        if warm_up {
            stage.warm_up()?;
        }
        Ok(stage)
    }

    fn warm_up(&mut self) -> Result<(), EdgeTpuError> {
        let ins: Vec<Vec<u8>> = self
            .inputs
            .iter()
            .map(|t| vec![0u8; t.bytes.0 as usize])
            .collect();
        let mut outs: Vec<Vec<u8>> = self
            .outputs
            .iter()
            .map(|t| vec![0u8; t.bytes.0 as usize])
            .collect();
        let in_refs: Vec<&[u8]> = ins.iter().map(Vec::as_slice).collect();
        let mut out_refs: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        self.run(&in_refs, &mut out_refs).map_err(|e| match e {
            EdgeTpuError::InvokeFailed { messages, .. } => EdgeTpuError::StageSetupFailed {
                stage: self.index,
                step: "warm-up invoke",
                messages,
            },
            other => other,
        })
    }

    /// Runs one inference: `inputs` in the segment's input order, `outputs` in its output order,
    /// each buffer exactly its tensor's byte size.
    pub fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), EdgeTpuError> {
        self.check_buffers("input", &self.inputs, inputs.iter().map(|b| b.len()))?;
        self.check_buffers("output", &self.outputs, outputs.iter().map(|b| b.len()))?;
        let lib = &self.interp.lib;
        let ptr = self.interp.raw.as_ptr();
        for (i, buf) in inputs.iter().enumerate() {
            // SAFETY: `i` is below the input count; the buffer is readable for its length, which
            // equals the tensor's byte size (checked above; TFLite checks it again).
            let status = unsafe {
                (lib.tensor_copy_from_buffer)(
                    (lib.input_tensor)(ptr, i as i32),
                    buf.as_ptr().cast(),
                    buf.len(),
                )
            };
            if status != TFLITE_OK {
                return Err(self.invoke_failed());
            }
        }
        // SAFETY: the interpreter is live, its tensors allocated, and only this `&mut self`
        // call is using it.
        if unsafe { (lib.invoke)(ptr) } != TFLITE_OK {
            return Err(self.invoke_failed());
        }
        for (i, buf) in outputs.iter_mut().enumerate() {
            // SAFETY: `i` is below the output count; the buffer is writable for its length,
            // which equals the tensor's byte size.
            let status = unsafe {
                (lib.tensor_copy_to_buffer)(
                    (lib.output_tensor)(ptr, i as i32),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if status != TFLITE_OK {
                return Err(self.invoke_failed());
            }
        }
        Ok(())
    }

    fn check_buffers(
        &self,
        what: &'static str,
        tensors: &[TensorInfo],
        lens: impl ExactSizeIterator<Item = usize>,
    ) -> Result<(), EdgeTpuError> {
        if lens.len() != tensors.len() {
            return Err(EdgeTpuError::TensorCountMismatch {
                stage: self.index,
                what,
                expected: tensors.len(),
                given: lens.len(),
            });
        }
        for (index, (t, len)) in tensors.iter().zip(lens).enumerate() {
            if t.bytes.0 != len as u64 {
                return Err(EdgeTpuError::TensorSizeMismatch {
                    stage: self.index,
                    what,
                    index,
                    name: t.name.clone(),
                    dtype: t.dtype.name(),
                    expected: t.bytes.0,
                    given: len,
                });
            }
        }
        Ok(())
    }

    fn invoke_failed(&self) -> EdgeTpuError {
        EdgeTpuError::InvokeFailed {
            stage: self.index,
            device: self.device().clone(),
            messages: self.interp.log.take(),
        }
    }

    /// The stage's position in the pipeline.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The Edge TPU it runs on.
    pub fn device(&self) -> &EdgeTpuDevice {
        self.interp.delegate.device()
    }

    /// Its input tensors, in the order [`run`](Self::run) takes them.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// Its output tensors, in the order [`run`](Self::run) fills them.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }
}

impl std::fmt::Debug for EdgeTpuStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeTpuStage")
            .field("index", &self.index)
            .field("device", self.device())
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}
