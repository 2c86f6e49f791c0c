//! Loading model files from disk: memory-mapped, verified once.

use crate::Error;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};
use tpupipe_runtime::ModelView;

/// A model file held in memory (memory-mapped when possible).
pub struct ModelFile {
    path: PathBuf,
    bytes: Bytes,
}

enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl ModelFile {
    /// Opens and memory-maps `path`, then verifies it as a TFLite model.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let bytes = if len == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this process; a concurrent writer
            // truncating the file is the only hazard, as with every mmap-based reader.
            match unsafe { memmap2::Mmap::map(&file) } {
                Ok(m) => Bytes::Mapped(m),
                Err(_) => Bytes::Owned(std::fs::read(&path).map_err(io)?),
            }
        };
        let this = ModelFile { path, bytes };
        this.view()?;
        Ok(this)
    }

    /// Wraps bytes already in memory, verifying them.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, Error> {
        let this = ModelFile {
            path: path.into(),
            bytes: Bytes::Owned(bytes),
        };
        this.view()?;
        Ok(this)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }

    /// The verified model view.
    pub fn view(&self) -> Result<ModelView<'_>, Error> {
        ModelView::parse(self.bytes()).map_err(|source| Error::InvalidModel {
            path: self.path.clone(),
            source,
        })
    }

    /// The file stem (`mobilenet_v2` for `mobilenet_v2.tflite`), used to name outputs.
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string())
    }

    /// The file name without its directory (`mobilenet_v2.tflite`), as plans record it.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// Lowercase hex SHA-256 of the bytes, as plans, profiles and caches key models.
    pub fn sha256(&self) -> String {
        sha256_hex(self.bytes())
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
