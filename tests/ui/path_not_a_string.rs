tpupipe::tpupipe_model!(models, tpus = 2);
fn main() {}
