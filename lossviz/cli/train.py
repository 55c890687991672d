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
import time
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from lossviz.errors import LossvizInputError
from lossviz.training.trainer import CLASSIFICATION_LOSSES, OPTIMIZERS, TrainConfig, Trainer

EXIT_OK, EXIT_DIVERGED, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one ``error: ...`` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_INPUT)


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
    run.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
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
        _Parser(prog="python -m lossviz train", description="Train the tutorial's CIFAR-10 CNN.")
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
        eta_s = _fmt_eta(eta)
        line = f"[{bar}] {100 * frac:5.1f}% step {step}/{self.total} loss {loss_s} {speed_s} ETA {eta_s}"
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def run_train(args: argparse.Namespace) -> int:
    """Train as ``args`` say; returns the exit status (0 done/stopped, 1 diverged, 2 bad input, 130 Ctrl-C)."""
    try:
        config = config_from_args(args)
        trainer = Trainer(config, runs_dir=args.runs_dir, run_name=args.name)
    except LossvizInputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT
    quiet = bool(getattr(args, "quiet", False))
    sys.stderr.write(
        f"run {trainer.run_name} -> {trainer.run_dir}\n"
        f"data: {trainer.dataset_label} ({len(trainer.data.train):,} train / {len(trainer.data.test):,} test images), "
        f"device {trainer.device}, {trainer.total_steps} steps\n"
    )
    if trainer.data.synthetic:
        sys.stderr.write(
            "note: training on the SYNTHETIC set (CIFAR-shaped noise patterns), not real CIFAR-10\n"
        )
    bar = None if quiet else ProgressBar(trainer.total_steps)
    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted
        interrupted = True
        trainer.stop()

    previous = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
    try:
        trainer.start()
        while not trainer.join(0.1):
            if bar is not None:
                rec = trainer.last_record or {}
                bar.update(trainer.step, rec.get("loss"), rec.get("images_per_s"), trainer.eta_seconds())
        if bar is not None:
            rec = trainer.last_record or {}
            bar.update(
                trainer.step, rec.get("loss"), rec.get("images_per_s"), trainer.eta_seconds(), force=True
            )
            bar.close()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    ev = trainer.last_eval
    tail = f", test loss {ev['test_loss']:.4f}, test accuracy {100 * ev['test_accuracy']:.1f}%" if ev else ""
    if trainer.status == "diverged":
        sys.stderr.write(f"diverged: {trainer.message}\n")
        return EXIT_DIVERGED
    if trainer.status == "failed":
        sys.stderr.write(f"error: {trainer.message}\n")
        return EXIT_DIVERGED
    sys.stderr.write(f"{trainer.status}: {trainer.step} steps{tail}. Run directory: {trainer.run_dir}\n")
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_train(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
