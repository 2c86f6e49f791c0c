//! Finding `edgetpu_compiler` and its version.
//!
//! Looked for at `TPUPIPE_EDGETPU_COMPILER` (a path) first, then as `edgetpu_compiler` on
//! `PATH`. The version is the last token of `edgetpu_compiler --version` (how Ultralytics reads
//! it; the line is `Edge TPU Compiler version 16.0.384591198`). What each version can do
//! follows the release history: `--num_segments` / `--intermediate_tensors` from 2.1,
//! `--timeout_sec`, `--search_delegate` and `--delegate_search_step` from 16.0.

use super::error::DriverError;
use super::invoke::{run_child, ChildRun};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The variable naming the compiler's path.
pub const COMPILER_ENV: &str = "TPUPIPE_EDGETPU_COMPILER";

/// The program name looked for on `PATH`.
pub const COMPILER_NAME: &str = "edgetpu_compiler";

/// How long `--version` may take.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A compiler version `major.minor.build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompilerVersion {
    /// 2, 14, 15, 16.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Build (changelist) number, 0 when absent.
    pub build: u64,
}

impl CompilerVersion {
    /// Parses `16.0.384591198` (or `16.0`).
    pub fn parse(s: &str) -> Option<CompilerVersion> {
        let mut parts = s.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let build = match parts.next() {
            Some(b) => b.parse().ok()?,
            None => 0,
        };
        parts.next().is_none().then_some(CompilerVersion {
            major,
            minor,
            build,
        })
    }

    /// `--timeout_sec` (and the compile child process): 16.0 on.
    pub fn has_timeout(&self) -> bool {
        self.major >= 16
    }

    /// `--search_delegate` and `--delegate_search_step`: 16.0 on.
    pub fn has_search_delegate(&self) -> bool {
        self.major >= 16
    }

    /// `--num_segments` and `--intermediate_tensors`: 2.1 on.
    pub fn has_segments(&self) -> bool {
        (self.major, self.minor) >= (2, 1)
    }

    /// The default `--min_runtime_version`, also the newest runtime the version targets: 14 for
    /// 16.0, 13 for 2.1 to 15.0, 12 before.
    pub fn default_min_runtime(&self) -> u32 {
        if self.major >= 16 {
            14
        } else if self.has_segments() {
            13
        } else {
            12
        }
    }
}

impl fmt::Display for CompilerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// A found compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiler {
    path: PathBuf,
    version: CompilerVersion,
}

impl Compiler {
    /// Finds the compiler (`TPUPIPE_EDGETPU_COMPILER`, then `PATH`) and asks its version.
    pub fn discover() -> Result<Compiler, DriverError> {
        if let Some(p) = std::env::var_os(COMPILER_ENV).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(&p);
            if !path.is_file() {
                return Err(DriverError::NotFound {
                    searched: format!("{COMPILER_ENV}={} is not a file", path.display()),
                });
            }
            return Compiler::at(path);
        }
        match which::which(COMPILER_NAME) {
            Ok(path) => Compiler::at(path),
            Err(_) => Err(DriverError::NotFound {
                searched: format!("{COMPILER_ENV} is not set and {COMPILER_NAME} is not on PATH"),
            }),
        }
    }

    /// The compiler at `path`, with its version asked.
    pub fn at(path: impl Into<PathBuf>) -> Result<Compiler, DriverError> {
        let path = path.into();
        let version = query_version(&path)?;
        Ok(Compiler { path, version })
    }

    /// The compiler's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its version.
    pub fn version(&self) -> CompilerVersion {
        self.version
    }
}

/// Runs `path --version` and parses the last token of its stdout.
pub fn query_version(path: &Path) -> Result<CompilerVersion, DriverError> {
    let fail = |reason: String| DriverError::Version {
        path: path.to_path_buf(),
        reason,
    };
    let run: ChildRun = run_child(path, &["--version".into()], None, &[], VERSION_TIMEOUT)
        .map_err(|e| fail(e.to_string()))?;
    if run.timed_out {
        return Err(fail(format!(
            "no answer within {} s",
            VERSION_TIMEOUT.as_secs()
        )));
    }
    if !run.success() {
        return Err(fail(format!(
            "it exited with {}: {}",
            run.describe_status(),
            run.stderr.trim()
        )));
    }
    let token = run.stdout.split_whitespace().last().unwrap_or("");
    CompilerVersion::parse(token)
        .ok_or_else(|| fail(format!("unexpected output {:?}", run.stdout.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_gate_options() {
        let v = CompilerVersion::parse("16.0.384591198").unwrap();
        assert!(v.has_timeout() && v.has_search_delegate() && v.has_segments());
        assert_eq!(v.default_min_runtime(), 14);
        let v15 = CompilerVersion::parse("15.0.340273435").unwrap();
        assert!(!v15.has_timeout() && v15.has_segments());
        let v20 = CompilerVersion::parse("2.0.267685300").unwrap();
        assert!(!v20.has_segments());
        assert!(v20 < v15 && v15 < v);
        assert_eq!(CompilerVersion::parse("version"), None);
        assert_eq!(v.to_string(), "16.0.384591198");
    }
}
