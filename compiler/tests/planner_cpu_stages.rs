//! Plans with CPU stages: the exact search with device labels equals brute force over the same
//! space (every cut list, every device per segment, every share of TPUs) on random graphs with
//! random placements and host costs.

use proptest::prelude::*;
use std::cmp::Ordering;
use tpupipe_compiler::cost::synthetic::{Source, SyntheticModel};
use tpupipe_compiler::cost::{CostModel, HostLink, Layer};
use tpupipe_compiler::placement::host_cost::HostCostOrigin;
use tpupipe_compiler::placement::HostCost;
use tpupipe_compiler::planner::balanced::{balanced_layout, balanced_layout_exact, CostTable};
use tpupipe_compiler::planner::brute_force::brute_force_placed;
use tpupipe_compiler::planner::layout::Device;
use tpupipe_compiler::planner::model_cost::ModelCost;
use tpupipe_compiler::planner::placed_cost::{PlacedCost, StagePlacement};
use tpupipe_compiler::planner::replicated::replicated_layout;
use tpupipe_compiler::planner::sides::{Side, Sides};
use tpupipe_compiler::planner::strategy::{cmp_ms, Objective, SegmentCostFn};
use tpupipe_compiler::planner::PlanError;

fn layer_strategy() -> impl proptest::strategy::Strategy<Value = (Layer, u64)> {
    prop_oneof![
        (16u64..3000, 16u64..3000)
            .prop_map(|(i, o)| (Layer::fully_connected(i, o, 1, i * o + 4 * o), o)),
        (1u64..64, 3u64..700, 3u64..700).prop_map(|(hw, i, o)| {
            let pos = hw * hw;
            (Layer::conv2d(pos, 9, i, o, 9 * i * o + 4 * o), pos * o)
        }),
        (1u64..100_000).prop_map(|n| (Layer::elementwise(n, 0), n)),
    ]
}

fn side_strategy() -> impl proptest::strategy::Strategy<Value = Side> {
    prop_oneof![
        6 => Just(Side::Tpu),
        1 => Just(Side::FloatIn),
        1 => Just(Side::FloatOut),
        2 => Just(Side::Cpu),
    ]
}

/// A random chain with skips, a side and a host time (0.001 to 30 ms) per position.
fn placed_model(
    max_len: usize,
) -> impl proptest::strategy::Strategy<Value = (SyntheticModel, Vec<Side>, Vec<f64>)> {
    proptest::collection::vec(
        (layer_strategy(), side_strategy(), 0.001f64..30.0),
        2..=max_len,
    )
    .prop_flat_map(|ops| {
        let len = ops.len();
        (
            Just(ops),
            1u64..200_000,
            proptest::collection::vec((0..len, 0..len), 0..3),
        )
    })
    .prop_map(|(ops, input, skips)| {
        let mut layers = Vec::new();
        let mut out = Vec::new();
        let mut sides = Vec::new();
        let mut host = Vec::new();
        for ((l, o), s, h) in ops {
            layers.push(l);
            out.push(o);
            sides.push(s);
            host.push(h);
        }
        let len = layers.len();
        let mut m = SyntheticModel::chain("random", layers, input, out);
        for (a, b) in skips {
            if a + 1 < b && !m.reads[b].contains(&Source::Op(a)) {
                m.reads[b].push(Source::Op(a));
            }
        }
        assert_eq!(m.layers.len(), len);
        (m, sides, host)
    })
}

fn placement(sides: Vec<Side>, host: Vec<f64>, cores: usize) -> StagePlacement {
    StagePlacement::new(
        Sides::new(sides),
        HostCost::from_per_op_ms(host, cores, HostCostOrigin::Measured),
    )
}

fn check_layout(cost: &dyn SegmentCostFn, layout: &tpupipe_compiler::planner::layout::Layout) {
    for (i, r) in layout.ranges(cost.len()).into_iter().enumerate() {
        if layout.device(i) == Device::EdgeTpu {
            assert!(
                cost.tpu_feasible(r.clone()),
                "Edge TPU segment {r:?} is not mapped whole"
            );
        }
    }
    assert!(layout.cpu_stages() <= cost.max_cpu_stages());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_search_with_cpu_stages_equals_brute_force(
        (m, sides, host) in placed_model(7),
        tpus in 1usize..=3,
        cores in 1usize..=3,
        shared in any::<bool>(),
    ) {
        let link = if shared { HostLink::Shared } else { HostLink::Dedicated };
        let inner = ModelCost::new(&m, CostModel::default().with_host_link(link));
        let p = placement(sides, host, cores);
        let cost = PlacedCost::new(&inner, &p);
        prop_assume!(tpus <= cost.len());
        let table = CostTable::new(&cost);
        let got = balanced_layout_exact(&cost, &table, tpus);
        let oracle = brute_force_placed(&cost, tpus, false);
        match (got, oracle) {
            (Err(PlanError::NoTpuLayout { .. }), None) => {}
            (Ok(layout), Some((best_layout, best))) => {
                check_layout(&cost, &layout);
                prop_assert_eq!(layout.tpus(), tpus);
                let obj = Objective::of_layout(&cost, &layout);
                if shared {
                    prop_assert_eq!(cmp_ms(obj.bottleneck_ms, best.bottleneck_ms), Ordering::Equal,
                        "search {:?} {:?} vs brute force {:?} {:?}", layout, obj, best_layout, best);
                } else {
                    prop_assert_eq!(obj.compare(&best), Ordering::Equal,
                        "search {:?} {:?} vs brute force {:?} {:?}", layout, obj, best_layout, best);
                }
            }
            (got, oracle) => prop_assert!(false, "search {:?} vs brute force {:?}", got, oracle),
        }
    }

    #[test]
    fn replication_with_cpu_stages_equals_brute_force(
        (m, sides, host) in placed_model(6),
        tpus in 1usize..=3,
        cores in 1usize..=2,
    ) {
        let inner = ModelCost::new(&m, CostModel::default());
        let p = placement(sides, host, cores);
        let cost = PlacedCost::new(&inner, &p);
        let got = replicated_layout(&cost, tpus);
        let oracle = brute_force_placed(&cost, tpus, true);
        match (got, oracle) {
            (Err(PlanError::NoTpuLayout { .. }), None) => {}
            (Ok(layout), Some((best_layout, best))) => {
                check_layout(&cost, &layout);
                let obj = Objective::of_layout(&cost, &layout);
                prop_assert_eq!(obj.compare(&best), Ordering::Equal,
                    "replicated {:?} {:?} vs brute force {:?} {:?}", layout, obj, best_layout, best);
            }
            (got, oracle) => prop_assert!(false, "replicated {:?} vs brute force {:?}", got, oracle),
        }
    }

    #[test]
    fn allowing_fewer_tpus_is_never_worse(
        (m, sides, host) in placed_model(7),
        tpus in 1usize..=3,
    ) {
        let inner = ModelCost::new(&m, CostModel::default());
        let p = placement(sides, host, 2);
        let cost = PlacedCost::new(&inner, &p);
        prop_assume!(tpus <= cost.len());
        if let Ok(exact) = balanced_layout(&cost, tpus, false) {
            let fewer = balanced_layout(&cost, tpus, true).unwrap();
            let (a, b) = (Objective::of_layout(&cost, &fewer), Objective::of_layout(&cost, &exact));
            prop_assert!(a.compare(&b) != Ordering::Greater);
        }
    }
}

#[test]
fn an_all_tpu_placement_plans_as_without_one() {
    let layers: Vec<Layer> = (0..6)
        .map(|i| Layer::fully_connected(1000 + 200 * i, 1500, 1, 3_000_000))
        .collect();
    let out = vec![1500; 6];
    let m = SyntheticModel::chain("fc", layers, 1000, out);
    let inner = ModelCost::new(&m, CostModel::default());
    let p = placement(vec![Side::Tpu; 6], vec![1.0; 6], 4);
    assert_eq!(p.max_cpu_stages(), 0);
    let cost = PlacedCost::new(&inner, &p);
    for n in 1..=4 {
        let with = balanced_layout(&cost, n, false).unwrap();
        let without = balanced_layout(&inner, n, false).unwrap();
        assert_eq!(with, without);
        assert_eq!(with.cpu_stages(), 0);
    }
}

#[test]
fn an_unsupported_op_in_the_middle_becomes_a_cpu_stage() {
    // Two heavy FC blocks with a cheap CPU operator between them.
    let layers: Vec<Layer> = (0..5)
        .map(|_| Layer::fully_connected(1500, 1500, 1, 2_300_000))
        .collect();
    let m = SyntheticModel::chain("fc", layers, 1500, vec![1500; 5]);
    let inner = ModelCost::new(&m, CostModel::default());
    let sides = vec![Side::Tpu, Side::Tpu, Side::Cpu, Side::Tpu, Side::Tpu];
    let p = placement(sides, vec![5.0, 5.0, 0.05, 5.0, 5.0], 2);
    let cost = PlacedCost::new(&inner, &p);
    let layout = balanced_layout(&cost, 2, false).unwrap();
    assert_eq!(layout.cuts, vec![2, 3]);
    assert_eq!(
        layout.devices,
        vec![Device::EdgeTpu, Device::Cpu, Device::EdgeTpu]
    );
    // One TPU with the CPU tail (the compiler's own placement) is slower.
    let own = cost.stage_ms(0..5);
    assert_eq!(own, p_compiler(&cost));
    assert!(own > Objective::of_layout(&cost, &layout).bottleneck_ms);
}

fn p_compiler(cost: &PlacedCost<'_>) -> f64 {
    cost.compiler_ms(0..cost.len())
}

/// `x -> FC -> RELU -> FC -> CUSTOM -> 3 x (FC -> RELU -> FC)`, width 1024 (the custom op between
/// two FC blocks).
fn custom_in_the_middle() -> Vec<u8> {
    use tpupipe_runtime::schema::BuiltinOperator;
    let mut b = tpupipe_testkit::model_builder::ModelBuilder::new();
    let x = b.int8("x", &[1, 1024]);
    let mut cur = x;
    for i in 0..8 {
        if i == 2 {
            let c = b.int8("custom_out", &[1, 1024]);
            b.custom_op("MyOp", &[cur], &[c]);
            cur = c;
        }
        let w = b.weights(&format!("w{i}"), &[1024, 1024], 0);
        let bias = b.bias(&format!("b{i}"), 1024);
        let fc = b.int8(&format!("fc{i}"), &[1, 1024]);
        b.fully_connected(cur, w, bias, fc);
        cur = fc;
        if i % 2 == 0 {
            let relu = b.int8(&format!("relu{i}"), &[1, 1024]);
            b.op(BuiltinOperator::RELU, &[fc], &[relu]);
            cur = relu;
        }
    }
    b.inputs(&[x]).outputs(&[cur]);
    b.finish()
}

#[test]
fn a_custom_op_between_blocks_is_a_cpu_stage_of_a_real_plan() {
    let bytes = custom_in_the_middle();
    for tpus in [2, 3] {
        let report = tpupipe_compiler::Builder::from_bytes("custom.tflite", bytes.clone())
            .tpus(tpus)
            .host_cores(2)
            .plan()
            .unwrap();
        let custom = (0..report.op_count)
            .find(|&p| {
                report
                    .segments
                    .iter()
                    .any(|s| s.device == Device::Cpu && s.op_range[0] <= p && p < s.op_range[1])
            })
            .expect("a CPU stage");
        assert_eq!(custom, 3, "{:?}", report.segments);
        let cpu: Vec<_> = report
            .segments
            .iter()
            .filter(|s| s.device == Device::Cpu)
            .collect();
        assert_eq!(cpu.len(), 1);
        assert_eq!(
            cpu[0].op_range,
            [3, 4],
            "only the custom op runs on the CPU"
        );
        assert_eq!(report.tpus, tpus);
        assert!(report.bottleneck_ms < report.compiler_ms, "{report:#?}");
    }
}
