tpupipe::tpupipe_model!("models/net.tflite", tpus 2);
fn main() {}
