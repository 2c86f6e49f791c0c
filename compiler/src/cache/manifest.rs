//! An entry's manifest: what the entry is for and the SHA-256 of every file in it.
//!
//! `manifest.json` lists the files (relative names with `/`, never absolute), their sizes and
//! hashes, and the key's inputs; `manifest.json.sha256` holds the manifest's own hash, so a
//! changed byte anywhere in the entry, the manifest included, is caught by [`verify_entry`].

use super::error::CacheError;
use super::key::{CacheKey, InputsHash, CACHE_FORMAT_VERSION};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

/// The manifest's file name inside an entry.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The file holding the manifest's SHA-256.
pub const MANIFEST_HASH_FILE: &str = "manifest.json.sha256";

/// One file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The name relative to the entry (`/`-separated; today always a plain file name).
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of its contents.
    pub sha256: String,
}

/// What an entry is and holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`CACHE_FORMAT_VERSION`] when written.
    pub format: u32,
    /// The tpupipe version that wrote it (informational).
    pub tpupipe_version: String,
    /// The entry's key (its directory name).
    pub key: String,
    /// The hash of the inputs without the compiler (offline builds look entries up by it).
    pub inputs: InputsHash,
    /// The model's file name.
    pub model: String,
    /// The model's SHA-256.
    pub model_sha256: String,
    /// The `edgetpu_compiler` version that compiled the segments.
    pub compiler_version: String,
    /// The plan and compile options, as they entered the key.
    pub options: serde_json::Value,
    /// The plan file's name.
    pub plan: String,
    /// Every file but the manifest and its hash, sorted by name.
    pub files: Vec<FileEntry>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True for a name that stays inside the entry: relative, `/`-separated, no `.` or `..` parts,
/// no backslashes or drive letters.
pub fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains(['\\', ':', '\0'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

impl Manifest {
    /// The manifest as written (pretty JSON, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest serializes");
        s.push('\n');
        s
    }

    /// The key its fields give.
    pub fn computed_key(&self) -> CacheKey {
        self.inputs.key(&self.compiler_version)
    }
}

/// Hashes every regular file in `dir` (not the manifest) into [`FileEntry`]s, sorted by name.
pub fn hash_files(dir: &Path) -> Result<Vec<FileEntry>, CacheError> {
    let mut files = Vec::new();
    for name in list_names(dir)? {
        if name == MANIFEST_FILE || name == MANIFEST_HASH_FILE {
            continue;
        }
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| CacheError::io(&path, "read", e))?;
        files.push(FileEntry {
            path: name,
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
    }
    Ok(files)
}

/// The names in `dir`, sorted; anything but a regular file with a UTF-8 name is an error.
fn list_names(dir: &Path) -> Result<BTreeSet<String>, CacheError> {
    let mut names = BTreeSet::new();
    let read = std::fs::read_dir(dir).map_err(|e| CacheError::io(dir, "list", e))?;
    for e in read {
        let e = e.map_err(|e| CacheError::io(dir, "list", e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let kind = e
            .file_type()
            .map_err(|err| CacheError::io(&e.path(), "stat", err))?;
        if !kind.is_file() {
            return Err(CacheError::Unexpected {
                dir: dir.to_path_buf(),
                name,
                why: "not a regular file",
            });
        }
        names.insert(name);
    }
    Ok(names)
}

/// Writes `manifest` and its hash into `dir`.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), CacheError> {
    let text = manifest.to_json();
    let path = dir.join(MANIFEST_FILE);
    std::fs::write(&path, &text).map_err(|e| CacheError::io(&path, "write", e))?;
    let hash_path = dir.join(MANIFEST_HASH_FILE);
    std::fs::write(&hash_path, format!("{}\n", sha256_hex(text.as_bytes())))
        .map_err(|e| CacheError::io(&hash_path, "write", e))
}

/// Reads and checks the entry in `dir`: the manifest matches its hash, is this format, names
/// the directory as its key, and every file (and no other) is there with its size and hash.
pub fn verify_entry(dir: &Path) -> Result<Manifest, CacheError> {
    let corrupt = |file: &str, problem: String| CacheError::Corrupt {
        entry: dir.to_path_buf(),
        file: file.to_string(),
        problem,
    };
    let read = |name: &str| -> Result<Vec<u8>, CacheError> {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => corrupt(name, "is missing".into()),
            _ => CacheError::io(&p, "read", e),
        })
    };
    let text = read(MANIFEST_FILE)?;
    let want = read(MANIFEST_HASH_FILE)?;
    let want = String::from_utf8_lossy(&want);
    if want.trim_end_matches('\n') != sha256_hex(&text) {
        return Err(corrupt(
            MANIFEST_FILE,
            format!("does not match the hash in {MANIFEST_HASH_FILE}"),
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| corrupt(MANIFEST_FILE, format!("is not a manifest: {e}")))?;
    if manifest.format != CACHE_FORMAT_VERSION {
        return Err(CacheError::Format {
            entry: dir.to_path_buf(),
            found: manifest.format,
        });
    }
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if manifest.key != dir_name || manifest.computed_key().as_str() != dir_name {
        return Err(corrupt(
            MANIFEST_FILE,
            "names another key than its directory".into(),
        ));
    }
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        if !is_safe_relative(&f.path) {
            return Err(corrupt(
                MANIFEST_FILE,
                format!(
                    "lists {:?}, which is not a relative path inside the entry",
                    f.path
                ),
            ));
        }
        let bytes = read(&f.path)?;
        if bytes.len() as u64 != f.bytes || sha256_hex(&bytes) != f.sha256 {
            return Err(corrupt(
                &f.path,
                "does not match the SHA-256 in the manifest".into(),
            ));
        }
        listed.insert(f.path.clone());
    }
    if !listed.contains(&manifest.plan) {
        return Err(corrupt(
            MANIFEST_FILE,
            format!("names plan {:?}, which it does not list", manifest.plan),
        ));
    }
    for name in list_names(dir)? {
        if name != MANIFEST_FILE && name != MANIFEST_HASH_FILE && !listed.contains(&name) {
            return Err(corrupt(&name, "is not in the manifest".into()));
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_only() {
        assert!(is_safe_relative("a.tflite"));
        assert!(is_safe_relative("sub/a.tflite"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a\\b",
            "C:x",
            "./a",
            "a//b",
        ] {
            assert!(!is_safe_relative(bad), "{bad:?}");
        }
    }
}
