//! The order of [`Graph::build`]'s checks: a model with several faults reports the one found by
//! the earliest phase (writers, then dependencies, then model outputs, then ordering).

use super::{Graph, GraphError};
use tpupipe_runtime::schema::BuiltinOperator;
use tpupipe_runtime::{ModelView, OpIndex, TensorId};
use tpupipe_testkit::ModelBuilder;

/// Which faults the test model carries. Without any, it is `x -> RELU -> y` plus a
/// disconnected `RELU` pair.
#[derive(Clone, Copy)]
struct Faults {
    /// The pair writes `y` a second time.
    produced_twice: bool,
    /// The first operator also reads `ghost`, which nothing writes.
    unproduced_input: bool,
    /// `orphan`, which nothing writes, is a model output.
    orphan_output: bool,
    /// The pair feeds each other.
    cycle: bool,
}

fn build(f: Faults) -> Result<Graph, GraphError> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let ghost = b.int8("ghost", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let orphan = b.int8("orphan", &[1, 4]);
    let z = b.int8("z", &[1, 4]);
    let w = b.int8("w", &[1, 4]);
    if f.unproduced_input {
        b.op(BuiltinOperator::ADD, &[x, ghost], &[y]);
    } else {
        b.op(BuiltinOperator::RELU, &[x], &[y]);
    }
    let pair_out = if f.produced_twice { y } else { w };
    let pair_in = if f.cycle { z } else { x };
    b.op(BuiltinOperator::RELU, &[pair_in], &[pair_out]);
    b.op(BuiltinOperator::RELU, &[pair_out], &[z]);
    b.inputs(&[x]);
    if f.orphan_output {
        b.outputs(&[y, orphan]);
    } else {
        b.outputs(&[y]);
    }
    let bytes = b.finish();
    let model = ModelView::parse(&bytes).expect("the test model parses");
    Graph::build(&model)
}

const ALL: Faults = Faults {
    produced_twice: true,
    unproduced_input: true,
    orphan_output: true,
    cycle: true,
};

#[test]
fn the_faultless_model_builds() {
    let none = Faults {
        produced_twice: false,
        unproduced_input: false,
        orphan_output: false,
        cycle: false,
    };
    assert_eq!(build(none).expect("no faults").len(), 3);
}

#[test]
fn a_second_writer_is_reported_before_everything_else() {
    assert_eq!(
        build(ALL).unwrap_err(),
        GraphError::ProducedTwice {
            tensor: TensorId(2),
            name: "y".into(),
            first: "op0".into(),
            second: "op1".into(),
        }
    );
}

#[test]
fn an_unproduced_input_is_reported_before_outputs_and_cycles() {
    let f = Faults {
        produced_twice: false,
        ..ALL
    };
    assert_eq!(
        build(f).unwrap_err(),
        GraphError::Unproduced {
            op: OpIndex(0),
            kind: "ADD".into(),
            tensor: TensorId(1),
            name: "ghost".into(),
        }
    );
}

#[test]
fn an_unwritten_output_is_reported_before_a_cycle() {
    let f = Faults {
        produced_twice: false,
        unproduced_input: false,
        ..ALL
    };
    assert_eq!(
        build(f).unwrap_err(),
        GraphError::OutputNotProduced {
            tensor: TensorId(3),
            name: "orphan".into(),
        }
    );
}

#[test]
fn a_cycle_is_reported_last() {
    let f = Faults {
        produced_twice: false,
        unproduced_input: false,
        orphan_output: false,
        cycle: true,
    };
    let err = build(f).unwrap_err();
    assert!(
        matches!(err, GraphError::Cycle { ref ops, .. } if ops == &[OpIndex(1), OpIndex(2)]),
        "{err}"
    );
}
