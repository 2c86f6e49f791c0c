#!/usr/bin/env bash
# The test command of README.md.
#
# 1. Rust: formatting, lints, and every test of the workspace (no Python needed: fixture models and
#    their golden outputs are committed under tests/models/). Then the README's main example as a
#    shipped release binary, run alone with a clean environment (scripts/check-example-standalone.sh).
# 2. The oracle: the official TFLite runtime (PyPI ai-edge-litert, pinned in
#    tests/fixtures/requirements-oracle.txt) loads every segment tpupipe writes and must reproduce
#    the full model's outputs bit for bit; synthetic models must load and run.
#
# 3. The runtime's tests for aarch64 under qemu (installs qemu-user and a cross linker with apt),
#    and the example cross-built for aarch64 and run under qemu.
#
# Set TPUPIPE_SKIP_ORACLE=1 / TPUPIPE_SKIP_AARCH64=1 to leave those parts out (e.g. offline).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc (warnings are errors: every public item documented, links valid)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== dependency boundaries (no CLI crates under the compiler or the macros)"
for crate in tpupipe-compiler tpupipe-macros; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -E '^(clap|anyhow|indicatif) '; then
    echo "error: $crate depends on a CLI crate (above); keep clap, anyhow and indicatif in tpupipe-cli" >&2
    exit 1
  fi
done
echo "== cargo test"
cargo test --workspace --all-targets
echo "== cargo test --doc"
cargo test --workspace --doc
echo "== the README's example as a shipped release binary (alone, clean environment, CPU fallback)"
bash scripts/check-example-standalone.sh

# The aarch64 NEON / dot-product kernels, bit for bit under qemu (most Coral hosts are ARM boards).
if [ "${TPUPIPE_SKIP_AARCH64:-0}" = 1 ]; then
  echo "TPUPIPE_SKIP_AARCH64=1: skipping the aarch64 tests under qemu"
else
  echo "== aarch64 under qemu"
  bash scripts/test-aarch64.sh
fi

if [ "${TPUPIPE_SKIP_ORACLE:-0}" = 1 ]; then
  echo "TPUPIPE_SKIP_ORACLE=1: skipping the ai-edge-litert oracle checks"
  exit 0
fi

echo "== oracle: ai-edge-litert"
venv=${TPUPIPE_VENV:-target/pyenv-oracle}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q -r tests/fixtures/requirements-oracle.txt
cargo build --release -p tpupipe-cli --bin tpupipe
export TPUPIPE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tpupipe"
echo "== tests/fixtures/verify_goldens.py (committed goldens still match the oracle)"
"$venv/bin/python" tests/fixtures/verify_goldens.py
echo "== tests/fixtures/fuzz_graphs.py (2000 random small quantized graphs, bit for bit against the oracle)"
"$venv/bin/python" tests/fixtures/fuzz_graphs.py --seed 1 --count 2000 \
  --out "${CARGO_TARGET_DIR:-$PWD/target}/fuzz-graphs"
for check in scripts/check_split.py scripts/check_synth.py; do
  echo "== $check"
  "$venv/bin/python" "$check"
done
