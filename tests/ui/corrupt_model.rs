tpupipe::tpupipe_model!("tests/models/README.md", tpus = 2, backend = "cpu");
fn main() {}
