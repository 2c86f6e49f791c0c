//! Graph analysis of a model's main subgraph.
//!
//! [`Graph::build`] turns the main subgraph of a verified [`ModelView`] into an owned dataflow
//! graph: a topological execution order of the operators, per-operator costs ([`OpInfo`]),
//! producers and consumers of every tensor, unique tensor names, the activations alive across
//! every cut of the order, and O(1) range sums of parameter bytes and MACs. The planner chooses
//! cuts from these figures and the segment writer connects segments through
//! [`Graph::tensor_name`] and [`Graph::segment_io`].
//!
//! Terms used throughout:
//!
//! - A *position* is an index into [`Graph::order`]; position `p` runs operator `order[p]`.
//! - A *cut* `c` lies between positions `c - 1` and `c`; the interior cuts are
//!   [`Graph::cut_positions`] (`1..len`).
//! - A *constant* is a tensor with data in the file (weights, biases, ...), or a zero-element
//!   tensor that no operator produces (an empty constant). A *variable* tensor
//!   (`is_variable`, operator state) is neither an activation nor a constant: it never appears in
//!   liveness sets or segment inputs.
//! - Tensors whose element type has no fixed size (strings) count 0 bytes.
//!
//! MACs follow the rules documented in [`stats`]: `CONV_2D` = output elements × kh × kw ×
//! in_ch/groups; `DEPTHWISE_CONV_2D` = output elements × kh × kw; `FULLY_CONNECTED` = output
//! elements × in features; `TRANSPOSE_CONV` = input elements × kh × kw × out_ch; elementwise
//! operators and activations = output elements; pooling = output elements × kernel area; others 0
//! (plus `CONV_3D`, `BATCH_MATMUL` and reductions, see [`stats`]).

#[cfg(test)]
mod check_order_tests;
mod error;
mod liveness;
mod names;
pub mod stats;
mod topo;

pub use error::GraphError;
pub use names::unique_names;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use tpupipe_runtime::{ByteCount, ModelView, OpIndex, OperatorView, TensorId, TensorView};

/// Upper bound on the total size of the precomputed liveness table (the sum over all cuts of
/// the number of tensors alive across the cut). Real models stay far below it (MobileNetV2: about
/// a hundred entries); a hostile file could otherwise demand quadratic memory.
pub const MAX_LIVE_ENTRIES: u64 = 64 << 20;

/// One operator with its cost figures.
#[derive(Debug, Clone, PartialEq)]
pub struct OpInfo {
    /// The operator's index in the file.
    pub op: OpIndex,
    /// `CONV_2D`, or `CUSTOM(name)` for custom operators.
    pub kind: String,
    /// The operator code's version.
    pub version: i32,
    /// Inputs in slot order; `None` for an absent optional input.
    pub inputs: Vec<Option<TensorId>>,
    /// Outputs in slot order.
    pub outputs: Vec<TensorId>,
    /// Bytes of constant inputs (weights, bias, ...), each distinct tensor counted once.
    pub param_bytes: ByteCount,
    /// Multiply-accumulates (see [`stats`]).
    pub macs: u64,
    /// Bytes of non-constant inputs, each distinct tensor counted once.
    pub input_bytes: ByteCount,
    /// Bytes of outputs, each distinct tensor counted once.
    pub output_bytes: ByteCount,
}

/// The activations entering and leaving a range of positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentIo {
    /// Non-constant tensors read in the range but produced before it (or model inputs), ordered
    /// by first use (position, input slot).
    pub inputs: Vec<TensorId>,
    /// Tensors produced in the range and read after it or being model outputs: model outputs
    /// first in model-output order, then the rest by (producer position, output slot).
    pub outputs: Vec<TensorId>,
}

#[derive(Debug, Clone)]
struct TensorInfo {
    name: String,
    shape: Vec<usize>,
    bytes: ByteCount,
    constant: bool,
    variable: bool,
}

/// The analysed dataflow graph of a model's main subgraph. Owns all its data.
#[derive(Debug, Clone)]
pub struct Graph {
    order: Vec<OpIndex>,
    position_of: Vec<usize>,
    ops: Vec<OpInfo>,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, TensorId>,
    producer: Vec<Option<usize>>,
    consumers: Vec<Vec<usize>>,
    model_inputs: Vec<TensorId>,
    model_outputs: Vec<TensorId>,
    /// `live[c]` for every cut `c` in `0..=len`.
    live: Vec<Vec<TensorId>>,
    live_bytes: Vec<ByteCount>,
    /// `param_prefix[p]` = sum of `param_bytes` of positions `< p`.
    param_prefix: Vec<u64>,
    /// `macs_prefix[p]` = saturating sum of `macs` of positions `< p`.
    macs_prefix: Vec<u64>,
}

/// Who writes a tensor, for the produced-twice check.
#[derive(Clone, Copy)]
enum Source {
    None,
    ModelInput,
    Constant,
    Op(usize),
}

impl Source {
    fn describe(self) -> String {
        match self {
            Source::None => "nothing".to_string(),
            Source::ModelInput => "the model inputs".to_string(),
            Source::Constant => "constant data in the file".to_string(),
            Source::Op(i) => OpIndex(i as u32).to_string(),
        }
    }
}

fn dedup_in_order<T: Copy + Eq + std::hash::Hash>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|x| seen.insert(*x)).collect()
}

impl Graph {
    /// Analyses the main subgraph of `model`.
    ///
    /// The phases run in this order, so the first problem found is the one reported: the
    /// tensor table, who writes each tensor (a tensor written twice is an error), the
    /// dependencies between operators (an input nobody writes is an error), the model outputs
    /// (each must be written), the execution order (a cycle is an error), the per-operator
    /// figures with producers and consumers, liveness across cuts (bounded by
    /// [`MAX_LIVE_ENTRIES`]) and the prefix sums.
    pub fn build(model: &ModelView<'_>) -> Result<Graph, GraphError> {
        let sg = model.main_subgraph();
        let n_ops = sg.operator_count();
        if n_ops == 0 {
            return Err(GraphError::Empty);
        }
        let views: Vec<TensorView<'_>> = sg.tensors().collect();
        let op_views: Vec<OperatorView<'_>> = sg.operators().collect();
        let model_inputs = sg.inputs();
        let model_outputs = sg.outputs();

        let mut tensors = tensor_table(&views);
        let by_name = name_index(&tensors);
        let mut source = tensor_sources(&tensors, &model_inputs, &op_views, &views)?;
        let preds = operator_dependencies(&op_views, &mut tensors, &mut source, &views)?;
        check_outputs_written(&model_outputs, &source, &views)?;
        let order_idx = execution_order(&preds, &op_views)?;
        let position_of = positions_in_order(&order_idx);
        let Dataflow {
            ops,
            producer,
            consumers,
        } = op_figures(&order_idx, &op_views, &tensors);
        let intervals = live_intervals(&tensors, &source, &producer, &consumers);
        check_live_entries(&intervals)?;
        let live = liveness::live_sets(n_ops, &intervals);
        let live_bytes = bytes_per_cut(&live, &tensors);
        let param_prefix = saturating_prefix_sums(ops.iter().map(|op| op.param_bytes.bytes()));
        let macs_prefix = saturating_prefix_sums(ops.iter().map(|op| op.macs));

        Ok(Graph {
            order: order_idx.iter().map(|&i| OpIndex(i as u32)).collect(),
            position_of,
            ops,
            tensors,
            by_name,
            producer,
            consumers,
            model_inputs,
            model_outputs,
            live,
            live_bytes,
            param_prefix,
            macs_prefix,
        })
    }

    /// Number of operators.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there are no operators (never the case for a built graph).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The execution order: position `p` runs operator `order()[p]`. It is the file order when
    /// that is already topological, else Kahn's algorithm taking the smallest operator index
    /// first.
    pub fn order(&self) -> &[OpIndex] {
        &self.order
    }

    /// The position of operator `op` in [`Graph::order`]. Panics if `op` is out of range.
    pub fn position_of(&self, op: OpIndex) -> usize {
        self.position_of[op.index()]
    }

    /// The operator at position `pos`. Panics if `pos >= len()`.
    pub fn op(&self, pos: usize) -> &OpInfo {
        &self.ops[pos]
    }

    /// All operators, in execution order.
    pub fn ops(&self) -> &[OpInfo] {
        &self.ops
    }

    /// Number of tensors in the subgraph.
    pub fn tensor_count(&self) -> usize {
        self.tensors.len()
    }

    /// The tensor's unique name (see [`unique_names`] for how repeats and empty names are
    /// resolved). Segments are connected through these names.
    pub fn tensor_name(&self, t: TensorId) -> &str {
        &self.tensors[t.index()].name
    }

    /// The tensor with this unique name, if any.
    pub fn tensor_by_name(&self, name: &str) -> Option<TensorId> {
        self.by_name.get(name).copied()
    }

    /// The tensor's size in bytes (0 for element types without a fixed size).
    pub fn tensor_bytes(&self, t: TensorId) -> ByteCount {
        self.tensors[t.index()].bytes
    }

    /// The tensor's static shape.
    pub fn tensor_shape(&self, t: TensorId) -> &[usize] {
        &self.tensors[t.index()].shape
    }

    /// True when the tensor has constant data in the file (or is an empty, zero-element tensor
    /// that no operator produces).
    pub fn is_constant(&self, t: TensorId) -> bool {
        self.tensors[t.index()].constant
    }

    /// True for variable (stateful) tensors without constant data.
    pub fn is_variable(&self, t: TensorId) -> bool {
        self.tensors[t.index()].variable && !self.tensors[t.index()].constant
    }

    /// The position of the operator producing `t`, `None` for model inputs, constants and
    /// variables.
    pub fn producer(&self, t: TensorId) -> Option<usize> {
        self.producer[t.index()]
    }

    /// Positions of the operators reading `t`, ascending, without repeats.
    pub fn consumers(&self, t: TensorId) -> &[usize] {
        &self.consumers[t.index()]
    }

    /// The model inputs, in file order.
    pub fn model_inputs(&self) -> &[TensorId] {
        &self.model_inputs
    }

    /// The model outputs, in file order.
    pub fn model_outputs(&self) -> &[TensorId] {
        &self.model_outputs
    }

    /// The interior cuts, `1..len`: cut `c` lies between positions `c - 1` and `c`.
    pub fn cut_positions(&self) -> Range<usize> {
        1..self.len()
    }

    /// Non-constant tensors produced before cut `cut` (or model inputs) and read at positions
    /// `>= cut`, skip connections included, sorted by tensor id. Defined for `0..=len`
    /// (precomputed); panics beyond.
    pub fn live_across(&self, cut: usize) -> &[TensorId] {
        assert!(
            cut <= self.len(),
            "cut {cut} is beyond the {} operators",
            self.len()
        );
        &self.live[cut]
    }

    /// Total bytes of [`Graph::live_across`]`(cut)`.
    pub fn live_bytes(&self, cut: usize) -> ByteCount {
        assert!(
            cut <= self.len(),
            "cut {cut} is beyond the {} operators",
            self.len()
        );
        self.live_bytes[cut]
    }

    fn check_range(&self, range: &Range<usize>) {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "position range {range:?} is not within 0..{}",
            self.len()
        );
    }

    /// The activations entering and leaving the operators at positions `range` (see
    /// [`SegmentIo`] for the ordering rules). Panics if the range is not within `0..len`.
    pub fn segment_io(&self, range: Range<usize>) -> SegmentIo {
        self.check_range(&range);
        let in_range = |p: Option<usize>| p.is_some_and(|p| range.contains(&p));
        let mut seen: HashSet<TensorId> = HashSet::new();
        let mut inputs = Vec::new();
        for op in &self.ops[range.clone()] {
            for t in op.inputs.iter().flatten().copied() {
                let info = &self.tensors[t.index()];
                if info.constant || info.variable || in_range(self.producer(t)) {
                    continue;
                }
                if seen.insert(t) {
                    inputs.push(t);
                }
            }
        }
        seen.clear();
        let mut outputs = Vec::new();
        for &t in &self.model_outputs {
            if in_range(self.producer(t)) && seen.insert(t) {
                outputs.push(t);
            }
        }
        for op in &self.ops[range.clone()] {
            for &t in &op.outputs {
                let read_later = self.consumers(t).last().is_some_and(|&c| c >= range.end);
                if read_later && seen.insert(t) {
                    outputs.push(t);
                }
            }
        }
        SegmentIo { inputs, outputs }
    }

    /// Sum of [`OpInfo::param_bytes`] over positions `range`, in O(1). A constant shared by
    /// several operators is counted once per operator; see [`Graph::unique_param_bytes`].
    pub fn param_bytes(&self, range: Range<usize>) -> ByteCount {
        self.check_range(&range);
        ByteCount(self.param_prefix[range.end] - self.param_prefix[range.start])
    }

    /// Bytes of the distinct constant tensors read by the operators at positions `range`
    /// (a shared constant counted once). O(size of the range).
    pub fn unique_param_bytes(&self, range: Range<usize>) -> ByteCount {
        self.check_range(&range);
        let mut seen = HashSet::new();
        self.ops[range]
            .iter()
            .flat_map(|op| op.inputs.iter().flatten().copied())
            .filter(|t| self.tensors[t.index()].constant && seen.insert(*t))
            .map(|t| self.tensors[t.index()].bytes)
            .sum()
    }

    /// Sum of [`OpInfo::macs`] over positions `range`, in O(1) (saturating at `u64::MAX`).
    pub fn macs(&self, range: Range<usize>) -> u64 {
        self.check_range(&range);
        let end = self.macs_prefix[range.end];
        if end == u64::MAX {
            // Saturated prefix sums cannot be subtracted; add up the range directly.
            return self.ops[range]
                .iter()
                .fold(0u64, |acc, op| acc.saturating_add(op.macs));
        }
        end - self.macs_prefix[range.start]
    }
}

// The phases of `Graph::build`, in the order it runs them.

/// The tensor's name as the file spells it (errors quote the file, not the unique name).
fn file_name(views: &[TensorView<'_>], t: TensorId) -> String {
    views[t.index()].name().to_string()
}

/// The tensor table: unique names, shapes, byte sizes and the constant and variable flags, in
/// file order.
fn tensor_table(views: &[TensorView<'_>]) -> Vec<TensorInfo> {
    let names = unique_names(views.iter().map(|t| t.name()));
    views
        .iter()
        .zip(names)
        .map(|(t, name)| TensorInfo {
            name,
            shape: t.dims(),
            bytes: t.byte_size().unwrap_or(ByteCount::ZERO),
            constant: t.is_constant(),
            variable: t.is_variable(),
        })
        .collect()
}

/// The tensor id of every unique name.
fn name_index(tensors: &[TensorInfo]) -> HashMap<String, TensorId> {
    tensors
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), TensorId(i as u32)))
        .collect()
}

/// Who writes each tensor: constant data, the model inputs or one operator. A tensor written
/// twice is refused, naming both writers; the model inputs are checked first, then the
/// operators' outputs in file order. (A model input listed twice is not a second writer.)
fn tensor_sources(
    tensors: &[TensorInfo],
    model_inputs: &[TensorId],
    op_views: &[OperatorView<'_>],
    views: &[TensorView<'_>],
) -> Result<Vec<Source>, GraphError> {
    let mut source = vec![Source::None; tensors.len()];
    for (i, t) in tensors.iter().enumerate() {
        if t.constant {
            source[i] = Source::Constant;
        }
    }
    for &t in model_inputs {
        match source[t.index()] {
            Source::None | Source::ModelInput => source[t.index()] = Source::ModelInput,
            first => {
                return Err(GraphError::ProducedTwice {
                    tensor: t,
                    name: file_name(views, t),
                    first: first.describe(),
                    second: Source::ModelInput.describe(),
                })
            }
        }
    }
    for (i, op) in op_views.iter().enumerate() {
        for t in op.outputs() {
            match source[t.index()] {
                Source::None => source[t.index()] = Source::Op(i),
                first => {
                    return Err(GraphError::ProducedTwice {
                        tensor: t,
                        name: file_name(views, t),
                        first: first.describe(),
                        second: Source::Op(i).describe(),
                    })
                }
            }
        }
    }
    Ok(source)
}

/// The dependencies between operators: `preds[i]` lists, in input order and with repeats, the
/// operators whose outputs operator `i` reads. An input that nothing writes is refused (operators
/// and their inputs in file order), except a variable tensor (operator state) and a zero-element
/// tensor, which becomes an empty constant here (in `tensors` and `source`).
fn operator_dependencies(
    op_views: &[OperatorView<'_>],
    tensors: &mut [TensorInfo],
    source: &mut [Source],
    views: &[TensorView<'_>],
) -> Result<Vec<Vec<usize>>, GraphError> {
    let mut preds: Vec<Vec<usize>> = Vec::with_capacity(op_views.len());
    for (i, op) in op_views.iter().enumerate() {
        let mut p = Vec::new();
        for t in op.present_inputs() {
            match source[t.index()] {
                Source::Op(a) => p.push(a),
                Source::ModelInput | Source::Constant => {}
                Source::None if tensors[t.index()].variable => {}
                // A zero-element tensor without data (e.g. the `[0]`-shaped shape operand of
                // a reshape to a scalar) is an empty constant.
                Source::None if stats::elements(&tensors[t.index()].shape) == 0 => {
                    tensors[t.index()].constant = true;
                    source[t.index()] = Source::Constant;
                }
                Source::None => {
                    return Err(GraphError::Unproduced {
                        op: OpIndex(i as u32),
                        kind: op.kind().name(),
                        tensor: t,
                        name: file_name(views, t),
                    })
                }
            }
        }
        preds.push(p);
    }
    Ok(preds)
}

/// Checks that every model output is written: by an operator, or as a model input passed
/// straight through (routed from the host; no segment produces it). The first one that is not
/// is refused, in model-output order.
fn check_outputs_written(
    model_outputs: &[TensorId],
    source: &[Source],
    views: &[TensorView<'_>],
) -> Result<(), GraphError> {
    for &t in model_outputs {
        if !matches!(source[t.index()], Source::Op(_) | Source::ModelInput) {
            return Err(GraphError::OutputNotProduced {
                tensor: t,
                name: file_name(views, t),
            });
        }
    }
    Ok(())
}

/// The execution order (operator indices, see [`topo::order`]), or the refusal of a dependency
/// cycle with its path (`op3 (ADD) -> op5 (MUL) -> op3 (ADD)`).
fn execution_order(
    preds: &[Vec<usize>],
    op_views: &[OperatorView<'_>],
) -> Result<Vec<usize>, GraphError> {
    match topo::order(preds) {
        topo::Ordering::Order(o) => Ok(o),
        topo::Ordering::Cycle(cycle) => {
            let mut path: Vec<String> = cycle
                .iter()
                .map(|&i| format!("op{i} ({})", op_views[i].kind().name()))
                .collect();
            if let Some(first) = path.first().cloned() {
                path.push(first);
            }
            Err(GraphError::Cycle {
                ops: cycle.iter().map(|&i| OpIndex(i as u32)).collect(),
                path: path.join(" -> "),
            })
        }
    }
}

/// The inverse of the execution order: the position of every operator index.
fn positions_in_order(order_idx: &[usize]) -> Vec<usize> {
    let mut position_of = vec![0usize; order_idx.len()];
    for (p, &i) in order_idx.iter().enumerate() {
        position_of[i] = p;
    }
    position_of
}

/// The per-operator figures in execution order, with the producer and consumers of every
/// tensor, as [`op_figures`] finds them.
struct Dataflow {
    /// The operators' figures, by position.
    ops: Vec<OpInfo>,
    /// The position producing each tensor.
    producer: Vec<Option<usize>>,
    /// The positions reading each tensor, ascending, without repeats.
    consumers: Vec<Vec<usize>>,
}

/// Walks the operators in execution order: their figures (parameter, input and output bytes,
/// each distinct tensor counted once; MACs), and who produces and who reads each tensor.
fn op_figures(
    order_idx: &[usize],
    op_views: &[OperatorView<'_>],
    tensors: &[TensorInfo],
) -> Dataflow {
    let n_tensors = tensors.len();
    let mut producer = vec![None; n_tensors];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n_tensors];
    let mut ops = Vec::with_capacity(order_idx.len());
    for (pos, &i) in order_idx.iter().enumerate() {
        let view = &op_views[i];
        let inputs = view.inputs();
        let outputs = view.outputs();
        let distinct_in = dedup_in_order(inputs.iter().flatten().copied());
        let distinct_out = dedup_in_order(outputs.iter().copied());
        let bytes = |t: &TensorId| tensors[t.index()].bytes;
        let param_bytes = distinct_in
            .iter()
            .filter(|t| tensors[t.index()].constant)
            .map(bytes)
            .sum();
        let input_bytes = distinct_in
            .iter()
            .filter(|t| !tensors[t.index()].constant)
            .map(bytes)
            .sum();
        let output_bytes = distinct_out.iter().map(bytes).sum();
        for &t in &distinct_in {
            consumers[t.index()].push(pos);
        }
        for &t in &distinct_out {
            producer[t.index()] = Some(pos);
        }
        let macs = stats::op_macs(view, |t| tensors[t.index()].shape.as_slice());
        ops.push(OpInfo {
            op: OpIndex(i as u32),
            kind: view.kind().name(),
            version: view.version(),
            inputs,
            outputs,
            param_bytes,
            macs,
            input_bytes,
            output_bytes,
        });
    }
    Dataflow {
        ops,
        producer,
        consumers,
    }
}

/// When each activation is alive: from its producer (or cut 0 for a model input) to its last
/// reader. Constants, variables and tensors nobody reads have no interval.
fn live_intervals(
    tensors: &[TensorInfo],
    source: &[Source],
    producer: &[Option<usize>],
    consumers: &[Vec<usize>],
) -> Vec<liveness::Interval> {
    (0..tensors.len())
        .filter(|&t| !tensors[t].constant && !tensors[t].variable)
        .filter_map(|t| {
            let last_use = *consumers[t].last()?;
            let birth = match (producer[t], source[t]) {
                (Some(p), _) => p + 1,
                (None, Source::ModelInput) => 0,
                _ => return None,
            };
            Some(liveness::Interval {
                tensor: TensorId(t as u32),
                birth,
                last_use,
            })
        })
        .collect()
}

/// Refuses graphs whose liveness table would exceed [`MAX_LIVE_ENTRIES`] entries.
fn check_live_entries(intervals: &[liveness::Interval]) -> Result<(), GraphError> {
    let entries = intervals
        .iter()
        .map(|iv| (iv.last_use + 1).saturating_sub(iv.birth) as u64)
        .fold(0u64, u64::saturating_add);
    if entries > MAX_LIVE_ENTRIES {
        return Err(GraphError::TooLarge {
            entries,
            limit: MAX_LIVE_ENTRIES,
        });
    }
    Ok(())
}

/// The total bytes of each cut's live set.
fn bytes_per_cut(live: &[Vec<TensorId>], tensors: &[TensorInfo]) -> Vec<ByteCount> {
    live.iter()
        .map(|set| set.iter().map(|t| tensors[t.index()].bytes).sum())
        .collect()
}

/// Prefix sums saturating at `u64::MAX`: element `p` is the sum of the first `p` values.
fn saturating_prefix_sums(values: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut sums = vec![0];
    let mut total = 0u64;
    for v in values {
        total = total.saturating_add(v);
        sums.push(total);
    }
    sums
}
