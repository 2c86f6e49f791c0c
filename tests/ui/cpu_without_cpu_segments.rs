tpupipe::tpupipe_model!("models/net.tflite", backend = "cpu", cpu_segments = false);
fn main() {}
