"""``python -m lossviz train``: the training page's trainer without a browser.

Writes the same run directory the page reads (so the page can follow a CLI run live) and draws
a plain progress bar on stderr. Bad input: exit status 2 and one ``error: ...`` line.

Example:
    python -m lossviz.cli.train --synthetic --max-batches 200 --name first-look
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from lossviz.cli.parsing import OneLineErrorParser
from lossviz.errors import LossvizInputError
from lossviz.training.figures import format_eta
from lossviz.training.runs import record_error
from lossviz.training.trainer import CLASSIFICATION_LOSSES, OPTIMIZERS, DistInfo, TrainConfig, Trainer

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_DIVERGED = EXIT_FAILED


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    d = TrainConfig()
    data = parser.add_argument_group("data")
    src = data.add_mutually_exclusive_group()
    src.add_argument("--synthetic", action="store_true", help="train on the synthetic CIFAR-shaped set")
    src.add_argument(
        "--cifar10", action="store_true", help="train on real CIFAR-10 (error if it is not on disk)"
    )
    data.add_argument(
        "--data-dir",
        default=None,
        help="folder holding cifar-10-batches-py/ (default $LOSSVIZ_DATA or ./data)",
    )
    data.add_argument(
        "--download", action="store_true", help="download CIFAR-10 first if it is missing (needs internet)"
    )
    data.add_argument(
        "--synthetic-train",
        type=int,
        default=d.synthetic_train,
        metavar="N",
        help="synthetic training images",
    )
    data.add_argument(
        "--synthetic-test", type=int, default=d.synthetic_test, metavar="N", help="synthetic test images"
    )
    model = parser.add_argument_group("model and loss")
    model.add_argument(
        "--relu", action="store_true", help="add ReLU after each conv and the first linear layer"
    )
    model.add_argument("--loss", default=d.loss, choices=list(CLASSIFICATION_LOSSES), help="loss function")
    model.add_argument(
        "--label-smoothing", type=float, default=d.label_smoothing, help="CrossEntropyLoss label smoothing"
    )
    model.add_argument("--margin", type=float, default=d.margin, help="MultiMarginLoss margin")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--optimizer", default=d.optimizer, choices=list(OPTIMIZERS))
    opt.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    opt.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    opt.add_argument("--batch-size", type=int, default=d.batch_size)
    opt.add_argument("--epochs", type=int, default=d.epochs)
    opt.add_argument("--seed", type=int, default=d.seed)
    opt.add_argument("--max-batches", type=int, default=None, metavar="N", help="stop after N batches")
    opt.add_argument("--no-eval", action="store_true", help="skip the test-set evaluation after each epoch")
    run = parser.add_argument_group("machine and output")
    run.add_argument("--device", default=d.device, help="auto (cuda, then mps, then cpu), cpu, cuda or mps")
    run.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads per process (default: torch's choice)"
    )
    run.add_argument("--amp", action="store_true", help="bf16 autocast for the forward pass (CUDA, or CPU)")
    run.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard event files")
    run.add_argument(
        "--runs-dir", default=None, help="where runs are written (default $LOSSVIZ_RUNS or ./runs)"
    )
    run.add_argument("--name", default=None, help="run name (default: date, data, optimizer, lr)")
    run.add_argument("--quiet", action="store_true", help="no progress bar, only the final line")
    return parser


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an argparse subparsers object; its handler is :func:`run_train`."""
    parser = subparsers.add_parser(
        "train",
        help="train the tutorial's CIFAR-10 CNN and write a run directory",
        description="Train the tutorial's CIFAR-10 CNN (or the synthetic stand-in) and write a run directory.",
    )
    _configure(parser)
    parser.set_defaults(func=run_train, handler=run_train)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The stand-alone parser used by ``python -m lossviz.cli.train``."""
    return _configure(
        OneLineErrorParser(prog="python -m lossviz train", description="Train the tutorial's CIFAR-10 CNN.")
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    dataset = "synthetic" if args.synthetic else "cifar10" if args.cifar10 or args.download else "auto"
    return TrainConfig(
        dataset=dataset,
        data_dir=args.data_dir,
        download=bool(args.download),
        synthetic_train=args.synthetic_train,
        synthetic_test=args.synthetic_test,
        relu=bool(args.relu),
        loss=args.loss,
        label_smoothing=args.label_smoothing,
        margin=args.margin,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        max_batches=args.max_batches,
        device=args.device,
        threads=args.threads,
        evaluate=not args.no_eval,
        amp=bool(getattr(args, "amp", False)),
    )


class ProgressBar:
    """A one-line progress bar on a terminal, or a line every 10% when stderr is not a terminal."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 28) -> None:
        self.total = max(1, total)
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_decile = -1
        self._last_step = -1

    def update(
        self, step: int, loss: float | None, speed: float | None, eta: float | None, force: bool = False
    ) -> None:
        frac = min(1.0, step / self.total)
        now = time.monotonic()
        if force and step == self._last_step and not self.tty:
            return
        if self.tty:
            if not force and now - self._last_draw < 0.1:
                return
        else:
            decile = int(frac * 10)
            if not force and decile == self._last_decile:
                return
            self._last_decile = decile
        self._last_draw = now
        self._last_step = step
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        loss_s = f"{loss:.4f}" if loss is not None and math.isfinite(loss) else "—"
        speed_s = f"{speed:,.0f} img/s" if speed else "— img/s"
        eta_s = format_eta(eta)
        line = f"[{bar}] {100 * frac:5.1f}% step {step}/{self.total} loss {loss_s} {speed_s} ETA {eta_s}"
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _init_distributed(dist: DistInfo, device: str) -> str | None:
    """Join torchrun's process group (gloo on CPU, nccl on CUDA); None when training alone."""
    if dist.world_size == 1:
        return None
    import torch
    import torch.distributed as tdist

    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(dist.local_rank % torch.cuda.device_count())
    tdist.init_process_group(backend=backend)
    return backend


def run_train(args: argparse.Namespace) -> int:
    """Train as ``args`` say; returns the exit status.

    0 finished or stopped, 1 diverged or failed (e.g. a full disk), 2 bad input, 130 Ctrl-C.
    SIGTERM and SIGINT stop the run after the current batch (it is saved as "stopped"); the run
    directory's control.json pauses, resumes or stops it too. Under torchrun every rank runs this;
    only global rank 0 writes the run directory and talks on stderr.
    """
    dist = DistInfo.from_env()
    state: dict[str, Any] = {"trainer": None, "signal": None}

    def on_signal(signum: int, frame: Any) -> None:
        state["signal"] = signum
        if state["trainer"] is not None:
            state["trainer"].stop()

    previous = {}
    if _main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        return _train_process(args, dist, state)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _warm_imports() -> None:
    """Import torch._dynamo, which the first optimizer pulls in (about a second), in a thread while
    the main thread makes or loads the data: the first chart point comes that much sooner."""
    import importlib

    try:
        importlib.import_module("torch._dynamo")
    except Exception:  # noqa: BLE001 - only a head start; the optimizer imports it again if needed
        pass


def _train_process(args: argparse.Namespace, dist: DistInfo, state: dict[str, Any]) -> int:
    main = dist.is_main
    threading.Thread(target=_warm_imports, name="lossviz-warm-imports", daemon=True).start()
    try:
        config = config_from_args(args)
        backend = _init_distributed(dist, str(config.device).strip().lower())
    except LossvizInputError as exc:
        record_error(exc.message)
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT
    try:
        try:
            trainer = Trainer(
                config,
                runs_dir=args.runs_dir,
                run_name=args.name,
                dist=dist,
                tensorboard=not getattr(args, "no_tensorboard", False),
            )
        except LossvizInputError as exc:
            record_error(exc.message)
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_INPUT
        state["trainer"] = trainer
        if state["signal"] is not None:  # stopped while the data was loading
            trainer.stop()
        quiet = bool(getattr(args, "quiet", False)) or not main
        if main:
            workers = f", {dist.world_size} workers ({backend})" if dist.world_size > 1 else ""
            sys.stderr.write(
                f"run {trainer.run_name} -> {trainer.run_dir}\n"
                f"data: {trainer.dataset_label} ({len(trainer.data.train):,} train / {len(trainer.data.test):,} "
                f"test images), device {trainer.device}{workers}, {trainer.total_steps} steps\n"
            )
            if trainer.data.synthetic:
                sys.stderr.write(
                    "note: training on the SYNTHETIC set (CIFAR-shaped noise patterns), not real CIFAR-10\n"
                )
        bar = None if quiet else ProgressBar(trainer.total_steps)
        if bar is not None:

            def show(record: dict[str, Any]) -> None:
                if record.get("kind") == "batch":
                    bar.update(trainer.step, record.get("loss"), record.get("images_per_s"), trainer.eta_seconds())

            trainer.on_record = show
        status = trainer.run()
        if bar is not None:
            rec = trainer.last_record or {}
            bar.update(trainer.step, rec.get("loss"), rec.get("images_per_s"), trainer.eta_seconds(), force=True)
            bar.close()
    finally:
        if dist.world_size > 1:
            import torch.distributed as tdist

            if tdist.is_initialized():
                tdist.destroy_process_group()
    if not main:
        return EXIT_FAILED if status in ("diverged", "failed") else EXIT_OK
    ev = trainer.last_eval
    tail = f", test loss {ev['test_loss']:.4f}, test accuracy {100 * ev['test_accuracy']:.1f}%" if ev else ""
    if status == "diverged":
        sys.stderr.write(f"diverged: {trainer.message}\n")
        return EXIT_FAILED
    if status == "failed":
        sys.stderr.write(f"error: {trainer.message}\n")
        return EXIT_FAILED
    sys.stderr.write(f"{status}: {trainer.step} steps{tail}. Run directory: {trainer.run_dir}\n")
    return EXIT_INTERRUPTED if state["signal"] == signal.SIGINT else EXIT_OK


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_train(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
