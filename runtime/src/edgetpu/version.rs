//! The two libraries' versions and whether they are known to work together.
//!
//! libedgetpu reads TFLite's structs (`TfLiteTensor`, `TfLiteDelegate`, ...) with the layout of the
//! TensorFlow headers it was built against, so it only works with a TFLite library of that version.
//! Google's last release ("Grouper", RuntimeVersion 14) is built against TF 2.5.0; community
//! rebuilds go up to TF 2.16.1. `edgetpu_version()` does not say which, except in builds whose
//! label names it with a `TF=x.y.z` entry (the tpupipe stand-in does). The policy:
//!
//! - a runtime version below 10 (libedgetpu's minimum valid) is refused;
//! - a label naming a TF version whose major.minor differs from `TfLiteVersion()` is refused;
//! - a label naming the same major.minor is fine;
//! - otherwise, a TFLite of a version some libedgetpu release is built against (2.5, 2.16) is
//!   accepted with a note that it must match the build, and any other version draws a warning.

use std::fmt;

/// TF versions (major, minor) that published libedgetpu builds are built against.
pub const KNOWN_LIBEDGETPU_TF_VERSIONS: &[(u32, u32)] = &[(2, 5), (2, 16)];

/// libedgetpu's `RuntimeVersion` below which a runtime is invalid (`api/runtime_version.h`).
pub const MIN_RUNTIME_VERSION: u32 = 10;

/// A TFLite version as `TfLiteVersion()` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TfLiteVersion {
    /// The string as reported.
    pub raw: String,
    /// `(major, minor)` when it parses.
    pub major_minor: Option<(u32, u32)>,
}

impl TfLiteVersion {
    /// Parses `"2.16.1"`, `"2.19.0-rc0"`, ...
    pub fn parse(raw: &str) -> Self {
        TfLiteVersion {
            raw: raw.to_string(),
            major_minor: major_minor(raw),
        }
    }
}

fn major_minor(s: &str) -> Option<(u32, u32)> {
    let mut it = s.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor_str = it.next()?;
    let digits: String = minor_str
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, digits.parse().ok()?))
}

/// libedgetpu's version as `edgetpu_version()` reports it:
/// `"BuildLabel(<label>), RuntimeVersion(<n>)"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeTpuVersion {
    /// The string as reported.
    pub raw: String,
    /// The build label, when present.
    pub build_label: Option<String>,
    /// `RuntimeVersion(n)`, when present.
    pub runtime_version: Option<u32>,
    /// The TF version named by a `TF=x.y.z` entry of the label.
    pub built_against_tf: Option<String>,
}

impl EdgeTpuVersion {
    /// Parses the version string; unknown formats keep only `raw`.
    pub fn parse(raw: &str) -> Self {
        let build_label = build_label(raw).map(str::to_string);
        let runtime_version = runtime_version(raw);
        let built_against_tf = build_label.as_deref().and_then(|l| {
            l.split(',')
                .filter_map(|e| e.trim().strip_prefix("TF="))
                .map(str::to_string)
                .next()
        });
        EdgeTpuVersion {
            raw: raw.to_string(),
            build_label,
            runtime_version,
            built_against_tf,
        }
    }
}

/// The label inside `BuildLabel(...)`, which may itself contain parentheses: it ends at the
/// `), RuntimeVersion(` that follows, or at the last `)`.
fn build_label(s: &str) -> Option<&str> {
    let start = s.find("BuildLabel(")? + "BuildLabel(".len();
    let rest = &s[start..];
    let end = rest
        .rfind("), RuntimeVersion(")
        .or_else(|| rest.rfind(')'))?;
    Some(&rest[..end])
}

fn runtime_version(s: &str) -> Option<u32> {
    let start = s.rfind("RuntimeVersion(")? + "RuntimeVersion(".len();
    let rest = &s[start..];
    rest[..rest.find(')')?].trim().parse().ok()
}

/// Whether the pair is known to work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compatibility {
    /// The libedgetpu build names the same TF major.minor as the TFLite library.
    Matched,
    /// Not provable from the version strings; works only if libedgetpu was built against this
    /// TFLite version. The note says what to check.
    Unverified(String),
    /// Known not to work together, with the reason.
    Incompatible(String),
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compatibility::Matched => f.write_str("ok (same TF version)"),
            Compatibility::Unverified(n) => write!(f, "warning: {n}"),
            Compatibility::Incompatible(r) => write!(f, "incompatible: {r}"),
        }
    }
}

/// Both versions and their verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryVersions {
    /// `TfLiteVersion()`.
    pub tflite: TfLiteVersion,
    /// `edgetpu_version()`.
    pub edgetpu: EdgeTpuVersion,
    /// The verdict.
    pub compatibility: Compatibility,
}

impl LibraryVersions {
    /// Judges a pair of version strings (see the module docs for the policy).
    pub fn judge(tflite: &str, edgetpu: &str) -> Self {
        let tflite = TfLiteVersion::parse(tflite);
        let edgetpu = EdgeTpuVersion::parse(edgetpu);
        let compatibility = judge(&tflite, &edgetpu);
        LibraryVersions {
            tflite,
            edgetpu,
            compatibility,
        }
    }
}

fn judge(tflite: &TfLiteVersion, edgetpu: &EdgeTpuVersion) -> Compatibility {
    if let Some(rt) = edgetpu.runtime_version {
        if rt < MIN_RUNTIME_VERSION {
            return Compatibility::Incompatible(format!(
                "libedgetpu RuntimeVersion {rt} is below the minimum valid {MIN_RUNTIME_VERSION}"
            ));
        }
    }
    if let Some(built) = &edgetpu.built_against_tf {
        return match (major_minor(built), tflite.major_minor) {
            (Some(b), Some(t)) if b == t => Compatibility::Matched,
            (Some(_), Some(_)) => Compatibility::Incompatible(format!(
                "libedgetpu is built against TF {built}, the TFLite library is {}; their struct \
                 layouts differ",
                tflite.raw
            )),
            _ => Compatibility::Unverified(format!(
                "cannot compare libedgetpu's TF {built} with TFLite '{}'",
                tflite.raw
            )),
        };
    }
    match tflite.major_minor {
        Some(t) if KNOWN_LIBEDGETPU_TF_VERSIONS.contains(&t) => Compatibility::Unverified(format!(
            "TFLite {} matches a libedgetpu build only if libedgetpu was built against TF {}.{} \
             (Google's release: 2.5.0; community builds: up to 2.16.1)",
            tflite.raw, t.0, t.1
        )),
        _ => Compatibility::Unverified(format!(
            "no libedgetpu release is built against TFLite {}; libedgetpu builds use TF 2.5.0 \
             (Google) or up to 2.16.1 (community), and a mismatch shows as 'Unsupported data \
             type in custom op handler' or a crash",
            tflite.raw
        )),
    }
}
