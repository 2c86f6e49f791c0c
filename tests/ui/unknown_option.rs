tpupipe::tpupipe_model!("models/net.tflite", tpus = 2, colour = "blue");
fn main() {}
