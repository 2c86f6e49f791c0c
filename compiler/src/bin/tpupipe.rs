//! The `tpupipe` command-line tool.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = tpupipe_compiler::cli::Cli::parse();
    match tpupipe_compiler::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, separated by ": ".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
