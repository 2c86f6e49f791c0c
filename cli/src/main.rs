//! The `tpupipe` command-line tool.

use clap::Parser;
use std::process::ExitCode;

/// Lets a closed pipe end the process quietly (`tpupipe inspect big.tflite | head`), as it does
/// for other Unix tools, instead of failing the next write (Rust ignores SIGPIPE by default, so
/// `println!` would panic).
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = tpupipe_cli::Cli::parse();
    match tpupipe_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tpupipe_cli::format::one_line(&e));
            ExitCode::FAILURE
        }
    }
}
