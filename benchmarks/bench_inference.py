"""CPU inference throughput: eager fp32 vs the optimised torch path vs ONNX Runtime.

In one run, for each thread count and image size, times a forward pass (to class
probabilities) of the same model on the same random batch with:

* ``eager``      - ``model.eval()`` under ``torch.no_grad()``, NCHW, fp32 (the baseline);
* ``fold``       - batch norm folded, under ``torch.inference_mode()``, NCHW;
* ``optimized``  - batch norm folded + channels_last + ``inference_mode``
  (what :class:`fairaudit.inference.Predictor` runs with ``optimize=True``);
* ``onnx``       - ONNX Runtime on the exported graph (``fairaudit export --onnx``).

Each variant is warmed up, then timed ``--repeats`` times, the variants in
rotation (fair ratios on a shared machine); the median gives the throughput. The
script prints images/s, the speed-up over eager and the largest absolute
difference of the probabilities from eager (must stay <= 1e-4).

Model decoding and preprocessing are not timed: only the forward pass.

Usage (the full run, on a quiet machine)::

    python benchmarks/bench_inference.py --sizes 112 224 --threads 1 2 --batch-size 32

Smoke run (seconds)::

    python benchmarks/bench_inference.py --sizes 112 --threads 1 --repeats 2 --warmup 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fairaudit.inference import OnnxSession, Predictor
from fairaudit.inference._onnx import build_onnx
from fairaudit.inference._optimize import fold_batchnorm
from fairaudit.inference._outputs import ProbabilityModel
from fairaudit.models import build_model, load_checkpoint

#: Largest difference from eager accepted for a variant's probabilities.
TOLERANCE = 1e-4
#: The throughput target of the optimised path, as a multiple of eager.
TARGET_SPEEDUP = 3.0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint (default: untrained model)")
    parser.add_argument("--arch", default="lightweight", help="architecture without checkpoint")
    parser.add_argument("--sizes", type=int, nargs="+", default=[112, 224])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-onnx", action="store_true", help="skip ONNX Runtime")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def _time_interleaved(
    runs: dict[str, Callable[[], object]], *, warmup: int, repeats: int
) -> dict[str, float]:
    """Median seconds of each ``run()``, after ``warmup`` untimed calls.

    The variants are timed in rotation (one call of each per repeat), so a load
    change on a shared machine affects them all alike and the ratios stay fair.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def _model(args: argparse.Namespace) -> torch.nn.Module:
    if args.checkpoint is not None:
        return load_checkpoint(args.checkpoint).model.eval()
    torch.manual_seed(0)
    model = build_model(args.arch)
    # Non-trivial batch-norm statistics, as after training, so folding is exercised.
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(
                    torch.rand(module.num_features, generator=generator) - 0.5
                )
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model.eval()


def _variants(
    model: torch.nn.Module, size: int, threads: int, *, onnx: bool
) -> dict[str, Callable[[torch.Tensor], dict[str, np.ndarray]]]:
    eager = ProbabilityModel(model, model.tasks).eval()
    folded = ProbabilityModel(fold_batchnorm(model), model.tasks).eval()
    optimized = Predictor(model, input_size=size, optimize=True)

    def run_eager(x: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.no_grad():
            return {k: v.numpy() for k, v in eager(x).items()}

    def run_folded(x: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            return {k: v.numpy() for k, v in folded(x).items()}

    variants = {
        "eager": run_eager,
        "fold": run_folded,
        "optimized": optimized.predict_tensor,
    }
    if onnx:
        data, _ = build_onnx(model, input_size=size)
        session = OnnxSession(data, threads=threads)
        variants["onnx"] = session.run
    return variants


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    model = _model(args)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"model {getattr(model, 'arch', type(model).__name__)} ({n_params:,} parameters), "
        f"batch {args.batch_size}, warm-up {args.warmup}, median of {args.repeats}; "
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}"
    )
    header = (
        f"{'threads':>7} {'size':>5} {'variant':>10} {'img/s':>9} {'x eager':>8} {'max |dp|':>9}"
    )
    print(header)
    print("-" * len(header))
    results = []
    failures = []
    previous_threads = torch.get_num_threads()
    try:
        for threads in args.threads:
            torch.set_num_threads(threads)
            for size in args.sizes:
                x = torch.randn(
                    args.batch_size, 3, size, size, generator=torch.Generator().manual_seed(size)
                )
                variants = _variants(model, size, threads, onnx=not args.no_onnx)
                reference = variants["eager"](x)
                seconds = _time_interleaved(
                    {name: (lambda run=run, x=x: run(x)) for name, run in variants.items()},
                    warmup=args.warmup,
                    repeats=args.repeats,
                )
                eager_rate = args.batch_size / seconds["eager"]
                for name, run in variants.items():
                    rate = args.batch_size / seconds[name]
                    diff = _max_diff(reference, run(x))
                    if diff > TOLERANCE:
                        failures.append(f"{name} at {size}px, {threads} thread(s): diff {diff:.2e}")
                    results.append(
                        {
                            "threads": threads,
                            "size": size,
                            "variant": name,
                            "images_per_second": rate,
                            "speedup": rate / eager_rate,
                            "max_abs_diff": diff,
                        }
                    )
                    print(
                        f"{threads:>7} {size:>5} {name:>10} {rate:>9.1f} "
                        f"{rate / eager_rate:>7.2f}x {diff:>9.1e}"
                    )
    finally:
        torch.set_num_threads(previous_threads)
    best = {}
    for r in results:
        if r["variant"] != "eager":
            key = (r["threads"], r["size"])
            if r["speedup"] > best.get(key, (0, ""))[0]:
                best[key] = (r["speedup"], r["variant"])
    print()
    for (threads, size), (speedup, variant) in best.items():
        verdict = "meets" if speedup >= TARGET_SPEEDUP else "below"
        print(
            f"{size}px, {threads} thread(s): best {variant} {speedup:.2f}x eager "
            f"({verdict} the {TARGET_SPEEDUP:.0f}x target)"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if failures:
        print("probabilities differ from eager by more than 1e-4:", *failures, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
