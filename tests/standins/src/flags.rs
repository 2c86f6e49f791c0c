//! The command line of `edgetpu_compiler` (facts §1).
//!
//! Accepted spellings, as real callers use them: `--flag=value` and `--flag value`, short flags
//! with their value as the next argument or glued on (`-k10`), combined short booleans (`-sd`,
//! `-da`), options before or after the models, and `--` ending the options. Boolean long flags
//! also take `=true` / `=false`.
//!
//! Errors in flags (the facts have no paste of them, so the wording is the stand-in's own): an
//! unknown flag, a flag the played version does not have yet, a missing or malformed value, or
//! a forbidden combination print one `ERROR: ...` line on stderr after the version line and
//! exit with status 1, writing nothing.

use crate::version::Version;
use std::path::PathBuf;
use thiserror::Error;

/// A parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `-o` / `--out_dir`.
    pub out_dir: Option<PathBuf>,
    /// `-s` / `--show_operations`.
    pub show_operations: bool,
    /// `-m` / `--min_runtime_version`.
    pub min_runtime_version: Option<u32>,
    /// `-n` / `--num_segments`.
    pub num_segments: Option<u32>,
    /// `-t` / `--timeout_sec`.
    pub timeout_sec: Option<u32>,
    /// `-d` / `--search_delegate`.
    pub search_delegate: bool,
    /// `-k` / `--delegate_search_step`.
    pub delegate_search_step: Option<u32>,
    /// `-i` / `--intermediate_tensors`, split at commas.
    pub intermediate_tensors: Option<Vec<String>>,
    /// `-a` / `--enable_multiple_subgraphs`.
    pub enable_multiple_subgraphs: bool,
    /// `-h` / `--help`.
    pub help: bool,
    /// `-v` / `--version`.
    pub version: bool,
    /// The model files, in order.
    pub models: Vec<PathBuf>,
}

/// A bad command line.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FlagError {
    /// Not a flag of any version.
    #[error("Unknown command line flag '{0}'")]
    Unknown(String),
    /// A flag added after the played version.
    #[error(
        "Unknown command line flag '{flag}' (added in version {since}; this is version {version})"
    )]
    TooNew {
        /// The flag as given.
        flag: String,
        /// The first version that has it.
        since: &'static str,
        /// The played version.
        version: String,
    },
    /// A flag that needs a value got none.
    #[error("Missing value for flag '{0}'")]
    MissingValue(String),
    /// A value that does not parse.
    #[error("Illegal value '{value}' specified for flag '{flag}'")]
    BadValue {
        /// The flag.
        flag: String,
        /// The value.
        value: String,
    },
    /// No model given.
    #[error("No input model given. Usage: edgetpu_compiler [options] model...")]
    NoModel,
    /// `--num_segments` with several models or with `--intermediate_tensors`.
    #[error("--num_segments cannot be used with {0}")]
    SegmentsConflict(&'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flag {
    OutDir,
    Show,
    MinRuntime,
    Segments,
    Timeout,
    Search,
    SearchStep,
    Intermediate,
    Multiple,
    Help,
    Version,
}

struct Spec {
    flag: Flag,
    short: char,
    long: &'static str,
    takes_value: bool,
    since: &'static str,
    available: fn(&Version) -> bool,
}

const SPECS: &[Spec] = &[
    Spec {
        flag: Flag::OutDir,
        short: 'o',
        long: "out_dir",
        takes_value: true,
        since: "2.0",
        available: |_| true,
    },
    Spec {
        flag: Flag::Show,
        short: 's',
        long: "show_operations",
        takes_value: false,
        since: "2.0",
        available: |_| true,
    },
    Spec {
        flag: Flag::MinRuntime,
        short: 'm',
        long: "min_runtime_version",
        takes_value: true,
        since: "2.0",
        available: |_| true,
    },
    Spec {
        flag: Flag::Segments,
        short: 'n',
        long: "num_segments",
        takes_value: true,
        since: "2.1",
        available: Version::has_segments,
    },
    Spec {
        flag: Flag::Timeout,
        short: 't',
        long: "timeout_sec",
        takes_value: true,
        since: "16.0",
        available: Version::has_child_process,
    },
    Spec {
        flag: Flag::Search,
        short: 'd',
        long: "search_delegate",
        takes_value: false,
        since: "16.0",
        available: Version::has_child_process,
    },
    Spec {
        flag: Flag::SearchStep,
        short: 'k',
        long: "delegate_search_step",
        takes_value: true,
        since: "16.0",
        available: Version::has_child_process,
    },
    Spec {
        flag: Flag::Intermediate,
        short: 'i',
        long: "intermediate_tensors",
        takes_value: true,
        since: "2.1",
        available: Version::has_segments,
    },
    Spec {
        flag: Flag::Multiple,
        short: 'a',
        long: "enable_multiple_subgraphs",
        takes_value: false,
        since: "15.0",
        available: Version::has_multiple_subgraphs,
    },
    Spec {
        flag: Flag::Help,
        short: 'h',
        long: "help",
        takes_value: false,
        since: "2.0",
        available: |_| true,
    },
    Spec {
        flag: Flag::Version,
        short: 'v',
        long: "version",
        takes_value: false,
        since: "2.0",
        available: |_| true,
    },
];

/// The `--help` text. Only the `-a` entry is verbatim (facts §1); the rest follows its layout
/// (short flag, comma, long flag; the description indented on the next line) with the
/// coral.ai descriptions.
pub fn help_text(version: &Version) -> String {
    let mut out = String::from("Usage: edgetpu_compiler [options] model...\n\nOptions:\n");
    let entries: [(&Spec, String); 11] = [
        (&SPECS[9], "Print the command line help and exit.".into()),
        (&SPECS[7], "Specify the tensors you want as outputs from the Edge TPU custom op. The argument is a comma-separated list of tensor names.".into()),
        (&SPECS[2], format!("Specify the lowest Edge TPU runtime version you want the model to be compatible with. Default is {}.", version.default_min_runtime())),
        (&SPECS[1], "Print the log showing operations that mapped to the Edge TPU.".into()),
        (&SPECS[0], "Output the compiled model and log files to directory dir. Default is the current directory.".into()),
        (&SPECS[3], "Compile the model into num segments for pipelining. Default is 1.".into()),
        (&SPECS[8], "Enable multiple(all) subgraphs (experimental flag).".into()),
        (&SPECS[5], "If compilation fails, repeatedly move the compile stopping point earlier in the graph until it succeeds.".into()),
        (&SPECS[6], "Step size for the delegate search when compiling the model. Default is 1.".into()),
        (&SPECS[4], "Compilation timeout in seconds. Default is 180.".into()),
        (&SPECS[10], "Print the compiler version and exit.".into()),
    ];
    for (spec, text) in entries {
        if !(spec.available)(version) {
            continue;
        }
        let arg = if spec.takes_value { " arg" } else { "" };
        out.push_str(&format!(
            "-{}, --{}{arg}\n       {text}\n",
            spec.short, spec.long
        ));
    }
    out
}

fn find_long(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.long == name)
}

fn find_short(c: char) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.short == c)
}

fn parse_int(flag: &str, value: &str) -> Result<u32, FlagError> {
    value.trim().parse().map_err(|_| FlagError::BadValue {
        flag: flag.to_string(),
        value: value.to_string(),
    })
}

fn apply(
    flags: &mut Flags,
    spec: &Spec,
    given: &str,
    value: Option<String>,
) -> Result<(), FlagError> {
    let need = |v: Option<String>| v.ok_or_else(|| FlagError::MissingValue(given.to_string()));
    let bool_value = |v: Option<String>| -> Result<bool, FlagError> {
        match v.as_deref() {
            None | Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(other) => Err(FlagError::BadValue {
                flag: given.to_string(),
                value: other.to_string(),
            }),
        }
    };
    match spec.flag {
        Flag::OutDir => flags.out_dir = Some(PathBuf::from(need(value)?)),
        Flag::Show => flags.show_operations = bool_value(value)?,
        Flag::MinRuntime => flags.min_runtime_version = Some(parse_int(given, &need(value)?)?),
        Flag::Segments => {
            let n = parse_int(given, &need(value)?)?;
            if n == 0 {
                return Err(FlagError::BadValue {
                    flag: given.to_string(),
                    value: "0".into(),
                });
            }
            flags.num_segments = Some(n);
        }
        Flag::Timeout => flags.timeout_sec = Some(parse_int(given, &need(value)?)?),
        Flag::Search => flags.search_delegate = bool_value(value)?,
        Flag::SearchStep => {
            let k = parse_int(given, &need(value)?)?;
            if k == 0 {
                return Err(FlagError::BadValue {
                    flag: given.to_string(),
                    value: "0".into(),
                });
            }
            flags.delegate_search_step = Some(k);
        }
        Flag::Intermediate => {
            let v = need(value)?;
            flags.intermediate_tensors = Some(
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        }
        Flag::Multiple => flags.enable_multiple_subgraphs = bool_value(value)?,
        Flag::Help => flags.help = bool_value(value)?,
        Flag::Version => flags.version = bool_value(value)?,
    }
    Ok(())
}

fn check_available(spec: &Spec, given: &str, version: &Version) -> Result<(), FlagError> {
    if (spec.available)(version) {
        Ok(())
    } else {
        Err(FlagError::TooNew {
            flag: given.to_string(),
            since: spec.since,
            version: version.to_string(),
        })
    }
}

/// Parses the arguments after the program name for the played `version`.
pub fn parse(args: &[String], version: &Version) -> Result<Flags, FlagError> {
    let mut flags = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            flags.models.extend(args[i..].iter().map(PathBuf::from));
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = find_long(name).ok_or_else(|| FlagError::Unknown(arg.clone()))?;
            check_available(spec, arg, version)?;
            let value = if spec.takes_value && inline.is_none() {
                let v = args.get(i).cloned();
                i += usize::from(v.is_some());
                v
            } else {
                inline
            };
            apply(&mut flags, spec, &format!("--{name}"), value)?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let given = format!("-{c}");
                let spec = find_short(c).ok_or_else(|| FlagError::Unknown(given.clone()))?;
                check_available(spec, &given, version)?;
                if spec.takes_value {
                    let rest: String = chars[k..].iter().collect();
                    let value = if !rest.is_empty() {
                        Some(rest.trim_start_matches('=').to_string())
                    } else {
                        let v = args.get(i).cloned();
                        i += usize::from(v.is_some());
                        v
                    };
                    apply(&mut flags, spec, &given, value)?;
                    break;
                }
                apply(&mut flags, spec, &given, None)?;
            }
        } else {
            flags.models.push(PathBuf::from(arg));
        }
    }
    if flags.help || flags.version {
        return Ok(flags);
    }
    if flags.models.is_empty() {
        return Err(FlagError::NoModel);
    }
    if flags.num_segments.is_some_and(|n| n > 1) {
        if flags.models.len() > 1 {
            return Err(FlagError::SegmentsConflict("multiple models"));
        }
        if flags.intermediate_tensors.is_some() {
            return Err(FlagError::SegmentsConflict("--intermediate_tensors"));
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v16() -> Version {
        Version::parse("16.0.384591198").unwrap()
    }

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn accepts_the_spellings_real_callers_use() {
        // libcoral partitioner.
        let f = parse(
            &args(
                "--search_delegate m.tflite --out_dir=/o --num_segments=2 --delegate_search_step=5",
            ),
            &v16(),
        )
        .unwrap();
        assert!(f.search_delegate);
        assert_eq!(f.out_dir, Some(PathBuf::from("/o")));
        assert_eq!((f.num_segments, f.delegate_search_step), (Some(2), Some(5)));
        assert_eq!(f.models, vec![PathBuf::from("m.tflite")]);
        // Ultralytics.
        let f = parse(
            &args("--out_dir d --show_operations --search_delegate --delegate_search_step 30 --timeout_sec 180 f.tflite"),
            &v16(),
        )
        .unwrap();
        assert!(f.show_operations && f.search_delegate);
        assert_eq!(
            (f.timeout_sec, f.delegate_search_step),
            (Some(180), Some(30))
        );
        // Combined short flags, options after the model.
        let f = parse(&args("-m 13 -s -da -o out in/model.tflite"), &v16()).unwrap();
        assert!(f.search_delegate && f.enable_multiple_subgraphs && f.show_operations);
        assert_eq!(f.min_runtime_version, Some(13));
        let f = parse(&args("file -o Dir/ -k10 -i a;b,c"), &v16()).unwrap();
        assert_eq!(f.delegate_search_step, Some(10));
        assert_eq!(
            f.intermediate_tensors,
            Some(vec!["a;b".to_string(), "c".to_string()])
        );
        assert_eq!(f.models, vec![PathBuf::from("file")]);
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(
            parse(&args("--bogus m"), &v16()),
            Err(FlagError::Unknown("--bogus".into()))
        );
        assert_eq!(
            parse(&args("m -k"), &v16()),
            Err(FlagError::MissingValue("-k".into()))
        );
        assert!(matches!(
            parse(&args("-n x m"), &v16()),
            Err(FlagError::BadValue { .. })
        ));
        assert_eq!(parse(&args("-s"), &v16()), Err(FlagError::NoModel));
        assert!(matches!(
            parse(&args("-n 2 a b"), &v16()),
            Err(FlagError::SegmentsConflict(_))
        ));
        let v15 = Version::parse("15.0.340273435").unwrap();
        assert!(matches!(
            parse(&args("--timeout_sec 10 m"), &v15),
            Err(FlagError::TooNew { since: "16.0", .. })
        ));
        assert!(parse(&args("--version"), &v16()).unwrap().version);
    }
}
