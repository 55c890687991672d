"""``python -m lossviz landscape RUN_DIR``: the loss over a 2-D slice of a run's weight space.

With ``--json`` it prints one object::

    {"alphas": [...], "betas": [...],          # coordinates along x and y, centre 0
     "loss": [[...], ...],                      # rows follow betas, columns follow alphas
     "accuracy": [[...], ...],
     "directions": "<file>",                    # safetensors: x.<param>, y.<param> (and centre.<param>)
     "images_file": "<file>",                   # torch.load(..., weights_only=True) -> (x, y)
     "seconds": ..., ...}

so any point can be recomputed independently: load the model with ``centre.*``, add
``alphas[j]·x.* + betas[i]·y.*`` and evaluate the run's loss on ``(x, y)``. Without ``--json`` it
prints a short summary. Bad input: exit status 2 and one ``error: ...`` line.

With ``--probe-dir DIR`` it is the probe process the page starts (through the job manager): it
writes its progress, each refinement level, the result and the directions into ``DIR`` atomically
(see lossviz/weightspace/probe.py and docs/CONTRACTS.md); SIGTERM cancels it between two chunks of
points, leaving ``"state": "cancelled"`` and the levels done so far.

Under ``torchrun --standalone --nproc_per_node N -m lossviz landscape ...`` the grid points are split
across the ranks; rank 0 writes the files and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from lossviz.cli.parsing import LANG_HELP, add_subcommand
from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, cli_lang, gettext, msg, render

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

#: The plain-text summary (``--json`` prints the numbers instead); ``error:`` and ``warning:`` keep
#: their English prefix on stderr (tools grep them).
SUMMARY = N_(
    "{run}: {grid}×{grid} {plane} slice of {loss} on {images} test images in {seconds} s; "
    "loss at the centre {centre}, min {low}, max {high}"
)
FILES = N_("directions: {directions}\nimages: {images}")
CANCELLED = N_("Cancelled: the levels computed so far stay in the probe folder.")
#: The plane's name inside :data:`SUMMARY`.
PLANE_NAMES = {"random": N_("random"), "pca": N_("PCA")}


def add_landscape_parser(subparsers: Any, lang: str = "en") -> argparse.ArgumentParser:
    """Add the ``landscape`` subcommand, its help in ``lang``; its handler is :func:`run_landscape`."""
    from lossviz.weightspace import directions as W

    def t(text: str, **params: object) -> str:
        return gettext(text, lang, **params)

    p = add_subcommand(
        subparsers,
        "landscape",
        lang,
        help=t(N_("the loss over a 2-D slice of a run's weight space (Li et al. 2018)")),
        description=t(N_("The loss of a trained run over a 2-D slice of its weight space, along two "
                         "filter-normalised random directions, on a fixed set of its test images.")),
    )  # fmt: skip
    p.add_argument(
        "run_dir", metavar="RUN_DIR", help=t(N_("a run directory written by 'python -m lossviz train'"))
    )
    p.add_argument(
        "--grid", type=int, default=W.DEFAULT_GRID,
        help=t(N_("points per side, {low}..{high}"), low=W.MIN_GRID, high=W.MAX_GRID),
    )  # fmt: skip
    p.add_argument("--images", type=int, default=W.DEFAULT_IMAGES, help=t(N_("test images to evaluate on")))
    p.add_argument("--seed", type=int, default=0, help=t(N_("seed of the random directions")))
    p.add_argument(
        "--span", type=float, default=W.DEFAULT_SPAN, help=t(N_("the slice covers -span..span on each axis"))
    )
    p.add_argument("--plane", choices=["random", "pca"], default="random",
                   help=t(N_("random: filter-normalised random directions; pca: the top two PCA directions of the path")))  # fmt: skip
    p.add_argument("--no-line", action="store_true", help=t(N_("skip the 1-D line from the initial weights")))
    p.add_argument(
        "--out",
        default=None,
        help=t(N_("folder for the directions and images files (default RUN_DIR/landscape)")),
    )
    p.add_argument(
        "--probe-dir",
        default=None,
        help=t(N_("write progress, each refinement level and the result into this folder (what the page reads)")),
    )
    p.add_argument("--json", action="store_true", help=t(N_("print one JSON object")))
    p.add_argument("--lang", default=argparse.SUPPRESS, help=t(LANG_HELP))
    p.set_defaults(handler=run_landscape)
    return p


def _distributed() -> tuple[int, int]:
    """Join torchrun's process group when launched by it; returns ``(rank, world_size)``."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def _error(message: object, lang: str) -> None:
    sys.stderr.write(f"error: {' '.join(render(message, lang).split())}\n")


def run_landscape(args: argparse.Namespace) -> int:
    """Compute and report; returns the exit status. Bad input, and anything unexpected, is one
    ``error:`` line (and, with ``--probe-dir``, a failed state with the message as data)."""
    from lossviz.weightspace import probe as PR

    lang = cli_lang(getattr(args, "lang", None))
    writer = None
    if args.probe_dir:
        try:
            params = PR.SliceParams(args.plane, args.seed, args.span, args.images, args.grid, not args.no_line)
            writer = PR.ProbeWriter(args.probe_dir, params.checked())
        except LossvizInputError as exc:
            _error(exc, lang)
            return EXIT_INPUT
        except PR.AlreadyComputing:
            sys.stderr.write(gettext(PR.BUSY, lang) + "\n")
            return EXIT_OK
        except OSError as exc:
            _error(msg("cannot write the landscape files into {folder}: {error}", folder=str(args.probe_dir),
                       error=exc.strerror or exc), lang)  # fmt: skip
            return EXIT_INPUT
    try:
        return _run(args, lang, writer)
    except LossvizInputError as exc:
        if writer is not None:
            writer.failed(exc.message)
        _error(exc, lang)
        return EXIT_INPUT
    except Exception as exc:  # one plain line, never a traceback; the page shows the same sentence
        why = msg(PR.UNEXPECTED, error=type(exc).__name__.lstrip("_"))
        if writer is not None:
            writer.failed(why)
        _error(why, lang)
        return EXIT_FAILED
    finally:
        if writer is not None:
            writer.close()


def _cancel_on_sigterm() -> list[bool]:
    """A flag that SIGTERM sets (the job manager's Cancel): the slice stops before its next chunk."""
    import signal
    import threading

    flag = [False]
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: flag.__setitem__(0, True))
    return flag


def _meta(land: Any) -> dict[str, Any]:
    from lossviz.weightspace import probe as PR

    run, path = land.run, land.path_plane
    return {
        "run": run.run_dir.name,
        "plane": land.plane,
        "weights": run.centre_source,
        "weights_step": run.centre_step,
        "live": run.live,
        "n_params": run.n_params,
        "images": land.images,
        "path": {
            "steps": list(path.steps) if path else [],
            "x": PR._finite(path.xs.tolist()) if path else [],
            "y": PR._finite(path.ys.tolist()) if path else [],
        },
        "pca_explained": list(land.path_pca.explained) if land.path_pca and land.path_pca.explained else None,
        "why": PR.message_data(land.why) if land.why is not None else None,
        "notes": [PR.message_data(n) for n in land.notes],
    }


def _run(args: argparse.Namespace, lang: str, writer: Any) -> int:
    import numpy as np
    import torch

    from lossviz.training import save_weights
    from lossviz.weightspace import directions as W
    from lossviz.weightspace import load as R
    from lossviz.weightspace import probe as PR

    t0 = time.perf_counter()
    W.check_grid(args.grid)
    W.check_images(args.images)
    W.check_seed(args.seed)
    W.check_span(args.span)
    cancel = _cancel_on_sigterm()
    run = R.load_run(args.run_dir)
    land = R.plan(run, plane=args.plane, seed=args.seed, span=args.span, images=args.images)
    if writer is not None:
        writer.meta(_meta(land))
        writer.stage("images")
    x, y = R.evaluation_images(run.config, args.images)
    if writer is not None:
        out = Path(args.probe_dir)
        directions, images_file = out / PR.DIRECTIONS_FILE, out / PR.IMAGES_FILE
    else:
        out = Path(args.out) if args.out else Path(args.run_dir) / "landscape"
        tag = f"{args.plane}-seed{args.seed}" if args.plane == "random" else "pca"
        directions, images_file = out / f"directions-{tag}.safetensors", out / f"images-{len(y)}.pt"
    rank, world = _distributed()
    try:
        R.compute(land, x, y, grid=args.grid, line=not args.no_line, rank=rank, world_size=world,
                  progress=writer.progress if writer is not None and rank == 0 else None,
                  cancel=lambda: cancel[0])  # fmt: skip
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if rank != 0:
        return EXIT_OK
    s = land.slice
    assert s is not None
    if s.cancelled or (land.line is not None and land.line.cancelled):
        if writer is not None:
            writer.cancelled()
        sys.stderr.write(gettext(CANCELLED, lang) + "\n")
        return EXIT_OK
    try:
        out.mkdir(parents=True, exist_ok=True)
        save_weights(directions, R.direction_tensors(land), plane=args.plane, seed=str(args.seed))
        tmp = images_file.with_suffix(".pt.tmp")
        torch.save((x, y), tmp)
        os.replace(tmp, images_file)
    except OSError as exc:
        raise LossvizInputError(
            msg("cannot write the landscape files into {folder}: {error}", folder=str(out), error=exc.strerror or exc)
        ) from exc
    for note in land.notes:
        sys.stderr.write(f"warning: {render(note, lang)}\n")
    seconds = time.perf_counter() - t0
    fin = PR._finite
    result: dict[str, Any] = {
        "run": run.run_dir.name,
        "plane": args.plane,
        "seed": args.seed,
        "span": args.span,
        "grid": args.grid,
        "images": int(len(y)),
        "alphas": s.alphas.tolist(),
        "betas": s.betas.tolist(),
        "loss": fin(s.loss.tolist()),
        "accuracy": fin(s.accuracy.tolist()),
        "centre_loss": fin(float(s.loss[len(s.betas) // 2, len(s.alphas) // 2])),
        "loss_name": run.config.get("loss"),
        "relu": bool(run.config.get("relu")),
        "weights": run.centre_source,
        "weights_step": run.centre_step,
        "directions": str(directions),
        "images_file": str(images_file),
        "path": {
            "steps": land.path_plane.steps if land.path_plane else [],
            "x": fin(land.path_plane.xs.tolist()) if land.path_plane else [],
            "y": fin(land.path_plane.ys.tolist()) if land.path_plane else [],
            "pca_explained": list(land.path_pca.explained)
            if land.path_pca and land.path_pca.explained
            else None,
        },
        "line": {"alphas": land.line.alphas.tolist(), "loss": fin(land.line.loss.tolist()),
                 "accuracy": fin(land.line.accuracy.tolist())}
        if land.line
        else None,
        "world_size": world,
        "seconds": seconds,
    }
    if writer is not None:
        writer.done(result)
    if args.json:
        print(json.dumps(result, allow_nan=False))
        return EXIT_OK
    centre = float(s.loss[len(s.betas) // 2, len(s.alphas) // 2])
    print(
        gettext(
            SUMMARY,
            lang,
            run=run.run_dir.name,
            grid=args.grid,
            plane=Message(PLANE_NAMES[args.plane]),
            loss=run.config.get("loss"),
            images=len(y),
            seconds=f"{seconds:.1f}",
            centre=f"{centre:.4f}",
            low=f"{float(np.nanmin(s.loss)):.4f}",
            high=f"{float(np.nanmax(s.loss)):.4f}",
        )
    )
    if land.why is not None:
        print(render(land.why, lang))
    print(gettext(FILES, lang, directions=directions, images=images_file))
    return EXIT_OK
