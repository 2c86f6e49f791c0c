#!/usr/bin/env bash
# Runs tpupipe's interpreter benchmark and LiteRT's (builtin kernels and XNNPACK) on the same
# model in the same session, then prints the ratios (tpupipe time / LiteRT time; below 1 means
# tpupipe is faster).
#
# Usage: runtime/benches/litert_compare.sh [MODEL.tflite] [RUNS]
# PYTHON selects the interpreter with ai-edge-litert (default: /opt/tpvenv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="$(realpath "${1:-tests/models/mobilenet_v2.tflite}")"
RUNS="${2:-50}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x /opt/tpvenv/bin/python ]; then PYTHON=/opt/tpvenv/bin/python; else PYTHON=python3; fi
fi
ours=$(cargo bench -q -p tpupipe-runtime --bench interp -- "$MODEL" "$RUNS" | tee /dev/stderr | sed -n 's/^tpupipe_ms=//p')
theirs=$("$PYTHON" runtime/benches/litert_bench.py "$MODEL" "$RUNS" 2>/dev/null | tee /dev/stderr)
builtin=$(echo "$theirs" | sed -n 's/^litert_builtin_ms=//p')
xnnpack=$(echo "$theirs" | sed -n 's/^litert_xnnpack_ms=//p')
awk -v o="$ours" -v b="$builtin" -v x="$xnnpack" 'BEGIN {
  printf "tpupipe %.3f ms | LiteRT builtin %.3f ms | LiteRT XNNPACK %.3f ms\n", o, b, x;
  printf "ratio tpupipe/builtin = %.2f, tpupipe/xnnpack = %.2f\n", o / b, o / x }'
