tpupipe::tpupipe_model!("models/net.tflite", tpus = 2, interface = "thunderbolt");
fn main() {}
