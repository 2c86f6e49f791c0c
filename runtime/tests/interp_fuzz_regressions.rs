//! Cases found by `tests/fixtures/fuzz_graphs.py` (random graphs against LiteRT), reproduced on
//! committed single-op fixtures edited in memory.
//!
//! Activation bounds on a tiny output scale: `6 / scale` beyond the `i32` range. TFLite refuses
//! that for fused activations (`no_integer_overflow_from_quantization`); its standalone RELU6
//! converts the quotient out of range (undefined behaviour; on x86 every output became the zero
//! point's byte, fuzz seed 7 graph 3290). The interpreter refuses both at load with a clear error
//! instead of overflowing.

mod common;

use common::models_dir;
use tpupipe_runtime::interp::{Interpreter, LoadError};
use tpupipe_runtime::schema::{self, ModelT};
use tpupipe_runtime::ModelView;

/// Loads fixture `path` (under `tests/models`), with `edit` applied to its object form.
fn load_edited(path: &str, edit: impl FnOnce(&mut ModelT)) -> Result<(), LoadError> {
    let path = models_dir().join(path);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut model = schema::root_as_model(&bytes)
        .expect("valid fixture")
        .unpack();
    edit(&mut model);
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = model.pack(&mut fbb);
    schema::finish_model_buffer(&mut fbb, root);
    let edited = fbb.finished_data().to_vec();
    let view = ModelView::parse(&edited).expect("edited model parses");
    Interpreter::new(&view).map(|_| ())
}

/// Sets the scale of tensor `name`.
fn set_scale(model: &mut ModelT, name: &str, scale: f32) {
    let t = model.subgraphs.as_mut().unwrap()[0]
        .tensors
        .as_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no tensor {name}"));
    t.quantization.as_mut().unwrap().scale = Some(vec![scale]);
}

#[track_caller]
fn expect_invalid(r: Result<(), LoadError>, kind_want: &str, needle: &str) {
    match r {
        Err(LoadError::Invalid { kind, reason, .. }) => {
            assert_eq!(kind, kind_want);
            assert!(reason.contains(needle), "reason: {reason}");
        }
        other => panic!("expected an Invalid error from {kind_want}, got {other:?}"),
    }
}

const RELU6: &str = "ops/math/relu6_int8_mult_gt1.tflite";
const CONV_RELU6: &str = "ops/core/conv_int8_relu6.tflite";

#[test]
fn standalone_relu6_with_an_overflowing_bound_is_refused() {
    load_edited(RELU6, |_| {}).expect("the fixture itself loads");
    // The fuzzer's case: 6 / 2.7e-11 is about 2.2e11.
    let r = load_edited(RELU6, |m| set_scale(m, "output", 2.735_382_4e-11));
    expect_invalid(r, "RELU6", "does not fit in int32");
}

#[test]
fn standalone_relu6_with_a_small_bound_that_fits_loads() {
    // 6 / 6e-9 = 1e9, within i32: a legal (if useless) clamp.
    load_edited(RELU6, |m| set_scale(m, "output", 6e-9)).expect("loads");
}

#[test]
fn fused_relu6_with_an_overflowing_bound_is_refused() {
    load_edited(CONV_RELU6, |_| {}).expect("the fixture itself loads");
    let r = load_edited(CONV_RELU6, |m| set_scale(m, "output", 1e-12));
    expect_invalid(r, "CONV_2D", "do not fit in int32");
}
