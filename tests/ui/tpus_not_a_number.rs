tpupipe::tpupipe_model!("models/net.tflite", tpus = "four");
fn main() {}
