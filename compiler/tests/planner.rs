//! The planner's strategies on synthetic graphs and on small real models: `balanced` equals
//! brute force, is never worse than `params`, beats it on the conv family; `profiled` follows
//! its profile; the graph adapter's incremental segment I/O matches the graph's.

use proptest::prelude::*;
use std::cmp::Ordering;
use tpupipe_compiler::cost::from_graph::GraphCost;
use tpupipe_compiler::cost::synthetic::{Source, SyntheticModel};
use tpupipe_compiler::cost::HostLink;
use tpupipe_compiler::cost::{CostModel, CostSource, Layer};
use tpupipe_compiler::planner::balanced::{balanced_cuts, balanced_cuts_exact, CostTable};
use tpupipe_compiler::planner::brute_force::{brute_force_cuts, brute_force_layout};
use tpupipe_compiler::planner::context::{PlanContext, SearchOptions};
use tpupipe_compiler::planner::layout::Layout;
use tpupipe_compiler::planner::model_cost::ModelCost;
use tpupipe_compiler::planner::params::equal_param_cuts;
use tpupipe_compiler::planner::replicated::replicated_layout;
use tpupipe_compiler::planner::strategy::{
    cmp_ms, Objective, SegmentCostFn, Strategy as PlanStrategy,
};
use tpupipe_compiler::Profile;

/// A random layer: FC, conv, depthwise or elementwise with sizes spanning cached and streamed.
fn layer_strategy() -> impl proptest::strategy::Strategy<Value = (Layer, u64)> {
    prop_oneof![
        (16u64..3000, 16u64..3000)
            .prop_map(|(i, o)| (Layer::fully_connected(i, o, 1, i * o + 4 * o), o)),
        (1u64..64, 3u64..700, 3u64..700).prop_map(|(hw, i, o)| {
            let pos = hw * hw;
            (Layer::conv2d(pos, 9, i, o, 9 * i * o + 4 * o), pos * o)
        }),
        (1u64..64, 8u64..512)
            .prop_map(|(hw, c)| (Layer::depthwise(hw * hw, 9, c, 9 * c + 4 * c), hw * hw * c)),
        (1u64..100_000).prop_map(|n| (Layer::elementwise(n, 0), n)),
    ]
}

/// A random chain with random skip connections (residual edges).
fn graph_strategy(max_len: usize) -> impl proptest::strategy::Strategy<Value = SyntheticModel> {
    (
        proptest::collection::vec(layer_strategy(), 2..=max_len),
        1u64..200_000,
        proptest::collection::vec((0usize..64, 0usize..64), 0..4),
    )
        .prop_map(|(layers, input, skips)| {
            let (layers, out): (Vec<Layer>, Vec<u64>) = layers.into_iter().unzip();
            let len = layers.len();
            let mut m = SyntheticModel::chain("random", layers, input, out);
            for (a, b) in skips {
                let (from, to) = (a % len, b % len);
                if from + 1 < to && !m.reads[to].contains(&Source::Op(from)) {
                    m.reads[to].push(Source::Op(from));
                }
            }
            m
        })
}

fn params_of(m: &SyntheticModel) -> Vec<u64> {
    m.layers.iter().map(|l| l.param_bytes.bytes()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn balanced_equals_brute_force(m in graph_strategy(8), n in 1usize..=4) {
        let cost = ModelCost::new(&m, CostModel::default());
        prop_assume!(n <= m.len());
        let table = CostTable::new(&cost);
        let cuts = balanced_cuts_exact(&table, n).unwrap();
        let (oracle, best) = brute_force_cuts(&cost, n).unwrap();
        let got = Objective::of(&cost, &cuts);
        prop_assert_eq!(got.compare(&best), Ordering::Equal, "balanced {:?} {:?} vs brute force {:?} {:?}", cuts, got, oracle, best);
    }

    #[test]
    fn balanced_is_never_worse_than_params(m in graph_strategy(24), n in 1usize..=6) {
        prop_assume!(n <= m.len());
        let cost = ModelCost::new(&m, CostModel::default());
        let params = equal_param_cuts(&params_of(&m), n).unwrap();
        let balanced = balanced_cuts(&cost, n, false).unwrap();
        prop_assert_eq!(balanced.len(), n - 1);
        let (p, b) = (Objective::of(&cost, &params), Objective::of(&cost, &balanced));
        prop_assert!(b.compare(&p) != Ordering::Greater, "balanced {:?} worse than params {:?}", b, p);
        // Fewer TPUs allowed: never worse than the exact count.
        let fewer = balanced_cuts(&cost, n, true).unwrap();
        prop_assert!(fewer.len() < n);
        prop_assert!(Objective::of(&cost, &fewer).compare(&b) != Ordering::Greater);
    }

    #[test]
    fn balanced_equals_brute_force_on_a_shared_wire(m in graph_strategy(8), n in 1usize..=4) {
        prop_assume!(n <= m.len());
        let cost = ModelCost::new(&m, CostModel::default().with_host_link(HostLink::Shared));
        let cuts = balanced_cuts_exact(&CostTable::new(&cost), n).unwrap();
        let (oracle, best) = brute_force_cuts(&cost, n).unwrap();
        let got = Objective::of(&cost, &cuts);
        // The bottleneck is exact; the latency tie-break may yield to the wire (see search.rs).
        prop_assert_eq!(cmp_ms(got.bottleneck_ms, best.bottleneck_ms), Ordering::Equal,
            "balanced {:?} {:?} vs brute force {:?} {:?}", cuts, got, oracle, best);
    }

    #[test]
    fn replicated_equals_brute_force(m in graph_strategy(6), tpus in 1usize..=4, shared in any::<bool>()) {
        let link = if shared { HostLink::Shared } else { HostLink::Dedicated };
        let cost = ModelCost::new(&m, CostModel::default().with_host_link(link));
        let layout = replicated_layout(&cost, tpus).unwrap();
        prop_assert!(layout.tpus() <= tpus && layout.replicas.iter().all(|&r| r >= 1));
        prop_assert_eq!(layout.replicas.len(), layout.cuts.len() + 1);
        let got = Objective::of_layout(&cost, &layout);
        let (oracle, best) = brute_force_layout(&cost, tpus).unwrap();
        if shared {
            prop_assert_eq!(cmp_ms(got.bottleneck_ms, best.bottleneck_ms), Ordering::Equal,
                "replicated {:?} {:?} vs brute force {:?} {:?}", layout, got, oracle, best);
        } else {
            prop_assert_eq!(got.compare(&best), Ordering::Equal,
                "replicated {:?} {:?} vs brute force {:?} {:?}", layout, got, oracle, best);
        }
    }

    #[test]
    fn replication_is_never_worse_than_a_pipeline(m in graph_strategy(24), n in 1usize..=6, shared in any::<bool>()) {
        prop_assume!(n <= m.len());
        let link = if shared { HostLink::Shared } else { HostLink::Dedicated };
        let cost = ModelCost::new(&m, CostModel::default().with_host_link(link));
        let replicated = Objective::of_layout(&cost, &replicated_layout(&cost, n).unwrap());
        for allow_fewer in [false, true] {
            let pipeline = Objective::of(&cost, &balanced_cuts(&cost, n, allow_fewer).unwrap());
            prop_assert!(cmp_ms(replicated.bottleneck_ms, pipeline.bottleneck_ms) != Ordering::Greater,
                "replicated {:?} worse than the pipeline {:?}", replicated, pipeline);
        }
    }

    #[test]
    fn incremental_rows_match_single_estimates(m in graph_strategy(10)) {
        let cost = ModelCost::new(&m, CostModel::default());
        for s in 0..m.len() {
            let row = cost.row(s);
            for (i, ms) in row.iter().enumerate() {
                let direct = cost.stage_ms(s..s + 1 + i);
                prop_assert!((ms - direct).abs() <= 1e-9 * direct.max(1.0));
            }
        }
    }
}

#[test]
fn brute_force_oracle_agrees_on_a_hand_made_chain() {
    // Four equal conv layers: two TPUs take two each.
    let layers = vec![Layer::conv2d(1024, 9, 256, 256, 9 * 256 * 256); 4];
    let m = SyntheticModel::chain("eq", layers, 1024 * 256, vec![1024 * 256; 4]);
    let cost = ModelCost::new(&m, CostModel::default());
    assert_eq!(balanced_cuts(&cost, 2, false).unwrap(), vec![2]);
    assert_eq!(brute_force_cuts(&cost, 2).unwrap().0, vec![2]);
}

#[test]
fn allow_fewer_uses_one_tpu_for_a_tiny_model() {
    // Tiny on-chip work: the per-stage host overhead makes every extra stage slower.
    let layers = vec![Layer::fully_connected(64, 64, 1, 64 * 64 + 256); 6];
    let m = SyntheticModel::chain("tiny", layers, 64, vec![64; 6]);
    let cost = ModelCost::new(&m, CostModel::default());
    assert_eq!(balanced_cuts(&cost, 4, false).unwrap().len(), 3);
    assert!(balanced_cuts(&cost, 4, true).unwrap().is_empty());
}

#[test]
fn replication_copies_a_model_that_fits_and_the_shared_wire_caps_the_copies() {
    // One mid-size conv model that fits one TPU: cuts only add 64x64xF transfers, copies
    // multiply throughput.
    let m = SyntheticModel::conv_family(256);
    let cost = ModelCost::new(&m, CostModel::default());
    let layout = replicated_layout(&cost, 4).unwrap();
    assert_eq!(layout, Layout::replicated(vec![], vec![4]));
    let single = cost.stage_ms(0..m.len());
    let obj = Objective::of_layout(&cost, &layout);
    assert!(obj.bottleneck_ms < single / 3.5, "{obj:?} vs {single}");
    // On a shared wire the copies still cross it once per inference: never faster than that.
    let shared = ModelCost::new(&m, CostModel::default().with_host_link(HostLink::Shared));
    let wire = shared.link_ms(0..m.len());
    let on_shared = Objective::of_layout(&shared, &replicated_layout(&shared, 8).unwrap());
    assert!(on_shared.bottleneck_ms >= wire * (1.0 - 1e-9));
    // A tiny model: one TPU, no copies, no host overhead.
    let tiny = SyntheticModel::chain(
        "tiny",
        vec![Layer::fully_connected(64, 64, 1, 64 * 64 + 256); 3],
        64,
        vec![64; 3],
    );
    let tiny_cost = ModelCost::new(&tiny, CostModel::default());
    let tiny_layout = replicated_layout(&tiny_cost, 4).unwrap();
    assert!(tiny_layout.tpus() >= 1);
    assert!(
        Objective::of_layout(&tiny_cost, &tiny_layout).bottleneck_ms
            <= tiny_cost.stage_ms(0..3) + 1e-12
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn balanced_beats_params_on_the_conv_family_at_four_tpus() {
    // Over the paper's sweep F = 32..702: never worse anywhere. Where the compiler's split
    // leaves its last segment streaming (F >= 582), balanced keeps every layer on chip and
    // must win by >= 1.3x in the median. Below that every stage is dominated by moving the
    // 64x64xF activations, which no cut avoids (the thesis measured the same at 3 TPUs), so
    // cuts alone are reported; with replication (copies of segments that take inferences in
    // turn) balanced must win by >= 1.3x in the median over the whole sweep.
    let mut all = Vec::new();
    let mut streaming = Vec::new();
    let mut replicated = Vec::new();
    let replicate = SearchOptions {
        allow_fewer: false,
        replicate: true,
    };
    for f in (32..=702).step_by(10) {
        let m = SyntheticModel::conv_family(f);
        let ctx = PlanContext::new(ModelCost::new(&m, CostModel::default()), None, None);
        let s = ctx
            .summary(PlanStrategy::Balanced, 4, SearchOptions::EXACT)
            .unwrap();
        assert!(
            s.speedup_vs_params >= 1.0 - 1e-12,
            "F={f}: balanced slower than params"
        );
        let params = ctx.evaluate(&ctx.params_cuts(4).unwrap()).unwrap();
        if params.segments.iter().any(|seg| seg.off_chip_bytes > 0) {
            streaming.push(s.speedup_vs_params);
            assert!(
                s.plan.segments.iter().all(|seg| seg.off_chip_bytes == 0),
                "F={f}: balanced streams"
            );
        }
        let r = ctx.summary(PlanStrategy::Balanced, 4, replicate).unwrap();
        assert!(r.tpus <= 4);
        assert!(
            r.plan.pipeline.bottleneck_ms <= s.plan.pipeline.bottleneck_ms * (1.0 + 1e-9),
            "F={f}: replication worse than cuts alone"
        );
        println!(
            "conv F={f}: 1 TPU {:.1} ms, params {:.1} ms, balanced {:.1} ms ({:.2}x), \
             replicated {:.1} ms ({:.2}x, TPUs {:?})",
            s.single_tpu_ms,
            s.params_bottleneck_ms,
            s.plan.pipeline.bottleneck_ms,
            s.speedup_vs_params,
            r.plan.pipeline.bottleneck_ms,
            r.speedup_vs_params,
            r.plan.pipeline.replicas
        );
        all.push(s.speedup_vs_params);
        replicated.push(r.speedup_vs_params);
    }
    let (med_all, med_stream, med_rep) =
        (median(all), median(streaming.clone()), median(replicated));
    println!(
        "conv family, 4 TPUs, params bottleneck / balanced bottleneck: median {med_all:.2}x over \
         F=32..702 with cuts alone, {med_stream:.2}x over the {} sizes where params streams, \
         {med_rep:.2}x with replication",
        streaming.len()
    );
    assert!(streaming.len() >= 10);
    assert!(
        med_stream >= 1.3,
        "median improvement where params streams only {med_stream:.2}x"
    );
    assert!(
        med_rep >= 1.3,
        "median improvement with replication only {med_rep:.2}x"
    );
}

fn profile_json(sha: &str, entries: &str) -> String {
    format!(
        r#"{{"format":"tpupipe-profile","version":1,"model_sha256":"{sha}","segments":[{entries}]}}"#
    )
}

#[test]
fn profiled_follows_measurements_and_falls_back_to_the_model() {
    let layers = vec![Layer::conv2d(1024, 9, 256, 256, 9 * 256 * 256); 4];
    let m = SyntheticModel::chain("eq", layers, 1024 * 256, vec![1024 * 256; 4]);
    let path = std::path::Path::new("profile.json");
    // Measurements say the first layer alone is very slow: the best 2-way split is then [1].
    let text = profile_json(
        "00ff",
        r#"{"op_range":[0,2],"latency_ms":100.0},{"op_range":[0,3],"latency_ms":120.0},{"op_range":[0,1],"latency_ms":50.0}"#,
    );
    let index = Profile::parse(path, &text)
        .unwrap()
        .validate(path, "eq", "00ff", 4)
        .unwrap();
    let ctx = PlanContext::new(ModelCost::new(&m, CostModel::default()), None, Some(index));
    let s = ctx
        .summary(PlanStrategy::Profiled, 2, SearchOptions::EXACT)
        .unwrap();
    assert_eq!(s.plan.cuts, vec![1]);
    assert_eq!(s.plan.segments[0].latency_ms, 50.0);
    let model_ms = ModelCost::new(&m, CostModel::default()).stage_ms(1..4);
    assert!(
        (s.plan.segments[1].latency_ms - model_ms).abs() < 1e-12,
        "unprofiled segment uses the model"
    );
    // Compiler-reported bytes: everything streamed makes that segment slower than predicted.
    let text = profile_json(
        "00ff",
        r#"{"op_range":[0,2],"on_chip_bytes":0,"off_chip_bytes":1200000}"#,
    );
    let index = Profile::parse(path, &text)
        .unwrap()
        .validate(path, "eq", "00ff", 4)
        .unwrap();
    let ctx = PlanContext::new(ModelCost::new(&m, CostModel::default()), None, Some(index));
    let e = ctx.evaluate(&[2]).unwrap();
    assert_eq!(e.segments[0].off_chip_bytes, 1_200_000);
    assert!(e.segments[0].latency_ms > ModelCost::new(&m, CostModel::default()).stage_ms(0..2));
    // Without a profile, 'profiled' is refused.
    let ctx = PlanContext::new(ModelCost::new(&m, CostModel::default()), None, None);
    assert!(ctx
        .summary(PlanStrategy::Profiled, 2, SearchOptions::EXACT)
        .unwrap_err()
        .to_string()
        .contains("--profile"));
}

fn model_path(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
        .join(name)
}

#[test]
fn graph_adapter_rows_match_segment_io_on_real_models() {
    use tpupipe_compiler::graph::Graph;
    use tpupipe_compiler::model_file::ModelFile;
    for name in [
        "conv_residual.tflite",
        "conv_small.tflite",
        "fc_tanh.tflite",
        "mobilenet_v2.tflite",
    ] {
        let file = ModelFile::open(model_path(name)).unwrap();
        let graph = Graph::build(&file.view().unwrap()).unwrap();
        let gc = GraphCost::new(&graph);
        for s in 0..graph.len() {
            let row = gc.io_row(s);
            for (i, &(bin, bout)) in row.iter().enumerate() {
                let e = s + 1 + i;
                assert_eq!((bin, bout), gc.io_bytes(s..e), "{name}: range {s}..{e}");
            }
        }
        // Params and balanced on the real graph.
        let ctx = PlanContext::new(
            ModelCost::new(&gc, CostModel::default()),
            Some(&graph),
            None,
        );
        let n = graph.len().min(3);
        let b = ctx
            .summary(PlanStrategy::Balanced, n, SearchOptions::EXACT)
            .unwrap();
        let p = ctx
            .summary(PlanStrategy::Params, n, SearchOptions::EXACT)
            .unwrap();
        assert!(
            b.plan.pipeline.bottleneck_ms <= p.plan.pipeline.bottleneck_ms * (1.0 + 1e-9),
            "{name}"
        );
        let param_sum: u64 = b.plan.segments.iter().map(|s| s.param_bytes).sum();
        assert_eq!(
            param_sum,
            graph.param_bytes(0..graph.len()).bytes(),
            "{name}"
        );
    }
}

#[test]
fn synth_models_cost_like_the_synthetic_families() {
    use tpupipe_compiler::graph::Graph;
    use tpupipe_compiler::model_file::ModelFile;
    use tpupipe_compiler::synth::{synth_conv, synth_fc, ConvSpec, FcSpec};
    let check = |bytes: Vec<u8>, family: SyntheticModel| {
        let file = ModelFile::from_bytes(family.name.clone(), bytes).unwrap();
        let graph = Graph::build(&file.view().unwrap()).unwrap();
        let gc = GraphCost::new(&graph);
        let real = ModelCost::new(&gc, CostModel::default()).estimate(0..graph.len());
        let synthetic = ModelCost::new(&family, CostModel::default()).estimate(0..family.len());
        println!("{}: graph {real:?}\n synthetic {synthetic:?}", family.name);
        let close = |a: u64, b: u64| (a as f64 - b as f64).abs() <= 0.01 * (b as f64).max(1.0);
        assert!(
            close(real.on_chip_bytes, synthetic.on_chip_bytes),
            "{}",
            family.name
        );
        assert!(
            close(real.off_chip_bytes, synthetic.off_chip_bytes),
            "{}",
            family.name
        );
        assert!(
            (real.total_ms - synthetic.total_ms).abs() <= 0.05 * synthetic.total_ms,
            "{}",
            family.name
        );
    };
    let mut fc = FcSpec::new(1000, 4);
    fc.float_io = true;
    check(synth_fc(&fc).unwrap(), SyntheticModel::fc_family(1000));
    let mut conv = ConvSpec::new(72, 5, 64);
    conv.float_io = true;
    // The calibration conv model had an int8 output; synth's float I/O adds a DEQUANTIZE.
    let mut family = SyntheticModel::conv_family(72);
    let last = family.len() - 1;
    family.layers.push(Layer::elementwise(64 * 64 * 72, 0));
    family.out_bytes.push(64 * 64 * 72 * 4);
    family.reads.push(vec![Source::Op(last)]);
    family.outputs = vec![last + 1];
    check(synth_conv(&conv).unwrap(), family);
}
