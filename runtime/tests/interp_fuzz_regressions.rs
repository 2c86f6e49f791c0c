//! Cases found by `tests/fixtures/fuzz_graphs.py` (random graphs against LiteRT), reproduced on
//! committed single-op fixtures edited in memory.
//!
//! Activation bounds on a tiny output scale: `6 / scale` beyond the `i32` range. TFLite refuses
//! that for fused activations (`no_integer_overflow_from_quantization`); its standalone RELU6
//! converts the quotient out of range (undefined behaviour; on x86 every output became the zero
//! point's byte, fuzz seed 7 graph 3290). The interpreter refuses both at load with a clear error
//! instead of overflowing. The same for MUL multipliers of 2^30 or more, and for float
//! requantizations (uint8 CONCATENATION, MEAN/SUM) whose rounded values could leave `i32`.

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

// The same class of overflow in the float requantizations (not reached by the fuzzer's scales):
// a scale ratio so large that the rounded value leaves `i32` is refused, not wrapped.

const CONCAT_U8: &str = "ops/core/concat_uint8_rescale.tflite";
const MEAN_I8: &str = "ops/core/mean_int8_last_axis.tflite";

#[test]
fn uint8_concat_rescaling_beyond_int32_is_refused() {
    load_edited(CONCAT_U8, |_| {}).expect("the fixture itself loads");
    let r = load_edited(CONCAT_U8, |m| set_scale(m, "output", 1e-9));
    expect_invalid(r, "CONCATENATION", "beyond int32");
}

#[test]
fn mean_rescaling_beyond_int32_is_refused() {
    load_edited(MEAN_I8, |_| {}).expect("the fixture itself loads");
    let r = load_edited(MEAN_I8, |m| set_scale(m, "output", 1e-9));
    expect_invalid(r, "MEAN", "beyond int32");
}

/// MUL with a requantization multiplier of 2^30 or more (fuzz seed 1 graph 9562: 8.6e15), which
/// TFLite applies with an undefined `1 << shift`: refused, not computed.
#[test]
fn mul_with_a_huge_multiplier_is_refused() {
    const MUL: &str = "ops/core/mul_int8_same_shape.tflite";
    load_edited(MUL, |_| {}).expect("the fixture itself loads");
    // 0.02 * 0.03 / 1e-12 = 6e8 < 2^30 still loads; / 1e-13 = 6e9 does not.
    load_edited(MUL, |m| set_scale(m, "output", 1e-12)).expect("a multiplier below 2^30 loads");
    match load_edited(MUL, |m| set_scale(m, "output", 1e-13)) {
        Err(LoadError::Unsupported { kind, reason, .. }) => {
            assert_eq!(kind, "MUL");
            assert!(reason.contains("2^30 or more"), "reason: {reason}");
        }
        other => panic!("expected Unsupported from MUL, got {other:?}"),
    }
}
