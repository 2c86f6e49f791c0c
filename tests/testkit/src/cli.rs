//! Running the `tpupipe` binary from a test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `tpupipe` binary under test. Integration tests of the CLI crate build it:
/// `Tpupipe::new(env!("CARGO_BIN_EXE_tpupipe"))`.
#[derive(Debug, Clone)]
pub struct Tpupipe {
    bin: PathBuf,
    dir: PathBuf,
}

/// What one run printed.
#[derive(Debug)]
pub struct Run {
    /// The exit status was success.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Tpupipe {
    /// The binary at `bin`, run from the workspace root.
    pub fn new(bin: impl Into<PathBuf>) -> Tpupipe {
        Tpupipe {
            bin: bin.into(),
            dir: crate::paths::repo_root(),
        }
    }

    /// Runs from `dir` instead of the workspace root.
    pub fn in_dir(mut self, dir: impl AsRef<Path>) -> Tpupipe {
        self.dir = dir.as_ref().to_path_buf();
        self
    }

    /// A command for `args`, not yet run (to add environment or stdin).
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args).current_dir(&self.dir);
        c
    }

    /// Runs `args` to completion.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        Run::from(
            self.command(args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display())),
        )
    }

    /// Runs `args` with extra environment variables.
    pub fn run_with_env<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(args);
        c.envs(env.iter().copied());
        Run::from(
            c.output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display())),
        )
    }

    /// Runs `args` and returns its stdout, failing the test (with its stderr) unless it
    /// succeeded.
    pub fn ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        let r = self.run(args);
        assert!(r.ok, "tpupipe failed: {}", r.stderr);
        r.stdout
    }

    /// Runs `args`, expects failure with exactly one `error:` line on stderr, and returns that
    /// line.
    pub fn fails<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        let r = self.run(args);
        assert!(!r.ok, "tpupipe should have failed; stdout:\n{}", r.stdout);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line expected on stderr:\n{}", r.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        lines[0].to_string()
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The `tpupipe` binary of the calling crate's integration test
/// (`Tpupipe::new(env!("CARGO_BIN_EXE_tpupipe"))`, resolved where the macro is used).
#[macro_export]
macro_rules! tpupipe {
    () => {
        $crate::cli::Tpupipe::new(env!("CARGO_BIN_EXE_tpupipe"))
    };
}
