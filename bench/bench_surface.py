"""Benchmark: a 201x201 loss surface for every catalog loss, batched engine vs a naive loop.

For each loss in the catalog (the torchvision detection losses and TripletMarginWithDistanceLoss
included: it iterates ``list_losses()``; its landscape example and default pair of varied elements, plus
CrossEntropyLoss with 10 classes on a batch of 8), it times ``compute_surface``
end to end (median of several runs) and a naive per-point loop (build the
tensors, call the ``torch.nn`` module, ``backward``) on a sample of points,
scaled to the whole grid.

Run: ``.venv/bin/python bench/bench_surface.py [--grid 201] [--repeats 5] [--naive-points 200]``
The last line is one JSON object. ``ms`` is wall time (what a user waits); ``cpu_ms`` is the
engine thread's CPU time, which stays meaningful when other processes share the 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from lossviz.explore import Example  # noqa: E402
from lossviz.landscape import (  # noqa: E402
    DTYPE,
    Element,
    Setup,
    auto_range,
    compute_surface,
    default_elements,
    setup_for,
)
from lossviz.landscape.engine import (
    ENGINE_THREADS,  # noqa: E402
    _threads,  # noqa: E402
)
from lossviz.losses import (
    apply_transform,  # noqa: E402
    list_losses,  # noqa: E402
)

#: Losses whose loss is a plain function of each element (target: <= 100 ms at 201x201).
ELEMENTWISE = {
    "L1Loss",
    "MSELoss",
    "SmoothL1Loss",
    "HuberLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "KLDivLoss",
    "HingeEmbeddingLoss",
    "SoftMarginLoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "MarginRankingLoss",
    "sigmoid_focal_loss",
}


def naive_ms_per_point(setup: Setup, els: tuple[Element, Element], points: torch.Tensor) -> float:
    """torch.nn module + backward, one point at a time (what the engine replaces)."""
    spec = setup.spec
    module = spec.build(setup.reduction, setup.params)
    first = spec.predictions[0].name
    t0 = time.perf_counter()
    for p in points:
        cur = {k: v.clone() for k, v in setup.raw.items()}
        for el, v in zip(els, p, strict=True):
            flat = cur[el.slot].reshape(-1)
            flat[el.index] = v
        leaves = [cur[s.name].requires_grad_(True) for s in spec.predictions]
        args = dict(cur)
        args[first] = apply_transform(setup.transform, cur[first], spec)
        out = module(*[args[s.name] for s in spec.slots])
        out = out.sum() if out.dim() else out
        out.backward()
        _ = [lf.grad for lf in leaves]
    return (time.perf_counter() - t0) * 1000 / len(points)


def cases() -> list[tuple[str, Setup]]:
    out = []
    for name in list_losses():
        out.append((name, setup_for(Example.for_landscape(name))))
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 10, generator=g)
    target = torch.randint(0, 10, (8,), generator=g)
    from lossviz.losses.parsing import format_tensor

    ce10 = Example(
        "CrossEntropyLoss", "mean", texts={"input": format_tensor(logits), "target": format_tensor(target)}
    )
    out.append(("CrossEntropyLoss[8x10]", setup_for(ce10)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=int, default=201)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--naive-points", type=int, default=200)
    ap.add_argument("--only", action="append", default=[],
                    help="run only these cases (a loss name, e.g. CTCLoss; repeatable); default: every loss")
    ap.add_argument("--profile", action="store_true",
                    help="print a cProfile of one surface per case (the top 25 by cumulative time) before the JSON")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    per: dict[str, dict] = {}
    for label, setup in cases():
        if a.only and label.split("[")[0] not in a.only:
            continue
        x, y = default_elements(setup)
        xr, yr = auto_range(setup, x), auto_range(setup, y)
        compute_surface(setup, x, y, x_range=xr, y_range=yr, resolution=11)  # warm up
        times, cpu = [], []
        for _ in range(a.repeats):
            t0, c0 = time.perf_counter(), time.thread_time()
            s = compute_surface(setup, x, y, x_range=xr, y_range=yr, resolution=a.grid)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
        ms = statistics.median(times)
        if a.profile:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            compute_surface(setup, x, y, x_range=xr, y_range=yr, resolution=a.grid)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
            print(f"--- profile of {label} ({a.grid}x{a.grid})\n{out.getvalue()}", flush=True)
        g = torch.Generator().manual_seed(1)
        pts = torch.stack(
            [
                torch.empty(a.naive_points, dtype=DTYPE).uniform_(xr[0], xr[1], generator=g),
                torch.empty(a.naive_points, dtype=DTYPE).uniform_(yr[0], yr[1], generator=g),
            ],
            dim=1,
        )
        c0 = time.thread_time()
        with _threads(ENGINE_THREADS):  # same thread setting as the engine: a fair comparison
            naive_ms = naive_ms_per_point(setup, (x, y), pts) * a.grid * a.grid
        naive_cpu_ms = (time.thread_time() - c0) * 1000 / a.naive_points * a.grid * a.grid
        per[label] = {
            "ms": round(ms, 2),
            "cpu_ms": round(statistics.median(cpu), 2),
            "naive_ms": round(naive_ms, 1),
            "speedup": round(naive_ms / ms, 1),
            "naive_cpu_ms": round(naive_cpu_ms, 1),
            "cpu_speedup": round(naive_cpu_ms / statistics.median(cpu), 1),
            "method": setup.method,
            "elementwise": label in ELEMENTWISE,
            "example_numel": int(sum(t.numel() for t in setup.raw.values())),
            "finite": bool((s.z == s.z).all()),
        }
        print(
            f"{label:26s} {setup.method:5s} {ms:8.1f} ms  naive {naive_ms:10.0f} ms  x{naive_ms / ms:7.0f}",
            flush=True,
        )
    worst = max(per, key=lambda k: per[k]["ms"])
    slowest_elementwise = max((k for k in per if per[k]["elementwise"]), key=lambda k: per[k]["ms"], default=worst)
    min_speed = min(per, key=lambda k: per[k]["speedup"])
    summary = {
        "grid": a.grid,
        "losses": len([k for k in per if "[" not in k]),
        "cases": len(per),
        "worst_ms": per[worst]["ms"],
        "worst_loss": worst,
        "elementwise_worst_ms": per[slowest_elementwise]["ms"],
        "elementwise_worst_loss": slowest_elementwise,
        "ce_10_classes_ms": per.get("CrossEntropyLoss[8x10]", {}).get("ms"),
        "min_speedup_vs_naive": per[min_speed]["speedup"],
        "min_speedup_loss": min_speed,
        "targets_met": {
            "speedup_ge_100": per[min_speed]["speedup"] >= 100,
            "elementwise_le_100ms": per[slowest_elementwise]["ms"] <= 100,
            "ce_10_classes_le_300ms": ("CrossEntropyLoss[8x10]" in per
                                       and per["CrossEntropyLoss[8x10]"]["ms"] <= 300) or None,
        },
        "worst_cpu_ms": max(v["cpu_ms"] for v in per.values()),
        "min_cpu_speedup_vs_naive": min(v["cpu_speedup"] for v in per.values()),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "engine_threads": ENGINE_THREADS,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "per_loss": per,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
