#!/usr/bin/env python3
"""Oracle check of `tpupipe synth`: synthetic models must load, run and compute something sensible.

For a list of FC- and conv-family specs (plain, residual, float I/O, per-tensor FC weights) the
script writes each model with the `tpupipe` binary, loads it in LiteRT on the reference kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES, every intermediate tensor preserved) and checks:

1. the operator sequence is the family's (e.g. FULLY_CONNECTED, TANH, ... for FC);
2. quantization is converter-like: weights int8 with zero point 0, biases int32 with
   scale = input scale * weight scale and zero point 0, TANH outputs 1/128 and 0, fused-ReLU conv
   outputs zero point -128;
3. on two random inputs (uniform over the input range) the outputs are not constant, differ
   between the inputs, and no FULLY_CONNECTED / CONV_2D / ADD output has more than MAX_SATURATION
   of its elements (over both runs) saturated (at 127, or at -128 when -128 is not the zero
   point; TANH outputs at +-1 are tanh's own saturation and not counted);
4. the int8 result tracks a float evaluation of the same network with the model's own dequantized
   weights (numpy): the RMS error is below MAX_RMS_ERROR of the output's quantized range (the
   largest error is reported too; it comes from the rare values beyond the calibrated range,
   which int8 clips as the converter's models do).

With `--interp`, also: 5. `tpupipe run` (tpupipe's own CPU interpreter) gives exactly LiteRT's output
on the first input.

Prints one line per model and `check_synth: P passed, F failed`; exits 1 on any failure.

Usage:
    python scripts/check_synth.py [--tpupipe PATH] [--large] [--interp] [--keep DIR]

The binary is --tpupipe, else $TPUPIPE_BIN, else target/release/tpupipe, else target/debug/tpupipe.
`--large` adds conv F=702 at 64x64 (~17 MB of weights, ~70 GMAC per run: slow).
Needs only ai-edge-litert and numpy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SATURATION = 0.10  # a 10-wide FC output with one value clipped in two runs is at 5%
MAX_RMS_ERROR = 0.02
SEED = 20240611


@dataclass
class Spec:
    family: str  # "fc" or "conv"
    size: int  # N or F
    layers: int
    input: int = 64
    residual: bool = False
    float_io: bool = False
    per_tensor: bool = False
    seed: int = 0
    extra: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        s = f"{self.family} {'N' if self.family == 'fc' else 'F'}={self.size} L={self.layers}"
        if self.family == "conv":
            s += f" {self.input}x{self.input}"
        for flag, label in ((self.residual, "residual"), (self.float_io, "float-io"), (self.per_tensor, "per-tensor")):
            if flag:
                s += f" {label}"
        return s + f" seed={self.seed}"

    def args(self, out: str) -> list[str]:
        a = ["synth", self.family]
        if self.family == "fc":
            a += ["--hidden", str(self.size)]
        else:
            a += ["--filters", str(self.size), "--input", str(self.input)]
        a += ["--layers", str(self.layers), "--seed", str(self.seed), "--out", out]
        if self.residual:
            a.append("--residual")
        if self.float_io:
            a.append("--float-io")
        if self.per_tensor:
            a.append("--per-tensor")
        return a

    def expected_ops(self) -> list[str]:
        ops = ["QUANTIZE"] if self.float_io else []
        for i in range(1, self.layers + 1):
            ops += ["FULLY_CONNECTED", "TANH"] if self.family == "fc" else ["CONV_2D"]
            if self.residual and i >= 3 and i % 2 == 1:
                ops.append("ADD")
        if self.family == "fc":
            ops.append("FULLY_CONNECTED")
        if self.float_io:
            ops.append("DEQUANTIZE")
        return ops


def default_specs(large: bool) -> list[Spec]:
    specs = [
        Spec("fc", 100, 4),
        Spec("fc", 1000, 4),
        Spec("fc", 3000, 4),
        Spec("fc", 100, 4, float_io=True),
        Spec("fc", 300, 4, per_tensor=True, seed=3),
        Spec("fc", 200, 7, residual=True, seed=1),
        Spec("fc", 64, 5, residual=True, float_io=True, per_tensor=True, seed=2),
        Spec("fc", 16, 1, seed=5),
        Spec("conv", 32, 5),
        Spec("conv", 256, 5),
        Spec("conv", 32, 5, float_io=True, seed=4),
        Spec("conv", 32, 6, residual=True, seed=1),
        Spec("conv", 16, 5, input=20, residual=True, float_io=True, seed=2),
        Spec("conv", 8, 1, input=5, seed=6),
    ]
    if large:
        specs.append(Spec("conv", 702, 5))
    return specs


class CheckFailure(Exception):
    """A synthetic model that fails a check."""


def find_tpupipe(given: str | None) -> str:
    env = os.environ.get("TPUPIPE_BIN")
    candidates = [given or env] if (given or env) else [
        os.path.join(REPO, "target", "release", "tpupipe"),
        os.path.join(REPO, "target", "debug", "tpupipe"),
    ]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    sys.exit(f"check_synth: error: no tpupipe binary (tried {candidates}); build it or pass --tpupipe")


def quant(detail: dict) -> tuple[np.ndarray, np.ndarray, int]:
    q = detail["quantization_parameters"]
    return q["scales"], q["zero_points"], q["quantized_dimension"]


def dequant(values: np.ndarray, detail: dict) -> np.ndarray:
    scales, zps, axis = quant(detail)
    if len(scales) == 0:
        return values.astype(np.float64)
    shape = [1] * values.ndim
    if len(scales) > 1:
        shape[axis] = len(scales)
    return (values.astype(np.float64) - zps.reshape(shape)) * scales.reshape(shape).astype(np.float64)


def conv3x3_same(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x [1,H,W,C], w [F,3,3,C], b [F] -> [1,H,W,F] (stride 1, SAME, no activation)."""
    _, h, wd, c = x.shape
    p = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    cols = np.empty((h, wd, 3, 3, c), dtype=np.float64)
    for ky in range(3):
        for kx in range(3):
            cols[:, :, ky, kx, :] = p[ky:ky + h, kx:kx + wd, :]
    y = cols.reshape(h * wd, 9 * c) @ w.reshape(w.shape[0], 9 * c).T + b
    return y.reshape(1, h, wd, w.shape[0])


def check_quantization(spec: Spec, interp: Interpreter, ops: list[dict], details: dict[int, dict]) -> None:
    for op in ops:
        name = op["op_name"]
        if name in ("FULLY_CONNECTED", "CONV_2D"):
            x, w, b = (details[i] for i in op["inputs"])
            y = details[op["outputs"][0]]
            ws, wz, waxis = quant(w)
            bs, bz, _ = quant(b)
            xs = quant(x)[0][0]
            if w["dtype"] != np.int8 or np.any(wz != 0):
                raise CheckFailure(f"{w['name']}: weights must be int8 with zero point 0")
            if b["dtype"] != np.int32 or np.any(bz != 0):
                raise CheckFailure(f"{b['name']}: bias must be int32 with zero point 0")
            if len(ws) > 1 and (waxis != 0 or len(ws) != w["shape"][0]):
                raise CheckFailure(f"{w['name']}: per-channel scales must run along axis 0")
            if name == "FULLY_CONNECTED" and spec.per_tensor and len(ws) != 1:
                raise CheckFailure(f"{w['name']}: --per-tensor gave {len(ws)} scales")
            if not np.allclose(bs, xs * ws, rtol=1e-6, atol=0):
                raise CheckFailure(f"{b['name']}: bias scale is not input scale * weight scale")
            wq = interp.get_tensor(w["index"])
            if wq.min() < -127:
                raise CheckFailure(f"{w['name']}: weight -128 outside the symmetric range")
            if name == "CONV_2D" and quant(y)[1][0] != -128:
                raise CheckFailure(f"{y['name']}: fused-ReLU output zero point {quant(y)[1][0]}, expected -128")
        elif name == "TANH":
            s, z, _ = quant(details[op["outputs"][0]])
            if not (abs(s[0] - 1 / 128) < 1e-9 and z[0] == 0):
                raise CheckFailure(f"TANH output quantization ({s[0]}, {z[0]}), expected (1/128, 0)")
    for d in details.values():
        # LiteRT adds unnamed scratch tensors (im2col); check only the model's own tensors.
        if d["dtype"] == np.int8 and d["name"]:
            s, z, _ = quant(d)
            if len(s) == 0 or np.any(s <= 0) or np.any(z < -128) or np.any(z > 127):
                raise CheckFailure(f"{d['name']}: int8 tensor without valid quantization")


def float_reference(interp: Interpreter, ops: list[dict], details: dict[int, dict], x_real: np.ndarray) -> np.ndarray:
    """Evaluates the network in float64 with the model's dequantized weights."""
    vals: dict[int, np.ndarray] = {}
    first = ops[0]
    if first["op_name"] == "QUANTIZE":
        vals[first["outputs"][0]] = x_real
        ops = ops[1:]
    else:
        vals[first["inputs"][0]] = x_real
    result = None
    for op in ops:
        name = op["op_name"]
        ins = op["inputs"]
        if name == "FULLY_CONNECTED":
            w = dequant(interp.get_tensor(ins[1]), details[ins[1]])
            b = dequant(interp.get_tensor(ins[2]), details[ins[2]])
            y = vals[ins[0]] @ w.T + b
        elif name == "CONV_2D":
            w = dequant(interp.get_tensor(ins[1]), details[ins[1]])
            b = dequant(interp.get_tensor(ins[2]), details[ins[2]])
            y = np.maximum(conv3x3_same(vals[ins[0]], w, b), 0.0)
        elif name == "TANH":
            y = np.tanh(vals[ins[0]])
        elif name == "ADD":
            y = vals[ins[0]] + vals[ins[1]]
        elif name == "DEQUANTIZE":
            y = vals[ins[0]]
        else:
            raise CheckFailure(f"unexpected op {name}")
        vals[op["outputs"][0]] = y
        result = op["outputs"][0]
    return vals[result]


def check_interpreter(binary: str, path: str, input_name: str, x: np.ndarray, output_name: str,
                      expected: np.ndarray) -> None:
    """Runs the model with `tpupipe run` and requires LiteRT's output bit for bit."""
    ins, outs = path + ".in.npz", path + ".out.npz"
    np.savez(ins, **{input_name: x})
    proc = subprocess.run([binary, "run", path, "--inputs", ins, "--outputs", outs], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CheckFailure(f"tpupipe run failed: {proc.stderr.strip()}")
    with np.load(outs, allow_pickle=False) as data:
        got = data[output_name]
    if got.dtype != expected.dtype or not np.array_equal(got, expected):
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        raise CheckFailure(f"tpupipe run differs from LiteRT: {np.count_nonzero(diff)} of {diff.size} values, "
                           f"max difference {diff.max()}")


def check_model(binary: str, spec: Spec, workdir: str, interp_check: bool = False) -> str:
    path = os.path.join(workdir, spec.name.replace(" ", "_").replace("=", "") + ".tflite")
    t0 = time.time()
    proc = subprocess.run([binary, *spec.args(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CheckFailure(f"tpupipe synth failed: {proc.stderr.strip()}")
    t_gen = time.time() - t0
    interp = Interpreter(
        model_path=path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interp.allocate_tensors()
    ops = sorted(interp._get_ops_details(), key=lambda o: o["index"])
    got = [o["op_name"] for o in ops]
    if got != spec.expected_ops():
        raise CheckFailure(f"op sequence {got}, expected {spec.expected_ops()}")
    details = {d["index"]: d for d in interp.get_tensor_details()}
    check_quantization(spec, interp, ops, details)

    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    rng = np.random.default_rng(SEED + spec.seed)
    outputs = []
    saturated: dict[str, list[int]] = {}  # tensor name -> [saturated elements, elements] over runs
    worst_err = 0.0
    worst_rms = 0.0
    t_run = 0.0
    for _ in range(2):
        if inp["dtype"] == np.float32:
            x = rng.uniform(-1.0, 1.0, inp["shape"]).astype(np.float32)
            x_real = x.astype(np.float64)
        else:
            x = rng.integers(-128, 128, inp["shape"], dtype=np.int64).astype(np.int8)
            x_real = dequant(x, inp)
        interp.set_tensor(inp["index"], x)
        t1 = time.time()
        interp.invoke()
        t_run += time.time() - t1
        y = interp.get_tensor(out["index"]).copy()
        if interp_check and not outputs:
            check_interpreter(binary, path, inp["name"], x, out["name"], y)
        outputs.append(y)
        if np.unique(y).size <= 1:
            raise CheckFailure(f"output is constant ({y.ravel()[0]})")
        for op in ops:
            if op["op_name"] not in ("FULLY_CONNECTED", "CONV_2D", "ADD"):
                continue
            t = details[op["outputs"][0]]
            v = interp.get_tensor(t["index"])
            zp = quant(t)[1][0]
            counts = saturated.setdefault(t["name"], [0, 0])
            counts[0] += int(np.count_nonzero((v == 127) | ((v == -128) & (zp != -128))))
            counts[1] += v.size
        # Compare with the float evaluation in the int8 output's units.
        last_int8 = ops[-2]["outputs"][0] if ops[-1]["op_name"] == "DEQUANTIZE" else ops[-1]["outputs"][0]
        qd = details[last_int8]
        y_int8 = dequant(interp.get_tensor(last_int8), qd)
        ref = float_reference(interp, ops, details, x_real).reshape(y_int8.shape)
        span = quant(qd)[0][0] * 255.0
        worst_err = max(worst_err, float(np.max(np.abs(y_int8 - ref)) / span))
        worst_rms = max(worst_rms, float(np.sqrt(np.mean((y_int8 - ref) ** 2)) / span))
    worst_sat = max(((c[0] / c[1], name) for name, c in saturated.items()), default=(0.0, ""))
    if np.array_equal(outputs[0], outputs[1]):
        raise CheckFailure("two different inputs gave the same output")
    if worst_sat[0] > MAX_SATURATION:
        raise CheckFailure(f"{worst_sat[1]} is {worst_sat[0]:.1%} saturated (limit {MAX_SATURATION:.0%})")
    if worst_rms > MAX_RMS_ERROR:
        raise CheckFailure(f"int8 output differs from the float evaluation by {worst_rms:.2%} (RMS) of its range")
    size = os.path.getsize(path)
    interp_note = ", tpupipe run bit-exact" if interp_check else ""
    return (f"{size} bytes, gen {t_gen:.2f}s, run {t_run / 2:.3f}s, max saturation {worst_sat[0]:.2%}, "
            f"error vs float RMS {worst_rms:.2%} max {worst_err:.2%} of range, distinct outputs {np.unique(outputs[0]).size}{interp_note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tpupipe", help="path of the tpupipe binary")
    ap.add_argument("--large", action="store_true", help="also check conv F=702 at 64x64 (slow)")
    ap.add_argument("--interp", action="store_true",
                    help="also require `tpupipe run` to reproduce LiteRT's output bit for bit")
    ap.add_argument("--keep", help="write the models into this directory and keep them")
    args = ap.parse_args(argv)
    binary = find_tpupipe(args.tpupipe)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or tmp
        os.makedirs(workdir, exist_ok=True)
        for spec in default_specs(args.large):
            try:
                msg = check_model(binary, spec, workdir, args.interp)
                print(f"ok   {spec.name}: {msg}")
                passed += 1
            except CheckFailure as e:
                print(f"FAIL {spec.name}: {e}")
                failed += 1
            except Exception as e:  # a crash of the runtime or the script is a failure too
                print(f"FAIL {spec.name}: {type(e).__name__}: {e}")
                failed += 1
            sys.stdout.flush()
    print(f"check_synth: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
