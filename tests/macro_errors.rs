//! Compile-fail tests of `tpupipe_model!`: every bad argument gives a `compile_error!` with its
//! message, spanning the argument at fault (`tests/ui/*.stderr`). Arguments are checked before
//! the model file; the cases that need one (too many TPUs, the Edge TPU backend, a missing
//! profile) find the fixtures through `TPUPIPE_MODEL_ROOT`, since trybuild's scratch crate lives
//! in the target directory.

#[test]
fn bad_arguments_are_compile_errors_at_the_argument() {
    std::env::set_var("TPUPIPE_MODEL_ROOT", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
