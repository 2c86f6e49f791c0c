//! The `tpupipe` command-line tool.

use clap::Parser;
use std::process::ExitCode;

/// The error and its causes on one line, separated by ": ". A cause whose text the message already
/// contains (error types that embed their source in their own message) is not repeated.
/// Control characters, which a hostile model can put into tensor names, are escaped.
fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

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
    let cli = tpupipe_compiler::cli::Cli::parse();
    match tpupipe_compiler::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}
