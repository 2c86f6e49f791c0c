//! One item's result: its output tensors, by position or by name. Dropping it gives its buffers
//! back to the pipeline's pools.

use super::shared::{Item, Shared};
use super::spec::TensorSpec;
use std::sync::Arc;
use std::time::Duration;

/// The outputs of one item, in the order of the spec's outputs.
pub struct Outputs {
    item: Option<Box<Item>>,
    shared: Arc<Shared>,
}

impl Outputs {
    pub(crate) fn new(item: Box<Item>, shared: Arc<Shared>) -> Outputs {
        Outputs {
            item: Some(item),
            shared,
        }
    }

    fn item(&self) -> &Item {
        self.item.as_ref().expect("present until dropped")
    }

    /// The item's sequence number (0 for the first item pushed).
    pub fn seq(&self) -> u64 {
        self.item().seq
    }

    /// Time from the push to the result being ready.
    pub fn latency(&self) -> Duration {
        self.item().latency
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.shared.topo.output_slots.len()
    }

    /// True when there are none (never, for a valid spec).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Output `i`'s bytes.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let slot = self.shared.topo.output_slots.get(i)?;
        self.item().slots[slot.0].as_deref()
    }

    /// The bytes of the output called `name`.
    pub fn by_name(&self, name: &str) -> Option<&[u8]> {
        let i = self.index_of(name)?;
        self.get(i)
    }

    /// The position of the output called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.shared
            .topo
            .spec
            .outputs
            .iter()
            .position(|o| o.name == name)
    }

    /// The name of output `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        Some(self.shared.topo.spec.outputs.get(i)?.name.as_str())
    }

    /// The tensor behind output `i` (type, shape, size; its name is the producer's).
    pub fn spec(&self, i: usize) -> Option<&TensorSpec> {
        self.shared.topo.spec.output_tensor(i)
    }

    /// Every output as (name, bytes), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        (0..self.len()).filter_map(move |i| Some((self.name(i)?, self.get(i)?)))
    }

    /// Copies of every output's bytes, in order.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        (0..self.len())
            .map(|i| self.get(i).unwrap_or_default().to_vec())
            .collect()
    }
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field("seq", &self.seq())
            .field("outputs", &self.len())
            .finish()
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.shared.recycle(item);
        }
    }
}
