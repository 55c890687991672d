"""Benchmark: the weight-landscape engine against its ceiling and against ``loss-landscapes``.

The cost of a weight-space slice is forward passes: grid points × images. In one process, on the
same trained tutorial CNN (a short synthetic run made here) and the same evaluation images:

* ``engine``  - lossviz's slice engine (lossviz.weightspace.load.compute, what the probe process runs), coarse to
  fine, with progress callbacks: the loss at every point of a ``grid``×``grid`` plane along two
  filter-normalised random directions;
* ``bare``    - a bare ``torch.no_grad()`` loop of ``model(x)`` and the loss over the same images,
  once per grid point, with no weight changes: the ceiling for one-forward-per-point engines. The
  images are channels-last, as the engine holds them on CPU (oneDNN's fast path, 3-4× a plain NCHW
  tensor here); ``bare_nchw_image_forwards_per_s`` is the same loop on the plain tensor, for scale;
* ``loss_landscapes`` - ``loss_landscapes.random_plane`` (pip ``loss-landscapes`` 3.0.6) with
  ``normalization="filter"`` computing a plane with the same number of points on the same images:
  ``speedup_vs_loss_landscapes`` hands it the same channels-last tensor (the fair comparison),
  ``speedup_vs_loss_landscapes_nchw`` the plain NCHW tensor its README's examples use.

``ratio_vs_bare_forward`` is the median over the grid's rows of bare/engine time for the same
number of forwards, the two alternating row by row (each pair shares the machine's load at that
moment: this is a shared 2-core box); ``cpu_speedup_vs_loss_landscapes`` compares CPU seconds. ``first_9x9_seconds`` is the time from the slice's start to the first
complete 9×9 picture; ``first_9x9_cold_seconds`` counts from the start of a page's job with cold
caches (reading the run and its snapshots, directions, path projections, regenerating the synthetic
test split of 10,000 + 2,000 images). ``vmap_vs_loop`` compares the
two batching strategies of the evaluator on the coarse 9×9 level.

Model work is also counted in FLOPs (issue 22): ``model_gflop_per_image`` is the tutorial CNN's
multiply-adds ×2 per image forward (convolutions and linear layers, counted from their shapes),
``engine_gflop_per_s`` / ``bare_gflop_per_s`` the rates the engine and the bare loop reach, and
``matmul_gflop_per_s`` the ceiling measured in the same run: a 2048×2048 float32 matmul repeated
(``engine_fraction_of_matmul`` and ``bare_fraction_of_matmul`` are the shares of it). The engine's rate
counts a whole forward per point, but the engine computes the first convolution (about a fifth of the
FLOPs) once per plane (``PlaneEvaluator``), so its *effective* rate can pass the ceiling; the bare loop's
rate is the honest measure of how close the model's forward comes to the machine's matmul speed.

Run: ``.venv/bin/python bench/bench_weight_landscape.py [--grid 21] [--images 128]``
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from lossviz.training import TrainConfig, Trainer  # noqa: E402
from lossviz.weightspace import directions as D  # noqa: E402
from lossviz.weightspace import load as R  # noqa: E402
from lossviz.weightspace import slices as S  # noqa: E402


class W:  # the names this bench used from the one module the engine was before it split
    Evaluator, Progress, compute_slice = S.Evaluator, S.Progress, S.compute_slice
    random_directions, grid_axis = D.random_directions, D.grid_axis


def model_flops_per_image(model: torch.nn.Module, x: torch.Tensor) -> int:
    """2 × multiply-adds of one image's forward through the convolutions and linear layers."""
    total = [0]

    def hook(mod: torch.nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            total[0] += 2 * k * out[0].numel()
        elif isinstance(mod, torch.nn.Linear):
            total[0] += 2 * mod.in_features * mod.out_features

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    with torch.no_grad():
        model.eval()(x[:1])
    for h in hooks:
        h.remove()
    return total[0]


def matmul_gflops(n: int = 2048, seconds: float = 2.0) -> float:
    """The best float32 matmul rate of this machine right now (GFLOP/s), over ~``seconds``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm up
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return best


def make_run(folder: str) -> str:
    t = Trainer(
        TrainConfig(dataset="synthetic", max_batches=40, epochs=2),  # the page's default synthetic set
        runs_dir=folder,
        run_name="bench",
    )
    t.run()
    return str(t.run_dir)


@torch.no_grad()
def bare(model: torch.nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor, n: int) -> float:
    model.eval()
    t0 = time.perf_counter()
    for _ in range(n):
        float(loss_fn(model(x), y))
    return time.perf_counter() - t0


def engine(
    run_dir: str, grid: int, images: int, method: str = "loop"
) -> tuple[float, float, float, float, int]:
    """(seconds of the slice, its CPU seconds, seconds to the first 9×9 picture from the slice's start,
    the same from the job's start with cold caches (reading the run, directions, path, regenerating
    the images), points)."""
    from lossviz.training import data

    data._CACHE.clear()
    t_start = time.perf_counter()
    first: list[float] = []
    run = R.load_run(run_dir)
    land = R.plan(run, images=images)
    x, y = R.evaluation_images(run.config, images)
    t0 = time.perf_counter()
    c0 = time.process_time()

    def progress(p: W.Progress) -> None:
        if not first and p.result.level >= 0:
            first.append(time.perf_counter())

    R.compute(land, x, y, grid=grid, line=False, progress=progress, method=method)
    assert land.slice is not None and land.slice.complete
    cpu = time.process_time() - c0
    return time.perf_counter() - t0, cpu, first[0] - t0, first[0] - t_start, land.slice.loss.size


def loss_landscapes_plane(run: R.RunWeights, x: torch.Tensor, y: torch.Tensor, grid: int) -> float:
    import loss_landscapes
    import loss_landscapes.metrics

    model = copy.deepcopy(run.model).eval()
    metric = loss_landscapes.metrics.Loss(run.loss_fn, x, y)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = loss_landscapes.random_plane(model, metric, distance=1, steps=grid, normalization="filter")
    seconds = time.perf_counter() - t0
    assert out.shape == (grid, grid)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=int, default=21)
    ap.add_argument("--images", type=int, default=128)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = make_run(tmp)
        run = R.load_run(run_dir)
        x, y = R.evaluation_images(run.config, args.images)
        points = args.grid**2
        # the images as the engine holds them: channels-last on CPU, oneDNN's fast layout
        fast_x = W.Evaluator(run.model, run.loss_fn, x, y).x
        bare(run.model, run.loss_fn, fast_x, y, 5)  # warm up
        # 1. the whole slice as the page computes it (coarse to fine, progress callbacks)
        seconds, engine_cpu, first, cold, n = engine(run_dir, args.grid, args.images)
        assert n == points
        # 2. loss-landscapes on the same plane size and images: handed the same channels-last tensor
        #    (the fair comparison), and the plain NCHW tensor its README's examples use
        c0 = time.process_time()
        ll = loss_landscapes_plane(run, fast_x, y, args.grid)
        ll_cpu = time.process_time() - c0
        ll_plain = loss_landscapes_plane(run, x.contiguous(), y, args.grid)
        # the bare loop on plain NCHW images, for scale
        t0 = time.perf_counter()
        bare(run.model, run.loss_fn, x.contiguous(), y, args.grid)
        bare_plain_s = time.perf_counter() - t0
        # 3. engine against the bare loop, row by row, alternating which goes first (same load)
        ev = W.Evaluator(run.model, run.loss_fn, x, y)
        dx, dy = W.random_directions(run.centre, 0)
        ax = W.grid_axis(args.grid, 1.0)
        ratios, bare_s, row_s = [], [], []
        for r, beta in enumerate(ax):
            order = ("bare", "engine") if r % 2 == 0 else ("engine", "bare")
            t: dict[str, float] = {}
            for which in order:
                t0 = time.perf_counter()
                if which == "bare":
                    bare(run.model, run.loss_fn, fast_x, y, len(ax))
                else:
                    W.compute_slice(ev, run.centre, dx, dy, ax, [beta])
                t[which] = time.perf_counter() - t0
            ratios.append(t["bare"] / t["engine"])
            bare_s.append(t["bare"])
            row_s.append(t["engine"])
        # 4. vmap against the loop, on a 9×9 level
        ev_vmap = W.Evaluator(run.model, run.loss_fn, x, y, method="vmap")
        a9 = W.grid_axis(9, 1.0)
        t0 = time.perf_counter()
        W.compute_slice(ev, run.centre, dx, dy, a9, a9)
        t_loop = time.perf_counter() - t0
        t0 = time.perf_counter()
        W.compute_slice(ev_vmap, run.centre, dx, dy, a9, a9)
        t_vmap = time.perf_counter() - t0
        flops = model_flops_per_image(run.model, x)
        ceiling = matmul_gflops()
    engine_gflops = points * len(y) * flops / seconds / 1e9
    result = {
        "grid": args.grid,
        "images": int(len(y)),
        "points": points,
        "seconds": round(seconds, 3),
        "image_forwards_per_s": round(points * len(y) / seconds, 1),
        "bare_image_forwards_per_s": round(points * len(y) / sum(bare_s), 1),
        "bare_nchw_image_forwards_per_s": round(args.grid * len(y) / bare_plain_s, 1),
        "ratio_vs_bare_forward": round(statistics.median(ratios), 3),
        "ratio_vs_bare_forward_rows": [round(v, 3) for v in ratios],
        "first_9x9_seconds": round(first, 3),
        "first_9x9_cold_seconds": round(cold, 3),
        "loss_landscapes_seconds": round(ll, 3),
        "speedup_vs_loss_landscapes": round(ll / seconds, 3),
        "loss_landscapes_nchw_seconds": round(ll_plain, 3),
        "speedup_vs_loss_landscapes_nchw": round(ll_plain / seconds, 3),
        "cpu_speedup_vs_loss_landscapes": round(ll_cpu / engine_cpu, 3),
        "vmap_9x9_seconds": round(t_vmap, 3),
        "loop_9x9_seconds": round(t_loop, 3),
        "model_gflop_per_image": round(flops / 1e9, 6),
        "engine_gflop_per_s": round(engine_gflops, 2),
        "bare_gflop_per_s": round(points * len(y) * flops / sum(bare_s) / 1e9, 2),
        "matmul_gflop_per_s": round(ceiling, 1),
        "engine_fraction_of_matmul": round(engine_gflops / ceiling, 4),
        "bare_fraction_of_matmul": round(points * len(y) * flops / sum(bare_s) / 1e9 / ceiling, 4),
        "torch_threads": torch.get_num_threads(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
