#!/usr/bin/env python3
"""Oracle check of `tpupipe split`: split models, run the segments in a chain, compare bit for bit.

For every fixture model (tests/models/*.tflite) the script splits the model with the `tpupipe`
binary into 2..6 segments (equal-parameter strategy, N <= number of operators), and, for the small
models (all but mobilenet_v2), at every single cut position, every pair of cut positions and a few
random multi-cut lists (fixed seed). For each
split it loads every segment in LiteRT on the reference kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES), feeds the segments in order, each with the tensors its plan
entry names (model inputs, or outputs of the earlier segment the plan's routing names as
producer), and checks the final outputs equal the full model's outputs exactly (same dtype,
np.array_equal). Prints `check_split: P passed, F failed` and exits 1 on any failure.

Usage:
    python scripts/check_split.py [--tpupipe PATH] [--models DIR] [--only NAME ...] [--params-only]

The binary is --tpupipe, else $TPUPIPE_BIN, else release/tpupipe or debug/tpupipe under
$CARGO_TARGET_DIR (default: target/).
Needs only tests/fixtures/requirements-oracle.txt (ai-edge-litert, numpy).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))

from litert_run import OracleError, load_npz, make_interpreter, run_interpreter  # noqa: E402

# Models checked only with the equal-parameter splits (N = 2..6), to keep the run short.
LARGE_MODELS = {"mobilenet_v2"}
MAX_SEGMENTS = 6
RANDOM_CUT_LISTS = 4
# Models with at most this many operators are also split at every pair of cuts (three segments,
# so tensors skip over a middle segment).
MAX_OPS_FOR_PAIRS = 16
SEED = 20240611


class CheckFailure(Exception):
    """A split whose segments do not reproduce the full model."""


@dataclass
class Case:
    """One split to check: either a segment count (params strategy) or explicit cuts."""

    model: str
    tpus: int | None = None
    cuts: list[int] | None = None

    def label(self) -> str:
        name = os.path.basename(self.model)
        if self.cuts is not None:
            return f"{name} --cuts {','.join(map(str, self.cuts))}"
        return f"{name} --tpus {self.tpus}"


def find_binary(given: str | None) -> str:
    """The tpupipe binary: --tpupipe, else $TPUPIPE_BIN, else the first built one in the target dir."""
    explicit = given or os.environ.get("TPUPIPE_BIN")
    if explicit:
        candidates = [explicit]
    else:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        candidates = [os.path.join(target, profile, "tpupipe") for profile in ("release", "debug")]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    sys.exit(f"check_split: error: no tpupipe binary (tried {candidates}); build it with `cargo build` or pass --tpupipe")


def run_split(binary: str, case: Case, out_dir: str) -> dict:
    """Runs `tpupipe split` and returns the parsed plan."""
    cmd = [binary, "split", case.model, "--out", out_dir]
    if case.tpus is not None:
        cmd += ["--tpus", str(case.tpus)]
    if case.cuts is not None:
        cmd += ["--cuts", ",".join(map(str, case.cuts))]
    else:
        # `split` defaults to the balanced strategy; these cases check the equal-parameter split.
        cmd += ["--strategy", "params"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CheckFailure(f"tpupipe split failed ({proc.returncode}): {proc.stderr.strip()}")
    stem = os.path.splitext(os.path.basename(case.model))[0]
    with open(os.path.join(out_dir, f"{stem}_plan.json")) as f:
        return json.load(f)


def check_plan_shape(plan: dict, case: Case) -> None:
    n = len(plan["segments"])
    if plan["tpus"] != n:
        raise CheckFailure(f"plan says tpus={plan['tpus']} but lists {n} segments")
    if case.tpus is not None and n != case.tpus:
        raise CheckFailure(f"asked for {case.tpus} segments, plan has {n}")
    if case.cuts is not None and plan["cuts"] != case.cuts:
        raise CheckFailure(f"asked for cuts {case.cuts}, plan has {plan['cuts']}")
    expected_strategy = "manual" if case.cuts is not None else "params"
    if plan["strategy"] != expected_strategy:
        raise CheckFailure(f"strategy {plan['strategy']!r}, expected {expected_strategy!r}")
    start = 0
    for s in plan["segments"]:
        lo, hi = s["op_range"]
        if lo != start or hi <= lo:
            raise CheckFailure(f"segment {s['index']} covers {lo}..{hi}, expected to start at {start} and be non-empty")
        start = hi
    if start != plan["op_count"]:
        raise CheckFailure(f"segments cover {start} of {plan['op_count']} operators")


def run_chain(plan: dict, out_dir: str, model_inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs the segments in order, routing tensors as the plan says; returns the model outputs."""
    routes = {r["tensor"]: r for r in plan["routing"]}
    # Tensors available so far, with the segment that produced them (None: model input).
    available: dict[str, tuple[np.ndarray, int | None]] = {k: (v, None) for k, v in model_inputs.items()}
    for seg in plan["segments"]:
        i = seg["index"]
        feed = {}
        for name in seg["inputs"]:
            route = routes.get(name)
            if route is None:
                raise CheckFailure(f"segment {i} input {name!r} has no routing entry")
            if i not in route["consumers"]:
                raise CheckFailure(f"routing of {name!r} does not list segment {i} as a consumer")
            if name not in available:
                raise CheckFailure(f"segment {i} input {name!r} is not produced by any earlier segment")
            value, producer = available[name]
            if producer != route["producer"]:
                raise CheckFailure(
                    f"segment {i} input {name!r}: routing says producer {route['producer']}, it came from {producer}"
                )
            feed[name] = value
        interp = make_interpreter(os.path.join(out_dir, seg["file"]))
        got_in = [d["name"] for d in interp.get_input_details()]
        got_out = [d["name"] for d in interp.get_output_details()]
        if got_in != seg["inputs"]:
            raise CheckFailure(f"segment {i} file inputs {got_in} differ from the plan's {seg['inputs']}")
        if got_out != seg["outputs"]:
            raise CheckFailure(f"segment {i} file outputs {got_out} differ from the plan's {seg['outputs']}")
        signature = interp.get_signature_list().get("serving_default")
        if signature is None or sorted(signature["inputs"]) != sorted(seg["inputs"]) or sorted(
            signature["outputs"]
        ) != sorted(seg["outputs"]):
            raise CheckFailure(f"segment {i} signature {signature} does not name the plan's inputs and outputs")
        try:
            outputs = run_interpreter(interp, feed)
        except OracleError as err:
            raise CheckFailure(f"segment {i}: {err}") from err
        for name, value in outputs.items():
            route = routes.get(name)
            if route is None or route["producer"] != i:
                raise CheckFailure(f"segment {i} output {name!r} is not routed from segment {i}")
            if name in available:
                raise CheckFailure(f"tensor {name!r} is produced twice")
            available[name] = (value, i)
    result = {}
    for name in plan["model_outputs"]:
        if name not in available:
            raise CheckFailure(f"model output {name!r} is produced by no segment")
        result[name] = available[name][0]
    return result


def compare(full: dict[str, np.ndarray], chained: dict[str, np.ndarray]) -> None:
    if set(full) != set(chained):
        raise CheckFailure(f"outputs {sorted(chained)} differ from the model's {sorted(full)}")
    for name, want in full.items():
        got = chained[name]
        if got.dtype != want.dtype or got.shape != want.shape:
            raise CheckFailure(f"output {name!r}: {got.dtype}{list(got.shape)} instead of {want.dtype}{list(want.shape)}")
        if not np.array_equal(got, want):
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            raise CheckFailure(
                f"output {name!r} differs in {int(np.count_nonzero(diff))} elements (max |diff| {diff.max()})"
            )


def op_count(binary: str, model: str) -> int:
    with tempfile.TemporaryDirectory(prefix="check_split_") as d:
        return run_split(binary, Case(model, tpus=1), d)["op_count"]


def cases_for(model: str, ops: int, rng: random.Random, params_only: bool) -> list[Case]:
    name = os.path.splitext(os.path.basename(model))[0]
    cases = [Case(model, tpus=n) for n in range(2, MAX_SEGMENTS + 1) if n <= ops]
    if params_only or name in LARGE_MODELS:
        return cases
    cases += [Case(model, cuts=[c]) for c in range(1, ops)]
    if ops <= MAX_OPS_FOR_PAIRS:
        cases += [Case(model, cuts=[a, b]) for a in range(1, ops) for b in range(a + 1, ops)]
    for _ in range(RANDOM_CUT_LISTS):
        if ops < 3:
            break
        k = rng.randint(2, min(MAX_SEGMENTS - 1, ops - 1))
        cases.append(Case(model, cuts=sorted(rng.sample(range(1, ops), k))))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tpupipe", help="path of the tpupipe binary")
    parser.add_argument("--models", default=os.path.join(REPO, "tests", "models"), help="directory of fixture models")
    parser.add_argument("--only", nargs="*", help="model names (file stems) to check")
    parser.add_argument(
        "--params-only", action="store_true", help="check only the equal-parameter splits (N = 2..6), e.g. for big models"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)

    binary = find_binary(args.tpupipe)
    models = sorted(glob.glob(os.path.join(args.models, "*.tflite")))
    if args.only:
        models = [m for m in models if os.path.splitext(os.path.basename(m))[0] in args.only]
    if not models:
        print(f"check_split: error: no models in {args.models}", file=sys.stderr)
        return 1

    rng = random.Random(SEED)
    passed = failed = 0
    for model in models:
        stem = os.path.splitext(model)[0]
        try:
            inputs = load_npz(stem + ".inputs.npz")
            full = run_interpreter(make_interpreter(model), inputs)
            ops = op_count(binary, model)
        except (OracleError, CheckFailure) as err:
            print(f"FAIL {os.path.basename(model)}: cannot prepare: {err}")
            failed += 1
            continue
        model_passed = model_failed = 0
        for case in cases_for(model, ops, rng, args.params_only):
            with tempfile.TemporaryDirectory(prefix="check_split_") as out_dir:
                try:
                    plan = run_split(binary, case, out_dir)
                    check_plan_shape(plan, case)
                    compare(full, run_chain(plan, out_dir, inputs))
                except (CheckFailure, OracleError) as err:
                    print(f"FAIL {case.label()}: {err}")
                    model_failed += 1
                    continue
            model_passed += 1
            if args.verbose:
                print(f"ok   {case.label()}")
        print(f"{os.path.basename(model)}: {ops} ops, {model_passed} passed, {model_failed} failed")
        passed += model_passed
        failed += model_failed
    print(f"check_split: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
