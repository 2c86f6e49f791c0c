//! Running the compiler on segments.
//!
//! Each segment is compiled in its own temporary directory (removed afterwards, whatever
//! happens): the segment is written there as `<stem>.tflite`, the output directory `out/` is
//! created first (the compiler does not create `--out_dir`), and the compiler runs with the
//! temporary directory as its working directory. Arguments are passed as a vector, never
//! through a shell: the model, `--out_dir`, `--timeout_sec` (16.0 on), `--min_runtime_version`
//! when configured, `--search_delegate` / `--delegate_search_step` only when asked.
//!
//! Segments are compiled in parallel, at most one per core (std threads). A run that reports
//! "Internal compiler error" (non-deterministic, facts §4) is retried once. Besides the
//! compiler's own timer, tpupipe has a wall-clock limit of its own: past it the child's whole
//! process group is killed (the real compiler is a bash wrapper around the binary).

use super::diagnose;
use super::discovery::Compiler;
use super::error::{DriverError, TimeoutBy};
use super::report::{self, CompileReport};
use super::verify;
use super::CompiledSegment;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use wait_timeout::ChildExt;

/// The compiler's default `--timeout_sec`.
pub const DEFAULT_COMPILER_TIMEOUT_SEC: u32 = 180;

/// How much longer than the compiler's own timeout tpupipe waits before killing it.
pub const DRIVER_GRACE: Duration = Duration::from_secs(60);

/// One segment to compile.
#[derive(Debug, Clone)]
pub struct SegmentJob {
    /// Its index in the plan (named in errors and warnings).
    pub index: usize,
    /// The file stem (`model_segment_1_of_4`); the compiler names its output after it.
    pub stem: String,
    /// The segment's `.tflite` bytes.
    pub model: Vec<u8>,
}

impl SegmentJob {
    /// How errors name this segment: `segment 1 (model_segment_1_of_4)`.
    pub fn label(&self) -> String {
        format!("segment {} ({})", self.index, self.stem)
    }
}

/// How to run the compiler.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// The compiler's `--timeout_sec` (16.0 on; older compilers get a warning and only
    /// tpupipe's own limit).
    pub compiler_timeout_sec: u32,
    /// tpupipe's own wall-clock limit per run; `None`: the compiler's timeout plus
    /// [`DRIVER_GRACE`].
    pub wall_timeout: Option<Duration>,
    /// `--min_runtime_version`, when set.
    pub min_runtime_version: Option<u32>,
    /// `--search_delegate` with this `--delegate_search_step`, when set (16.0 on).
    pub search_delegate_step: Option<u32>,
    /// Most compiles at once; `None`: the number of cores.
    pub parallel: Option<usize>,
    /// Runs after an "Internal compiler error" (1: one retry).
    pub internal_error_retries: u32,
    /// Whether operators may stay on the CPU (a warning) or must all map (an error).
    pub allow_cpu_ops: bool,
    /// Extra environment variables for the compiler process.
    pub env: Vec<(OsString, OsString)>,
    /// Where the per-segment temporary directories go; `None`: the system's temporary
    /// directory.
    pub temp_root: Option<PathBuf>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            compiler_timeout_sec: DEFAULT_COMPILER_TIMEOUT_SEC,
            wall_timeout: None,
            min_runtime_version: None,
            search_delegate_step: None,
            parallel: None,
            internal_error_retries: 1,
            allow_cpu_ops: true,
            env: Vec::new(),
            temp_root: None,
        }
    }
}

impl CompileOptions {
    /// The wall-clock limit in force.
    pub fn wall_limit(&self) -> Duration {
        self.wall_timeout.unwrap_or_else(|| {
            Duration::from_secs(u64::from(self.compiler_timeout_sec)) + DRIVER_GRACE
        })
    }
}

/// What one child run did.
#[derive(Debug)]
pub struct ChildRun {
    /// Exit status (`None` when killed for the timeout).
    pub status: Option<ExitStatus>,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
    /// True when tpupipe killed it.
    pub timed_out: bool,
}

impl ChildRun {
    /// True for exit status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The signal that ended it, if any.
    pub fn signal(&self) -> Option<i32> {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            self.status.and_then(|s| s.signal())
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// `status 1`, `signal 11 (SIGSEGV)`, `no status (killed)`.
    pub fn describe_status(&self) -> String {
        match (self.status.and_then(|s| s.code()), self.signal()) {
            (Some(c), _) => format!("status {c}"),
            (None, Some(s)) => format!("signal {s}{}", signal_name(s)),
            (None, None) => "no status (killed)".to_string(),
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        _ => "",
    }
}

fn reader(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error ends the capture; what was read is kept.
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

#[cfg(unix)]
fn kill_group(child: &mut std::process::Child) {
    let pid = child.id() as i32;
    // SAFETY: `kill` has no memory-safety preconditions; the negative pid names the process
    // group the child leads (it was started with `process_group(0)`), so the compiler binary
    // behind a wrapper script dies too.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_group(child: &mut std::process::Child) {
    let _ = child.kill();
}

/// Runs `program args` in `cwd` with extra `env`, capturing stdout and stderr, killing it (and
/// its process group) after `limit`.
pub fn run_child(
    program: &Path,
    args: &[OsString],
    cwd: Option<&Path>,
    env: &[(OsString, OsString)],
    limit: Duration,
) -> std::io::Result<ChildRun> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = spawn(&mut cmd)?;
    let out = reader(child.stdout.take().expect("stdout is piped"));
    let err = reader(child.stderr.take().expect("stderr is piped"));
    let (status, timed_out) = match child.wait_timeout(limit)? {
        Some(s) => (Some(s), false),
        None => {
            kill_group(&mut child);
            let _ = child.wait();
            (None, true)
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(ChildRun {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

/// The arguments for one compile.
pub fn arguments(
    compiler: &Compiler,
    input: &Path,
    out_dir: &Path,
    options: &CompileOptions,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![input.into(), "--out_dir".into(), out_dir.into()];
    if compiler.version().has_timeout() {
        args.push("--timeout_sec".into());
        args.push(options.compiler_timeout_sec.to_string().into());
    }
    if let Some(m) = options.min_runtime_version {
        args.push("--min_runtime_version".into());
        args.push(m.to_string().into());
    }
    if let Some(k) = options.search_delegate_step {
        args.push("--search_delegate".into());
        args.push("--delegate_search_step".into());
        args.push(k.to_string().into());
    }
    args
}

/// The error for the first option in `options` the compiler cannot honour: a runtime version
/// newer than it targets, or `--search_delegate` before 16.0.
pub fn option_error(compiler: &Compiler, options: &CompileOptions) -> Option<DriverError> {
    let v = compiler.version();
    let max = v.default_min_runtime();
    if let Some(asked) = options.min_runtime_version.filter(|&m| m > max) {
        return Some(DriverError::RuntimeTooNew {
            path: compiler.path().to_path_buf(),
            version: v,
            asked,
            max,
        });
    }
    (options.search_delegate_step.is_some() && !v.has_search_delegate()).then(|| {
        DriverError::Unsupported {
            path: compiler.path().to_path_buf(),
            version: v,
            option: "--search_delegate",
            since: "16.0",
        }
    })
}

/// Warnings for what the compiler lacks but tpupipe makes up for.
pub fn version_warnings(compiler: &Compiler, options: &CompileOptions) -> Vec<String> {
    let v = compiler.version();
    let mut warnings = Vec::new();
    if !v.has_timeout() {
        warnings.push(format!(
            "edgetpu_compiler {v} has no --timeout_sec (added in 16.0); tpupipe stops a compile after {} s instead",
            options.wall_limit().as_secs()
        ));
    }
    warnings
}

/// Where one compile happens.
struct Workdir {
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
}

fn workdir(job: &SegmentJob, options: &CompileOptions) -> Result<Workdir, DriverError> {
    let plain = !job.stem.is_empty()
        && job.stem != "."
        && job.stem != ".."
        && !job.stem.contains(['/', '\\', '\0']);
    if !plain {
        return Err(DriverError::InvalidJob {
            segment: job.label(),
            reason: format!(
                "the stem {:?} is not a plain file name (the compiler names its output after it)",
                job.stem
            ),
        });
    }
    let io = |what: &str, source| DriverError::Io {
        segment: job.label(),
        what: what.to_string(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix("tpupipe-edgetpu-");
    let dir = match &options.temp_root {
        Some(root) => builder.tempdir_in(root),
        None => builder.tempdir(),
    }
    .map_err(|e| io("create a temporary directory", e))?;
    let input = dir.path().join(format!("{}.tflite", job.stem));
    std::fs::write(&input, &job.model).map_err(|e| io("write the segment model", e))?;
    let out = dir.path().join("out");
    std::fs::create_dir(&out).map_err(|e| io("create the output directory", e))?;
    Ok(Workdir {
        _dir: dir,
        input,
        out,
    })
}

/// Compiles one segment (with the retry for internal errors).
pub fn compile_one(
    compiler: &Compiler,
    job: &SegmentJob,
    options: &CompileOptions,
    version_warnings: &[String],
) -> Result<CompiledSegment, DriverError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let work = workdir(job, options)?;
        let args = arguments(compiler, &work.input, &work.out, options);
        let cwd = work.input.parent().map(Path::to_path_buf);
        let run = run_child(
            compiler.path(),
            &args,
            cwd.as_deref(),
            &options.env,
            options.wall_limit(),
        )
        .map_err(|source| DriverError::Spawn {
            segment: job.label(),
            path: compiler.path().to_path_buf(),
            source,
        })?;
        if run.timed_out {
            return Err(DriverError::Timeout {
                segment: job.label(),
                seconds: options.wall_limit().as_secs(),
                by: TimeoutBy::Driver,
            });
        }
        if !run.success() {
            let failure = diagnose::classify_failure(job, &run, options);
            if matches!(failure, DriverError::InternalError { .. })
                && attempts <= options.internal_error_retries
            {
                continue;
            }
            return Err(match failure {
                DriverError::InternalError { segment, .. } => {
                    DriverError::InternalError { segment, attempts }
                }
                other => other,
            });
        }
        return finish(job, &work, run, options, version_warnings);
    }
}

/// Reads and checks what a successful run left behind.
fn finish(
    job: &SegmentJob,
    work: &Workdir,
    run: ChildRun,
    options: &CompileOptions,
    version_warnings: &[String],
) -> Result<CompiledSegment, DriverError> {
    let model_path = work.out.join(format!("{}_edgetpu.tflite", job.stem));
    let log_path = work.out.join(format!("{}_edgetpu.log", job.stem));
    let edgetpu_model = match std::fs::read(&model_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DriverError::OutputMissing {
                segment: job.label(),
                path: PathBuf::from(format!("{}_edgetpu.tflite", job.stem)),
            })
        }
        Err(source) => {
            return Err(DriverError::Io {
                segment: job.label(),
                what: format!("read {}", model_path.display()),
                source,
            })
        }
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut report: CompileReport = report::build_report(job, &run.stdout, &log)?;
    let cpu_ops = verify::verify_output(job, &edgetpu_model, &report)?;
    report.add_warnings(job, &cpu_ops);
    report.warnings.extend(version_warnings.iter().cloned());
    if !options.allow_cpu_ops && !cpu_ops.is_empty() {
        return Err(DriverError::UnsupportedOps {
            segment: job.label(),
            ops: cpu_ops,
        });
    }
    Ok(CompiledSegment {
        index: job.index,
        report,
        edgetpu_model,
        log,
        stdout: run.stdout,
    })
}

/// What [`Compiler::compile_segments_observed`] reports about one job: it started, or it ended
/// with this result.
pub enum JobEvent<'r> {
    /// The job's compile is starting.
    Started,
    /// The job's compile ended.
    Finished(&'r Result<CompiledSegment, DriverError>),
}

impl Compiler {
    /// Compiles every job, in parallel (at most one per core or `options.parallel`). The
    /// results are in job order; one failing segment does not stop the others.
    pub fn compile_segments(
        &self,
        jobs: &[SegmentJob],
        options: &CompileOptions,
    ) -> Vec<Result<CompiledSegment, DriverError>> {
        self.compile_segments_observed(jobs, options, &|_, _| {})
    }

    /// [`Compiler::compile_segments`], telling `observe` (from the compile threads) when each
    /// job starts and ends.
    pub fn compile_segments_observed(
        &self,
        jobs: &[SegmentJob],
        options: &CompileOptions,
        observe: &(dyn Fn(&SegmentJob, JobEvent<'_>) + Sync),
    ) -> Vec<Result<CompiledSegment, DriverError>> {
        // An option the compiler cannot honour fails every job, before anything runs.
        if option_error(self, options).is_some() {
            return jobs
                .iter()
                .map(|_| Err(option_error(self, options).expect("checked just above")))
                .collect();
        }
        let warnings = version_warnings(self, options);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = options
            .parallel
            .unwrap_or(cores)
            .max(1)
            .min(jobs.len().max(1));
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<CompiledSegment, DriverError>>>> =
            Mutex::new((0..jobs.len()).map(|_| None).collect());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    observe(job, JobEvent::Started);
                    let r = compile_one(self, job, options, &warnings);
                    observe(job, JobEvent::Finished(&r));
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .zip(jobs)
            .map(|(r, job)| {
                r.unwrap_or_else(|| {
                    Err(DriverError::CompileFailed {
                        segment: job.label(),
                        status: -1,
                        reason: "the compile thread ended without a result".into(),
                    })
                })
            })
            .collect()
    }
}

/// Starts `cmd`, retrying briefly when the executable is "busy" (ETXTBSY): a script written just
/// before (a wrapper around the compiler) can still be open for writing in a child that another
/// thread forked at that moment, until that child execs.
fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut delay = Duration::from_millis(5);
    for _ in 0..8 {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
    cmd.spawn()
}

/// `ETXTBSY` on Linux (and the BSDs and macOS): "Text file busy".
const ETXTBSY: i32 = 26;
