//! The profile file: measured or compiler-reported costs of candidate segments, keyed by their
//! position range. Written by the compiler driver (on-chip/off-chip bytes from
//! `edgetpu_compiler`) and the runtime's benchmark (measured latency); read by the planner's
//! `profiled` strategy. The format is documented in `docs/profile-format.md`; reading and
//! writing JSON needs the `serde` feature.

use super::hardware::{Clock, Interface};
use std::collections::HashMap;
#[cfg(feature = "serde")]
use std::path::Path;
use std::path::PathBuf;
use thiserror::Error;

/// The value of the `format` field.
pub const PROFILE_FORMAT: &str = "tpupipe-profile";
/// The format version this build reads and writes.
pub const PROFILE_VERSION: u32 = 1;

/// One candidate segment's figures.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct ProfileEntry {
    /// Positions `[start, end)` in the graph's execution order.
    pub op_range: [usize; 2],
    /// Parameter bytes the compiler cached on chip.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub on_chip_bytes: Option<u64>,
    /// Parameter bytes the compiler streams per inference.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub off_chip_bytes: Option<u64>,
    /// Measured time per inference on one TPU, ms (transfers included).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub latency_ms: Option<f64>,
    /// Why this segment cannot be used (e.g. the compiler crashed on it or rejected it): the
    /// planner gives it an infinite cost, so no plan uses it while another plan exists.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub failed: Option<String>,
}

/// A whole profile file.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Profile {
    /// Always [`PROFILE_FORMAT`].
    pub format: String,
    /// [`PROFILE_VERSION`].
    pub version: u32,
    /// Lower-case hex SHA-256 of the model file the ranges refer to.
    pub model_sha256: String,
    /// The TPU link the measurements were taken on (informational).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub interface: Option<Interface>,
    /// The TPU clock the measurements were taken at (informational).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub clock: Option<Clock>,
    /// One factor per operator position, fitted by `tpupipe compile --measure` (measured over
    /// predicted time of the measured segments covering it): the cost model's prediction of a
    /// segment without a measured latency is multiplied by the mean factor of its positions,
    /// so that measured and predicted stage times are on one scale.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub op_scale: Option<Vec<f64>>,
    /// The measured candidate segments.
    pub segments: Vec<ProfileEntry>,
}

/// Why a profile cannot be used.
#[derive(Debug, Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profile {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not valid JSON or not the profile's shape.
    #[cfg(feature = "serde")]
    #[error("profile {path} is not valid profile JSON: {error}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What the parser found.
        error: serde_json::Error,
    },
    /// The `format` field is wrong.
    #[error("profile {path} has format '{found}', expected '{PROFILE_FORMAT}'")]
    Format {
        /// The file.
        path: PathBuf,
        /// The value found.
        found: String,
    },
    /// A version this build does not read.
    #[error(
        "profile {path} has format version {found}; this build reads version {PROFILE_VERSION}"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The profile was taken for another model.
    #[error(
        "profile {path} is for another model (sha256 {found}), not {model} (sha256 {expected})"
    )]
    WrongModel {
        /// The file.
        path: PathBuf,
        /// The model planned.
        model: String,
        /// The model's hash.
        expected: String,
        /// The hash in the profile.
        found: String,
    },
    /// An entry's range is empty or beyond the model.
    #[error("profile {path}: segment {index} has op_range [{start}, {end}), which is not a non-empty range within the model's {ops} operators")]
    BadRange {
        /// The file.
        path: PathBuf,
        /// Entry index.
        index: usize,
        /// Range start.
        start: usize,
        /// Range end.
        end: usize,
        /// Operators in the model.
        ops: usize,
    },
    /// Two entries for one range.
    #[error("profile {path}: op_range [{start}, {end}) appears twice")]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// Range start.
        start: usize,
        /// Range end.
        end: usize,
    },
    /// An `op_scale` of the wrong length or with a value that is not a positive finite number.
    #[error("profile {path}: op_scale {problem}")]
    BadScale {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An entry without usable figures.
    #[error("profile {path}: segment {index} (op_range [{start}, {end})) {problem}")]
    BadEntry {
        /// The file.
        path: PathBuf,
        /// Entry index.
        index: usize,
        /// Range start.
        start: usize,
        /// Range end.
        end: usize,
        /// What is wrong.
        problem: &'static str,
    },
}

/// A validated profile, indexed by range.
#[derive(Debug, Clone, Default)]
pub struct ProfileIndex {
    by_range: HashMap<(usize, usize), ProfileEntry>,
    /// Prefix sums of `op_scale` (`ops + 1` values), when given.
    scale_prefix: Option<Vec<f64>>,
}

impl ProfileIndex {
    /// The entry for positions `start..end`, if measured.
    pub fn get(&self, start: usize, end: usize) -> Option<&ProfileEntry> {
        self.by_range.get(&(start, end))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_range.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.by_range.is_empty()
    }

    /// The factor for the prediction of positions `start..end` (non-empty) without a measured
    /// latency: the mean of their `op_scale` factors (1 without them).
    pub fn scale(&self, start: usize, end: usize) -> f64 {
        match &self.scale_prefix {
            Some(p) if start < end && end < p.len() => (p[end] - p[start]) / (end - start) as f64,
            _ => 1.0,
        }
    }

    /// Iterates the entries (in no particular order).
    pub fn entries(&self) -> impl Iterator<Item = &ProfileEntry> {
        self.by_range.values()
    }
}

impl Profile {
    /// An empty profile for the model whose file hashes to `model_sha256` (lower-case hex);
    /// writers push [`ProfileEntry`]s and save it with `Profile::to_json` (feature `serde`).
    pub fn for_model(model_sha256: impl Into<String>) -> Profile {
        Profile {
            format: PROFILE_FORMAT.to_string(),
            version: PROFILE_VERSION,
            model_sha256: model_sha256.into(),
            interface: None,
            clock: None,
            op_scale: None,
            segments: Vec::new(),
        }
    }

    /// The profile as pretty-printed JSON with a trailing newline.
    #[cfg(feature = "serde")]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a profile serializes");
        s.push('\n');
        s
    }

    /// Reads and parses `path` (not yet validated against a model).
    #[cfg(feature = "serde")]
    pub fn read(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|error| ProfileError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Profile::parse(path, &text)
    }

    /// Parses profile JSON; `path` only names the source in errors.
    #[cfg(feature = "serde")]
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
        serde_json::from_str(text).map_err(|error| ProfileError::Json {
            path: path.to_path_buf(),
            error,
        })
    }

    /// Checks the profile against the model (`model_name` for messages, its SHA-256 and
    /// operator count) and indexes it.
    pub fn validate(
        &self,
        path: &std::path::Path,
        model_name: &str,
        model_sha256: &str,
        ops: usize,
    ) -> Result<ProfileIndex, ProfileError> {
        let path = path.to_path_buf();
        if self.format != PROFILE_FORMAT {
            return Err(ProfileError::Format {
                path,
                found: self.format.clone(),
            });
        }
        if self.version != PROFILE_VERSION {
            return Err(ProfileError::Version {
                path,
                found: self.version,
            });
        }
        if !self.model_sha256.eq_ignore_ascii_case(model_sha256) {
            return Err(ProfileError::WrongModel {
                path,
                model: model_name.to_string(),
                expected: model_sha256.to_string(),
                found: self.model_sha256.clone(),
            });
        }
        let mut scale_prefix = None;
        if let Some(scale) = &self.op_scale {
            if scale.len() != ops {
                return Err(ProfileError::BadScale {
                    path,
                    problem: format!("has {} values for {ops} operators", scale.len()),
                });
            }
            if let Some(k) = scale.iter().find(|k| !(k.is_finite() && **k > 0.0)) {
                return Err(ProfileError::BadScale {
                    path,
                    problem: format!("holds {k}, which is not a positive finite number"),
                });
            }
            let mut prefix = Vec::with_capacity(ops + 1);
            prefix.push(0.0);
            for k in scale {
                prefix.push(prefix.last().copied().unwrap_or(0.0) + k);
            }
            scale_prefix = Some(prefix);
        }
        let mut by_range = HashMap::new();
        for (index, e) in self.segments.iter().enumerate() {
            let [start, end] = e.op_range;
            if start >= end || end > ops {
                return Err(ProfileError::BadRange {
                    path,
                    index,
                    start,
                    end,
                    ops,
                });
            }
            let bad = |problem| ProfileError::BadEntry {
                path: path.clone(),
                index,
                start,
                end,
                problem,
            };
            match (e.on_chip_bytes, e.off_chip_bytes, e.latency_ms) {
                (None, None, None) if e.failed.is_none() => {
                    return Err(bad(
                        "has none of on_chip_bytes, off_chip_bytes, latency_ms, failed",
                    ))
                }
                (Some(_), None, _) | (None, Some(_), _) => {
                    return Err(bad(
                        "gives only one of on_chip_bytes and off_chip_bytes; give both",
                    ))
                }
                _ => {}
            }
            if let Some(ms) = e.latency_ms {
                if !(ms.is_finite() && ms > 0.0) {
                    return Err(bad("has a latency_ms that is not a positive finite number"));
                }
            }
            if by_range.insert((start, end), e.clone()).is_some() {
                return Err(ProfileError::Duplicate { path, start, end });
            }
        }
        Ok(ProfileIndex {
            by_range,
            scale_prefix,
        })
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    fn profile(json: &str) -> Result<ProfileIndex, ProfileError> {
        let p = Path::new("p.json");
        Profile::parse(p, json)?.validate(p, "m.tflite", "ab12", 10)
    }

    #[test]
    fn accepts_partial_entries_and_rejects_bad_ones() {
        let ok = profile(
            r#"{"format":"tpupipe-profile","version":1,"model_sha256":"AB12","segments":[
                {"op_range":[0,3],"latency_ms":1.5},
                {"op_range":[3,10],"on_chip_bytes":100,"off_chip_bytes":0}]}"#,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok.get(0, 3).unwrap().latency_ms, Some(1.5));
        let err = |j: &str| profile(j).unwrap_err().to_string();
        let head = r#""format":"tpupipe-profile","version":1,"model_sha256":"ab12""#;
        assert!(err(&format!(
            r#"{{{head},"segments":[{{"op_range":[4,4],"latency_ms":1}}]}}"#
        ))
        .contains("non-empty"));
        assert!(err(&format!(
            r#"{{{head},"segments":[{{"op_range":[0,11],"latency_ms":1}}]}}"#
        ))
        .contains("10 operators"));
        assert!(err(&format!(r#"{{{head},"segments":[{{"op_range":[0,1],"latency_ms":1}},{{"op_range":[0,1],"latency_ms":2}}]}}"#)).contains("twice"));
        assert!(err(&format!(
            r#"{{{head},"segments":[{{"op_range":[0,1],"on_chip_bytes":1}}]}}"#
        ))
        .contains("give both"));
        assert!(
            err(&format!(r#"{{{head},"segments":[{{"op_range":[0,1]}}]}}"#)).contains("none of")
        );
        assert!(err(&format!(
            r#"{{{head},"segments":[{{"op_range":[0,1],"latency_ms":-1}}]}}"#
        ))
        .contains("positive"));
        assert!(err(
            r#"{"format":"tpupipe-profile","version":1,"model_sha256":"ff","segments":[]}"#
        )
        .contains("another model"));
        assert!(err(
            r#"{"format":"tpupipe-profile","version":2,"model_sha256":"ab12","segments":[]}"#
        )
        .contains("version 2"));
        assert!(
            err(r#"{"format":"x","version":1,"model_sha256":"ab12","segments":[]}"#)
                .contains("format 'x'")
        );
        assert!(err("{not json").contains("not valid profile JSON"));
    }

    #[test]
    fn written_profiles_read_back() {
        let mut p = Profile::for_model("ab12");
        p.segments.push(ProfileEntry {
            op_range: [2, 5],
            on_chip_bytes: Some(10),
            off_chip_bytes: Some(0),
            latency_ms: Some(0.25),
            failed: None,
        });
        p.segments.push(ProfileEntry {
            op_range: [0, 2],
            on_chip_bytes: None,
            off_chip_bytes: None,
            latency_ms: None,
            failed: Some("the compiler crashed".into()),
        });
        p.op_scale = Some(vec![1.0, 2.0, 3.0, 1.0, 1.0]);
        let path = Path::new("w.json");
        let back = Profile::parse(path, &p.to_json()).unwrap();
        assert_eq!(back, p);
        let index = back.validate(path, "m", "AB12", 5).unwrap();
        assert_eq!(index.get(2, 5).unwrap().latency_ms, Some(0.25));
        assert!(index.get(0, 2).unwrap().failed.is_some());
        assert_eq!(index.scale(0, 3), 2.0);
        assert_eq!(index.scale(3, 5), 1.0);
        p.op_scale = Some(vec![1.0, 0.0, 1.0, 1.0, 1.0]);
        let e = p.validate(path, "m", "ab12", 5).unwrap_err().to_string();
        assert!(e.contains("op_scale holds 0"), "{e}");
        p.op_scale = Some(vec![1.0]);
        let e = p.validate(path, "m", "ab12", 5).unwrap_err().to_string();
        assert!(e.contains("1 values for 5"), "{e}");
    }
}
