//! Structural properties of split models, without Python: on every fixture model in
//! `tests/models/` (N = 2..6 with the equal-parameter cuts, every single cut of the small models,
//! a few multi-cut lists) and on hand-built models (`common/mod.rs`).
//!
//! Checked for every split: segments re-parse (`ModelView::parse`, `Graph::build`); subgraph
//! inputs/outputs are exactly `Graph::segment_io` by name; routing is complete (every segment
//! input is a model input or produced by exactly one earlier segment, every boundary tensor is
//! produced once, every model output by some segment); operators keep kind, version, options
//! and custom options, and their inputs map to the same source tensors (absent -1 inputs stay
//! -1); tensors keep shape, signature, type, quantization, variable flag, sparsity and data;
//! parameter bytes add up to the model's; buffer 0 is empty, every other buffer is used and
//! holds a distinct source buffer, aligned to 16 bytes; operator codes are compacted in order of
//! first use; metadata, description and signature are as documented; writing twice gives the
//! same bytes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::model_file::ModelFile;
use tpupipe_compiler::planner::{params::params_cuts, Cuts};
use tpupipe_compiler::segment::{self, SegmentError};
use tpupipe_compiler::split::{choose_cuts, Split};
use tpupipe_compiler::{Plan, Strategy};
use tpupipe_runtime::schema::{self, BuiltinOperator, TensorType};
use tpupipe_runtime::{ModelView, OpKind, TensorId};
use tpupipe_testkit::*;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/models")
}

/// The fixture models, as (name, bytes); the fixtures are committed.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture_dir())
        .expect("tests/models exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "tflite").then(|| {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 8,
        "expected the fixture models in tests/models"
    );
    out
}

fn bytes_of<'a>(model: &ModelView<'a>, t: schema::Tensor<'a>) -> Option<&'a [u8]> {
    model.buffer_data(tpupipe_runtime::BufferIndex(t.buffer()))
}

/// Splits `bytes` at `cuts`, checks every property, and returns the plan and the segment bytes.
fn split_and_check(name: &str, bytes: &[u8], cuts: Vec<usize>) -> (Plan, Vec<Vec<u8>>) {
    let ctx = format!("{name} cuts {cuts:?}");
    let view = ModelView::parse(bytes).unwrap();
    let graph = Graph::build(&view).unwrap();
    let cuts = Cuts::new(cuts, graph.len()).unwrap();
    let split = Split::new(view, &graph, cuts.clone(), &format!("{name}.tflite")).unwrap();
    let n = split.segment_count();
    let segs: Vec<Vec<u8>> = (0..n)
        .map(|i| split.write_segment(i).unwrap().into_vec())
        .collect();

    // Determinism.
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(
            &split.write_segment(i).unwrap().into_vec(),
            s,
            "{ctx}: segment {i} not deterministic"
        );
    }
    let plan = split.plan(Strategy::Manual, "00", name, &[]);
    assert_eq!(plan.segments.len(), n);

    let src = view.main_subgraph();
    let model_inputs: HashSet<&str> = graph
        .model_inputs()
        .iter()
        .map(|&t| graph.tensor_name(t))
        .collect();
    let mut produced_by: HashMap<String, usize> = HashMap::new();
    let mut total_params = 0u64;

    for (i, seg_bytes) in segs.iter().enumerate() {
        let ctx = format!("{ctx} segment {i}");
        let seg = ModelView::parse(seg_bytes).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let seg_graph = Graph::build(&seg).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        tpupipe_compiler::segment::ensure_splittable(&seg).unwrap();
        let range = cuts.segment(i);
        let io = graph.segment_io(range.clone());
        let sg = seg.main_subgraph();
        let tname = |t: TensorId| sg.tensor(t).name().to_string();
        let gname = |t: &TensorId| graph.tensor_name(*t).to_string();

        // I/O by name, in segment_io order, and as the plan says.
        let seg_in: Vec<String> = sg.inputs().into_iter().map(tname).collect();
        let seg_out: Vec<String> = sg.outputs().into_iter().map(tname).collect();
        assert_eq!(
            seg_in,
            io.inputs.iter().map(gname).collect::<Vec<_>>(),
            "{ctx}: inputs"
        );
        assert_eq!(
            seg_out,
            io.outputs.iter().map(gname).collect::<Vec<_>>(),
            "{ctx}: outputs"
        );
        assert_eq!(plan.segments[i].inputs, seg_in, "{ctx}: plan inputs");
        assert_eq!(plan.segments[i].outputs, seg_out, "{ctx}: plan outputs");
        assert_eq!(plan.segments[i].op_range, [range.start, range.end]);

        // Routing: inputs come from the model or exactly one earlier segment.
        for name in &seg_in {
            let from_model = model_inputs.contains(name.as_str());
            let from_segment = produced_by.get(name).copied();
            assert!(
                from_model != from_segment.is_some(),
                "{ctx}: input {name} has no single source"
            );
            if let Some(p) = from_segment {
                assert!(p < i);
            }
            let route = plan
                .routing
                .iter()
                .find(|r| &r.tensor == name)
                .expect("routed");
            assert_eq!(
                route.producer, from_segment,
                "{ctx}: route producer of {name}"
            );
            assert!(
                route.consumers.contains(&i),
                "{ctx}: route consumers of {name}"
            );
        }
        for name in &seg_out {
            assert!(
                produced_by.insert(name.clone(), i).is_none(),
                "{ctx}: {name} produced twice"
            );
            assert!(!model_inputs.contains(name.as_str()));
        }

        // Tensor names are unique within the segment.
        let names: HashSet<&str> = sg.tensors().map(|t| t.name()).collect();
        assert_eq!(
            names.len(),
            sg.tensor_count(),
            "{ctx}: duplicate tensor names"
        );

        // Operators: same kinds, versions, options, and inputs mapping to the same source tensors.
        assert_eq!(sg.operator_count(), range.len(), "{ctx}: op count");
        let mut first_use: Vec<usize> = Vec::new();
        for (k, pos) in range.clone().enumerate() {
            let so = src.operator(graph.order()[pos]);
            let o = sg.operator(tpupipe_runtime::OpIndex(k as u32));
            assert_eq!(o.kind(), so.kind(), "{ctx}: op {k} kind");
            assert_eq!(o.version(), so.version());
            let (su, u) = (so.raw().unpack(), o.raw().unpack());
            assert_eq!(
                u.builtin_options, su.builtin_options,
                "{ctx}: op {k} options"
            );
            assert_eq!(u.custom_options, su.custom_options);
            assert_eq!(u.custom_options_format, su.custom_options_format);
            assert_eq!(u.mutating_variable_inputs, su.mutating_variable_inputs);
            let map = |list: Vec<Option<TensorId>>,
                       sgv: &tpupipe_runtime::SubgraphView<'_>,
                       g: Option<&Graph>| {
                list.into_iter()
                    .map(|t| {
                        t.map(|t| {
                            g.map_or(sgv.tensor(t).name().to_string(), |g| {
                                g.tensor_name(t).to_string()
                            })
                        })
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                map(o.inputs(), &sg, None),
                map(so.inputs(), &src, Some(&graph)),
                "{ctx}: op {k} inputs"
            );
            let outs = |v: Vec<TensorId>| v.into_iter().map(Some).collect::<Vec<_>>();
            assert_eq!(
                map(outs(o.outputs()), &sg, None),
                map(outs(so.outputs()), &src, Some(&graph))
            );
            if !first_use.contains(&o.opcode_index()) {
                first_use.push(o.opcode_index());
            }
        }
        // Operator codes compacted, in order of first use.
        assert_eq!(
            first_use,
            (0..seg.opcode_count()).collect::<Vec<_>>(),
            "{ctx}: opcodes"
        );

        // Tensors: same properties and data as the source tensor of the same name.
        let buffers = seg.raw().buffers().unwrap();
        let b0 = buffers.get(0).data();
        assert!(
            b0.map_or(true, |d| d.is_empty()),
            "{ctx}: buffer 0 not empty"
        );
        let mut source_of_buffer: HashMap<u32, u32> = HashMap::new();
        for t in sg.tensors() {
            let st = graph.tensor_by_name(t.name()).expect("source tensor");
            let s = src.tensor(st);
            let (tu, su) = (t.raw().unpack(), s.raw().unpack());
            assert_eq!(tu.shape, su.shape, "{ctx}: {} shape", t.name());
            assert_eq!(tu.shape_signature, su.shape_signature);
            assert_eq!(tu.type_, su.type_);
            assert_eq!(
                tu.quantization,
                su.quantization,
                "{ctx}: {} quantization",
                t.name()
            );
            assert_eq!(tu.is_variable, su.is_variable);
            assert_eq!(tu.sparsity, su.sparsity);
            assert_eq!(tu.has_rank, su.has_rank);
            assert_eq!(
                bytes_of(&seg, t.raw()),
                bytes_of(&view, s.raw()),
                "{ctx}: {} data",
                t.name()
            );
            if let Some(data) = bytes_of(&seg, t.raw()) {
                let offset = data.as_ptr() as usize - seg_bytes.as_ptr() as usize;
                assert_eq!(
                    offset % 16,
                    0,
                    "{ctx}: {} data at offset {offset}",
                    t.name()
                );
                let prev = source_of_buffer.insert(t.raw().buffer(), s.raw().buffer());
                assert!(prev.map_or(true, |p| p == s.raw().buffer()));
            } else {
                assert_eq!(
                    t.raw().buffer(),
                    0,
                    "{ctx}: {} points to an empty buffer",
                    t.name()
                );
            }
        }
        // No two segment buffers hold the same source buffer; every data buffer is used.
        let distinct_sources: HashSet<u32> = source_of_buffer.values().copied().collect();
        assert_eq!(
            distinct_sources.len(),
            source_of_buffer.len(),
            "{ctx}: duplicated buffer"
        );
        let metadata_buffers: Vec<u32> = seg
            .raw()
            .metadata()
            .map(|m| m.iter().map(|e| e.buffer()).collect())
            .unwrap_or_default();
        assert_eq!(
            seg.buffer_count(),
            1 + source_of_buffer.len() + metadata_buffers.len(),
            "{ctx}: unused buffers"
        );

        // Metadata: only min_runtime_version, copied when the source has it.
        let src_version = view.raw().metadata().and_then(|m| {
            m.iter()
                .find(|e| e.name() == Some("min_runtime_version"))
                .and_then(|e| view.buffer_data(tpupipe_runtime::BufferIndex(e.buffer())))
        });
        let seg_meta: Vec<_> = seg
            .raw()
            .metadata()
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        match src_version {
            Some(v) => {
                assert_eq!(seg_meta.len(), 1);
                assert_eq!(seg_meta[0].name(), Some("min_runtime_version"));
                let data = seg.buffer_data(tpupipe_runtime::BufferIndex(seg_meta[0].buffer()));
                assert_eq!(data, Some(v));
            }
            None => assert!(seg_meta.is_empty()),
        }
        assert_eq!(
            seg.description(),
            Some(format!("tpupipe segment {i} of {n} of {name}.tflite").as_str())
        );
        assert_eq!(seg.schema_version(), view.schema_version());

        // Signature: the segment's I/O by name.
        let sigs = seg.raw().signature_defs().unwrap();
        assert_eq!(sigs.len(), 1);
        let sig = sigs.get(0);
        let sig_names = |m: Option<
            flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<schema::TensorMap<'_>>>,
        >| {
            m.unwrap()
                .iter()
                .map(|e| {
                    assert_eq!(
                        e.name().unwrap(),
                        sg.tensor(TensorId(e.tensor_index())).name()
                    );
                    e.name().unwrap().to_string()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(sig_names(sig.inputs()), seg_in);
        assert_eq!(sig_names(sig.outputs()), seg_out);

        total_params += seg_graph.param_bytes(0..seg_graph.len()).bytes();
        assert_eq!(
            seg_graph.param_bytes(0..seg_graph.len()),
            graph.param_bytes(range.clone()),
            "{ctx}: parameter bytes"
        );
    }
    assert_eq!(
        total_params,
        graph.param_bytes(0..graph.len()).bytes(),
        "{ctx}: parameter total"
    );
    for &t in graph.model_outputs() {
        assert!(
            produced_by.contains_key(graph.tensor_name(t)),
            "{ctx}: model output not produced"
        );
    }
    // Every route's consumer list is exactly the segments reading it.
    for r in &plan.routing {
        let readers: Vec<usize> = plan
            .segments
            .iter()
            .filter(|s| s.inputs.contains(&r.tensor))
            .map(|s| s.index)
            .collect();
        assert_eq!(r.consumers, readers, "{ctx}: consumers of {}", r.tensor);
        assert_eq!(r.producer, produced_by.get(&r.tensor).copied());
    }
    // The plan survives a JSON round trip.
    assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    (plan, segs)
}

#[test]
fn fixtures_split_into_2_to_6_params_segments() {
    for (name, bytes) in fixtures() {
        let view = ModelView::parse(&bytes).unwrap();
        let graph = Graph::build(&view).unwrap();
        for n in 2..=6usize.min(graph.len()) {
            let cuts = params_cuts(&graph, n).unwrap();
            assert_eq!(cuts.len(), n - 1);
            split_and_check(&name, &bytes, cuts);
        }
    }
}

#[test]
fn small_fixtures_split_at_every_single_cut_and_random_lists() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, bytes) in fixtures().into_iter().filter(|(n, _)| n != "mobilenet_v2") {
        let len = Graph::build(&ModelView::parse(&bytes).unwrap())
            .unwrap()
            .len();
        for c in 1..len {
            split_and_check(&name, &bytes, vec![c]);
        }
        // Every cut at once: one operator per segment.
        split_and_check(&name, &bytes, (1..len).collect());
        for _ in 0..4 {
            let mut cuts: Vec<usize> = (1..len).filter(|_| next() % 3 == 0).collect();
            if cuts.is_empty() {
                cuts.push(1 + (next() as usize) % (len - 1));
            }
            split_and_check(&name, &bytes, cuts);
        }
    }
}

#[test]
fn mobilenet_every_tenth_cut() {
    let (_, bytes) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "mobilenet_v2")
        .unwrap();
    let len = Graph::build(&ModelView::parse(&bytes).unwrap())
        .unwrap()
        .len();
    split_and_check("mobilenet_v2", &bytes, (1..len).step_by(10).collect());
}

#[test]
fn hand_built_models_split() {
    for (name, bytes) in [
        ("chain", chain(4)),
        ("residual", residual()),
        ("non_topological", non_topological()),
    ] {
        let len = Graph::build(&ModelView::parse(&bytes).unwrap())
            .unwrap()
            .len();
        for c in 1..len {
            split_and_check(name, &bytes, vec![c]);
        }
        split_and_check(name, &bytes, (1..len).collect());
    }
}

#[test]
fn skip_tensor_is_routed_from_its_producer_to_every_reader() {
    // residual: a = conv(x) (op0), b = dw(a), c = conv(b), d = a + c; one op per segment.
    let (plan, _) = split_and_check("residual", &residual(), vec![1, 2, 3]);
    let a = plan.routing.iter().find(|r| r.tensor == "a").unwrap();
    assert_eq!(a.producer, Some(0));
    assert_eq!(a.consumers, vec![1, 3]);
    assert!(!a.model_output);
    assert_eq!(a.bytes, 8 * 8 * 8);
    let x = plan.routing.iter().find(|r| r.tensor == "x").unwrap();
    assert_eq!((x.producer, x.consumers.clone()), (None, vec![0]));
    let d = plan.routing.iter().find(|r| r.tensor == "d").unwrap();
    assert_eq!((d.producer, d.model_output), (Some(3), true));
    assert_eq!(plan.segments[3].inputs, vec!["a", "c"]);
    assert_eq!(plan.routing.len(), 5);
}

#[test]
fn non_topological_file_order_is_split_in_execution_order() {
    // File order: op0 z = y + x, op1 w = relu6(x), op2 y = relu(x); execution order puts op2
    // before op0.
    let bytes = non_topological();
    let graph = Graph::build(&ModelView::parse(&bytes).unwrap()).unwrap();
    let first = graph.order()[0].0;
    let (plan, _) = split_and_check("nt", &bytes, vec![1]);
    assert_eq!(plan.segments[0].first_op, first);
    assert_eq!(plan.segments[1].last_op, graph.order()[2].0);
    assert_eq!(plan.model_outputs, vec!["z", "w"]);
}

/// x -> FC(w, b) -> y -> FC(w, b) -> z, where both FCs read the same weight and bias tensors, and
/// a third FC reads `w_alias`, another tensor on the weight's buffer; one FC has no bias (-1).
fn shared_weights() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 16]);
    let w = b.weights("w", &[16, 16], 0);
    let bias = b.bias("b", 16);
    let y = b.int8("y", &[1, 16]);
    b.fully_connected(x, w, bias, y);
    let z = b.int8("z", &[1, 16]);
    b.fully_connected(y, w, bias, z);
    let w_alias = b.int8("w_alias", &[16, 16]);
    let w_buffer = b.subgraph().tensors.as_ref().unwrap()[w as usize].buffer;
    b.subgraph().tensors.as_mut().unwrap()[w_alias as usize].buffer = w_buffer;
    let out = b.int8("out", &[1, 16]);
    b.fully_connected(z, w_alias, -1, out);
    b.inputs(&[x]).outputs(&[out]);
    b.finish()
}

#[test]
fn shared_buffers_are_written_once_and_absent_inputs_stay_absent() {
    let bytes = shared_weights();
    let (_, segs) = split_and_check("shared", &bytes, vec![]);
    let seg = ModelView::parse(&segs[0]).unwrap();
    // Sentinel + weights + bias: the alias shares the weights' buffer.
    assert_eq!(seg.buffer_count(), 3);
    let sg = seg.main_subgraph();
    let w = sg.tensor_by_name("w").unwrap().buffer();
    assert_eq!(sg.tensor_by_name("w_alias").unwrap().buffer(), w);
    let last = sg.operator(tpupipe_runtime::OpIndex(2));
    assert_eq!(last.inputs()[2], None);
    assert_eq!(last.raw().inputs().unwrap().get(2), -1);
    // Split in two: both halves carry their own copy of the shared data, once each.
    let (_, segs) = split_and_check("shared", &bytes, vec![1]);
    assert_eq!(ModelView::parse(&segs[1]).unwrap().buffer_count(), 3);
}

#[test]
fn custom_ops_keep_their_options_and_codes_stay_compact() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let z = b.int8("z", &[1, 4]);
    let u = b.int8("u", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    let op = b.custom_op("MyCustom", &[y], &[z]);
    {
        let ops = b.subgraph().operators.as_mut().unwrap();
        ops[op].custom_options = Some(vec![1, 2, 3, 250]);
    }
    b.op(BuiltinOperator::TANH, &[z], &[u]);
    b.inputs(&[x]).outputs(&[u]);
    let bytes = b.finish();
    let (_, segs) = split_and_check("custom", &bytes, vec![1]);
    let seg1 = ModelView::parse(&segs[1]).unwrap();
    assert_eq!(seg1.opcode_count(), 2);
    assert_eq!(seg1.opcode(0).0, OpKind::Custom("MyCustom"));
    assert_eq!(seg1.opcode(1).0, OpKind::Builtin(BuiltinOperator::TANH));
    let o = seg1.main_subgraph().operator(tpupipe_runtime::OpIndex(0));
    assert_eq!(o.raw().custom_options().unwrap().bytes(), &[1, 2, 3, 250]);
}

#[test]
fn min_runtime_version_is_kept_and_other_metadata_dropped() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let z = b.int8("z", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::TANH, &[y], &[z]);
    b.inputs(&[x]).outputs(&[z]);
    let buffers = b.model.buffers.as_mut().unwrap();
    for data in [b"1.14.0\0\0".to_vec(), b"other".to_vec()] {
        let mut buf = schema::BufferT::default();
        buf.data = Some(data);
        buffers.push(buf);
    }
    let meta = |name: &str, buffer: u32| {
        let mut m = schema::MetadataT::default();
        m.name = Some(name.to_string());
        m.buffer = buffer;
        m
    };
    b.model.metadata = Some(vec![
        meta("CONVERSION_METADATA", 2),
        meta("min_runtime_version", 1),
    ]);
    let (_, segs) = split_and_check("meta", &b.finish(), vec![1]);
    for s in &segs {
        let v = ModelView::parse(s).unwrap();
        let m: Vec<_> = v.raw().metadata().unwrap().iter().collect();
        assert_eq!(m.len(), 1);
        assert_eq!(
            v.buffer_data(tpupipe_runtime::BufferIndex(m[0].buffer())),
            Some(&b"1.14.0\0\0"[..])
        );
    }
}

#[test]
fn variable_and_quantized_tensor_details_survive() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let z = b.int8("z", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::TANH, &[y], &[z]);
    b.inputs(&[x]).outputs(&[z]);
    {
        let t = &mut b.subgraph().tensors.as_mut().unwrap()[y as usize];
        t.shape_signature = Some(vec![1, 4]);
        let q = t.quantization.as_mut().unwrap();
        q.min = Some(vec![-1.0]);
        q.max = Some(vec![1.0]);
    }
    let (_, segs) = split_and_check("details", &b.finish(), vec![1]);
    let s1 = ModelView::parse(&segs[1]).unwrap();
    let y = s1.main_subgraph().tensor_by_name("y").unwrap();
    assert_eq!(y.shape_signature(), Some(vec![1, 4]));
    let q = y.raw().quantization().unwrap();
    assert_eq!(q.min().unwrap().iter().collect::<Vec<_>>(), vec![-1.0]);
}

#[test]
fn duplicate_source_names_get_unique_names_in_segments() {
    let mut b = ModelBuilder::new();
    let x = b.int8("t", &[1, 4]);
    let y = b.int8("t", &[1, 4]);
    let z = b.int8("t", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::TANH, &[y], &[z]);
    b.inputs(&[x]).outputs(&[z]);
    let (plan, _) = split_and_check("dups", &b.finish(), vec![1]);
    let names: HashSet<&String> = plan.routing.iter().map(|r| &r.tensor).collect();
    assert_eq!(names.len(), 3);
}

#[test]
fn unrouted_inputs_are_reported() {
    // Passing I/O that does not connect must be caught, not written.
    let bytes = chain(2);
    let view = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&view).unwrap();
    let cuts = Cuts::new(vec![2], graph.len()).unwrap();
    let mut ios: Vec<_> = cuts.segments().map(|r| graph.segment_io(r)).collect();
    ios[0].outputs.clear();
    let err = segment::routes(&graph, &cuts, &ios).unwrap_err();
    assert!(
        matches!(err, SegmentError::Unrouted { segment: 1, .. }),
        "{err}"
    );
}

#[test]
fn choose_cuts_checks_counts() {
    let bytes = chain(3);
    let graph = Graph::build(&ModelView::parse(&bytes).unwrap()).unwrap();
    let (c, s) = choose_cuts(&graph, Some(3), None).unwrap();
    assert_eq!((c.positions().to_vec(), s), (vec![2, 4], Strategy::Params));
    let (c, s) = choose_cuts(&graph, None, Some(vec![1, 5])).unwrap();
    assert_eq!((c.segment_count(), s), (3, Strategy::Manual));
    assert!(choose_cuts(&graph, Some(2), Some(vec![1, 5])).is_err());
    assert!(choose_cuts(&graph, Some(0), None).is_err());
    assert!(choose_cuts(&graph, Some(7), None).is_err());
    assert!(choose_cuts(&graph, None, Some(vec![6])).is_err());
}

#[test]
fn segment_data_is_copied_not_reinterpreted() {
    // A float32 constant with odd byte patterns survives untouched.
    let mut b = ModelBuilder::new();
    let x = b.tensor("x", &[1, 3], TensorType::FLOAT32);
    let data: Vec<u8> = [f32::NAN, -0.0, 1e-40]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let c = b.constant("c", &[1, 3], TensorType::FLOAT32, data.clone());
    let y = b.tensor("y", &[1, 3], TensorType::FLOAT32);
    let z = b.tensor("z", &[1, 3], TensorType::FLOAT32);
    b.op(BuiltinOperator::ADD, &[x, c], &[y]);
    b.op(BuiltinOperator::RELU, &[y], &[z]);
    b.inputs(&[x]).outputs(&[z]);
    let (_, segs) = split_and_check("float", &b.finish(), vec![1]);
    let s0 = ModelView::parse(&segs[0]).unwrap();
    assert_eq!(
        s0.main_subgraph().tensor_by_name("c").unwrap().data(),
        Some(&data[..])
    );
}

/// Serializes `model`, but with buffer `external` written as the newer schema's
/// `{ offset: 64, size: 16 }` (data outside the flatbuffer) instead of its data.
fn with_external_buffer(model: &schema::ModelT, external: usize) -> Vec<u8> {
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let subgraphs: Vec<_> = model
        .subgraphs
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.pack(&mut fbb))
        .collect();
    let subgraphs = fbb.create_vector(&subgraphs);
    let codes: Vec<_> = model
        .operator_codes
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.pack(&mut fbb))
        .collect();
    let codes = fbb.create_vector(&codes);
    let mut buffers = Vec::new();
    for (i, b) in model.buffers.as_ref().unwrap().iter().enumerate() {
        if i == external {
            let start = fbb.start_table();
            fbb.push_slot_always::<u64>(6, 64); // Buffer.offset
            fbb.push_slot_always::<u64>(8, 16); // Buffer.size
            buffers.push(flatbuffers::WIPOffset::<schema::Buffer<'_>>::new(
                fbb.end_table(start).value(),
            ));
        } else {
            buffers.push(b.pack(&mut fbb));
        }
    }
    let buffers = fbb.create_vector(&buffers);
    let root = schema::Model::create(
        &mut fbb,
        &schema::ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    schema::finish_model_buffer(&mut fbb, root);
    fbb.finished_data().to_vec()
}

#[test]
fn parts_the_schema_cannot_copy_are_refused() {
    // A weight whose data lives outside the flatbuffer (models above 2 GiB).
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 16]);
    let w = b.int8("w", &[16, 16]);
    let bias = b.bias("b", 16);
    let y = b.int8("y", &[1, 16]);
    b.fully_connected(x, w, bias, y);
    b.inputs(&[x]).outputs(&[y]);
    let buffers = b.model.buffers.as_mut().unwrap();
    buffers.push(schema::BufferT::default());
    let external = buffers.len() - 1;
    b.subgraph().tensors.as_mut().unwrap()[w as usize].buffer = external as u32;
    let bytes = with_external_buffer(&b.model, external);
    let err = segment::check_external_buffers(&ModelView::parse(&bytes).unwrap()).unwrap_err();
    assert!(
        matches!(err, SegmentError::ExternalBuffer { ref tensor, .. } if tensor == "w"),
        "{err}"
    );
    ModelFile::from_bytes("ext.tflite", bytes.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = tpupipe_compiler::Builder::from_bytes("ext.tflite", bytes)
        .tpus(1)
        .strategy(Strategy::Params)
        .out_dir(dir.path())
        .split()
        .unwrap_err();
    assert!(err.to_string().contains("outside the flatbuffer"), "{err}");

    // An operator whose options table has a type this schema does not know.
    let mut bytes = chain(1);
    let pos = {
        let view = ModelView::parse(&bytes).unwrap();
        let op = view
            .main_subgraph()
            .operator(tpupipe_runtime::OpIndex(0))
            .raw();
        let field = op
            ._tab
            .vtable()
            .get(schema::Operator::VT_BUILTIN_OPTIONS_TYPE);
        assert_ne!(field, 0);
        op._tab.loc() + field as usize
    };
    bytes[pos] = 250;
    let view = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&view).unwrap();
    let split = Split::new(view, &graph, Cuts::new(vec![1], 2).unwrap(), "opts.tflite").unwrap();
    let err = split.write_segment(0).unwrap_err();
    assert!(
        matches!(err, SegmentError::UnknownOperatorFields { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("builtin options type 250"),
        "{err}"
    );
    assert!(split.write_segment(1).is_ok());
}
