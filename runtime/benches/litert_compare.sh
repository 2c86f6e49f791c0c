#!/usr/bin/env bash
# Runs tpupipe's interpreter benchmark and LiteRT's (builtin kernels and XNNPACK) on the same
# models in the same session, then prints the ratios (tpupipe time / LiteRT time; below 1 means
# tpupipe is faster). All times are medians of RUNS single-thread inferences.
#
# Usage: runtime/benches/litert_compare.sh [MODEL.tflite] [RUNS]
#
# With a MODEL, only that model. Without one (or with MODEL "all"), the speed set in one run:
#   - MobileNetV2 (tests/models/mobilenet_v2.tflite, int8, committed);
#   - ResNet-50 (int8; not committed: generated once with tests/fixtures/make_fixtures.py
#     --resnet50 into $TPUPIPE_BENCH_DIR, default /tmp/tpupipe-bench; skipped with a message if
#     that fails, e.g. without TensorFlow);
#   - the Coral zoo MobileNet v2 uint8 ($TPUPIPE_SHARED/zoo/mobilenet_v2_1.0_224_quant.tflite,
#     default ../shared; skipped with a message if absent).
# PYTHON selects the interpreter with ai-edge-litert (and TensorFlow for ResNet-50)
# (default: /opt/tpvenv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${2:-50}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x /opt/tpvenv/bin/python ]; then PYTHON=/opt/tpvenv/bin/python; else PYTHON=python3; fi
fi
SHARED="${TPUPIPE_SHARED:-$(pwd)/../shared}"
BENCH_DIR="${TPUPIPE_BENCH_DIR:-/tmp/tpupipe-bench}"

SUMMARY=()

# compare LABEL MODEL: one model, both sides, one summary line.
compare() {
  local label="$1" model
  model="$(realpath "$2")"
  echo "== $label: $model"
  local ours theirs builtin xnnpack
  ours=$(cargo bench -q -p tpupipe-runtime --bench interp -- "$model" "$RUNS" | tee /dev/stderr | sed -n 's/^tpupipe_ms=//p')
  theirs=$("$PYTHON" runtime/benches/litert_bench.py "$model" "$RUNS" 2>/dev/null | tee /dev/stderr)
  builtin=$(echo "$theirs" | sed -n 's/^litert_builtin_ms=//p')
  xnnpack=$(echo "$theirs" | sed -n 's/^litert_xnnpack_ms=//p')
  local line
  line=$(awk -v l="$label" -v o="$ours" -v b="$builtin" -v x="$xnnpack" 'BEGIN {
    printf "%-28s tpupipe %8.3f ms | LiteRT builtin %8.3f ms | XNNPACK %8.3f ms | tpupipe/builtin %.2f | tpupipe/xnnpack %.2f",
      l, o, b, x, o / b, o / x }')
  echo "$line"
  SUMMARY+=("$line")
}

if [ -n "${1:-}" ] && [ "${1}" != "all" ]; then
  compare "$(basename "$1" .tflite)" "$1"
  exit 0
fi

compare "mobilenet_v2 (int8)" tests/models/mobilenet_v2.tflite

RESNET="$BENCH_DIR/resnet50.tflite"
if [ ! -f "$RESNET" ]; then
  mkdir -p "$BENCH_DIR"
  echo "== generating ResNet-50 into $RESNET (once)"
  if ! "$PYTHON" tests/fixtures/make_fixtures.py --resnet50 "$RESNET" >&2; then
    rm -f "$RESNET"
  fi
fi
if [ -f "$RESNET" ]; then
  compare "resnet50 (int8)" "$RESNET"
else
  SUMMARY+=("resnet50 (int8): skipped, could not generate $RESNET (needs TensorFlow in $PYTHON)")
fi

ZOO="$SHARED/zoo/mobilenet_v2_1.0_224_quant.tflite"
if [ -f "$ZOO" ]; then
  compare "zoo mobilenet_v2 (uint8)" "$ZOO"
else
  SUMMARY+=("zoo mobilenet_v2 (uint8): skipped, $ZOO not found (set TPUPIPE_SHARED)")
fi

echo
echo "== summary ($RUNS runs each, medians, one thread; load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a))"
printf '%s\n' "${SUMMARY[@]}"
