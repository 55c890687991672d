"""A run's weight landscape end to end: read the run directory, build the slice, the line and the path.

Used by ``python -m lossviz landscape`` and by the training page (through a
:class:`~lossviz.training.weight_landscape.BackgroundJob`). Everything needed comes from the run
directory: ``config.json`` (model, loss, data set), the weights (``model.safetensors``, or the old
``model.pt`` read with ``weights_only=True``, or for a live run its latest snapshot) and the weight
snapshots in ``snapshots/``. The evaluation images are the first N images of the run's test split:
for a synthetic run the same split is regenerated from the config's seed and sizes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.training import weight_landscape as W
from lossviz.training.model import build_model
from lossviz.training.snapshots import Note, Snapshot, load_snapshots, load_weights

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
WEIGHT_FILES = ("model.safetensors", "model.pt")
PLANES = ("random", "pca")


@dataclass
class RunWeights:
    """What a landscape needs from one run directory."""

    run_dir: Path
    config: dict[str, Any]
    model: torch.nn.Module
    loss_fn: Any
    centre: dict[str, torch.Tensor]
    centre_step: int | None
    centre_source: str  # file name the centre came from
    initial: dict[str, torch.Tensor]
    path: list[Snapshot]  # snapshots by step, ending with the centre
    notes: list[Note] = field(default_factory=list)
    live: bool = False

    @property
    def n_params(self) -> int:
        return sum(v.numel() for v in self.centre.values())


def _read_json(path: Path) -> dict[str, Any] | None:
    from lossviz.training.runs import read_json

    return read_json(path)


def _loss_fn(config: dict[str, Any]) -> Any:
    """The run's own training loss (trainer.make_loss on the run's config)."""
    from lossviz.training.trainer import TrainConfig, make_loss

    try:
        cfg = replace(TrainConfig.from_dict(config), device="cpu").validated()
    except (TypeError, ValueError) as exc:
        raise LossvizInputError(
            msg("the run's config.json does not describe a training run: {error}", error=exc)
        ) from exc
    return make_loss(cfg)


def initial_weights(config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a run started from, rebuilt the way the trainer builds them (seeded)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.get("seed", 0)))
        model = build_model(bool(config.get("relu")))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _load_model_file(run_dir: Path) -> tuple[dict[str, torch.Tensor], str] | None:
    for name in WEIGHT_FILES:
        p = run_dir / name
        if not p.is_file():
            continue
        try:
            if name.endswith(".safetensors"):
                return load_weights(p), name
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # damaged file: say so rather than a traceback
            raise LossvizInputError(
                msg(
                    "the run's {file} cannot be read ({error}): it may be damaged",
                    file=name,
                    error=type(exc).__name__,
                )
            ) from exc
        return {k: v for k, v in state.items()}, name
    return None


def load_run(run_dir: str | os.PathLike[str]) -> RunWeights:
    """Config, model, loss, centre weights, initial weights and path of one run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LossvizInputError(
            msg(
                "{folder} is not a run directory: give a folder written by 'python -m lossviz train'",
                folder=str(run_dir),
            )
        )
    config = _read_json(run_dir / CONFIG_FILE)
    if config is None:
        raise LossvizInputError(
            msg(
                "{folder} has no readable config.json: give a folder written by 'python -m lossviz train'",
                folder=str(run_dir),
            )
        )
    summary = _read_json(run_dir / SUMMARY_FILE) or {}
    from lossviz.training.runs import LIVE_STATUSES, effective_status

    live = effective_status(summary) in LIVE_STATUSES
    model = build_model(bool(config.get("relu")))
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    loss_fn = _loss_fn(config)
    snaps, notes = load_snapshots(run_dir, shapes)
    model_file = _load_model_file(run_dir)
    if model_file is not None and {k: v.shape for k, v in model_file[0].items()} != shapes:
        raise LossvizInputError(
            msg("the run's {file} does not fit the network in its config.json", file=model_file[1])
        )
    centre_step: int | None
    if model_file is not None and not (live and snaps):
        centre, source = {k: v.float() for k, v in model_file[0].items()}, model_file[1]
        centre_step = summary.get("steps") if not live else None
        if snaps and not all(torch.equal(centre[k], snaps[-1].weights[k].float()) for k in centre):
            snaps = [
                *snaps,
                Snapshot(int(centre_step if centre_step is not None else snaps[-1].step + 1), centre),
            ]
        elif not snaps:
            snaps = [Snapshot(int(centre_step or 0), centre)]
    elif snaps:
        last = snaps[-1]
        centre, source, centre_step = (
            {k: v.float() for k, v in last.weights.items()},
            last.path.name if last.path else "snapshot",
            last.step,
        )
    else:
        raise LossvizInputError(
            msg(
                "{run} has no saved weights yet (model file or snapshots): wait for the first snapshot or epoch",
                run=run_dir.name,
            )
        )
    initial = (
        {k: v.float() for k, v in snaps[0].weights.items()}
        if snaps and snaps[0].step == 0
        else initial_weights(config)
    )
    if not snaps or snaps[0].step != 0:
        snaps = [Snapshot(0, initial), *snaps]
    model.load_state_dict(centre)
    return RunWeights(
        run_dir, config, model, loss_fn, centre, centre_step, source, initial, snaps, notes, live
    )


_IMAGE_CACHE: OrderedDict[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
_IMAGE_CACHE_SIZE = 8
_IMAGE_LOCK = threading.Lock()


def evaluation_images(config: dict[str, Any], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` test images of the run as the model sees them (float in [-1, 1]) and labels.

    Regenerating a synthetic test split means regenerating its training split too (one random
    stream), so the few evaluation images of recent runs are kept in a small cache (a few MB).
    """
    W.check_images(n)
    key = tuple(
        str(config.get(k))
        for k in ("dataset", "seed", "synthetic_train", "synthetic_test", "data_dir", "data_source")
    ) + (n,)
    with _IMAGE_LOCK:
        hit = _IMAGE_CACHE.get(key)
        if hit is not None:
            _IMAGE_CACHE.move_to_end(key)
            return hit[0].clone(), hit[1].clone()
    x, y = _evaluation_images(config, n)
    with _IMAGE_LOCK:
        _IMAGE_CACHE[key] = (x, y)
        while len(_IMAGE_CACHE) > _IMAGE_CACHE_SIZE:
            _IMAGE_CACHE.popitem(last=False)
    return x.clone(), y.clone()


def _evaluation_images(config: dict[str, Any], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    from lossviz.training import data

    kind = config.get("dataset")
    if kind == "synthetic":
        bundle = data.make_synthetic(
            int(config.get("seed", 0)),
            int(config.get("synthetic_train", data.DEFAULT_SYNTHETIC_TRAIN)),
            int(config.get("synthetic_test", data.DEFAULT_SYNTHETIC_TEST)),
        )
        split = bundle.test
    elif kind == "cifar10":
        from torchvision.datasets import CIFAR10

        root = Path(config.get("data_dir") or data.default_data_dir())
        if data.cifar10_status(root) == "missing":
            raise LossvizInputError(
                msg(
                    "the run trained on CIFAR-10 but its test images are not in {folder} any more: "
                    "put cifar-10-batches-py/ back",
                    folder=str(root),
                )
            )
        try:
            ds = CIFAR10(root=str(root), train=False, download=False)
        except Exception as exc:
            raise LossvizInputError(
                msg(
                    "CIFAR-10's test split in {folder} cannot be read ({error})",
                    folder=str(root),
                    error=type(exc).__name__,
                )
            ) from exc
        m = min(n, len(ds.targets))
        images = torch.from_numpy(ds.data[:m]).permute(0, 3, 1, 2).contiguous()
        split = data.ImageSplit(images, torch.as_tensor(ds.targets[:m]))
    else:
        raise LossvizInputError(
            msg("the run's data set {kind} is unknown: expected synthetic or cifar10", kind=repr(kind))
        )
    m = min(n, len(split))
    idx = torch.arange(m)
    x, y = split.batch(idx)
    return x.clone(), y.clone()


@dataclass
class Landscape:
    """Everything one landscape computation produced."""

    run: RunWeights
    plane: str
    seed: int
    span: float
    images: int
    x_dir: dict[str, torch.Tensor]
    y_dir: dict[str, torch.Tensor]
    slice: W.SliceResult | None = None
    line: W.LineResult | None = None
    path_random: W.PathProjection | None = None
    path_pca: W.PathProjection | None = None
    path_plane: W.PathProjection | None = None  # the path in the plane of the slice
    why: Note | None = None
    seconds: float = 0.0
    notes: list[Note] = field(default_factory=list)


def plan(
    run: RunWeights,
    *,
    plane: str = "random",
    seed: int = 0,
    span: float = W.DEFAULT_SPAN,
    images: int = W.DEFAULT_IMAGES,
) -> Landscape:
    """Directions and path projections (cheap); the slice and the line come from :func:`compute`."""
    if plane not in PLANES:
        raise LossvizInputError(msg("plane {plane} is unknown: choose random or pca", plane=repr(plane)))
    W.check_seed(seed)
    W.check_span(span)
    W.check_images(images)
    dx, dy = W.random_directions(run.centre, seed)
    steps = [s.step for s in run.path]
    names = list(run.centre)
    deltas = W.path_deltas([s.weights for s in run.path], run.centre)
    path_random = W.project_deltas(deltas, steps, W.flatten(dx, names), W.flatten(dy, names))
    path_pca = None
    notes = list(run.notes)
    if len(steps) >= 3:
        try:
            path_pca, p1, p2 = W.project_path_pca([], steps, run.centre, deltas)
        except LossvizInputError:
            path_pca = None
    first = 0  # the initial weights: the longest displacement, the fairest measure
    why = W.why_random_plane_note(
        run.n_params,
        float(path_random.captured[first]),
        float(path_pca.captured[first]) if path_pca else None,
    )
    land = Landscape(
        run,
        plane,
        seed,
        span,
        images,
        dx,
        dy,
        path_random=path_random,
        path_pca=path_pca,
        why=why,
        notes=notes,
    )
    if plane == "pca":
        if path_pca is None:
            raise LossvizInputError(
                msg(
                    "the PCA plane needs at least 3 weight snapshots that move: train longer, or use the random plane"
                )
            )
        land.x_dir, land.y_dir = p1, p2
        land.path_plane = path_pca
    else:
        land.path_plane = path_random
    return land


def axes(land: Landscape, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """The slice's coordinates: ±span for a random plane; for the PCA plane, the path's extent plus
    a margin on each axis (so the whole path is on the picture)."""
    W.check_grid(grid)
    if land.plane == "pca" and land.path_plane is not None:
        rx = float(np.abs(land.path_plane.xs).max()) * 1.25 or land.span
        ry = float(np.abs(land.path_plane.ys).max()) * 1.25 or land.span
        return W.grid_axis(grid, rx), W.grid_axis(grid, ry)
    return W.grid_axis(grid, land.span), W.grid_axis(grid, land.span)


def compute(
    land: Landscape,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    grid: int = W.DEFAULT_GRID,
    line: bool = True,
    progress: W.ProgressFn | None = None,
    cancel: W.CancelFn | threading.Event | None = None,
    rank: int = 0,
    world_size: int = 1,
    method: str = "loop",
    chunk: int = W.DEFAULT_CHUNK,
) -> Landscape:
    """Fill ``land.slice`` (coarse to fine) and then ``land.line``; stops early when cancelled."""
    import time

    t0 = time.perf_counter()
    alphas, betas = axes(land, grid)
    ev = W.Evaluator(land.run.model, land.run.loss_fn, x, y, method=method)
    n_slice = len(alphas) * len(betas)
    mine = sum(
        1 for k in range(n_slice) if k % world_size == rank
    )  # per level it differs by ±1: fine for a bar
    total = mine + (W.LINE_POINTS if line else 0)
    land.slice = W.compute_slice(
        ev, land.run.centre, land.x_dir, land.y_dir, alphas, betas,
        chunk=chunk, progress=progress, cancel=cancel, rank=rank, world_size=world_size, total_points=total,
    )  # fmt: skip
    if line and not land.slice.cancelled:
        land.line = W.interpolate_line(
            ev, land.run.initial, land.run.centre, chunk=chunk, progress=progress, cancel=cancel,
            offset_points=mine, total_points=total,
        )  # fmt: skip
    land.seconds = time.perf_counter() - t0
    return land


def direction_tensors(land: Landscape) -> dict[str, torch.Tensor]:
    """``x.<name>``, ``y.<name>`` and ``centre.<name>`` for the directions file."""
    out: dict[str, torch.Tensor] = {}
    for prefix, d in (("x", land.x_dir), ("y", land.y_dir), ("centre", land.run.centre)):
        for k, v in d.items():
            out[f"{prefix}.{k}"] = v.detach().cpu().float().contiguous()
    return out


class LandscapeJob(W.BackgroundJob):
    """A landscape computed in a background thread: ``land`` appears as soon as the directions and the
    path are ready (so a page can draw the path), then ``progress.result`` holds the partial slice."""

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        plane: str = "random",
        seed: int = 0,
        span: float = W.DEFAULT_SPAN,
        images: int = W.DEFAULT_IMAGES,
        grid: int = W.DEFAULT_GRID,
    ) -> None:
        W.check_grid(grid)
        W.check_images(images)
        W.check_seed(seed)
        W.check_span(span)
        self.run_dir = Path(run_dir)
        self.params = {"plane": plane, "seed": seed, "span": span, "images": images, "grid": grid}
        self.land: Landscape | None = None
        super().__init__(self._compute)

    def _compute(self, progress: W.ProgressFn, cancel: threading.Event) -> Landscape:
        p = self.params
        run = load_run(self.run_dir)
        land = plan(run, plane=p["plane"], seed=p["seed"], span=p["span"], images=p["images"])
        # the projections are done: a page keeps this job in its session, so drop the snapshots' weights
        run.path = [Snapshot(sn.step, {}, sn.path) for sn in run.path]
        self.land = land
        x, y = evaluation_images(run.config, p["images"])
        return compute(land, x, y, grid=p["grid"], progress=progress, cancel=cancel)

    def picture(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The finest complete level of the slice so far (see :meth:`SliceResult.picture`)."""
        if self.land is not None and self.land.slice is not None:
            return self.land.slice.picture()
        prog = self.progress
        if prog is not None and isinstance(prog.result, W.SliceResult):
            return prog.result.picture()
        return None
