//! `tpupipe cache ls|verify|prune`: the artifact cache of compiled builds.

use crate::commands::compile::cache_dir;
use anyhow::bail;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use tpupipe_compiler::cache::{Cache, ScannedEntry};
use tpupipe_runtime::ByteCount;

/// Arguments of `tpupipe cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CacheAction,
    /// The cache (default: TPUPIPE_CACHE_DIR, else ./.tpupipe).
    #[arg(long, global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Print JSON instead of lines.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The cache subcommands.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum CacheAction {
    /// List the entries: key, model, compiler version, size; damaged ones are marked.
    Ls,
    /// Check every file of every entry against its manifest (exit status 1 if any is damaged).
    Verify,
    /// Remove damaged entries and stale temporary directories.
    Prune,
}

/// Runs `tpupipe cache`.
pub fn run(args: CacheArgs) -> anyhow::Result<()> {
    let cache = Cache::new(cache_dir(args.cache_dir.as_ref()));
    match args.action {
        CacheAction::Ls | CacheAction::Verify => {
            let entries = cache.scan()?;
            let mut rows = Vec::new();
            let mut broken = 0;
            for e in &entries {
                match e {
                    ScannedEntry::Valid(v) => rows.push(serde_json::json!({
                        "key": v.manifest.key,
                        "model": v.manifest.model,
                        "model_sha256": v.manifest.model_sha256,
                        "compiler_version": v.manifest.compiler_version,
                        "files": v.manifest.files.len(),
                        "bytes": v.bytes(),
                        "ok": true,
                    })),
                    ScannedEntry::Broken { dir, error } => {
                        broken += 1;
                        rows.push(serde_json::json!({
                            "key": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
                            "ok": false,
                            "error": error.to_string(),
                        }))
                    }
                }
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for (e, row) in entries.iter().zip(&rows) {
                    match e {
                        ScannedEntry::Valid(v) => println!(
                            "{}  {}  edgetpu_compiler {}  {} files  {}",
                            v.key().short(),
                            v.manifest.model,
                            v.manifest.compiler_version,
                            v.manifest.files.len(),
                            ByteCount(v.bytes())
                        ),
                        ScannedEntry::Broken { error, .. } => {
                            println!("{}  DAMAGED: {error}", row["key"].as_str().unwrap_or("?"))
                        }
                    }
                }
                if matches!(args.action, CacheAction::Verify) {
                    println!(
                        "{} entries in {}, {} damaged",
                        entries.len(),
                        cache.root().display(),
                        broken
                    );
                }
            }
            if matches!(args.action, CacheAction::Verify) && broken > 0 {
                bail!(
                    "{broken} damaged cache entr{} in {}; `tpupipe cache prune` removes them (the next compile rebuilds them)",
                    if broken == 1 { "y" } else { "ies" },
                    cache.root().display()
                );
            }
        }
        CacheAction::Prune => {
            let removed = cache.prune()?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&removed)?);
            } else {
                for r in &removed {
                    println!("removed {}", r.display());
                }
                println!("{} removed from {}", removed.len(), cache.root().display());
            }
        }
    }
    Ok(())
}
