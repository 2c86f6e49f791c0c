#!/usr/bin/env bash
# The README's main example (examples/macro_model) as a shipped binary: built in release,
# copied alone to an empty directory and run there with a clean environment (no TPUPIPE_*
# variables, an empty LD_LIBRARY_PATH, nothing but PATH), on a machine without
# edgetpu_compiler or libedgetpu. It must open with CPU fallback, say that it fell back and why,
# and print its predictions. Also checked: the binary links no TFLite or Edge TPU library (both
# are loaded at run time, if at all), and, where strace exists, it opens no model file.
#
#   bash scripts/check-example-standalone.sh [--target aarch64-unknown-linux-gnu]
#
# With --target, the example is cross-built from the same sources and run under qemu-aarch64
# (CARGO_TARGET_<TRIPLE>_LINKER must name the cross linker; scripts/test-aarch64.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

triple=
if [ "${1:-}" = --target ]; then
  triple=$2
fi
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ -n "$triple" ]; then
  echo "== cargo build --release --example macro_model --target $triple"
  cargo build --release --example macro_model --target "$triple"
  bin=$target_dir/$triple/release/examples/macro_model
  runner=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
else
  echo "== cargo build --release --example macro_model"
  cargo build --release --example macro_model
  bin=$target_dir/release/examples/macro_model
  runner=()
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$bin" "$work/macro_model"

needed=$(readelf -d "$work/macro_model" | grep NEEDED || true)
if echo "$needed" | grep -Ei 'edgetpu|tensorflow'; then
  echo "error: the binary links an Edge TPU or TFLite library (above); it must load them at run time" >&2
  exit 1
fi

run=(env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= "${runner[@]}" "$work/macro_model")
echo "== running $work/macro_model alone, clean environment"
out=$(cd "$work" && "${run[@]}")
echo "$out"
fail() {
  echo "error: $1" >&2
  exit 1
}
echo "$out" | grep -q "fell back to the CPU: " || fail "the example does not say it fell back to the CPU"
echo "$out" | grep -q "^top 5 classes" || fail "the example printed no predictions"
stages=$(echo "$out" | grep -c "^stage [0-9]*: cpu" || true)
[ "$stages" -ge 1 ] || fail "no stage ran on the CPU"
if [ -z "$triple" ] && command -v strace >/dev/null; then
  opened=$(cd "$work" && strace -f -e trace=open,openat -o "$work/trace" "${run[@]}" >/dev/null \
    && grep -E '\.tflite|\.tpupipe' "$work/trace" || true)
  [ -z "$opened" ] || fail "the binary opened model files at run time: $opened"
fi
echo "== the shipped example ran alone: CPU fallback reported, $stages stages on the CPU"
