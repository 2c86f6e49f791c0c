#!/usr/bin/env python3
"""QA check of `tpupipe run` and `tpupipe split` on a directory of models none of the tests has seen.

For every ``NAME.tflite`` in the directory (with ``NAME.inputs.npz`` / ``NAME.outputs.npz`` goldens
from LiteRT's reference kernels, as written by tests/fixtures/make_unseen.py):

1. ``run``: ``tpupipe run NAME.tflite`` on the golden inputs, compared bit for bit with the golden
   outputs. Verdicts: MATCH; REFUSED (non-zero exit at load time with a message; counted as a pass
   only when the message names an operator); MISMATCH (max |diff| and the number of differing
   elements; the worst outcome); ERROR (a failure after loading, or an unclear message); CRASH
   (panic or signal); HANG (timeout).
2. ``split``: ``tpupipe split --tpus N`` for N = 2..4 (N <= operator count), under every
   ``--strategy`` the binary offers (if it has that flag; otherwise its default). The segments are
   chained in LiteRT with scripts/check_split.py's ``run_chain`` / ``compare`` and must reproduce the
   golden outputs exactly. A refused split counts as a failure, except for the models in
   ``SPLIT_REFUSAL_OK`` (control flow: several subgraphs, out of tpupipe's scope).
3. ``seg``: for each split, every segment is also run with ``tpupipe run`` on the very inputs LiteRT
   fed it in the chain and compared with LiteRT's outputs for that segment (MATCH or REFUSED pass).

Prints a table and ``check_unseen: P passed, F failed``; exits 1 on any failure.

Usage::

    python scripts/qa_unseen.py [MODELS_DIR] [--only NAME ...] [--tpus 2,3,4] [--keep DIR] [--no-split]

MODELS_DIR defaults to target/unseen-models. The goldens must come from a single-threaded LiteRT
interpreter (litert_run's default): MEAN over height and width gives different results with more
threads.

The binary is $TPUPIPE_BIN, else target/release/tpupipe.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
sys.path.insert(0, os.path.join(REPO, "scripts"))

from litert_run import OracleError, load_npz, make_interpreter, run_interpreter, save_npz  # noqa: E402
import check_split  # noqa: E402

RUN_TIMEOUT = 300
OP_NAME = re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b")
# Models whose split may be refused (control flow: more than one subgraph is out of tpupipe's scope).
SPLIT_REFUSAL_OK = {"cond_subgraphs"}


@dataclass
class Verdict:
    kind: str  # MATCH, REFUSED, MISMATCH, ERROR, CRASH, HANG, FAIL, OK, SKIP
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in ("MATCH", "OK", "SKIP") or (self.kind == "REFUSED" and bool(OP_NAME.search(self.detail)))


@dataclass
class ModelResult:
    name: str
    run: Verdict | None = None
    splits: dict[str, Verdict] = field(default_factory=dict)
    segs: dict[str, Verdict] = field(default_factory=dict)


def diff_text(want: np.ndarray, got: np.ndarray) -> str:
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{got.dtype}{list(got.shape)} instead of {want.dtype}{list(want.shape)}"
    d = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return f"max|diff| {d.max():g}, {int(np.count_nonzero(d))}/{d.size} differ"


def compare_outputs(want: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> Verdict:
    if set(want) != set(got):
        return Verdict("MISMATCH", f"output names {sorted(got)} instead of {sorted(want)}")
    bad = []
    for name, w in want.items():
        g = got[name]
        if g.dtype != w.dtype or g.shape != w.shape or not np.array_equal(g, w):
            bad.append(f"{name}: {diff_text(w, g)}")
    return Verdict("MISMATCH", "; ".join(bad)) if bad else Verdict("MATCH")


def tpupipe_run(binary: str, model: str, inputs: dict[str, np.ndarray], work: str) -> tuple[Verdict, dict]:
    """Runs `tpupipe run`; returns a verdict (MATCH means "ran") and the outputs."""
    in_path = os.path.join(work, "run_in.npz")
    out_path = os.path.join(work, "run_out.npz")
    if os.path.exists(out_path):
        os.remove(out_path)
    save_npz(in_path, inputs)
    cmd = [binary, "run", model, "--inputs", in_path, "--outputs", out_path]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Verdict("HANG", f"no answer in {RUN_TIMEOUT}s"), {}
    err = proc.stderr.strip()
    if proc.returncode < 0:
        return Verdict("CRASH", f"signal {signal.Signals(-proc.returncode).name}: {err[-300:]}"), {}
    if "panicked" in err:
        return Verdict("CRASH", err[-400:]), {}
    if proc.returncode != 0:
        line = " ".join(err.split())
        if "cannot load" in err:
            return Verdict("REFUSED", line[:300]), {}
        return Verdict("ERROR", line[:300]), {}
    try:
        return Verdict("MATCH"), load_npz(out_path)
    except OracleError as e:
        return Verdict("ERROR", f"unreadable outputs: {e}"), {}


def strategies(binary: str) -> list[str | None]:
    help_text = subprocess.run([binary, "split", "--help"], capture_output=True, text=True).stdout
    if "--strategy" not in help_text:
        return [None]
    m = re.search(r"--strategy[^\n]*\n?(?:.*?)\[possible values: ([^\]]+)\]", help_text, re.S)
    values = [v.strip() for v in m.group(1).split(",")] if m else ["params"]
    return [None] + [v for v in values if v]


def run_split(binary: str, model: str, n: int, strategy: str | None, out_dir: str) -> dict:
    """`tpupipe split`; returns the plan (raises check_split.CheckFailure on failure)."""
    cmd = [binary, "split", model, "--out", out_dir, "--tpus", str(n)]
    if strategy:
        cmd += ["--strategy", strategy]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise check_split.CheckFailure(f"HANG: split took over {RUN_TIMEOUT}s") from e
    if proc.returncode != 0:
        kind = "CRASH" if proc.returncode < 0 or "panicked" in proc.stderr else "REFUSED"
        raise check_split.CheckFailure(f"{kind}: split exit {proc.returncode}: {' '.join(proc.stderr.split())[:300]}")
    stem = os.path.splitext(os.path.basename(model))[0]
    import json

    with open(os.path.join(out_dir, f"{stem}_plan.json")) as f:
        return json.load(f)


def check_segments(binary: str, plan: dict, out_dir: str, inputs: dict, work: str) -> Verdict:
    """Runs each segment in tpupipe and LiteRT on the same (LiteRT-chained) inputs."""
    available = dict(inputs)
    notes = []
    worst = "MATCH"
    order = ["MATCH", "REFUSED", "ERROR", "MISMATCH", "HANG", "CRASH"]
    for seg in plan["segments"]:
        path = os.path.join(out_dir, seg["file"])
        feed = {name: available[name] for name in seg["inputs"]}
        want = run_interpreter(make_interpreter(path), feed)
        available.update(want)
        v, got = tpupipe_run(binary, path, feed, work)
        if v.kind == "MATCH":
            v = compare_outputs(want, got)
        if v.kind != "MATCH":
            notes.append(f"seg{seg['index']}: {v.kind} {v.detail}")
            if order.index(v.kind) > order.index(worst):
                worst = v.kind
    return Verdict(worst, " | ".join(notes))


def check_model(binary: str, model: str, tpus: list[int], strats, keep: str | None) -> ModelResult:
    name = os.path.splitext(os.path.basename(model))[0]
    res = ModelResult(name)
    stem = os.path.splitext(model)[0]
    inputs = load_npz(stem + ".inputs.npz")
    golden = load_npz(stem + ".outputs.npz")
    with tempfile.TemporaryDirectory(prefix="check_unseen_") as work:
        v, got = tpupipe_run(binary, model, inputs, work)
        res.run = compare_outputs(golden, got) if v.kind == "MATCH" else v
        try:
            ops = run_split(binary, model, 1, None, os.path.join(work, "split_n1"))["op_count"]
        except check_split.CheckFailure as e:
            text = str(e)
            kind = text.split(":")[0] if text.split(":")[0] in ("CRASH", "REFUSED", "HANG") else "FAIL"
            res.splits["n=1"] = Verdict(kind, text)
            return res
        for strategy in strats:
            for n in tpus:
                key = f"{strategy or 'default'}/{n}"
                if n > ops:
                    res.splits[key] = Verdict("SKIP", f"{ops} ops")
                    continue
                out_dir = os.path.join(work, f"split_{key.replace('/', '_')}")
                try:
                    plan = run_split(binary, model, n, strategy, out_dir)
                    if len(plan["segments"]) != n:
                        raise check_split.CheckFailure(f"asked for {n} segments, got {len(plan['segments'])}")
                    check_split.compare(golden, check_split.run_chain(plan, out_dir, inputs))
                    res.splits[key] = Verdict("OK", f"cuts {plan['cuts']}")
                except (check_split.CheckFailure, OracleError, KeyError) as e:
                    text = str(e)
                    kind = text.split(":")[0] if text.split(":")[0] in ("CRASH", "REFUSED", "HANG") else "FAIL"
                    res.splits[key] = Verdict(kind, text)
                    if keep:
                        shutil.copytree(out_dir, os.path.join(keep, name, key.replace("/", "_")), dirs_exist_ok=True)
                    continue
                try:
                    res.segs[key] = check_segments(binary, plan, out_dir, inputs, work)
                except (OracleError, KeyError) as e:
                    res.segs[key] = Verdict("ERROR", f"segment oracle: {e}")
                if keep and not res.segs[key].ok:
                    shutil.copytree(out_dir, os.path.join(keep, name, key.replace("/", "_")), dirs_exist_ok=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="?", default="target/unseen-models")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--tpus", default="2,3,4")
    ap.add_argument("--keep", help="copy failing splits here")
    ap.add_argument("--no-split", action="store_true")
    args = ap.parse_args(argv)
    binary = os.environ.get("TPUPIPE_BIN") or os.path.join(REPO, "target", "release", "tpupipe")
    if not os.access(binary, os.X_OK):
        sys.exit(f"check_unseen: error: no tpupipe binary at {binary} (set TPUPIPE_BIN)")
    models = sorted(glob.glob(os.path.join(args.models, "*.tflite")))
    if args.only:
        models = [m for m in models if os.path.splitext(os.path.basename(m))[0] in args.only]
    if not models:
        sys.exit(f"check_unseen: error: no models in {args.models}")
    tpus = [] if args.no_split else [int(t) for t in args.tpus.split(",")]
    strats = strategies(binary)
    passed = failed = 0
    details = []
    print(f"{'model':<24} {'run':<9} " + " ".join(f"{s or 'default'}/{n}".ljust(12) for s in strats for n in tpus))
    for model in models:
        try:
            r = check_model(binary, model, tpus, strats, args.keep)
        except (OracleError, OSError) as e:
            print(f"{os.path.basename(model):<24} cannot prepare: {e}")
            failed += 1
            continue
        cells = []
        for key, sv in r.splits.items():
            seg = r.segs.get(key)
            cell = sv.kind if sv.kind != "OK" else ("ok" if seg is None or seg.kind == "MATCH" else f"ok/seg:{seg.kind}")
            cells.append(cell.ljust(12))
        print(f"{r.name:<24} {r.run.kind:<9} " + " ".join(cells), flush=True)
        tagged = [("run", r.run)] + [("split", v) for v in r.splits.values()] + [("seg", v) for v in r.segs.values()]
        for tag, v in tagged:
            if v.kind == "SKIP":
                continue
            split_refusal = tag == "split" and v.kind == "REFUSED"
            if (v.ok and not split_refusal) or (split_refusal and r.name in SPLIT_REFUSAL_OK):
                passed += 1
            else:
                failed += 1
        if r.run.kind != "MATCH":
            details.append(f"  {r.name} run: {r.run.kind} {r.run.detail}")
        for key, v in r.splits.items():
            if v.kind not in ("OK", "SKIP"):
                details.append(f"  {r.name} split {key}: {v.kind} {v.detail}")
        for key, v in r.segs.items():
            if v.kind != "MATCH":
                details.append(f"  {r.name} seg-run {key}: {v.kind} {v.detail}")
    if details:
        print("details:")
        print("\n".join(d if len(d) <= 400 else d[:400] + " ..." for d in details))
    print(f"check_unseen: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
