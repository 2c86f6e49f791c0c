tpupipe::tpupipe_model!("tests/models/conv_residual.tflite", tpus = 2, backend = "edgetpu");
fn main() {}
