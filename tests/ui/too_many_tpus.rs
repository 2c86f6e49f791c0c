tpupipe::tpupipe_model!("tests/models/conv_residual.tflite", tpus = 500, backend = "cpu");
fn main() {}
