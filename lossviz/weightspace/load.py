"""A run's weight landscape end to end: read the run directory, plan the slice, compute it and the line.

Used by the probe process (:mod:`lossviz.weightspace.probe`, ``python -m lossviz landscape``).
Everything needed comes from the run directory: ``config.json`` (model, loss, data set), the weights
(``model.safetensors``, or the old ``model.pt`` read with ``weights_only=True``, or for a live run its
latest snapshot) and the weight snapshots in ``snapshots/``. The evaluation images are the first N
images of the run's test split: for a synthetic run only those are rebuilt from the config's seed and
sizes (:func:`lossviz.training.synthetic_test_images`).

A run folder is not trusted (issue 20): every file is opened as a regular file only (``O_NONBLOCK`` +
``fstat``: a FIFO, a device or a link leading out of the run folder is skipped with a note, never
waited on), each read is capped in size, at most :data:`MAX_SNAPSHOTS` snapshots are read whatever the
folder holds, and weights that are not finite floating-point numbers are refused with one sentence.
"""

from __future__ import annotations

import io
import json
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.training import (
    LIVE_STATUSES,
    SNAPSHOT_DIR,
    ImageSplit,
    Snapshot,
    TrainConfig,
    build_model,
    cifar10_status,
    default_data_dir,
    effective_status,
    list_snapshot_files,
    make_loss,
    synthetic_test_images,
    weights_from_bytes,
)
from lossviz.weightspace import directions as D
from lossviz.weightspace import path as P
from lossviz.weightspace import slices as S

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
WEIGHT_FILES = ("model.safetensors", "model.pt")
PLANES = ("random", "pca")
#: Most snapshot files one landscape reads (the recorder keeps at most 64); more are thinned evenly,
#: the first and the last always kept.
MAX_SNAPSHOTS = 64
#: Largest JSON file read from a run folder.
MAX_JSON_BYTES = 1 << 20
#: Slack over the tensors' own size allowed to a weights file (its header).
WEIGHTS_SLACK_BYTES = 1 << 20

SNAPSHOT_UNREADABLE = N_("Skipped the weight snapshot {file}: it cannot be read ({why}); it may be damaged.")
SNAPSHOT_MISMATCH = N_("Skipped the weight snapshot {file}: its tensors do not match the run's network.")
SNAPSHOT_NOT_FILE = N_("Skipped {file}: it is not a regular file (a pipe, a device or a folder).")
SNAPSHOT_OUTSIDE = N_("Skipped {file}: it is a link that leads out of the run folder.")
SNAPSHOT_TOO_BIG = N_("Skipped {file}: it is larger than a snapshot of this network can be.")
SNAPSHOT_BAD_VALUES = N_("Skipped the weight snapshot {file}: {why}")
SNAPSHOTS_THINNED = N_("The run folder holds {n} weight snapshots; the path uses {kept} of them, evenly spaced.")
NOT_FLOAT = N_("its weights are stored as {dtype}, not as floating-point numbers")
NOT_FINITE = N_("it holds weights that are not finite (NaN or ∞)")
ALL_ZERO = N_("every weight is zero, so there is no filter norm to scale the directions by")


class Skipped(Exception):
    """A file of the run folder that is not read, and the sentence that says why."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def read_regular(path: Path, folder: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file inside ``folder`` of at most ``limit`` bytes.

    Never blocks: the file is opened with ``O_NONBLOCK`` and checked with ``fstat`` before anything is
    read (a FIFO opens at once and is refused), so a pipe, a device, ``/dev/zero`` behind a link or a
    link leading out of ``folder`` raises :class:`Skipped`; reads stop at ``limit + 1`` bytes.
    """
    name = path.name
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise Skipped(msg(SNAPSHOT_UNREADABLE, file=name, why=type(exc).__name__)) from exc
    if not real.is_relative_to(folder.resolve()):
        raise Skipped(msg(SNAPSHOT_OUTSIDE, file=name))
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Skipped(msg(SNAPSHOT_UNREADABLE, file=name, why=exc.strerror or type(exc).__name__)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Skipped(msg(SNAPSHOT_NOT_FILE, file=name))
        if st.st_size > limit:
            raise Skipped(msg(SNAPSHOT_TOO_BIG, file=name))
        chunks, size = [], 0
        while size <= limit:
            part = os.read(fd, min(1 << 20, limit + 1 - size))
            if not part:
                break
            chunks.append(part)
            size += len(part)
        if size > limit:
            raise Skipped(msg(SNAPSHOT_TOO_BIG, file=name))
        return b"".join(chunks)
    except OSError as exc:
        raise Skipped(msg(SNAPSHOT_UNREADABLE, file=name, why=exc.strerror or type(exc).__name__)) from exc
    finally:
        os.close(fd)


def read_json_file(path: Path, folder: Path) -> dict[str, Any] | None:
    """The object in a JSON file of the run folder, or None (missing, not a regular file, too big, not JSON)."""
    try:
        data = read_regular(path, folder, MAX_JSON_BYTES)
        obj = json.loads(data.decode("utf-8"))
    except (Skipped, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def weight_problem(weights: Mapping[str, torch.Tensor], *, centre: bool = False) -> Message | None:
    """Why these weights cannot be sliced (not floating point, not finite, all zero), or None."""
    for t in weights.values():
        if not t.is_floating_point():
            return msg(NOT_FLOAT, dtype=str(t.dtype).replace("torch.", ""))
    for t in weights.values():
        if not bool(torch.isfinite(t).all()):
            return msg(NOT_FINITE)
    if centre and not any(bool(t.any()) for k, t in weights.items() if D.is_filtered(t)):
        return msg(ALL_ZERO)
    return None


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
    notes: list[Message] = field(default_factory=list)
    live: bool = False

    @property
    def n_params(self) -> int:
        return sum(v.numel() for v in self.centre.values())


def run_config(config: dict[str, Any]) -> TrainConfig:
    """The run's config as the trainer read it; LossvizInputError for one that no run could have."""
    try:
        return replace(TrainConfig.from_dict(config), device="cpu").validated()
    except LossvizInputError:
        raise
    except (TypeError, ValueError, OverflowError, KeyError, AttributeError) as exc:
        raise LossvizInputError(
            msg("the run's config.json does not describe a training run: {error}", error=type(exc).__name__)
        ) from exc


def initial_weights(config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a run started from, rebuilt the way the trainer builds them (seeded)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(run_config(config).seed) % 2**63)
        model = build_model(bool(config.get("relu")))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _weights_limit(shapes: Mapping[str, torch.Size]) -> int:
    """The most bytes a weights file of this network can hold (float64 tensors and a header)."""
    return sum(8 * int(np.prod(s)) for s in shapes.values()) + WEIGHTS_SLACK_BYTES


def _load_model_file(run_dir: Path, limit: int) -> tuple[dict[str, torch.Tensor], str] | None:
    for name in WEIGHT_FILES:
        p = run_dir / name
        if not os.path.lexists(p):
            continue
        try:
            data = read_regular(p, run_dir, limit)
            if name.endswith(".safetensors"):
                return weights_from_bytes(data), name
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
                raise TypeError("not a state dict")
        except Skipped as exc:
            raise LossvizInputError(exc.message) from None
        except Exception as exc:  # damaged file: say so rather than a traceback
            raise LossvizInputError(
                msg("the run's {file} cannot be read ({error}): it may be damaged", file=name, error=type(exc).__name__)
            ) from exc
        return dict(state), name
    return None


def _pick(files: list[tuple[int, Path]], most: int) -> list[tuple[int, Path]]:
    """At most ``most`` of ``files`` (by step), evenly spaced, the first and the last kept."""
    if len(files) <= most:
        return files
    idx = np.unique(np.round(np.linspace(0, len(files) - 1, most)).astype(int))
    return [files[i] for i in idx]


def load_snapshots(
    run_dir: str | os.PathLike[str], expected: Mapping[str, torch.Size] | None = None, *, most: int = MAX_SNAPSHOTS
) -> tuple[list[Snapshot], list[Message]]:
    """The readable snapshots by step (at most ``most``), and one note per file that was skipped.

    A file is skipped when it is not a regular file inside the run folder, is larger than the
    network's weights can be, cannot be read as safetensors, does not match ``expected`` (parameter
    name → shape), or holds weights that are not finite floating-point numbers.
    """
    run_dir = Path(run_dir)
    files = list_snapshot_files(run_dir)
    notes: list[Message] = []
    picked = _pick(files, most)
    if len(picked) < len(files):
        notes.append(msg(SNAPSHOTS_THINNED, n=len(files), kept=len(picked)))
    limit = _weights_limit(expected) if expected is not None else 64 << 20
    snaps: list[Snapshot] = []
    for step, path in picked:
        try:
            weights = weights_from_bytes(read_regular(path, run_dir, limit))
        except Skipped as exc:
            notes.append(exc.message)
            continue
        except Exception as exc:  # safetensors raises its own error types for damaged files
            notes.append(msg(SNAPSHOT_UNREADABLE, file=path.name, why=type(exc).__name__))
            continue
        if expected is not None:
            shapes = {k: tuple(v.shape) for k, v in weights.items()}
            if shapes != {k: tuple(v) for k, v in expected.items()}:
                notes.append(msg(SNAPSHOT_MISMATCH, file=path.name))
                continue
        bad = weight_problem(weights)
        if bad is not None:
            notes.append(msg(SNAPSHOT_BAD_VALUES, file=path.name, why=bad))
            continue
        snaps.append(Snapshot(step, weights, path))
    return snaps, notes


def _is_live(run_dir: Path) -> bool:
    summary = read_json_file(run_dir / SUMMARY_FILE, run_dir) or {}
    try:
        return effective_status(summary) in LIVE_STATUSES
    except (TypeError, ValueError, OverflowError):
        return False


def centre_source(run_dir: str | os.PathLike[str]) -> tuple[str, int, int]:
    """Which file a landscape of this run slices around, as ``(name, size, mtime_ns)``: the model file
    of a finished run, the newest snapshot of a live one. Cheap (no file is read): the probe's cache key."""
    run_dir = Path(run_dir)
    snaps = list_snapshot_files(run_dir)
    candidates = [run_dir / n for n in WEIGHT_FILES]
    if snaps and (_is_live(run_dir) or not any(os.path.lexists(p) for p in candidates)):
        candidates = [snaps[-1][1]]
    for p in candidates:
        try:
            st = os.lstat(p)
        except OSError:
            continue
        return (f"{SNAPSHOT_DIR}/{p.name}" if p.parent.name == SNAPSHOT_DIR else p.name, st.st_size, st.st_mtime_ns)
    return ("", 0, 0)


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
    config = read_json_file(run_dir / CONFIG_FILE, run_dir)
    if config is None:
        raise LossvizInputError(
            msg(
                "{folder} has no readable config.json: give a folder written by 'python -m lossviz train'",
                folder=str(run_dir),
            )
        )
    summary = read_json_file(run_dir / SUMMARY_FILE, run_dir) or {}
    live = _is_live(run_dir)
    cfg = run_config(config)
    model = build_model(bool(cfg.relu))
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    loss_fn = make_loss(cfg)
    snaps, notes = load_snapshots(run_dir, shapes)
    model_file = _load_model_file(run_dir, _weights_limit(shapes))
    if model_file is not None and {k: tuple(v.shape) for k, v in model_file[0].items()} != {
        k: tuple(v) for k, v in shapes.items()
    }:
        raise LossvizInputError(
            msg("the run's {file} does not fit the network in its config.json", file=model_file[1])
        )
    centre_step: int | None
    if model_file is not None and not (live and snaps):
        bad = weight_problem(model_file[0], centre=True)
        if bad is not None:
            raise LossvizInputError(msg("the run's {file} cannot be sliced: {why}", file=model_file[1], why=bad))
        centre, source = {k: v.float() for k, v in model_file[0].items()}, model_file[1]
        steps = summary.get("steps")
        centre_step = steps if isinstance(steps, int) and not isinstance(steps, bool) and 0 <= steps < 2**62 else None
        centre_step = None if live else centre_step
        if snaps and not all(torch.equal(centre[k], snaps[-1].weights[k].float()) for k in centre):
            snaps = [*snaps, Snapshot(int(centre_step if centre_step is not None else snaps[-1].step + 1), centre)]
        elif not snaps:
            snaps = [Snapshot(int(centre_step or 0), centre)]
    elif snaps:
        last = snaps[-1]
        bad = weight_problem(last.weights, centre=True)
        if bad is not None:
            name = last.path.name if last.path else "snapshot"
            raise LossvizInputError(msg("the run's {file} cannot be sliced: {why}", file=name, why=bad))
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
    return RunWeights(run_dir, config, model, loss_fn, centre, centre_step, source, initial, snaps, notes, live)


def evaluation_images(config: dict[str, Any], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` test images of the run as the model sees them (float in [-1, 1]) and labels.

    For a synthetic run only those images are built (the rest of the stream is drawn, not built), so
    16 images of a 200,000-image run cost a few seconds and a few MB, not the whole data set.
    """
    D.check_images(n)
    cfg = run_config(config)
    if cfg.dataset == "synthetic":
        split = synthetic_test_images(int(cfg.seed), int(cfg.synthetic_train), int(cfg.synthetic_test), n)
    elif cfg.dataset == "cifar10":
        split = _cifar_test_images(config, n)
    else:
        raise LossvizInputError(
            msg("the run's data set {kind} is unknown: expected synthetic or cifar10", kind=repr(cfg.dataset))
        )
    m = min(n, len(split))
    x, y = split.batch(torch.arange(m))
    return x.clone(), y.clone()


def _cifar_test_images(config: dict[str, Any], n: int) -> Any:
    from torchvision.datasets import CIFAR10


    root = Path(config.get("data_dir") or default_data_dir())
    if cifar10_status(root) == "missing":
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
            msg("CIFAR-10's test split in {folder} cannot be read ({error})", folder=str(root), error=type(exc).__name__)
        ) from exc
    m = min(n, len(ds.targets))
    images = torch.from_numpy(ds.data[:m]).permute(0, 3, 1, 2).contiguous()
    return ImageSplit(images, torch.as_tensor(ds.targets[:m]))


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
    slice: S.SliceResult | None = None
    line: S.LineResult | None = None
    path_random: P.PathProjection | None = None
    path_pca: P.PathProjection | None = None
    path_plane: P.PathProjection | None = None  # the path in the plane of the slice
    why: Message | None = None
    seconds: float = 0.0
    notes: list[Message] = field(default_factory=list)


DEGENERATE = N_("the saved weights give no plane to slice along ({error}): check that they come from training")


def plan(
    run: RunWeights,
    *,
    plane: str = "random",
    seed: int = 0,
    span: float = D.DEFAULT_SPAN,
    images: int = D.DEFAULT_IMAGES,
) -> Landscape:
    """Directions and path projections (cheap); the slice and the line come from :func:`compute`."""
    if plane not in PLANES:
        raise LossvizInputError(msg("plane {plane} is unknown: choose random or pca", plane=repr(plane)))
    D.check_seed(seed)
    D.check_span(span)
    D.check_images(images)
    try:
        return _plan(run, plane, seed, span, images)
    except (torch.linalg.LinAlgError, RuntimeError) as exc:  # a last guard: weights that passed the checks
        raise LossvizInputError(msg(DEGENERATE, error=type(exc).__name__.lstrip("_"))) from exc


def _plan(run: RunWeights, plane: str, seed: int, span: float, images: int) -> Landscape:
    dx, dy = D.random_directions(run.centre, seed)
    steps = [s.step for s in run.path]
    names = list(run.centre)
    deltas = P.path_deltas([s.weights for s in run.path], run.centre)
    path_random = P.project_deltas(deltas, steps, D.flatten(dx, names), D.flatten(dy, names))
    path_pca = None
    if len(steps) >= 3:
        try:
            path_pca, p1, p2 = P.project_path_pca([], steps, run.centre, deltas)
        except LossvizInputError:
            path_pca = None
    first = 0  # the initial weights: the longest displacement, the fairest measure
    why = P.why_random_plane_note(
        run.n_params,
        float(path_random.captured[first]),
        float(path_pca.captured[first]) if path_pca else None,
    )
    land = Landscape(
        run, plane, seed, span, images, dx, dy,
        path_random=path_random, path_pca=path_pca, why=why, notes=list(run.notes),
    )  # fmt: skip
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
    D.check_grid(grid)
    if land.plane == "pca" and land.path_plane is not None:
        rx = float(np.abs(land.path_plane.xs).max()) * 1.25 or land.span
        ry = float(np.abs(land.path_plane.ys).max()) * 1.25 or land.span
        return D.grid_axis(grid, rx), D.grid_axis(grid, ry)
    return D.grid_axis(grid, land.span), D.grid_axis(grid, land.span)


def compute(
    land: Landscape,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    grid: int = D.DEFAULT_GRID,
    line: bool = True,
    progress: S.ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    rank: int = 0,
    world_size: int = 1,
    method: str = "loop",
    chunk: int = D.DEFAULT_CHUNK,
) -> Landscape:
    """Fill ``land.slice`` (coarse to fine) and then ``land.line``; stops early when cancelled."""
    t0 = time.perf_counter()
    alphas, betas = axes(land, grid)
    ev = S.Evaluator(land.run.model, land.run.loss_fn, x, y, method=method)
    n_slice = len(alphas) * len(betas)
    mine = sum(1 for k in range(n_slice) if k % world_size == rank)  # per level it differs by ±1: fine for a bar
    total = mine + (D.LINE_POINTS if line else 0)
    land.slice = S.compute_slice(
        ev, land.run.centre, land.x_dir, land.y_dir, alphas, betas,
        chunk=chunk, progress=progress, cancel=cancel, rank=rank, world_size=world_size, total_points=total,
    )  # fmt: skip
    if line and not land.slice.cancelled:
        land.line = S.interpolate_line(
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
