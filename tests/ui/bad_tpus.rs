tpupipe::tpupipe_model!("models/net.tflite", tpus = 0, backend = "cpu");
fn main() {}
