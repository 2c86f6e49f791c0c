//! Code generation: from a model and its plan, the Rust items of a typed pipeline struct, shared
//! by the `tpupipe_model!` macro and the build-script terminal [`Builder::generate`].
//!
//! [`expand`] runs the walk: the segment files from [`artifacts()`] (split or reused), the
//! model's input and output tensors ([`tensors`]), identifiers for them ([`idents`]), the plan as
//! a Rust literal ([`plan_literal`]), the rustdoc table ([`doc_table`]), and the struct with its
//! methods and tensor types ([`model_struct`]). The result is a [`proc_macro2::TokenStream`]
//! naming only `::tpupipe` and `::std`; segments are embedded with `include_bytes!` of the
//! artifact files, wrapped for 16-byte alignment, never as token literals.
//!
//! ```no_run
//! use tpupipe_compiler::codegen::{expand, Backend, CodegenOptions};
//! use tpupipe_compiler::Builder;
//!
//! # fn main() -> Result<(), tpupipe_compiler::codegen::CodegenError> {
//! let builder = Builder::new("tests/models/conv_residual.tflite").tpus(2);
//! let expansion = expand(&builder, &CodegenOptions::new(Backend::Cpu, "."))?;
//! println!("{}", expansion.tokens);
//! # Ok(())
//! # }
//! ```

pub mod artifacts;
pub mod doc_table;
mod error;
pub mod generate;
pub mod idents;
pub mod model_struct;
mod mtime;
pub mod plan_literal;
pub mod tensors;
#[cfg(test)]
mod tests;

pub use artifacts::{artifacts, Artifacts, Backend};
pub use error::{CodegenError, Culprit};
pub use generate::Generated;

use crate::Builder;
use proc_macro2::TokenStream;
use std::path::PathBuf;

/// What to generate besides what the [`Builder`] says.
#[derive(Debug, Clone)]
pub struct CodegenOptions {
    /// Which segments to embed.
    pub backend: Backend,
    /// The struct's name; `None` names it from the model file's stem in UpperCamelCase.
    pub name: Option<String>,
    /// The struct's visibility, as tokens (`pub`, `pub(crate)`, or empty for private).
    pub visibility: TokenStream,
    /// Embed the uncompiled segments (needed by `open_cpu` and CPU fallback). Always on for
    /// [`Backend::Cpu`].
    pub embed_cpu: bool,
    /// Embed the compiled segments (needed by Edge TPUs). Ignored for [`Backend::Cpu`].
    pub embed_edgetpu: bool,
    /// Where the artifact directory `.tpupipe/` lives (the crate's `CARGO_MANIFEST_DIR`).
    pub root: PathBuf,
}

impl CodegenOptions {
    /// Defaults: the struct named from the stem, private, every segment kind embedded.
    pub fn new(backend: Backend, root: impl Into<PathBuf>) -> CodegenOptions {
        CodegenOptions {
            backend,
            name: None,
            visibility: TokenStream::new(),
            embed_cpu: true,
            embed_edgetpu: true,
            root: root.into(),
        }
    }
}

/// What [`expand`] produced.
#[derive(Debug, Clone)]
pub struct Expansion {
    /// The generated items.
    pub tokens: TokenStream,
    /// The struct's name.
    pub struct_name: String,
    /// The files the output depends on (model, profile, segments).
    pub tracked: Vec<PathBuf>,
    /// Things worth telling the user (e.g. fewer segments than TPUs asked).
    pub warnings: Vec<String>,
    /// The artifacts embedded.
    pub artifacts: Artifacts,
}

/// Generates the typed pipeline struct for `builder`'s model.
pub fn expand(builder: &Builder, options: &CodegenOptions) -> Result<Expansion, CodegenError> {
    let artifacts = artifacts(builder, options.backend, &options.root)?;
    let file = builder.open()?;
    let view = file.view()?;
    let struct_name = match &options.name {
        Some(n) => n.clone(),
        None => idents::type_name(&file.stem()),
    };
    let plan = &artifacts.plan;
    let tensors =
        tensors::ModelTensors::read(&view, &plan.model_inputs, &plan.model_outputs, &struct_name)?;
    let embed_cpu = options.embed_cpu || options.backend == Backend::Cpu;
    let embed_edgetpu = options.embed_edgetpu && options.backend == Backend::EdgeTpu;
    let cpu_files: Vec<Option<PathBuf>> = artifacts
        .cpu_files
        .iter()
        .map(|p| embed_cpu.then(|| p.clone()))
        .collect();
    let edgetpu_files: Vec<Option<PathBuf>> = artifacts
        .edgetpu_files
        .iter()
        .map(|p| p.clone().filter(|_| embed_edgetpu))
        .collect();
    let embedded = match (embed_cpu, embed_edgetpu) {
        (true, true) => "compiled and CPU segments are embedded",
        (true, false) => "only CPU segments are embedded, so every stage runs on the CPU",
        (false, true) => "only compiled segments are embedded (no CPU fallback)",
        (false, false) => "no segments are embedded",
    };
    let doc = doc_table::doc_lines(plan, &struct_name, embedded);
    let mut tracked: Vec<PathBuf> = Vec::new();
    if let Some(p) = builder.model_path() {
        tracked.push(absolute(p, &options.root));
    }
    if let Some(p) = builder.profile_path() {
        tracked.push(absolute(p, &options.root));
    }
    let plan_expr = plan_literal::plan_expr(plan);
    let tokens = model_struct::struct_tokens(&model_struct::StructSpec {
        name: &struct_name,
        visibility: &options.visibility,
        doc: &doc,
        plan: &plan_expr,
        tensors: &tensors,
        cpu_files: &cpu_files,
        edgetpu_files: &edgetpu_files,
        tracked: &tracked,
    });
    let mut warnings = Vec::new();
    let used = plan.tpus_used.unwrap_or(plan.segments.len());
    if plan.segments.len() < plan.tpus && used < plan.tpus {
        warnings.push(format!(
            "{}: the plan uses {used} of the {} TPUs asked for",
            plan.model, plan.tpus
        ));
    }
    let embedded_files: Vec<PathBuf> = cpu_files
        .iter()
        .chain(&edgetpu_files)
        .flatten()
        .cloned()
        .collect();
    if let Some(model) = builder.model_path() {
        mtime::settle(&embedded_files, &absolute(model, &options.root));
    }
    tracked.extend(embedded_files);
    Ok(Expansion {
        tokens,
        struct_name,
        tracked,
        warnings,
        artifacts,
    })
}

/// `path` made absolute against `root` (paths in `include_bytes!` of generated code resolve
/// against the file that contains them, so they must be absolute).
fn absolute(path: &std::path::Path, root: &std::path::Path) -> PathBuf {
    let p = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    std::fs::canonicalize(&p).unwrap_or(p)
}
