//! Cache keys: what a compiled build depends on, hashed.
//!
//! A build depends on the model's bytes, the plan and compile options, the compiler's version
//! and this crate's cache format. The first three without the compiler give the
//! [`InputsHash`]: an offline build, which has no compiler to ask, looks entries up by it. The
//! [`CacheKey`] adds the compiler version and names the entry's directory. Nothing
//! platform-specific enters either: no paths, no mtimes; the options are canonical JSON.

use sha2::{Digest, Sha256};
use std::fmt;

/// Bumped whenever what an entry holds, or how keys are computed, changes meaning.
pub const CACHE_FORMAT_VERSION: u32 = 1;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so that no two part lists hash alike.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex(&h.finalize())
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The hash of everything a build depends on except the compiler: model bytes, options and the
/// cache format version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct InputsHash(String);

impl InputsHash {
    /// The hash for the model whose bytes hash to `model_sha256` (lower-case hex), named
    /// `stem` (it names the files), built with `options` (canonical text).
    pub fn new(model_sha256: &str, stem: &str, options: &str) -> InputsHash {
        InputsHash(sha256_of(&[
            "tpupipe-cache",
            &CACHE_FORMAT_VERSION.to_string(),
            &model_sha256.to_ascii_lowercase(),
            stem,
            options,
        ]))
    }

    /// The lower-case hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the build of these inputs by compiler `compiler_version`.
    pub fn key(&self, compiler_version: &str) -> CacheKey {
        CacheKey(sha256_of(&["tpupipe-cache-key", &self.0, compiler_version]))
    }
}

impl fmt::Display for InputsHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of one cache entry (its directory's name): 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// Reads a directory name as a key (`None` unless 64 lower-case hex digits).
    pub fn parse(s: &str) -> Option<CacheKey> {
        is_hex64(s).then(|| CacheKey(s.to_string()))
    }

    /// The lower-case hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, for messages.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_key() {
        let base = InputsHash::new("ab", "m", "{}");
        let k = base.key("16.0.1");
        assert!(CacheKey::parse(k.as_str()).is_some());
        assert_ne!(InputsHash::new("ac", "m", "{}"), base);
        assert_ne!(InputsHash::new("ab", "n", "{}"), base);
        assert_ne!(InputsHash::new("ab", "m", "{\"tpus\":2}"), base);
        assert_ne!(base.key("16.0.2"), k);
        // Case of the model hash does not matter.
        assert_eq!(InputsHash::new("AB", "m", "{}"), base);
        // Part boundaries matter.
        assert_ne!(
            InputsHash::new("ab", "m{", "}"),
            InputsHash::new("ab", "m", "{}")
        );
        assert_eq!(CacheKey::parse("xyz"), None);
        assert_eq!(CacheKey::parse(&"A".repeat(64)), None);
    }
}
