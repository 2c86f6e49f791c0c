tpupipe::tpupipe_model!("models/net.tflite", tpus = 2, tpus = 3);
fn main() {}
