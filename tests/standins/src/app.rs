//! One run of the stand-in `edgetpu_compiler`: what it prints, which files it writes, and its
//! exit status (facts §2 to §4, §7).
//!
//! Line order of a v16 run: the version line; per compile (all models together, or each
//! segment with `-n`): the `-d` search lines, the timer line, a blank line, "Model(s) compiled
//! successfully in N ms.", a blank line, one summary block per model, "Compilation child
//! process completed within timeout period.", "Compilation succeeded! ". Older versions print
//! no timer or child-process lines. Failures print their lines (see
//! [`crate::compile::Failure`]) and exit with status 1; `ERROR:` lines go to stderr, the rest
//! to stdout (the facts do not say which stream real messages use).

use crate::compile::{self, Compiled, Failure, Settings};
use crate::console::{err, out, Console, DEFAULT_TIMEOUT_SEC};
use crate::faults::{self, Fault};
use crate::flags::{self, Flags};
use crate::play::{self, EXIT_FAILURE};
use crate::text::{self, Summary};
use crate::version::Version;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tpupipe_compiler::planner::{params::params_cuts, Cuts};
use tpupipe_compiler::split::Split;
use tpupipe_runtime::ByteCount;

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    match name.rfind('.') {
        Some(i) if i > 0 => name[..i].to_string(),
        _ => name,
    }
}

fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One model to compile: what the summary calls it, and its bytes.
struct Input {
    /// As printed on the `Input model:` line.
    shown: String,
    /// Path of the file (for fault filters).
    path: PathBuf,
    /// Output file stem.
    stem: String,
    bytes: Vec<u8>,
}

struct Run {
    version: Version,
    console: Console,
    flags: Flags,
    settings: Settings,
    out_dir: Option<PathBuf>,
}

impl Run {
    fn output_path(&self, file: &str) -> (PathBuf, String) {
        match &self.out_dir {
            Some(d) => {
                let p = d.join(file);
                let shown = p.display().to_string();
                (p, shown)
            }
            None => (PathBuf::from(file), file.to_string()),
        }
    }

    /// Compiles `inputs` together (co-compilation, or one segment); returns the exit status.
    fn compile_group(&self, inputs: &[Input]) -> Result<i32, String> {
        let mut output_fault = None;
        for input in inputs {
            let ops = compile::load(&input.bytes).ok().map(|(_, g)| g.len());
            if let Some(fault) = faults::for_input(&input.path, ops)? {
                if let Some(status) = play::play(&self.console, fault, &input.path, &input.shown)? {
                    return Ok(status);
                }
                output_fault = Some(fault)
                    .filter(|f| matches!(f, Fault::MissingOutput | Fault::CorruptOutput));
            }
        }
        // Invalid inputs are refused before the compile child starts.
        for input in inputs {
            if let Err(f) = compile::load(&input.bytes) {
                self.console.failure(&f, &input.shown);
                return Ok(EXIT_FAILURE);
            }
        }
        let search = self.flags.search_delegate && self.version.has_child_process();
        let step = self.flags.delegate_search_step.unwrap_or(1) as usize;
        if search {
            out(&format!("Searching for valid delegate with step {step}"));
        }
        // The `-d` search applies to a single model; co-compiled models get one attempt.
        let total_ops = if search && inputs.len() == 1 {
            compile::load(&inputs[0].bytes).map_or(0, |(_, g)| g.len())
        } else {
            0
        };
        let mut count = total_ops;
        loop {
            let cut = (search && count < total_ops).then_some(count);
            if search && inputs.len() == 1 {
                out(&format!("Try to compile segment with {count} ops"));
                if let Some(c) = cut {
                    let (_, graph) =
                        compile::load(&inputs[0].bytes).map_err(|f| format!("{f:?}"))?;
                    let names: Vec<&str> = graph
                        .live_across(c)
                        .iter()
                        .map(|&t| graph.tensor_name(t))
                        .collect();
                    out(&format!("Intermediate tensors: {}", names.join(",")));
                }
            }
            self.console.timer_line();
            let started = Instant::now();
            let mut budget_left = ByteCount(u64::MAX);
            let mut compiled: Vec<Compiled> = Vec::new();
            let mut failure = None;
            for input in inputs {
                match compile::compile(&input.bytes, &self.settings, budget_left, cut) {
                    Ok(c) => {
                        budget_left = ByteCount(c.budget.bytes().saturating_sub(c.on_chip.bytes()));
                        compiled.push(c);
                    }
                    Err(f) => {
                        failure = Some((f, input.shown.clone()));
                        break;
                    }
                }
            }
            match failure {
                None => {
                    let ms = started.elapsed().as_millis();
                    out("");
                    let word = if inputs.len() > 1 { "Models" } else { "Model" };
                    out(&format!("{word} compiled successfully in {ms} ms."));
                    out("");
                    return self.write_outputs(inputs, &compiled, budget_left, output_fault);
                }
                Some((f, shown)) => {
                    self.console.failure(&f, &shown);
                    let retry = search && inputs.len() == 1 && f.in_child() && count > step;
                    if !retry {
                        return Ok(EXIT_FAILURE);
                    }
                    count -= step;
                }
            }
        }
    }

    fn write_outputs(
        &self,
        inputs: &[Input],
        compiled: &[Compiled],
        remaining: ByteCount,
        fault: Option<Fault>,
    ) -> Result<i32, String> {
        let mut write_error = None;
        for (input, c) in inputs.iter().zip(compiled) {
            let model_file = format!("{}_edgetpu.tflite", input.stem);
            let log_file = format!("{}_edgetpu.log", input.stem);
            let (model_path, model_shown) = self.output_path(&model_file);
            let (log_path, log_shown) = self.output_path(&log_file);
            let bytes: &[u8] = match fault {
                Some(Fault::CorruptOutput) => b"this is not a TFLite model",
                _ => &c.model,
            };
            let summary = Summary {
                input: input.shown.clone(),
                input_bytes: input.bytes.len() as u64,
                output: model_shown.clone(),
                output_bytes: bytes.len() as u64,
                on_chip: c.on_chip.bytes(),
                // Nothing mapped: all three memory lines read 0.00B (facts §2.4).
                remaining: if c.subgraphs == 0 {
                    0
                } else {
                    remaining.bytes().min(c.budget.bytes())
                },
                available: c.budget.bytes(),
                off_chip: c.off_chip.bytes(),
                subgraphs: c.subgraphs,
                total_ops: c.total_ops,
                tpu_ops: c.tpu_ops,
                log: log_shown,
                rows: c.rows.clone(),
            };
            let block = text::summary(&self.version, &summary, self.flags.show_operations);
            print!("{block}");
            let log = text::log_file(&self.version, &input.shown, &model_shown, &c.rows);
            if write_error.is_none() {
                if let Err(e) = std::fs::write(&log_path, log) {
                    write_error = Some((log_path.clone(), e));
                }
            }
            if write_error.is_none() && fault != Some(Fault::MissingOutput) {
                if let Err(e) = std::fs::write(&model_path, bytes) {
                    write_error = Some((model_path.clone(), e));
                }
            }
        }
        if let Some((path, _)) = write_error {
            out(&format!(
                "Error opening file for writing: {}",
                path.display()
            ));
            out("Internal compiler error. Aborting!");
            return Ok(EXIT_FAILURE);
        }
        self.console.child_done(true);
        Ok(0)
    }

    fn read_input(&self, path: &Path, shown: String) -> Result<Input, i32> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Input {
                shown,
                path: path.to_path_buf(),
                stem: stem(path),
                bytes,
            }),
            Err(e) => {
                err(&format!("ERROR: Could not open '{}': {e}", path.display()));
                out(&format!("Invalid model: {}", path.display()));
                out("Model could not be loaded");
                Err(EXIT_FAILURE)
            }
        }
    }

    /// `-n N`: writes the CPU segments next to the outputs and compiles each in turn.
    fn compile_segments(&self, input: Input, n: usize) -> Result<i32, String> {
        let segments = match split(&input, n) {
            Ok(s) => s,
            Err(f) => {
                self.console.failure(&f, &input.shown);
                return Ok(EXIT_FAILURE);
            }
        };
        for (i, bytes) in segments.into_iter().enumerate() {
            let file = format!("{}_segment_{i}_of_{n}.tflite", input.stem);
            let (path, _) = self.output_path(&file);
            if std::fs::write(&path, &bytes).is_err() {
                out(&format!(
                    "Error opening file for writing: {}",
                    path.display()
                ));
                out("Internal compiler error. Aborting!");
                return Ok(EXIT_FAILURE);
            }
            let segment = Input {
                shown: file.clone(),
                path,
                stem: format!("{}_segment_{i}_of_{n}", input.stem),
                bytes,
            };
            let status = self.compile_group(std::slice::from_ref(&segment))?;
            if status != 0 {
                return Ok(status);
            }
        }
        Ok(0)
    }
}

/// Splits a model into `n` segments of about equal parameter bytes (what `--num_segments`
/// does, facts §7), with tpupipe's own planner and segment writer.
fn split(input: &Input, n: usize) -> Result<Vec<Vec<u8>>, Failure> {
    let (model, graph) = compile::load(&input.bytes)?;
    let internal = |e: String| Failure::Internal(e);
    let cuts = params_cuts(&graph, n).map_err(|e| internal(e.to_string()))?;
    let cuts = Cuts::new(cuts, graph.len()).map_err(|e| internal(e.to_string()))?;
    let name = format!("{}.tflite", input.stem);
    let split = Split::new(model, &graph, cuts, &name).map_err(|e| internal(e.to_string()))?;
    (0..split.segment_count())
        .map(|i| {
            split
                .write_segment(i)
                .map(|s| s.into_vec())
                .map_err(|e| internal(e.to_string()))
        })
        .collect()
}

/// Runs the stand-in with `args` (without the program name); returns the exit status.
pub fn run(args: &[String]) -> i32 {
    let version = match Version::from_env() {
        Ok(v) => v,
        Err(e) => {
            err(&format!("ERROR: {e}"));
            return EXIT_FAILURE;
        }
    };
    out(&format!("Edge TPU Compiler version {version}"));
    let flags = match flags::parse(args, &version) {
        Ok(f) => f,
        Err(e) => {
            err(&format!("ERROR: {e}"));
            return EXIT_FAILURE;
        }
    };
    if flags.help {
        print!("{}", flags::help_text(&version));
        return 0;
    }
    if flags.version {
        return 0;
    }
    let min_runtime = flags
        .min_runtime_version
        .unwrap_or(version.default_min_runtime());
    if min_runtime > version.max_runtime() {
        err(&format!(
            "ERROR: --min_runtime_version {min_runtime} is newer than this compiler supports ({})",
            version.max_runtime()
        ));
        return EXIT_FAILURE;
    }
    let max_mapped_ops = match faults::max_mapped_ops() {
        Ok(m) => m,
        Err(e) => {
            err(&format!("ERROR: {e}"));
            return EXIT_FAILURE;
        }
    };
    let mut token = 0xcbf2_9ce4_8422_2325u64;
    for m in &flags.models {
        token = fnv1a(m.as_os_str().as_encoded_bytes(), token);
    }
    let run = Run {
        version,
        console: Console {
            version,
            timeout_sec: flags.timeout_sec.unwrap_or(DEFAULT_TIMEOUT_SEC),
        },
        settings: Settings {
            version,
            min_runtime,
            multiple_subgraphs: flags.enable_multiple_subgraphs,
            intermediate_tensors: flags.intermediate_tensors.clone().unwrap_or_default(),
            token,
            max_mapped_ops,
        },
        out_dir: flags.out_dir.clone(),
        flags,
    };
    let mut inputs = Vec::new();
    for m in &run.flags.models {
        match run.read_input(m, m.display().to_string()) {
            Ok(i) => inputs.push(i),
            Err(status) => return status,
        }
    }
    let result = match run.flags.num_segments {
        Some(n) if n > 1 => run.compile_segments(inputs.remove(0), n as usize),
        _ => run.compile_group(&inputs),
    };
    result.unwrap_or_else(|e| {
        err(&format!("ERROR: {e}"));
        EXIT_FAILURE
    })
}
