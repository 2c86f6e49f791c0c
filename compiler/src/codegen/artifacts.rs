//! Where the segment files embedded by generated code come from: one function,
//! [`artifacts`], for every backend.
//!
//! For [`Backend::Cpu`] the model is split with [`Builder::split`] into a deterministic
//! directory `<root>/.tpupipe/<stem>-<hash>/`, where the hash covers the model's bytes, the
//! builder's options, the profile's bytes and this crate's version. The directory is reused when
//! it exists and every file matches its manifest of SHA-256 hashes (`manifest.sha256`); it is
//! written to a temporary directory beside it and renamed into place, so a reader never sees a
//! half-written one. [`Backend::EdgeTpu`] uses the compiler's verified artifact cache
//! ([`crate::cache`], `<root>/.tpupipe/` unless `TPUPIPE_CACHE_DIR` says otherwise): a warm
//! entry is used as it is, without running `edgetpu_compiler`; a cold one is compiled with
//! [`Builder::compile`] (or, offline or without a compiler, refused with what to do).

use super::CodegenError;
use crate::model_file::sha256_hex;
use crate::Builder;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tpupipe_runtime::plan::Plan;

/// Which segment files the generated code embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Compiled segments for Edge TPUs (and the uncompiled ones for CPU fallback).
    EdgeTpu,
    /// Uncompiled segments only, run by the CPU interpreter; no Edge TPU compiler needed.
    Cpu,
}

impl Backend {
    /// The name used by the macro's `backend = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::EdgeTpu => "edgetpu",
            Backend::Cpu => "cpu",
        }
    }
}

/// The plan and the files of its segments.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The plan (with the segments' file names).
    pub plan: Plan,
    /// The uncompiled segment files, in order.
    pub cpu_files: Vec<PathBuf>,
    /// The compiled segment files, in order, where there are any.
    pub edgetpu_files: Vec<Option<PathBuf>>,
    /// True when the directory was reused rather than written.
    pub reused: bool,
}

const MANIFEST: &str = "manifest.sha256";
const PLAN: &str = "plan.json";

/// The segment files for `builder`'s model and options under `root` (normally the crate's
/// `CARGO_MANIFEST_DIR`), made or reused.
pub fn artifacts(
    builder: &Builder,
    backend: Backend,
    root: &Path,
) -> Result<Artifacts, CodegenError> {
    if backend == Backend::EdgeTpu {
        return edgetpu_artifacts(builder, root);
    }
    let file = builder.open()?;
    let stem = file.stem();
    let mut key = Sha256::new();
    key.update(env!("CARGO_PKG_VERSION").as_bytes());
    key.update(backend.name().as_bytes());
    key.update(file.bytes());
    key.update(format!("{builder:?}").as_bytes());
    if let Some(profile) = builder.profile_path() {
        let bytes = std::fs::read(profile).map_err(|source| CodegenError::ReadProfile {
            path: profile.to_path_buf(),
            source,
        })?;
        key.update(&bytes);
    }
    let hash: String = key
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    drop(file);
    let base = root.join(".tpupipe");
    let dir = base.join(format!("{stem}-{hash}"));
    if let Some(found) = reuse(&dir)? {
        return Ok(found);
    }
    let tmp = base.join(format!(".tmp-{stem}-{hash}-{}", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CodegenError::Artifacts { path, source }
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let split = builder.clone().out_dir(&tmp).split()?;
    // The plan under a fixed name, then the manifest over every file.
    let plan_json = split.plan.to_json();
    std::fs::write(tmp.join(PLAN), &plan_json).map_err(io(&tmp.join(PLAN)))?;
    let mut manifest = String::new();
    for name in
        std::iter::once(PLAN.to_string()).chain(split.plan.segments.iter().map(|s| s.file.clone()))
    {
        let bytes = std::fs::read(tmp.join(&name)).map_err(io(&tmp.join(&name)))?;
        manifest.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
    }
    std::fs::write(tmp.join(MANIFEST), manifest).map_err(io(&tmp.join(MANIFEST)))?;
    // Another expansion (a parallel rustc) may have finished the same directory meanwhile: use
    // it rather than replace files it may be reading.
    if let Some(found) = reuse(&dir)? {
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(found);
    }
    if dir.exists() {
        // A stale or damaged directory (reuse refused it): replace it.
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    if let Err(source) = std::fs::rename(&tmp, &dir) {
        // Another expansion may have renamed its copy first; use it if it is whole.
        let _ = std::fs::remove_dir_all(&tmp);
        return reuse(&dir)?.ok_or(CodegenError::Artifacts { path: dir, source });
    }
    let mut made = reuse(&dir)?.ok_or_else(|| CodegenError::Manifest {
        path: dir.join(MANIFEST),
        why: "the directory just written does not match its manifest".to_string(),
    })?;
    made.reused = false;
    Ok(made)
}

/// The artifacts in `dir` if it is complete and matches its manifest.
fn reuse(dir: &Path) -> Result<Option<Artifacts>, CodegenError> {
    let Ok(manifest) = std::fs::read_to_string(dir.join(MANIFEST)) else {
        return Ok(None);
    };
    for line in manifest.lines() {
        let Some((hash, name)) = line.split_once("  ") else {
            return Ok(None);
        };
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Ok(None);
        }
        match std::fs::read(dir.join(name)) {
            Ok(bytes) if sha256_hex(&bytes) == hash => {}
            _ => return Ok(None),
        }
    }
    let plan_path = dir.join(PLAN);
    let Ok(text) = std::fs::read_to_string(&plan_path) else {
        return Ok(None);
    };
    let plan = Plan::from_json(&text).map_err(|source| CodegenError::PlanJson {
        path: plan_path,
        source,
    })?;
    let listed = |f: &str| manifest.lines().any(|l| l.ends_with(&format!("  {f}")));
    if !plan.segments.iter().all(|s| listed(&s.file)) {
        return Ok(None);
    }
    Ok(Some(Artifacts {
        dir: dir.to_path_buf(),
        cpu_files: plan.segments.iter().map(|s| dir.join(&s.file)).collect(),
        edgetpu_files: plan
            .segments
            .iter()
            .map(|s| s.edgetpu_file.as_ref().map(|f| dir.join(f)))
            .collect(),
        plan,
        reused: true,
    }))
}

/// The compiled build of `builder`'s model from the artifact cache, compiling it first when the
/// cache has none (and a compiler may run).
fn edgetpu_artifacts(builder: &Builder, root: &Path) -> Result<Artifacts, CodegenError> {
    // `compile` also copies the files out; the generated code embeds them from the cache
    // entry itself, so the copy goes to a scratch directory (not part of the cache key).
    let scratch = tempfile::tempdir().map_err(|source| CodegenError::Artifacts {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut builder = builder.clone().out_dir(scratch.path());
    if std::env::var_os(crate::cache::CACHE_DIR_ENV).is_none() {
        builder = builder.cache_dir(root.join(".tpupipe"));
    }
    let (dir, reused) = match builder.cached().map_err(CodegenError::Compile)? {
        Some(entry) => (entry.dir, true),
        None => {
            let outcome = builder.compile().map_err(CodegenError::Compile)?;
            (outcome.cache_entry, false)
        }
    };
    let entry = builder
        .cached()
        .map_err(CodegenError::Compile)?
        .filter(|e| e.dir == dir)
        .ok_or_else(|| CodegenError::Manifest {
            path: dir.clone(),
            why: "the cache entry vanished after it was built".into(),
        })?;
    let plan_path = entry.plan_path();
    let text = std::fs::read_to_string(&plan_path).map_err(|source| CodegenError::Artifacts {
        path: plan_path.clone(),
        source,
    })?;
    let plan = Plan::from_json(&text).map_err(|source| CodegenError::PlanJson {
        path: plan_path.clone(),
        source,
    })?;
    let cpu_files = plan.segments.iter().map(|s| dir.join(&s.file)).collect();
    let edgetpu_files = plan
        .segments
        .iter()
        .map(|s| s.edgetpu_file.as_ref().map(|f| dir.join(f)))
        .collect();
    Ok(Artifacts {
        dir,
        plan,
        cpu_files,
        edgetpu_files,
        reused,
    })
}
