//! Playing an injected fault ([`crate::faults`]): printing what the real compiler prints when it
//! fails that way, and ending with its exit status.

use crate::compile::Failure;
use crate::console::{err, out, Console};
use crate::faults::{self, Fault};
use std::io::Write;
use std::path::Path;

/// Exit status of a failed compile.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status bash gives a child killed by SIGSEGV (the wrapper script's status).
pub const EXIT_SEGFAULT: i32 = 139;

/// Plays `fault` for the input at `path` (printed as `shown`) before compiling it;
/// `Some(status)` ends the run with that status, `None` lets the compile go on (faults that
/// act on the output, or `internal-once` after its first failure).
pub fn play(
    console: &Console,
    fault: Fault,
    path: &Path,
    shown: &str,
) -> Result<Option<i32>, String> {
    match fault {
        Fault::Crash => {
            err("/usr/bin/edgetpu_compiler: line 3:  1531 Segmentation fault      (core dumped) ${d}/edgetpu_compiler_bin/ld-linux-x86-64.so.2 --library-path ${d}/edgetpu_compiler_bin ${d}/edgetpu_compiler_bin/edgetpu_compiler \"$@\"");
            Ok(Some(EXIT_SEGFAULT))
        }
        Fault::Signal => {
            let _ = std::io::stdout().flush();
            raise_segv();
            Ok(Some(EXIT_SEGFAULT))
        }
        Fault::Timeout => {
            console.timer_line();
            out("Compilation timeout. This is usually caused by large activations.");
            out("Compilation failed! ");
            Ok(Some(EXIT_FAILURE))
        }
        Fault::Hang => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        Fault::Internal => {
            out("");
            out("Internal compiler error. Aborting! ");
            Ok(Some(EXIT_FAILURE))
        }
        Fault::InternalOnce => {
            if faults::first_time(path)? {
                out("");
                out("Internal compiler error. Aborting! ");
                Ok(Some(EXIT_FAILURE))
            } else {
                Ok(None)
            }
        }
        Fault::LargeActivations => {
            console.timer_line();
            console.failure(&Failure::LargeActivations, shown);
            Ok(Some(EXIT_FAILURE))
        }
        Fault::Exception => {
            console.timer_line();
            err("libc++abi: terminating with uncaught exception of type std::out_of_range: vector");
            console.child_done(false);
            Ok(Some(EXIT_FAILURE))
        }
        Fault::NoReason => {
            console.timer_line();
            console.child_done(false);
            Ok(Some(EXIT_FAILURE))
        }
        Fault::Silent => Ok(Some(0)),
        Fault::MissingOutput | Fault::CorruptOutput => Ok(None),
    }
}

#[cfg(unix)]
fn raise_segv() {
    // SAFETY: resetting a signal's disposition and raising it have no memory-safety
    // preconditions. The Rust runtime installs its own SIGSEGV handler (for stack overflows),
    // which would return; with the default disposition the signal ends the process, which is
    // the point.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
}

#[cfg(not(unix))]
fn raise_segv() {
    std::process::abort();
}
