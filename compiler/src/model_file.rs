//! Loading model files from disk: memory-mapped, verified once.

use std::fs::File;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tpupipe_runtime::{ModelError, ModelView};

/// Why a model file could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid model.
    #[error("{path}: {source}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: ModelError,
    },
}

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
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| LoadError::Io {
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
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, LoadError> {
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
    pub fn view(&self) -> Result<ModelView<'_>, LoadError> {
        ModelView::parse(self.bytes()).map_err(|source| LoadError::Model {
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
}
