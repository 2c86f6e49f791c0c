tpupipe::tpupipe_model!("models/does_not_exist.tflite", tpus = 2, backend = "cpu");
fn main() {}
