#!/usr/bin/env bash
# Runs tpupipe-runtime's tests (unit, per-op, golden-model) for aarch64 under qemu user-mode
# emulation, so the NEON and dot-product kernels are checked bit for bit on an x86-64 host.
#
# Three passes over the same test binaries:
#   1. `-cpu max`        : NEON + dotprod (the `sdot` GEMM path is picked at run time);
#   2. `-cpu cortex-a53` : NEON without dotprod (the widening-multiply GEMM path);
#   3. `-cpu max` with TPUPIPE_INTERP_PORTABLE=1: every SIMD path disabled (portable code).
# Then one compiler test: a cache entry written on x86-64 (compiler/tests/fixtures/cache-x86_64)
# verifies and builds offline on aarch64 (`tpupipe-compiler --test cache_portable`).
# Then the shipping path (docs/shipping.md): examples/macro_model cross-built in release with
# `cargo build --release --target aarch64-unknown-linux-gnu` (TPUPIPE_OFFLINE=1: no compiler is
# looked for) and run alone under qemu with a clean environment, falling back to the CPU
# (scripts/check-example-standalone.sh). TPUPIPE_SKIP_AARCH64_EXAMPLE=1 leaves it out.
#
# Setup (Debian/Ubuntu, as root; the script does it when the tools are missing and
# TPUPIPE_NO_INSTALL is unset):
#   rustup target add aarch64-unknown-linux-gnu
#   apt-get update && apt-get install -y qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
# No .cargo/config is committed: the linker and runner are given through environment variables
# below, so x86-64 builds are unaffected.
#
# Extra arguments are passed to `cargo test` (e.g. a test-name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu

if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null \
  || [ ! -d "$sysroot/lib" ]; then
  if [ -n "${TPUPIPE_NO_INSTALL:-}" ]; then
    echo "qemu-aarch64 / aarch64-linux-gnu-gcc missing (TPUPIPE_NO_INSTALL set)" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y qemu-user gcc-aarch64-linux-gnu \
    libc6-dev-arm64-cross
fi
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc

run() {
  local cpu=$1
  shift
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot -cpu $cpu"
  cargo test -p tpupipe-runtime --target "$target" "$@"
}

start=$(date +%s)
echo "== build (aarch64 tests)"
cargo test -p tpupipe-runtime --target "$target" --no-run "$@"
# Every pass runs even when an earlier one fails; the script fails if any did.
failed=()
echo "== qemu -cpu max (NEON + dotprod)"
run max "$@" || failed+=("-cpu max")
echo "== qemu -cpu cortex-a53 (NEON, no dotprod)"
run cortex-a53 "$@" || failed+=("-cpu cortex-a53")
echo "== qemu -cpu max, TPUPIPE_INTERP_PORTABLE=1 (portable kernels)"
TPUPIPE_INTERP_PORTABLE=1 run max "$@" || failed+=("-cpu max, portable")
echo "== qemu -cpu max: an x86-64 cache entry read on aarch64 (tpupipe-compiler cache_portable)"
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot -cpu max" \
  cargo test -p tpupipe-compiler --target "$target" --test cache_portable \
  || failed+=("compiler cache_portable")
if [ "${TPUPIPE_SKIP_AARCH64_EXAMPLE:-0}" = 1 ]; then
  echo "TPUPIPE_SKIP_AARCH64_EXAMPLE=1: skipping the cross-built example"
else
  echo "== examples/macro_model cross-built for $target, run alone under qemu"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot -cpu max"
  TPUPIPE_OFFLINE=1 bash scripts/check-example-standalone.sh --target "$target" \
    || failed+=("cross-built example")
fi
elapsed=$(($(date +%s) - start))
if [ ${#failed[@]} -gt 0 ]; then
  printf 'aarch64 tests FAILED under qemu (%s) after %d s\n' "$(IFS=';'; echo "${failed[*]}")" \
    "$elapsed" >&2
  exit 1
fi
echo "== aarch64 tests passed under qemu (max, cortex-a53, portable; x86-64 cache; the cross-built example) in $elapsed s"
