//! The model's input and output tensors as the generated code types them: name, Rust names,
//! element type, shape and per-tensor quantization.

use super::idents::{field_name, type_name, UniqueNames};
use super::CodegenError;
use tpupipe_runtime::{ElementType, ModelView, TensorView};

/// One model input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor's name in the plan (and the segment files).
    pub name: String,
    /// The field naming it in the generated inputs or outputs struct.
    pub field: String,
    /// The generated type holding it.
    pub type_name: String,
    /// Its element type.
    pub dtype: ElementType,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Scale and zero point when quantized per tensor.
    pub quantization: Option<(f32, i64)>,
}

/// The model's inputs and outputs, in model order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTensors {
    /// The inputs.
    pub inputs: Vec<TensorInfo>,
    /// The outputs.
    pub outputs: Vec<TensorInfo>,
}

impl ModelTensors {
    /// Reads the model's main subgraph inputs and outputs, named as the plan names them
    /// (`plan_inputs`, `plan_outputs`, in model order), with Rust names unique within the
    /// generated struct (`struct_name` prefixes the type names).
    pub fn read(
        view: &ModelView<'_>,
        plan_inputs: &[String],
        plan_outputs: &[String],
        struct_name: &str,
    ) -> Result<ModelTensors, CodegenError> {
        let sg = view.main_subgraph();
        let ins: Vec<TensorView<'_>> = sg.inputs().into_iter().map(|t| sg.tensor(t)).collect();
        let outs: Vec<TensorView<'_>> = sg.outputs().into_iter().map(|t| sg.tensor(t)).collect();
        if ins.len() != plan_inputs.len() || outs.len() != plan_outputs.len() {
            return Err(CodegenError::PlanMismatch {
                why: format!(
                    "the model has {} inputs and {} outputs, the plan {} and {}",
                    ins.len(),
                    outs.len(),
                    plan_inputs.len(),
                    plan_outputs.len()
                ),
            });
        }
        let mut types = UniqueNames::new();
        for reserved in [
            struct_name.to_string(),
            format!("{struct_name}Inputs"),
            format!("{struct_name}Outputs"),
        ] {
            types.reserve(&reserved);
        }
        let mut side = |tensors: &[TensorView<'_>], names: &[String]| {
            let mut fields = UniqueNames::new();
            tensors
                .iter()
                .zip(names)
                .map(|(t, name)| TensorInfo {
                    name: name.clone(),
                    field: fields.unique(field_name(name), "_"),
                    type_name: types.unique(format!("{struct_name}{}", type_name(name)), ""),
                    dtype: t.dtype(),
                    shape: t.dims(),
                    quantization: t.quantization().and_then(|q| q.per_tensor()),
                })
                .collect::<Vec<_>>()
        };
        let inputs = side(&ins, plan_inputs);
        let outputs = side(&outs, plan_outputs);
        Ok(ModelTensors { inputs, outputs })
    }
}
