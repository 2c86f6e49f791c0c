//! Graph analysis on hand-built models (see `common/mod.rs`) and, when present, the fixture
//! models in `tests/models/`.

use proptest::prelude::*;
use std::collections::BTreeSet;
use tpupipe_compiler::graph::{Graph, GraphError, SegmentIo};
use tpupipe_runtime::schema::{BuiltinOperator, TensorType};
use tpupipe_runtime::{ByteCount, ModelView, OpIndex, TensorId};
use tpupipe_testkit::*;

fn build(bytes: &[u8]) -> Result<Graph, GraphError> {
    let view = ModelView::parse(bytes).expect("test model parses");
    Graph::build(&view)
}

fn ids(v: &[u32]) -> Vec<TensorId> {
    v.iter().map(|&i| TensorId(i)).collect()
}

#[test]
fn chain_order_costs_and_liveness() {
    let g = build(&chain(3)).unwrap();
    assert_eq!(g.len(), 6);
    assert!(!g.is_empty());
    assert_eq!(g.order(), (0..6).map(OpIndex).collect::<Vec<_>>());
    assert_eq!(g.cut_positions(), 1..6);
    for p in 0..6 {
        assert_eq!(g.position_of(OpIndex(p as u32)), p);
        let op = g.op(p);
        assert_eq!(op.op, OpIndex(p as u32));
        assert_eq!(op.version, 1);
        assert_eq!(op.output_bytes, ByteCount(16));
        assert_eq!(op.input_bytes, ByteCount(16));
        if p % 2 == 0 {
            assert_eq!(op.kind, "FULLY_CONNECTED");
            assert_eq!(op.macs, 16 * 16);
            assert_eq!(op.param_bytes, ByteCount(16 * 16 + 16 * 4));
        } else {
            assert_eq!(op.kind, "RELU");
            assert_eq!(op.macs, 16);
            assert_eq!(op.param_bytes, ByteCount::ZERO);
        }
    }
    assert_eq!(g.macs(0..6), 3 * (256 + 16));
    assert_eq!(g.param_bytes(0..6), ByteCount(3 * 320));
    assert_eq!(g.param_bytes(1..2), ByteCount::ZERO);
    assert_eq!(g.macs(2..4), 256 + 16);
    // Each cut carries exactly the previous op's output.
    for cut in g.cut_positions() {
        let live = g.live_across(cut);
        assert_eq!(live.len(), 1, "cut {cut}");
        assert_eq!(g.producer(live[0]), Some(cut - 1));
        assert_eq!(g.live_bytes(cut), ByteCount(16));
    }
    assert_eq!(g.live_across(0), g.model_inputs());
    assert!(g.live_across(6).is_empty());
    let x = g.model_inputs()[0];
    assert_eq!(g.tensor_name(x), "x");
    assert_eq!(g.tensor_shape(x), &[1, 16]);
    assert_eq!(g.consumers(x), &[0]);
    assert_eq!(g.producer(x), None);
}

#[test]
fn residual_skip_tensor_is_live_across_the_branch() {
    use residual_ids::*;
    let g = build(&residual()).unwrap();
    assert_eq!(g.len(), 4);
    assert_eq!(g.live_across(1), ids(&[A]).as_slice());
    assert_eq!(g.live_across(2), ids(&[A, B]).as_slice());
    assert_eq!(g.live_across(3), ids(&[A, C]).as_slice());
    assert_eq!(g.live_bytes(2), ByteCount(2 * 512));
    assert_eq!(g.consumers(TensorId(A)), &[1, 3]);

    // Costs: conv 3x3x4 -> 8, depthwise 3x3, conv 1x1 8 -> 8, add; outputs 8x8x8.
    let macs: Vec<u64> = g.ops().iter().map(|o| o.macs).collect();
    assert_eq!(macs, [512 * 36, 512 * 9, 512 * 8, 512]);
    let params: Vec<u64> = g.ops().iter().map(|o| o.param_bytes.bytes()).collect();
    assert_eq!(params, [288 + 32, 72 + 32, 64 + 32, 0]);
    assert_eq!(g.op(3).input_bytes, ByteCount(1024));

    // Outputs ordered by producer position; the skip tensor leaves the first segment.
    assert_eq!(
        g.segment_io(0..2),
        SegmentIo {
            inputs: ids(&[X]),
            outputs: ids(&[A, B])
        }
    );
    // Inputs ordered by first use: op2 reads b, then op3 reads a.
    assert_eq!(
        g.segment_io(2..4),
        SegmentIo {
            inputs: ids(&[B, A]),
            outputs: ids(&[D])
        }
    );
    assert_eq!(
        g.segment_io(1..3),
        SegmentIo {
            inputs: ids(&[A]),
            outputs: ids(&[C])
        }
    );
    assert_eq!(
        g.segment_io(0..4),
        SegmentIo {
            inputs: ids(&[X]),
            outputs: ids(&[D])
        }
    );
    assert_eq!(g.segment_io(2..2), SegmentIo::default());
}

#[test]
fn model_outputs_come_first_in_model_output_order() {
    // op0: p = relu(x); op1: q = relu6(p); op2: r = tanh(p). Outputs [r, p, q]: p is both a
    // model output and read later.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let p = b.int8("p", &[1, 4]);
    let q = b.int8("q", &[1, 4]);
    let r = b.int8("r", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[p]);
    b.op(BuiltinOperator::RELU6, &[p], &[q]);
    b.op(BuiltinOperator::TANH, &[p], &[r]);
    b.inputs(&[x]).outputs(&[r, p, q]);
    let g = build(&b.finish()).unwrap();
    let t = |i: i32| TensorId(i as u32);
    assert_eq!(g.segment_io(0..3).outputs, vec![t(r), t(p), t(q)]);
    assert_eq!(g.segment_io(0..2).outputs, vec![t(p), t(q)]);
    assert_eq!(g.segment_io(0..1).outputs, vec![t(p)]);
    // p is a model output produced before cut 1 but not read after cut 3: not live there.
    assert_eq!(g.live_across(1), &[t(p)]);
    assert_eq!(g.live_across(2), &[t(p), t(q)][..1]);
}

#[test]
fn multi_output_op_orders_outputs_by_slot() {
    // SPLIT-like custom op with outputs [hi, lo] (ids 2, 1), both read later.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let lo = b.int8("lo", &[1, 2]);
    let hi = b.int8("hi", &[1, 2]);
    let y = b.int8("y", &[1, 2]);
    b.custom_op("splitter", &[x], &[hi, lo]);
    b.op(BuiltinOperator::ADD, &[lo, hi], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let g = build(&b.finish()).unwrap();
    assert_eq!(g.op(0).kind, "CUSTOM(splitter)");
    assert_eq!(g.op(0).macs, 0);
    let io = g.segment_io(0..1);
    assert_eq!(io.outputs, vec![TensorId(hi as u32), TensorId(lo as u32)]);
    assert_eq!(
        g.segment_io(1..2).inputs,
        vec![TensorId(lo as u32), TensorId(hi as u32)]
    );
    // live_across is sorted by id.
    assert_eq!(
        g.live_across(1),
        &[TensorId(lo as u32), TensorId(hi as u32)]
    );
}

#[test]
fn non_topological_file_is_reordered_smallest_index_first() {
    let g = build(&non_topological()).unwrap();
    assert_eq!(g.order(), &[OpIndex(1), OpIndex(2), OpIndex(0)]);
    assert_eq!(g.position_of(OpIndex(0)), 2);
    assert_eq!(g.position_of(OpIndex(2)), 1);
    assert_eq!(g.op(0).kind, "RELU6");
    assert_eq!(g.op(2).kind, "ADD");
    // y (id 1) is produced at position 1 and read at position 2.
    assert_eq!(g.producer(TensorId(1)), Some(1));
    assert_eq!(g.consumers(TensorId(1)), &[2]);
    // x is read at positions 0, 1 and 2.
    assert_eq!(g.consumers(TensorId(0)), &[0, 1, 2]);
    // z and w are model outputs: z first even though w is produced first.
    assert_eq!(g.segment_io(0..3).outputs, ids(&[2, 3]));
    assert_eq!(g.live_across(1), ids(&[0]).as_slice());
    assert_eq!(g.live_across(2), ids(&[0, 1]).as_slice());
}

#[test]
fn cycle_is_an_error_naming_the_ops() {
    let err = build(&cycle()).unwrap_err();
    match &err {
        GraphError::Cycle { ops, .. } => assert_eq!(ops, &[OpIndex(0), OpIndex(1), OpIndex(2)]),
        other => panic!("expected a cycle, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("op0 (ADD) -> op1 (ADD) -> op2 (ADD) -> op0 (ADD)"),
        "{msg}"
    );
}

#[test]
fn self_loop_is_a_cycle() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::ADD, &[x, y], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let err = build(&b.finish()).unwrap_err();
    assert!(
        matches!(err, GraphError::Cycle { ref ops, .. } if ops == &[OpIndex(0)]),
        "{err}"
    );
}

#[test]
fn tensor_produced_twice_is_an_error() {
    let err = build(&produced_twice()).unwrap_err();
    assert_eq!(
        err,
        GraphError::ProducedTwice {
            tensor: TensorId(1),
            name: "y".into(),
            first: "op0".into(),
            second: "op1".into()
        }
    );
    assert!(err.to_string().contains("'y'"));
}

#[test]
fn writing_a_model_input_or_constant_is_an_error() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[x]);
    b.inputs(&[x]).outputs(&[x]);
    let err = build(&b.finish()).unwrap_err();
    assert!(
        matches!(err, GraphError::ProducedTwice { ref first, .. } if first == "the model inputs"),
        "{err}"
    );

    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let c = b.constant_filled("c", &[1, 4], TensorType::INT8);
    b.op(BuiltinOperator::RELU, &[x], &[c]);
    b.inputs(&[x]).outputs(&[c]);
    let err = build(&b.finish()).unwrap_err();
    assert!(
        matches!(err, GraphError::ProducedTwice { ref first, .. } if first.contains("constant")),
        "{err}"
    );
}

#[test]
fn reading_an_unproduced_tensor_is_an_error() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let ghost = b.int8("ghost", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::ADD, &[x, ghost], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let err = build(&b.finish()).unwrap_err();
    assert_eq!(
        err,
        GraphError::Unproduced {
            op: OpIndex(0),
            kind: "ADD".into(),
            tensor: TensorId(1),
            name: "ghost".into()
        }
    );
}

#[test]
fn unproduced_model_output_is_an_error() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let orphan = b.int8("orphan", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y, orphan]);
    let err = build(&b.finish()).unwrap_err();
    assert!(
        matches!(err, GraphError::OutputNotProduced { tensor, .. } if tensor == TensorId(2)),
        "{err}"
    );
}

#[test]
fn empty_graph_is_an_error() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    b.inputs(&[x]);
    assert_eq!(build(&b.finish()).unwrap_err(), GraphError::Empty);
}

#[test]
fn model_errors_convert() {
    let err: GraphError = ModelView::parse(b"garbage!").unwrap_err().into();
    assert!(matches!(err, GraphError::Model(_)));
}

#[test]
fn names_are_unique_and_deterministic() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("dup", &[1, 4]);
    let z = b.int8("dup", &[1, 4]);
    let u = b.int8("", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::RELU, &[y], &[z]);
    b.op(BuiltinOperator::RELU, &[z], &[u]);
    b.inputs(&[x]).outputs(&[u]);
    let g = build(&b.finish()).unwrap();
    let names: Vec<&str> = (0..g.tensor_count() as u32)
        .map(|i| g.tensor_name(TensorId(i)))
        .collect();
    assert_eq!(names, ["x", "dup", "dup_1", "tensor_3"]);
    assert_eq!(g.tensor_by_name("dup_1"), Some(TensorId(2)));
    assert_eq!(g.tensor_by_name("nope"), None);
}

#[test]
fn repeated_inputs_are_deduplicated() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::MUL, &[x, x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let g = build(&b.finish()).unwrap();
    assert_eq!(g.consumers(TensorId(0)), &[0]);
    assert_eq!(g.op(0).input_bytes, ByteCount(4));
    assert_eq!(g.segment_io(0..1).inputs, ids(&[0]));
}

#[test]
fn shared_constants_and_absent_inputs() {
    // Two FCs share one weight tensor; the second has no bias (-1).
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[2, 8]);
    let w = b.weights("w", &[8, 8], 0);
    let bias = b.bias("bias", 8);
    let h = b.int8("h", &[2, 8]);
    let y = b.int8("y", &[2, 8]);
    b.fully_connected(x, w, bias, h);
    b.fully_connected(h, w, -1, y);
    b.inputs(&[x]).outputs(&[y]);
    let g = build(&b.finish()).unwrap();
    assert_eq!(
        g.op(1).inputs,
        vec![Some(TensorId(h as u32)), Some(TensorId(w as u32)), None]
    );
    assert_eq!(g.op(0).macs, 2 * 8 * 8);
    assert_eq!(g.param_bytes(0..2), ByteCount(64 + 32 + 64));
    assert_eq!(g.unique_param_bytes(0..2), ByteCount(64 + 32));
    assert!(g.is_constant(TensorId(w as u32)));
    assert_eq!(g.consumers(TensorId(w as u32)), &[0, 1]);
    // Constants are never live or segment inputs.
    assert_eq!(g.live_across(1), ids(&[h as u32]).as_slice());
    assert_eq!(g.segment_io(1..2).inputs, ids(&[h as u32]));
}

#[test]
fn zero_element_unproduced_tensor_is_an_empty_constant() {
    // RESHAPE to a scalar: the converter writes its shape operand as a [0]-shaped tensor with an
    // empty buffer.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1]);
    let shape = b.tensor("shape", &[0], TensorType::INT32);
    let y = b.int8("y", &[]);
    b.op(BuiltinOperator::RESHAPE, &[x, shape], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let g = build(&b.finish()).unwrap();
    assert!(g.is_constant(TensorId(shape as u32)));
    assert_eq!(g.segment_io(0..1).inputs, ids(&[x as u32]));
    assert_eq!(g.op(0).param_bytes, ByteCount::ZERO);
}

#[test]
fn macs_of_pooling_transpose_conv_and_others() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 8, 8, 4]);
    let p = b.int8("p", &[1, 4, 4, 4]);
    b.pool(BuiltinOperator::AVERAGE_POOL_2D, x, p, 2, 2);
    // TRANSPOSE_CONV: inputs (output_shape, weights [out_ch, kh, kw, in_ch], input).
    let shape = b.constant(
        "shape",
        &[4],
        TensorType::INT32,
        [1i32, 8, 8, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    );
    let w = b.weights("tw", &[6, 3, 3, 4], 0);
    let t = b.int8("t", &[1, 8, 8, 6]);
    b.op(BuiltinOperator::TRANSPOSE_CONV, &[shape, w, p], &[t]);
    let r = b.tensor("r", &[1, 384], TensorType::INT8);
    b.op(BuiltinOperator::RESHAPE, &[t], &[r]);
    let m = b.int8("m", &[1, 384]);
    b.op(BuiltinOperator::LOGISTIC, &[r], &[m]);
    b.inputs(&[x]).outputs(&[m]);
    let g = build(&b.finish()).unwrap();
    let macs: Vec<u64> = g.ops().iter().map(|o| o.macs).collect();
    assert_eq!(macs, [64 * 4, 64 * 3 * 3 * 6, 0, 384]);
    assert_eq!(g.macs(0..4), macs.iter().sum::<u64>());
}

#[test]
fn only_the_main_subgraph_is_analysed() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let second = b.subgraph().clone();
    b.model.subgraphs.as_mut().unwrap().push(second);
    let bytes = b.finish();
    let view = ModelView::parse(&bytes).unwrap();
    assert_eq!(view.subgraph_count(), 2);
    let g = Graph::build(&view).unwrap();
    assert_eq!(g.len(), 1);
}

/// Brute-force versions of the definitions, for the property test.
fn naive_live(g: &Graph, cut: usize) -> Vec<TensorId> {
    let mut out: BTreeSet<TensorId> = BTreeSet::new();
    for p in cut..g.len() {
        for t in g.op(p).inputs.iter().flatten() {
            if g.is_constant(*t) {
                continue;
            }
            let before = match g.producer(*t) {
                Some(q) => q < cut,
                None => g.model_inputs().contains(t),
            };
            if before {
                out.insert(*t);
            }
        }
    }
    out.into_iter().collect()
}

/// A random DAG of elementwise ops: op `i` reads one or two earlier tensors (model input or
/// outputs of ops `< i` in generation order); the file order is a permutation of it.
fn random_dag(reads: &[(usize, usize)], perm: &[usize]) -> Vec<u8> {
    let n = reads.len();
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let outs: Vec<i32> = (0..n).map(|i| b.int8(&format!("t{i}"), &[1, 4])).collect();
    let src = |k: usize, i: usize| {
        if k % (i + 1) == 0 {
            x
        } else {
            outs[k % (i + 1) - 1]
        }
    };
    let mut ops = Vec::new();
    for (i, &(r0, r1)) in reads.iter().enumerate() {
        ops.push((src(r0, i), src(r1, i), outs[i]));
    }
    for &i in perm {
        let (a, c, o) = ops[i];
        b.op(BuiltinOperator::ADD, &[a, c], &[o]);
    }
    b.inputs(&[x]).outputs(&[outs[n - 1]]);
    b.finish()
}

proptest! {
    #[test]
    fn random_dags_satisfy_the_definitions(
        reads in prop::collection::vec((0usize..64, 0usize..64), 1..12),
        seed in any::<u64>(),
    ) {
        let n = reads.len();
        // A deterministic permutation from the seed.
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (s >> 33) as usize % (i + 1));
        }
        let bytes = random_dag(&reads, &perm);
        let g = build(&bytes).unwrap();
        // Topological: every input produced earlier.
        for p in 0..g.len() {
            for t in g.op(p).inputs.iter().flatten() {
                if let Some(q) = g.producer(*t) {
                    prop_assert!(q < p);
                    prop_assert!(g.consumers(*t).contains(&p));
                }
            }
            prop_assert_eq!(g.position_of(g.order()[p]), p);
        }
        for cut in 0..=g.len() {
            let naive = naive_live(&g, cut);
            prop_assert_eq!(g.live_across(cut), naive.as_slice());
            let bytes: ByteCount = g.live_across(cut).iter().map(|&t| g.tensor_bytes(t)).sum();
            prop_assert_eq!(g.live_bytes(cut), bytes);
        }
        for start in 0..=g.len() {
            for end in start..=g.len() {
                let brute: u64 = g.ops()[start..end].iter().map(|o| o.macs).sum();
                prop_assert_eq!(g.macs(start..end), brute);
                let io = g.segment_io(start..end);
                // Every segment input is live across the segment's start; every output
                // not a model output is live across its end.
                for t in &io.inputs {
                    prop_assert!(g.live_across(start).contains(t));
                }
                for t in &io.outputs {
                    prop_assert!(g.model_outputs().contains(t) || g.live_across(end).contains(t));
                }
                // Chaining segments: the first segment's live-out set covers everything the
                // rest reads from it.
                if start == 0 && end > 0 && end < g.len() {
                    let rest = g.segment_io(end..g.len());
                    for t in &rest.inputs {
                        prop_assert!(io.outputs.contains(t) || g.model_inputs().contains(t));
                    }
                }
            }
        }
    }
}

fn fixture(name: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
        .join(format!("{name}.tflite"));
    std::fs::read(path).ok()
}

/// Properties that hold for every model, checked on every cut.
fn check_cut_identities(g: &Graph) {
    let n = g.len();
    for c in 0..=n {
        let live: BTreeSet<TensorId> = g.live_across(c).iter().copied().collect();
        // What the rest of the graph reads from before the cut is exactly the live set.
        let rest: BTreeSet<TensorId> = g.segment_io(c..n).inputs.into_iter().collect();
        assert_eq!(rest, live, "cut {c}");
        // What the head produces for later is the live set (minus model inputs) plus the model
        // outputs it produces.
        let head: BTreeSet<TensorId> = g.segment_io(0..c).outputs.into_iter().collect();
        let mut expect: BTreeSet<TensorId> = live
            .iter()
            .copied()
            .filter(|t| g.producer(*t).is_some())
            .collect();
        expect.extend(
            g.model_outputs()
                .iter()
                .filter(|t| g.producer(**t).is_some_and(|p| p < c)),
        );
        assert_eq!(head, expect, "cut {c}");
        let naive = naive_live(g, c);
        assert_eq!(g.live_across(c), naive.as_slice(), "cut {c}");
    }
    assert_eq!(g.macs(0..n), g.ops().iter().map(|o| o.macs).sum::<u64>());
}

#[test]
fn fixtures_satisfy_the_cut_identities() {
    for name in [
        "fc_tanh",
        "conv_small",
        "conv_residual",
        "mobilenet_v2",
        "zero_bias",
        "conv_uint8_io",
        "fc_float_io",
    ] {
        let Some(bytes) = fixture(name) else { continue };
        let g = build(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The converter writes operators in a topological order, which is kept.
        let file_order: Vec<OpIndex> = (0..g.len() as u32).map(OpIndex).collect();
        assert_eq!(g.order(), file_order.as_slice(), "{name}");
        check_cut_identities(&g);
    }
}

#[test]
fn every_fixture_satisfies_the_cut_identities() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "tflite") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models"),
        &mut paths,
    );
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        let g = build(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_cut_identities(&g);
    }
}

#[test]
fn conv_residual_fixture_has_skip_tensors_alive_across_several_cuts() {
    let Some(bytes) = fixture("conv_residual") else {
        return;
    };
    let g = build(&bytes).unwrap();
    // Some tensor is read more than one position after it is produced (a skip connection), and
    // it is alive across every cut in between.
    let mut longest = 0;
    for t in (0..g.tensor_count() as u32).map(TensorId) {
        let (Some(p), Some(&last)) = (g.producer(t), g.consumers(t).last()) else {
            continue;
        };
        for c in p + 1..=last {
            assert!(g.live_across(c).contains(&t));
        }
        longest = longest.max(last - p);
    }
    assert!(longest >= 5, "longest skip spans {longest} positions");
    assert!(g.cut_positions().any(|c| g.live_across(c).len() >= 2));
}

#[test]
fn mobilenet_v2_fixture_costs() {
    let Some(bytes) = fixture("mobilenet_v2") else {
        return;
    };
    let g = build(&bytes).unwrap();
    let n = g.len();
    let macs = g.macs(0..n);
    assert!((290_000_000..315_000_000).contains(&macs), "MACs {macs}");
    let params = g.unique_param_bytes(0..n).bytes();
    assert!((3_300_000..3_800_000).contains(&params), "params {params}");
    // The first op is the stride-2 3x3 stem conv: 112x112x32 outputs x 27.
    assert_eq!(g.op(0).kind, "CONV_2D");
    assert_eq!(g.op(0).macs, 112 * 112 * 32 * 27);
    // Inverted residual blocks: some cuts carry the block input and the branch.
    assert!(g.cut_positions().any(|c| g.live_across(c).len() == 2));
    assert!(g.cut_positions().all(|c| !g.live_across(c).is_empty()));
}

#[test]
fn long_chains_build_in_linear_time() {
    // 20 000 operators; a quadratic step anywhere would make this test crawl.
    let g = build(&chain(10_000)).unwrap();
    assert_eq!(g.len(), 20_000);
    assert_eq!(g.live_across(10_000).len(), 1);
    assert_eq!(g.macs(0..g.len()), 10_000 * (256 + 16));
}

#[test]
fn quadratic_liveness_is_refused() {
    // n ops each produce a tensor that one final op reads: the liveness table would need about
    // n^2 / 2 entries.
    let n = 12_000;
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1]);
    let mut outs = Vec::with_capacity(n);
    for i in 0..n {
        let t = b.int8(&format!("t{i}"), &[1]);
        b.op(BuiltinOperator::RELU, &[x], &[t]);
        outs.push(t);
    }
    let y = b.int8("y", &[1]);
    b.custom_op("gather_all", &outs, &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let err = build(&b.finish()).unwrap_err();
    assert!(
        matches!(err, GraphError::TooLarge { entries, limit } if entries > limit),
        "{err}"
    );
}

#[test]
fn model_input_passed_through_to_an_output_is_allowed() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y, x]);
    let g = build(&b.finish()).unwrap();
    assert_eq!(g.model_outputs(), &[TensorId(1), TensorId(0)]);
    // No segment produces the passed-through input: it is routed from the host.
    assert_eq!(g.segment_io(0..1).outputs, vec![TensorId(1)]);
}
