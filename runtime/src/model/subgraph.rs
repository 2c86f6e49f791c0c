//! View of one subgraph: its tensors, operators, inputs and outputs.

use super::{ModelView, OperatorView, TensorView};
use crate::ids::{OpIndex, SubgraphIndex, TensorId};
use crate::schema;

/// A subgraph of a verified model. Indices handed out by this view are valid for it.
#[derive(Clone, Copy)]
pub struct SubgraphView<'a> {
    model: ModelView<'a>,
    index: SubgraphIndex,
    raw: schema::SubGraph<'a>,
}

impl<'a> SubgraphView<'a> {
    pub(super) fn new(
        model: ModelView<'a>,
        index: SubgraphIndex,
        raw: schema::SubGraph<'a>,
    ) -> Self {
        SubgraphView { model, index, raw }
    }

    /// The model this subgraph belongs to.
    pub fn model(&self) -> ModelView<'a> {
        self.model
    }

    /// This subgraph's index.
    pub fn index(&self) -> SubgraphIndex {
        self.index
    }

    /// The generated accessor.
    pub fn raw(&self) -> schema::SubGraph<'a> {
        self.raw
    }

    /// The subgraph's name (often empty or "main").
    pub fn name(&self) -> &'a str {
        self.raw.name().unwrap_or("")
    }

    /// Number of tensors.
    pub fn tensor_count(&self) -> usize {
        self.raw.tensors().map_or(0, |t| t.len())
    }

    /// A tensor by id. Panics if out of range; ids from this view are always in range.
    pub fn tensor(&self, id: TensorId) -> TensorView<'a> {
        let raw = self
            .raw
            .tensors()
            .expect("validated: subgraph has tensors")
            .get(id.index());
        TensorView::new(self.model, id, raw)
    }

    /// A tensor by id, or `None` when out of range.
    pub fn try_tensor(&self, id: TensorId) -> Option<TensorView<'a>> {
        (id.index() < self.tensor_count()).then(|| self.tensor(id))
    }

    /// All tensors in table order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'a>> + 'a {
        let this = *self;
        (0..self.tensor_count() as u32).map(move |i| this.tensor(TensorId(i)))
    }

    /// The first tensor with this name, if any.
    pub fn tensor_by_name(&self, name: &str) -> Option<TensorView<'a>> {
        self.tensors().find(|t| t.name() == name)
    }

    /// The subgraph's input tensors, in order.
    pub fn inputs(&self) -> Vec<TensorId> {
        self.raw
            .inputs()
            .map(|v| v.iter().map(|i| TensorId(i as u32)).collect())
            .unwrap_or_default()
    }

    /// The subgraph's output tensors, in order.
    pub fn outputs(&self) -> Vec<TensorId> {
        self.raw
            .outputs()
            .map(|v| v.iter().map(|i| TensorId(i as u32)).collect())
            .unwrap_or_default()
    }

    /// Number of operators.
    pub fn operator_count(&self) -> usize {
        self.raw.operators().map_or(0, |o| o.len())
    }

    /// An operator by index. Panics if out of range.
    pub fn operator(&self, index: OpIndex) -> OperatorView<'a> {
        let raw = self
            .raw
            .operators()
            .expect("validated: subgraph has operators")
            .get(index.index());
        OperatorView::new(self.model, index, raw)
    }

    /// All operators in file order.
    pub fn operators(&self) -> impl Iterator<Item = OperatorView<'a>> + 'a {
        let this = *self;
        (0..self.operator_count() as u32).map(move |i| this.operator(OpIndex(i)))
    }
}
