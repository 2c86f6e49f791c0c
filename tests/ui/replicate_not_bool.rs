tpupipe::tpupipe_model!("models/net.tflite", tpus = 2, replicate = "yes");
fn main() {}
