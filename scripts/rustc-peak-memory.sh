#!/usr/bin/env bash
# rustc's peak memory while building a crate that embeds a large model with `tpupipe_model!`.
#
# Writes a synthetic full-int8 FC model of about 26 MB (`tpupipe synth fc --hidden 2280
# --layers 6`, 26.1 MB), generates a crate outside the workspace that depends on the
# facade `tpupipe` by path and expands
#   tpupipe_model!("models/big.tflite", tpus = 4, backend = "cpu", name = Big)
# (the macro splits the model inside rustc and embeds the four segments with include_bytes!),
# and builds it with a RUSTC_WRAPPER that records each rustc's peak resident set
# (`/usr/bin/time -f %M`). The same crate is built first with a tiny model, for rustc's own
# baseline. Prints both figures, the model size, and the ratios (goal: peak < 3x the model).
#
#   bash scripts/rustc-peak-memory.sh [--release] [--hidden N] [--layers L]
#
# Needs /usr/bin/time (GNU time). The generated crate lives in $TARGET/rustc-memory/crate and
# builds into $TARGET/rustc-memory/target (its own: cargo rebuilds everything when RUSTC_WRAPPER
# changes, so sharing a target directory with wrapper-less builds would rebuild the world each
# time), where $TARGET is CARGO_TARGET_DIR or target/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

profile=dev
hidden=2280
layers=6
while [ $# -gt 0 ]; do
  case $1 in
    --release) profile=release ;;
    --hidden) hidden=$2; shift ;;
    --layers) layers=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ ! -x /usr/bin/time ]; then
  echo "skipping: /usr/bin/time (GNU time) is not installed" >&2
  exit 0
fi

target=${CARGO_TARGET_DIR:-$repo/target}
work=$target/rustc-memory
crate=$work/crate
rm -rf "$crate" "$work/log"
mkdir -p "$crate/src" "$crate/models" "$work/log"

echo "== building the tpupipe CLI (for tpupipe synth)"
cargo build -q -p tpupipe-cli --bin tpupipe
tpupipe=$target/debug/tpupipe
"$tpupipe" synth fc --hidden "$hidden" --layers "$layers" --seed 1 --out "$work/big.tflite" >/dev/null
"$tpupipe" synth fc --hidden 16 --layers 4 --seed 1 --out "$work/tiny.tflite" >/dev/null

cat >"$crate/Cargo.toml" <<TOML
[package]
name = "tpupipe-memory-probe"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
tpupipe = { path = "$repo" }

[profile.dev.package.tpupipe-runtime]
opt-level = 2

[profile.dev.package.sha2]
opt-level = 3

[workspace]
TOML
cp "$repo/Cargo.lock" "$crate/Cargo.lock"
cat >"$crate/src/main.rs" <<'RS'
tpupipe::tpupipe_model!("models/big.tflite", tpus = 4, backend = "cpu", name = Big);

fn main() -> Result<(), tpupipe::Error> {
    let net = Big::open_cpu()?;
    let input = vec![0u8; Big::INPUT_NAMES.len().max(1) * 64];
    let out = net.infer_raw(&[&input[..64]])?;
    println!("{} segments, {} output bytes", Big::SEGMENTS, out[0].len());
    Ok(())
}
RS

# The wrapper: rustc's peak RSS (KiB) for the probe crate, one file per invocation.
cat >"$work/wrapper.sh" <<SH
#!/bin/sh
rustc=\$1
shift
case " \$* " in
  *" --crate-name tpupipe_memory_probe "*)
    exec /usr/bin/time -f %M -o "$work/log/rustc.\$\$" "\$rustc" "\$@" ;;
esac
exec "\$rustc" "\$@"
SH
chmod +x "$work/wrapper.sh"

build() {
  local model=$1
  cp "$model" "$crate/models/big.tflite"
  rm -f "$work"/log/rustc.*
  local flag=()
  [ "$profile" = release ] && flag=(--release)
  RUSTC_WRAPPER=$work/wrapper.sh cargo build -q "${flag[@]}" --manifest-path "$crate/Cargo.toml" \
    --target-dir "$work/target"
  # The largest of the probe crate's rustc runs (a binary crate: one).
  cat "$work"/log/rustc.* | sort -n | tail -1
}

echo "== dependencies and the baseline (a $(stat -c %s "$work/tiny.tflite")-byte model)"
base_kib=$(build "$work/tiny.tflite")
echo "== the ${hidden}-wide, ${layers}-layer model ($profile)"
start=$(date +%s)
peak_kib=$(build "$work/big.tflite")
secs=$(($(date +%s) - start))
"$work/target/$([ "$profile" = release ] && echo release || echo debug)/tpupipe-memory-probe"
model_bytes=$(stat -c %s "$work/big.tflite")
awk -v p="$peak_kib" -v b="$base_kib" -v m="$model_bytes" -v s="$secs" 'BEGIN {
  mb = m / 1e6; pk = p * 1024 / 1e6; bs = b * 1024 / 1e6;
  printf "model: %.1f MB\n", mb;
  printf "rustc peak RSS: %.1f MB with the model (%.2fx the model size), %.1f MB baseline (tiny model)\n", pk, pk / mb, bs;
  printf "rustc peak above the baseline: %.1f MB (%.2fx the model size); build of the crate %d s\n", pk - bs, (pk - bs) / mb, s;
  printf "goal: peak < 3x the model size (%.1f MB): %s\n", 3 * mb, (pk < 3 * mb) ? "met" : "NOT met";
}'
