//! The compiler version the stand-in plays, and what each version can do.
//!
//! The stand-in plays 16.0.384591198 (the last release) unless `TPUPIPE_STANDIN_VERSION` names
//! another of the versions seen in real output (facts §0). The version decides which flags exist
//! (facts §1 "since" column), whether the v16 timer and child-process lines are printed, the
//! v2.0 memory lines, and the default `--min_runtime_version`.

use std::fmt;

/// The environment variable choosing the version the stand-in plays.
pub const VERSION_ENV: &str = "TPUPIPE_STANDIN_VERSION";

/// The last release, played by default.
pub const DEFAULT_VERSION: &str = "16.0.384591198";

/// A compiler version `major.minor.build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major number (2, 14, 15, 16).
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Build number (the changelist).
    pub build: u64,
}

impl Version {
    /// Parses `16.0.384591198`.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let build = parts.next().map_or(Some(0), |b| b.parse().ok())?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            build,
        })
    }

    /// The version chosen by [`VERSION_ENV`], or [`DEFAULT_VERSION`]. An unparsable value is
    /// an error naming it.
    pub fn from_env() -> Result<Version, String> {
        match std::env::var(VERSION_ENV) {
            Ok(v) => Version::parse(&v)
                .ok_or_else(|| format!("{VERSION_ENV}={v:?} is not a version like 16.0.384591198")),
            Err(_) => Ok(Version::parse(DEFAULT_VERSION).expect("the default version parses")),
        }
    }

    /// True from 16.0 on: the compile runs in a child process with a timeout
    /// (`--timeout_sec`, `--search_delegate`, `--delegate_search_step`, the timer lines).
    pub fn has_child_process(&self) -> bool {
        self.major >= 16
    }

    /// True from 2.1 on: `--num_segments` and `--intermediate_tensors`.
    pub fn has_segments(&self) -> bool {
        (self.major, self.minor) >= (2, 1)
    }

    /// True from 15.0 on: `--enable_multiple_subgraphs` (seen with v15 and v16 only).
    pub fn has_multiple_subgraphs(&self) -> bool {
        self.major >= 15
    }

    /// True for 2.0, which prints the "available" memory line and no "remaining" line.
    pub fn prints_available(&self) -> bool {
        (self.major, self.minor) == (2, 0)
    }

    /// The default `--min_runtime_version`: 14 for 16.0, 13 for 2.1 to 15.0, 12 for 2.0.
    pub fn default_min_runtime(&self) -> u32 {
        if self.major >= 16 {
            14
        } else if self.has_segments() {
            13
        } else {
            12
        }
    }

    /// The Edge TPU runtime version this compiler targets at most (its default).
    pub fn max_runtime(&self) -> u32 {
        self.default_min_runtime()
    }

    /// The `compiler_version` string written into the package (`cl/` for v16, facts §5).
    pub fn package_compiler_version(&self) -> String {
        if self.major >= 16 {
            "cl/".to_string()
        } else {
            format!("cl/{}", self.build)
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_gates_features() {
        let v16 = Version::parse("16.0.384591198").unwrap();
        let v15 = Version::parse("15.0.340273435").unwrap();
        let v20 = Version::parse("2.0.291256449").unwrap();
        assert_eq!(v16.to_string(), "16.0.384591198");
        assert!(v16.has_child_process() && !v15.has_child_process());
        assert!(v15.has_segments() && !v20.has_segments());
        assert!(v20.prints_available() && !v15.prints_available());
        assert_eq!(
            (v16.default_min_runtime(), v15.default_min_runtime()),
            (14, 13)
        );
        assert_eq!(Version::parse("16.x.1"), None);
    }
}
