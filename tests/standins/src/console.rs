//! Where the stand-in's messages go, and the lines that frame a compile child's run.

use crate::compile::Failure;
use crate::version::Version;
use std::io::Write;

/// The default `--timeout_sec`.
pub const DEFAULT_TIMEOUT_SEC: u32 = 180;

/// Prints a line on stdout. A closed stdout is not worth a panic; the exit status still tells
/// the result.
pub fn out(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Prints a line on stderr.
pub fn err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The framing lines of the played version.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    /// The played version (16.0 on prints the timer and child-process lines).
    pub version: Version,
    /// `--timeout_sec`.
    pub timeout_sec: u32,
}

impl Console {
    /// "Started a compilation timeout timer of N seconds." (16.0 on).
    pub fn timer_line(&self) {
        if self.version.has_child_process() {
            out(&format!(
                "Started a compilation timeout timer of {} seconds.",
                self.timeout_sec
            ));
        }
    }

    /// The child-process lines ending a compile (16.0 on).
    pub fn child_done(&self, ok: bool) {
        if self.version.has_child_process() {
            out("Compilation child process completed within timeout period.");
            out(if ok {
                "Compilation succeeded! "
            } else {
                "Compilation failed! "
            });
        }
    }

    /// Prints a failure: its stderr and stdout lines, then the child-process lines when it
    /// happened in the compile child.
    pub fn failure(&self, f: &Failure, shown: &str) {
        for l in f.stderr_lines() {
            err(&l);
        }
        for l in f.stdout_lines(shown) {
            out(&l);
        }
        if f.in_child() {
            self.child_done(false);
        }
    }
}
