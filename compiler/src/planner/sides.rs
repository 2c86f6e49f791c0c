//! Which side of the host / Edge TPU boundary each position may run on when planning stages.
//!
//! From a [`Placement`] (the compiler's per-operator verdicts), every position is one of:
//!
//! - [`Side::Tpu`]: the Edge TPU maps it;
//! - [`Side::FloatIn`]: a float -> int8 `QUANTIZE` reading only model inputs, and
//!   [`Side::FloatOut`]: a `DEQUANTIZE` to float writing only model outputs. These *float ends*
//!   stay on the CPU, but inside a compiled Edge TPU model (the compiler leaves them out of its
//!   one Edge TPU subgraph, as in Coral's float-I/O models): an Edge TPU segment may begin with
//!   float-in ends and finish with float-out ends, run by TFLite in the same invoke as host
//!   work, with no extra copy;
//! - [`Side::Cpu`]: anything else the compiler would not map.
//!
//! An Edge TPU segment is therefore `[float-in]* [tpu]+ [float-out]*`: the compiler maps its
//! whole core and leaves nothing else on the CPU. [`Sides::tpu_core`] finds that core.

use crate::graph::Graph;
use crate::placement::Placement;
use std::ops::Range;

/// Where one position may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Mapped to the Edge TPU.
    Tpu,
    /// A float -> int8 `QUANTIZE` of model inputs (host work, fusable into the next segment).
    FloatIn,
    /// A `DEQUANTIZE` to float of model outputs (host work, fusable into the segment before).
    FloatOut,
    /// Runs on the host CPU only.
    Cpu,
}

/// The side of every position, with the run lengths the planner queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sides {
    sides: Vec<Side>,
    /// `lead_in[p]`: float-in positions in a row starting at `p`.
    lead_in: Vec<usize>,
    /// `trail_out[e]`: float-out positions in a row ending at `e - 1` (`trail_out[0] = 0`).
    trail_out: Vec<usize>,
    /// `next_off_tpu[p]`: the first position `>= p` that is not [`Side::Tpu`] (`len` if none).
    next_off_tpu: Vec<usize>,
    /// `next_tpu[p]`: the first position `>= p` that is [`Side::Tpu`] (`len` if none).
    next_tpu: Vec<usize>,
}

impl Sides {
    /// Sides from one entry per position.
    pub fn new(sides: Vec<Side>) -> Sides {
        let len = sides.len();
        let mut lead_in = vec![0; len + 1];
        let mut next_off_tpu = vec![len; len + 1];
        let mut next_tpu = vec![len; len + 1];
        for p in (0..len).rev() {
            next_tpu[p] = if sides[p] == Side::Tpu {
                p
            } else {
                next_tpu[p + 1]
            };
            lead_in[p] = if sides[p] == Side::FloatIn {
                lead_in[p + 1] + 1
            } else {
                0
            };
            next_off_tpu[p] = if sides[p] == Side::Tpu {
                next_off_tpu[p + 1]
            } else {
                p
            };
        }
        let mut trail_out = vec![0; len + 1];
        for e in 1..=len {
            trail_out[e] = if sides[e - 1] == Side::FloatOut {
                trail_out[e - 1] + 1
            } else {
                0
            };
        }
        Sides {
            sides,
            lead_in,
            trail_out,
            next_off_tpu,
            next_tpu,
        }
    }

    /// Every one of `len` positions on the Edge TPU.
    pub fn all_tpu(len: usize) -> Sides {
        Sides::new(vec![Side::Tpu; len])
    }

    /// The sides of `graph`'s positions under `placement` (one entry per position).
    pub fn from_placement(placement: &Placement, graph: &Graph) -> Sides {
        let sides = (0..graph.len())
            .map(|p| {
                if placement.get(p).on_tpu() {
                    return Side::Tpu;
                }
                let op = graph.op(p);
                let activations: Vec<_> = op
                    .inputs
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|&t| !graph.is_constant(t) && !graph.is_variable(t))
                    .collect();
                let model_input = |t| graph.model_inputs().contains(&t);
                let model_output = |t| graph.model_outputs().contains(&t);
                match op.kind.as_str() {
                    "QUANTIZE"
                        if !activations.is_empty()
                            && activations.iter().all(|&t| model_input(t)) =>
                    {
                        Side::FloatIn
                    }
                    "DEQUANTIZE"
                        if !op.outputs.is_empty()
                            && op
                                .outputs
                                .iter()
                                .all(|&t| model_output(t) && graph.consumers(t).is_empty()) =>
                    {
                        Side::FloatOut
                    }
                    _ => Side::Cpu,
                }
            })
            .collect();
        Sides::new(sides)
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.sides.len()
    }

    /// True without positions.
    pub fn is_empty(&self) -> bool {
        self.sides.is_empty()
    }

    /// The side of position `p`.
    pub fn get(&self, p: usize) -> Side {
        self.sides[p]
    }

    /// True when every position is [`Side::Tpu`].
    pub fn all_on_tpu(&self) -> bool {
        self.next_off_tpu[0] == self.len()
    }

    /// The maximal runs of positions off the Edge TPU (float ends and CPU operators).
    pub fn off_tpu_runs(&self) -> usize {
        (0..self.len())
            .filter(|&p| self.sides[p] != Side::Tpu && (p == 0 || self.sides[p - 1] == Side::Tpu))
            .count()
    }

    /// The maximal runs of positions on the Edge TPU.
    pub fn tpu_runs(&self) -> usize {
        (0..self.len())
            .filter(|&p| self.sides[p] == Side::Tpu && (p == 0 || self.sides[p - 1] != Side::Tpu))
            .count()
    }

    /// The first position `>= p` on the Edge TPU (`len` if none).
    pub fn next_tpu(&self, p: usize) -> usize {
        self.next_tpu[p.min(self.len())]
    }

    /// The Edge TPU core of `range` when `range` can be an Edge TPU segment: `range` minus its
    /// leading float-in and trailing float-out ends, non-empty and all [`Side::Tpu`]. `None`
    /// when the compiler would leave more than the float ends on the CPU.
    pub fn tpu_core(&self, range: Range<usize>) -> Option<Range<usize>> {
        let (s, e) = (range.start, range.end);
        if s >= e {
            return None;
        }
        let cs = s + self.lead_in[s].min(e - s);
        let ce = e - self.trail_out[e].min(e - cs);
        (cs < ce && self.next_off_tpu[cs] >= ce).then_some(cs..ce)
    }

    /// Where the Edge TPU compiler itself puts `range` compiled alone: its one Edge TPU
    /// subgraph (from the first mapped position to the first one after it that is not), the
    /// rest on the CPU. Empty when nothing in `range` is mapped.
    pub fn compiler_tpu_range(&self, range: Range<usize>) -> Range<usize> {
        let Some(start) = (range.start..range.end).find(|&p| self.sides[p] == Side::Tpu) else {
            return range.start..range.start;
        };
        start..self.next_off_tpu[start].min(range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Side::*;

    #[test]
    fn the_core_drops_float_ends_and_refuses_cpu_operators() {
        let s = Sides::new(vec![FloatIn, Tpu, Tpu, Cpu, Tpu, FloatOut]);
        assert_eq!(s.tpu_core(0..3), Some(1..3));
        assert_eq!(s.tpu_core(1..3), Some(1..3));
        assert_eq!(
            s.tpu_core(0..1),
            None,
            "float ends alone are no Edge TPU segment"
        );
        assert_eq!(s.tpu_core(0..4), None, "a CPU operator inside");
        assert_eq!(s.tpu_core(4..6), Some(4..5));
        assert_eq!(s.tpu_core(3..6), None);
        assert_eq!(s.tpu_core(5..6), None);
        assert_eq!(s.off_tpu_runs(), 3);
        assert_eq!(s.tpu_runs(), 2);
        assert_eq!((s.next_tpu(0), s.next_tpu(3), s.next_tpu(5)), (1, 4, 6));
        assert!(!s.all_on_tpu());
        assert!(Sides::all_tpu(3).all_on_tpu());
    }

    #[test]
    fn the_compiler_maps_one_subgraph_from_the_first_mapped_operator() {
        let s = Sides::new(vec![FloatIn, Tpu, Tpu, Cpu, Tpu, FloatOut]);
        assert_eq!(s.compiler_tpu_range(0..6), 1..3);
        assert_eq!(s.compiler_tpu_range(3..6), 4..5);
        assert_eq!(s.compiler_tpu_range(5..6), 5..5);
        assert_eq!(s.compiler_tpu_range(0..2), 1..2);
    }
}
