//! What a model must be for tpupipe to split it: not already compiled for the Edge TPU, one
//! subgraph, static shapes.

use tpupipe_runtime::model::EDGETPU_CUSTOM_CODE;
use tpupipe_runtime::{ModelError, ModelView};

/// Checks what splitting needs: not already compiled, one subgraph, static shapes.
///
/// A dynamic leading (batch) dimension declared as 1 (a Keras model converted without a fixed
/// batch size) counts as static: the segments are written with batch 1. Any other dynamic
/// dimension is refused (see [`tpupipe_runtime::TensorView::has_unresolved_dynamic_dims`]).
pub fn ensure_splittable(model: &ModelView<'_>) -> Result<(), ModelError> {
    if model.is_edgetpu_compiled() {
        return Err(ModelError::AlreadyCompiled(EDGETPU_CUSTOM_CODE.to_string()));
    }
    if model.subgraph_count() != 1 {
        return Err(ModelError::MultipleSubgraphs(model.subgraph_count()));
    }
    for t in model.main_subgraph().tensors() {
        if let Some(signature) = t.shape_signature() {
            if t.has_unresolved_dynamic_dims() {
                return Err(ModelError::DynamicShape {
                    tensor: t.id().0,
                    name: t.name().to_string(),
                    signature,
                });
            }
        }
    }
    Ok(())
}
