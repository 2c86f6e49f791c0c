tpupipe::tpupipe_model!("models/net.tflite", name = "Net");
fn main() {}
