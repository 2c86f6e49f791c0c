//! View of one operator.

use super::ModelView;
use crate::ids::{OpIndex, TensorId};
use crate::schema::{self, BuiltinOperator};
use std::fmt;

/// What an operator computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind<'a> {
    /// A builtin TFLite operator.
    Builtin(BuiltinOperator),
    /// A custom operator, with its custom code.
    Custom(&'a str),
}

impl<'a> OpKind<'a> {
    /// Decodes an operator code, reading both the deprecated 8-bit field and the 32-bit field
    /// (the effective code is the larger of the two, as TFLite does).
    pub fn from_code(code: &schema::OperatorCode<'a>) -> Self {
        let deprecated = code.deprecated_builtin_code() as i32;
        let builtin = code.builtin_code().0;
        let effective = BuiltinOperator(deprecated.max(builtin));
        if effective == BuiltinOperator::CUSTOM {
            OpKind::Custom(code.custom_code().unwrap_or(""))
        } else {
            OpKind::Builtin(effective)
        }
    }

    /// The name TFLite uses (`CONV_2D`, or the custom code).
    pub fn name(&self) -> String {
        match self {
            OpKind::Builtin(b) => b
                .variant_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("BUILTIN_{}", b.0)),
            OpKind::Custom(c) => format!("CUSTOM({c})"),
        }
    }

    /// The builtin code, if builtin.
    pub fn builtin(&self) -> Option<BuiltinOperator> {
        match self {
            OpKind::Builtin(b) => Some(*b),
            OpKind::Custom(_) => None,
        }
    }
}

impl fmt::Display for OpKind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// An operator of a verified model.
#[derive(Clone, Copy)]
pub struct OperatorView<'a> {
    model: ModelView<'a>,
    index: OpIndex,
    raw: schema::Operator<'a>,
}

impl<'a> OperatorView<'a> {
    pub(super) fn new(model: ModelView<'a>, index: OpIndex, raw: schema::Operator<'a>) -> Self {
        OperatorView { model, index, raw }
    }

    /// The operator's position in the subgraph's operator list.
    pub fn index(&self) -> OpIndex {
        self.index
    }

    /// The generated accessor, for reading option tables (`builtin_options_as_*`).
    pub fn raw(&self) -> schema::Operator<'a> {
        self.raw
    }

    /// Index into the model's operator code table.
    pub fn opcode_index(&self) -> usize {
        self.raw.opcode_index() as usize
    }

    /// What the operator computes.
    pub fn kind(&self) -> OpKind<'a> {
        self.model.opcode(self.opcode_index()).0
    }

    /// The operator code's version.
    pub fn version(&self) -> i32 {
        self.model.opcode(self.opcode_index()).1
    }

    /// Inputs in order; `None` for an absent optional input (written as -1).
    pub fn inputs(&self) -> Vec<Option<TensorId>> {
        self.raw
            .inputs()
            .map(|v| {
                v.iter()
                    .map(|i| (i >= 0).then_some(TensorId(i as u32)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The present inputs (skipping absent optional ones).
    pub fn present_inputs(&self) -> Vec<TensorId> {
        self.inputs().into_iter().flatten().collect()
    }

    /// Outputs in order.
    pub fn outputs(&self) -> Vec<TensorId> {
        self.raw
            .outputs()
            .map(|v| v.iter().map(|i| TensorId(i as u32)).collect())
            .unwrap_or_default()
    }

    /// Intermediate tensors (used by some LSTM kernels), usually empty.
    pub fn intermediates(&self) -> Vec<TensorId> {
        self.raw
            .intermediates()
            .map(|v| {
                v.iter()
                    .filter(|&i| i >= 0)
                    .map(|i| TensorId(i as u32))
                    .collect()
            })
            .unwrap_or_default()
    }
}
