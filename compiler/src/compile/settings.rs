//! The options of [`Builder::compile`](crate::Builder::compile), set on the [`Builder`].

use crate::cache;
use crate::compile::measure::MeasureSettings;
use crate::edgetpu::CompileOptions;
use crate::Builder;
use std::path::PathBuf;

/// The variable that, set to `1`, forbids running the compiler: builds come from the cache.
pub const OFFLINE_ENV: &str = "TPUPIPE_OFFLINE";

/// The default bound on candidate compiles of compile-profiled planning.
pub const DEFAULT_MAX_CANDIDATE_COMPILES: usize = 64;

/// How [`Builder::compile`](crate::Builder::compile) runs the compiler and uses the cache.
#[derive(Debug, Clone)]
pub struct CompileSettings {
    /// The compiler's `--timeout_sec` (default 180).
    pub compiler_timeout_sec: Option<u32>,
    /// `--min_runtime_version`.
    pub min_runtime_version: Option<u32>,
    /// `--search_delegate` with this `--delegate_search_step`.
    pub search_delegate_step: Option<u32>,
    /// Re-plan with the compiler's on-chip/off-chip bytes until the plan is stable.
    pub compile_profiled: bool,
    /// Most candidate compiles of compile-profiled planning.
    pub max_candidate_compiles: usize,
    /// The cache directory ([`cache::default_dir`] when unset).
    pub cache_dir: Option<PathBuf>,
    /// Build from the cache alone (also with `TPUPIPE_OFFLINE=1`).
    pub offline: bool,
    /// The compiler to run (discovered when unset: `TPUPIPE_EDGETPU_COMPILER`, then `PATH`).
    pub compiler: Option<PathBuf>,
    /// Most compiles at once (default: the cores).
    pub parallel: Option<usize>,
    /// Measured planning on attached Edge TPUs after compile-profiled planning (`--measure`).
    pub measure: Option<MeasureSettings>,
}

impl Default for CompileSettings {
    fn default() -> Self {
        CompileSettings {
            compiler_timeout_sec: None,
            min_runtime_version: None,
            search_delegate_step: None,
            compile_profiled: false,
            max_candidate_compiles: DEFAULT_MAX_CANDIDATE_COMPILES,
            cache_dir: None,
            offline: false,
            compiler: None,
            parallel: None,
            measure: None,
        }
    }
}

impl CompileSettings {
    /// The driver's options.
    pub fn driver_options(&self) -> CompileOptions {
        let mut o = CompileOptions::default();
        if let Some(t) = self.compiler_timeout_sec {
            o.compiler_timeout_sec = t;
        }
        o.min_runtime_version = self.min_runtime_version;
        o.search_delegate_step = self.search_delegate_step;
        o.parallel = self.parallel;
        o
    }

    /// The cache directory in force.
    pub fn cache_root(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(cache::default_dir)
    }

    /// True when the compiler must not run ([`CompileSettings::offline`] or `TPUPIPE_OFFLINE=1`).
    pub fn is_offline(&self) -> bool {
        self.offline || std::env::var(OFFLINE_ENV).is_ok_and(|v| v == "1")
    }

    /// The options that change what a build produces, as they enter the cache key (not the
    /// timeout, parallelism, cache location or compiler path).
    pub fn key_json(&self) -> serde_json::Value {
        let mut key = serde_json::json!({
            "min_runtime_version": self.min_runtime_version,
            "search_delegate_step": self.search_delegate_step,
            "compile_profiled": self.compile_profiled,
            "max_candidate_compiles": (self.compile_profiled || self.measure.is_some()).then_some(self.max_candidate_compiles),
        });
        // Only when measuring, so that the keys of other builds stay what they were.
        if let Some(m) = &self.measure {
            key["measure"] = m.key_json();
        }
        key
    }
}

impl Builder {
    /// The compiler's `--timeout_sec` for each segment (default 180; tpupipe kills it a minute
    /// after).
    pub fn compiler_timeout_sec(mut self, seconds: u32) -> Builder {
        self.compile.compiler_timeout_sec = Some(seconds);
        self
    }

    /// `--min_runtime_version` for the compiled segments.
    pub fn min_runtime_version(mut self, version: u32) -> Builder {
        self.compile.min_runtime_version = Some(version);
        self
    }

    /// Lets the compiler search for the largest part of each segment it can map
    /// (`--search_delegate --delegate_search_step STEP`, compiler 16.0 on).
    pub fn search_delegate(mut self, step: u32) -> Builder {
        self.compile.search_delegate_step = Some(step);
        self
    }

    /// Compile-profiled planning: compile the candidate segments, feed the compiler's exact
    /// on-chip/off-chip bytes back to the planner (`profiled`), and repeat until the plan is
    /// stable.
    pub fn compile_profiled(mut self, on: bool) -> Builder {
        self.compile.compile_profiled = on;
        self
    }

    /// Measured planning (`tpupipe compile --measure`): after compile-profiled planning, run
    /// the candidate segments around the plan on the attached Edge TPUs, put their latencies
    /// in the profile and re-plan until stable (see [`crate::compile::measure`]). `None` turns
    /// it off. Without an Edge TPU the compile fails, unless
    /// [`MeasureSettings::skip_without_device`].
    pub fn measure(mut self, settings: Option<MeasureSettings>) -> Builder {
        self.compile.measure = settings;
        self
    }

    /// The most candidate compiles compile-profiled planning may run (default 64).
    pub fn max_candidate_compiles(mut self, n: usize) -> Builder {
        self.compile.max_candidate_compiles = n;
        self
    }

    /// The artifact cache's directory (default: [`cache::default_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.compile.cache_dir = Some(dir.into());
        self
    }

    /// Forbids running the compiler: the build comes from the cache or fails (also with
    /// `TPUPIPE_OFFLINE=1`).
    pub fn offline(mut self, offline: bool) -> Builder {
        self.compile.offline = offline;
        self
    }

    /// The `edgetpu_compiler` to run, instead of discovering it.
    pub fn edgetpu_compiler(mut self, path: impl Into<PathBuf>) -> Builder {
        self.compile.compiler = Some(path.into());
        self
    }

    /// The most segments compiled at once (default: the number of cores).
    pub fn parallel_compiles(mut self, n: usize) -> Builder {
        self.compile.parallel = Some(n);
        self
    }

    /// The compile options in force.
    pub fn compile_settings(&self) -> &CompileSettings {
        &self.compile
    }
}
