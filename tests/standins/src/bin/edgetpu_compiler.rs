//! The stand-in `edgetpu_compiler` (see the `tpupipe_standins` crate docs).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(tpupipe_standins::app::run(&args));
}
