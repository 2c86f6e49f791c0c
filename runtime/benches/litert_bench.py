#!/usr/bin/env python3
"""Time LiteRT on a model, single thread: builtin kernels and XNNPACK.

Usage: python runtime/benches/litert_bench.py [MODEL.tflite] [RUNS]
Prints ``litert_builtin_ms=<median>`` and ``litert_xnnpack_ms=<median>`` (parsed by
``litert_compare.sh``). Needs numpy and ai-edge-litert (tests/fixtures/requirements-oracle.txt).
"""

import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

REPO = Path(__file__).resolve().parents[2]


def median_ms(model: str, resolver, runs: int) -> float:
    it = Interpreter(model_path=model, num_threads=1, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        if d["dtype"] == np.float32:
            x = rng.uniform(-1, 1, d["shape"]).astype(np.float32)
        else:
            info = np.iinfo(d["dtype"])
            x = rng.integers(info.min, info.max + 1, d["shape"]).astype(d["dtype"])
        it.set_tensor(d["index"], x)
    for _ in range(3):
        it.invoke()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        it.invoke()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main() -> int:
    model = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "tests/models/mobilenet_v2.tflite")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    builtin = median_ms(model, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, runs)
    xnnpack = median_ms(model, OpResolverType.AUTO, runs)
    print(f"model: {model}")
    print(f"litert_builtin_ms={builtin:.3f}")
    print(f"litert_xnnpack_ms={xnnpack:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
