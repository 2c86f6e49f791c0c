tpupipe::tpupipe_model!("models/net.tflite", tpus = 2, strategy = "manual");
fn main() {}
