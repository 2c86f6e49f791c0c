//! Failures injected for tests, chosen by environment variables.
//!
//! - `TPUPIPE_STANDIN_FAIL=<mode>` makes every compile fail (or misbehave) in one of the ways
//!   real compilers do (facts §4); see [`Fault`] for the modes and what each prints.
//! - `TPUPIPE_STANDIN_FAIL_ONLY=<text>` limits the fault to input files whose name contains
//!   `<text>` (e.g. `segment_1_of_3`), so a test can fail one segment of several.
//! - `TPUPIPE_STANDIN_FAIL_MIN_OPS=<n>` limits the fault to inputs with at least `n` operators
//!   (so a test can fail the long segments of a model wherever its cuts fall).
//! - `TPUPIPE_STANDIN_STATE_DIR=<dir>` is where `internal-once` remembers that it already
//!   failed for an input (one empty file per input file name).
//! - `TPUPIPE_STANDIN_MAX_MAPPED_OPS=<n>`: a compile attempt that would put more than `n`
//!   operators on the Edge TPU fails with "large activation tensors", as a real compile of a
//!   too-large part does; the `-d` search then retries with fewer operators until one fits.

use std::path::Path;

/// The fault mode variable.
pub const FAIL_ENV: &str = "TPUPIPE_STANDIN_FAIL";
/// The variable limiting the fault to some inputs.
pub const FAIL_ONLY_ENV: &str = "TPUPIPE_STANDIN_FAIL_ONLY";
/// The variable limiting the fault to inputs with at least this many operators.
pub const FAIL_MIN_OPS_ENV: &str = "TPUPIPE_STANDIN_FAIL_MIN_OPS";
/// The state directory variable of `internal-once`.
pub const STATE_DIR_ENV: &str = "TPUPIPE_STANDIN_STATE_DIR";
/// The variable limiting how many operators one compile attempt may map.
pub const MAX_MAPPED_OPS_ENV: &str = "TPUPIPE_STANDIN_MAX_MAPPED_OPS";

/// The limit of [`MAX_MAPPED_OPS_ENV`], if set; a value that is not a number is an error.
pub fn max_mapped_ops() -> Result<Option<usize>, String> {
    match std::env::var(MAX_MAPPED_OPS_ENV) {
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{MAX_MAPPED_OPS_ENV}={v:?} is not a number")),
        Err(_) => Ok(None),
    }
}

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `crash`: the wrapper script's bash reports a segmentation fault; exit status 139.
    Crash,
    /// `signal`: the process really dies of SIGSEGV (as the unwrapped binary would).
    Signal,
    /// `timeout`: the v16 child process times out ("Compilation timeout. ..."); status 1.
    Timeout,
    /// `hang`: never finishes (v15 has no timeout); only a caller's own timeout ends it.
    Hang,
    /// `internal`: "Internal compiler error. Aborting!" every time; status 1.
    Internal,
    /// `internal-once`: the internal error the first time for an input, success afterwards
    /// (needs [`STATE_DIR_ENV`]).
    InternalOnce,
    /// `missing-output`: reports success but writes no `.tflite`.
    MissingOutput,
    /// `corrupt-output`: reports success but writes bytes that are not a model.
    CorruptOutput,
    /// `large-activations`: "Compilation failed due to large activation tensors in model."
    LargeActivations,
    /// `exception`: an uncaught C++ exception in the child (libc++abi line); status 1.
    Exception,
    /// `no-reason`: "Compilation failed!" with no reason; status 1.
    NoReason,
    /// `silent`: prints only the version line and writes nothing; status 0 (#411).
    Silent,
}

impl Fault {
    /// Every mode with its name.
    pub const ALL: [(&'static str, Fault); 12] = [
        ("crash", Fault::Crash),
        ("signal", Fault::Signal),
        ("timeout", Fault::Timeout),
        ("hang", Fault::Hang),
        ("internal", Fault::Internal),
        ("internal-once", Fault::InternalOnce),
        ("missing-output", Fault::MissingOutput),
        ("corrupt-output", Fault::CorruptOutput),
        ("large-activations", Fault::LargeActivations),
        ("exception", Fault::Exception),
        ("no-reason", Fault::NoReason),
        ("silent", Fault::Silent),
    ];

    /// Parses a mode name.
    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }
}

/// The fault for the input file `input` with `ops` operators (`None` when it is not a model),
/// from the environment. An unknown mode is an error naming the accepted ones.
pub fn for_input(input: &Path, ops: Option<usize>) -> Result<Option<Fault>, String> {
    let Ok(mode) = std::env::var(FAIL_ENV) else {
        return Ok(None);
    };
    if mode.is_empty() {
        return Ok(None);
    }
    let fault = Fault::parse(&mode).ok_or_else(|| {
        let names: Vec<_> = Fault::ALL.iter().map(|(n, _)| *n).collect();
        format!("{FAIL_ENV}={mode:?} is not one of {}", names.join(", "))
    })?;
    if let Ok(only) = std::env::var(FAIL_ONLY_ENV) {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(&only) {
            return Ok(None);
        }
    }
    if let Ok(min) = std::env::var(FAIL_MIN_OPS_ENV) {
        let min: usize = min
            .trim()
            .parse()
            .map_err(|_| format!("{FAIL_MIN_OPS_ENV}={min:?} is not a number"))?;
        if ops.map_or(true, |n| n < min) {
            return Ok(None);
        }
    }
    Ok(Some(fault))
}

/// For `internal-once`: true the first time it is asked for `input` (recording that in the
/// state directory), false afterwards.
pub fn first_time(input: &Path) -> Result<bool, String> {
    let dir = std::env::var_os(STATE_DIR_ENV)
        .ok_or_else(|| format!("{FAIL_ENV}=internal-once needs {STATE_DIR_ENV}"))?;
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let marker = Path::new(&dir).join(format!("{name}.failed-once"));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(format!("cannot write {}: {e}", marker.display())),
    }
}
