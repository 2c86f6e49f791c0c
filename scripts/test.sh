#!/usr/bin/env bash
# The test command of README.md: Rust tests, then the oracle checks against the official TFLite
# runtime (ai-edge-litert, pinned in tests/fixtures/requirements-oracle.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
