"""``python -m lossviz train``: the training page's trainer without a browser.

Writes the same run directory the page reads (so the page can follow a CLI run live) and draws
a plain progress bar on stderr. Bad input: exit status 2 and one ``error: ...`` line. The help, the
progress and the summary are in ``--lang`` (en or zh), else the language of ``LC_ALL`` / ``LC_MESSAGES`` /
``LANG``; ``error:`` / ``warning:`` keep their English prefix.

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

from lossviz.cli.parsing import LANG_HELP, OneLineErrorParser, add_subcommand, argv_lang
from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, cli_lang, gettext, render
from lossviz.training.figures import format_eta
from lossviz.training.procs import guard_torchrun_worker
from lossviz.training.runs import record_error
from lossviz.training.trainer import CLASSIFICATION_LOSSES, OPTIMIZERS, DistInfo, TrainConfig, Trainer

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_DIVERGED = EXIT_FAILED

#: What ``train`` writes on stderr (``error:`` and ``warning:`` keep their English prefix: tools grep them).
PROGRESS = N_("[{bar}] {percent} step {step}/{total} loss {loss} {speed} ETA {eta}")
SPEED = N_("{n} img/s")
RUN_LINE = N_("run {name} -> {path}")
DATA_LINE = N_("data: {data} ({train} train / {test} test images), device {device}, {steps} steps")
DATA_LINE_WORKERS = N_(
    "data: {data} ({train} train / {test} test images), device {device}, {workers} workers ({backend}), "
    "{steps} steps"
)
SYNTHETIC_NOTE = N_("note: training on the SYNTHETIC set (CIFAR-shaped noise patterns), not real CIFAR-10")
DIVERGED_LINE = N_("diverged: {message}")
#: The last line, by final status: (with a test-set evaluation, without one).
SUMMARY_LINES = {
    "finished": (
        N_("finished: {steps} steps, test loss {loss}, test accuracy {accuracy}. Run directory: {path}"),
        N_("finished: {steps} steps. Run directory: {path}"),
    ),
    "stopped": (
        N_("stopped: {steps} steps, test loss {loss}, test accuracy {accuracy}. Run directory: {path}"),
        N_("stopped: {steps} steps. Run directory: {path}"),
    ),
}


def _configure(parser: argparse.ArgumentParser, lang: str = "en", lang_default: Any = None) -> argparse.ArgumentParser:
    """Add the training options to ``parser``, their help in ``lang``."""

    def t(text: str) -> str:
        return gettext(text, lang)

    d = TrainConfig()
    data = parser.add_argument_group(t(N_("data")))
    src = data.add_mutually_exclusive_group()
    src.add_argument("--synthetic", action="store_true", help=t(N_("train on the synthetic CIFAR-shaped set")))
    src.add_argument(
        "--cifar10", action="store_true", help=t(N_("train on real CIFAR-10 (error if it is not on disk)"))
    )
    src.add_argument(
        "--digits", action="store_true",
        help=t(N_("train on scikit-learn's real handwritten digits (offline; the default without CIFAR-10)")),
    )  # fmt: skip
    src.add_argument(
        "--image-folder", default=None, metavar="DIR",
        help=t(N_("train on your own pictures: DIR holds one subfolder of images per class (2 to 10)")),
    )  # fmt: skip
    data.add_argument(
        "--data-dir",
        default=None,
        help=t(N_("folder holding cifar-10-batches-py/ (default $LOSSVIZ_DATA or ./data)")),
    )
    data.add_argument(
        "--download", action="store_true",
        help=t(N_("download CIFAR-10 first if it is missing (needs internet)")),
    )  # fmt: skip
    data.add_argument(
        "--synthetic-train",
        type=int,
        default=d.synthetic_train,
        metavar="N",
        help=t(N_("synthetic training images")),
    )
    data.add_argument(
        "--synthetic-test", type=int, default=d.synthetic_test, metavar="N", help=t(N_("synthetic test images"))
    )
    model = parser.add_argument_group(t(N_("model and loss")))
    model.add_argument(
        "--relu", action="store_true", help=t(N_("add ReLU after each conv and the first linear layer"))
    )
    model.add_argument("--loss", default=d.loss, choices=list(CLASSIFICATION_LOSSES), help=t(N_("loss function")))
    model.add_argument(
        "--label-smoothing", type=float, default=d.label_smoothing, help=t(N_("CrossEntropyLoss label smoothing"))
    )
    model.add_argument("--margin", type=float, default=d.margin, help=t(N_("MultiMarginLoss margin")))
    opt = parser.add_argument_group(t(N_("optimisation")))
    opt.add_argument("--optimizer", default=d.optimizer, choices=list(OPTIMIZERS), help=t(N_("optimizer")))
    opt.add_argument("--lr", type=float, default=d.lr, help=t(N_("learning rate")))
    opt.add_argument("--momentum", type=float, default=d.momentum, help=t(N_("SGD momentum")))
    opt.add_argument("--batch-size", type=int, default=d.batch_size, help=t(N_("images per batch")))
    opt.add_argument("--epochs", type=int, default=d.epochs, help=t(N_("passes over the training set")))
    opt.add_argument("--seed", type=int, default=d.seed, help=t(N_("random seed")))
    opt.add_argument("--max-batches", type=int, default=None, metavar="N", help=t(N_("stop after N batches")))
    opt.add_argument(
        "--train-subset", type=int, default=None, metavar="N",
        help=t(N_("train on the first N training images only (with --batch-size N: full-batch gradient descent)")),
    )  # fmt: skip
    opt.add_argument(
        "--sharpness-every", type=int, default=0, metavar="K",
        help=t(N_("measure the sharpness (top Hessian eigenvalue) every K steps (0: off)")),
    )  # fmt: skip
    opt.add_argument(
        "--sharpness-images", type=int, default=d.sharpness_images, metavar="N",
        help=t(N_("training images in the fixed batch the sharpness is measured on")),
    )  # fmt: skip
    opt.add_argument(
        "--no-eval", action="store_true", help=t(N_("skip the test-set evaluation after each epoch"))
    )
    run = parser.add_argument_group(t(N_("machine and output")))
    run.add_argument(
        "--device", default=d.device, help=t(N_("auto (cuda, then mps, then cpu), cpu, cuda or mps"))
    )
    run.add_argument(
        "--threads", type=int, default=None,
        help=t(N_("torch CPU threads per process (default: torch's choice)")),
    )  # fmt: skip
    run.add_argument(
        "--amp", action="store_true", help=t(N_("bf16 autocast for the forward pass (CUDA, or CPU)"))
    )
    run.add_argument(
        "--no-tensorboard", action="store_true", help=t(N_("do not write TensorBoard event files"))
    )
    run.add_argument(
        "--runs-dir", default=None, help=t(N_("where runs are written (default $LOSSVIZ_RUNS or ./runs)"))
    )
    run.add_argument("--name", default=None, help=t(N_("run name (default: date, data, optimizer, lr)")))
    run.add_argument("--quiet", action="store_true", help=t(N_("no progress bar, only the final line")))
    run.add_argument("--lang", default=lang_default, help=t(LANG_HELP))
    return parser


def add_train_parser(subparsers: Any, lang: str = "en") -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an argparse subparsers object; its handler is :func:`run_train`.

    Its help is in ``lang``; its ``--lang`` leaves the main parser's value alone when not given."""
    parser = add_subcommand(
        subparsers,
        "train",
        lang,
        help=gettext(N_("train the tutorial's CIFAR-10 CNN and write a run directory"), lang),
        description=gettext(
            N_("Train the tutorial's CIFAR-10 CNN (or the synthetic stand-in) and write a run directory."), lang
        ),
    )
    _configure(parser, lang, lang_default=argparse.SUPPRESS)
    parser.set_defaults(func=run_train, handler=run_train)
    return parser


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """The stand-alone parser used by ``python -m lossviz.cli.train``, its help in ``lang``
    (default: the environment's language)."""
    lang = cli_lang(lang)
    parser = OneLineErrorParser(
        prog="python -m lossviz train", description=gettext(N_("Train the tutorial's CIFAR-10 CNN."), lang), lang=lang
    )
    return _configure(parser, lang)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    dataset = (
        "synthetic" if args.synthetic else "digits" if getattr(args, "digits", False)
        else "folder" if getattr(args, "image_folder", None)
        else "cifar10" if args.cifar10 or args.download else "auto"
    )  # fmt: skip
    return TrainConfig(
        dataset=dataset,
        data_dir=args.data_dir,
        image_folder=getattr(args, "image_folder", None),
        train_subset=getattr(args, "train_subset", None),
        sharpness_every=getattr(args, "sharpness_every", 0) or 0,
        sharpness_images=getattr(args, "sharpness_images", 512),
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
    """A one-line progress bar on a terminal, or a line every 10% when stderr is not a terminal; in ``lang``."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 28, lang: str = "en") -> None:
        self.total = max(1, total)
        self.stream = stream if stream is not None else sys.stderr  # the one in use now, not at import
        self.width = width
        self.lang = lang
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
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
        percent = f"{100 * frac:5.1f}%"
        loss_s = f"{loss:.4f}" if loss is not None and math.isfinite(loss) else "—"
        speed_n = f"{speed:,.0f}" if speed else "—"
        speed_s = gettext(SPEED, self.lang, n=speed_n)
        line = gettext(PROGRESS, self.lang, bar=bar, percent=percent, step=step, total=self.total, loss=loss_s,
                       speed=speed_s, eta=format_eta(eta))  # fmt: skip
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
    guard_torchrun_worker()  # a worker ends with its torchrun agent, even one killed with SIGKILL
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
    lang = cli_lang(getattr(args, "lang", None))
    threading.Thread(target=_warm_imports, name="lossviz-warm-imports", daemon=True).start()
    try:
        config = config_from_args(args)
        backend = _init_distributed(dist, str(config.device).strip().lower())
    except LossvizInputError as exc:
        record_error(exc.message)
        sys.stderr.write(f"error: {_one_line(render(exc, lang))}\n")
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
            sys.stderr.write(f"error: {_one_line(render(exc, lang))}\n")
            return EXIT_INPUT
        state["trainer"] = trainer
        if state["signal"] is not None:  # stopped while the data was loading
            trainer.stop()
        quiet = bool(getattr(args, "quiet", False)) or not main
        if main:
            data = {
                "data": gettext(trainer.dataset_label, lang),
                "train": f"{len(trainer.data.train):,}",
                "test": f"{len(trainer.data.test):,}",
                "device": trainer.device,
                "steps": trainer.total_steps,
            }
            if dist.world_size > 1:
                data_line = gettext(DATA_LINE_WORKERS, lang, workers=dist.world_size, backend=backend, **data)
            else:
                data_line = gettext(DATA_LINE, lang, **data)
            sys.stderr.write(gettext(RUN_LINE, lang, name=trainer.run_name, path=trainer.run_dir) + "\n")
            sys.stderr.write(data_line + "\n")
            if trainer.data.synthetic:
                sys.stderr.write(gettext(SYNTHETIC_NOTE, lang) + "\n")
        bar = None if quiet else ProgressBar(trainer.total_steps, lang=lang)
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
    if status == "diverged":
        sys.stderr.write(gettext(DIVERGED_LINE, lang, message=_one_line(render(trainer.note, lang))) + "\n")
        return EXIT_FAILED
    if status == "failed":
        sys.stderr.write(f"error: {_one_line(render(trainer.note, lang))}\n")
        return EXIT_FAILED
    sys.stderr.write(summary_line(status, trainer.step, trainer.last_eval, trainer.run_dir, lang) + "\n")
    return EXIT_INTERRUPTED if state["signal"] == signal.SIGINT else EXIT_OK


def summary_line(status: str, steps: int, ev: dict[str, Any] | None, run_dir: object, lang: str = "en") -> str:
    """The last line of a run that ended without an error, in ``lang``.

    Example:
        >>> summary_line("finished", 5, {"test_loss": 2.3, "test_accuracy": 0.1}, "runs/x")
        'finished: 5 steps, test loss 2.3000, test accuracy 10.0%. Run directory: runs/x'
    """
    with_eval, without = SUMMARY_LINES.get(status, SUMMARY_LINES["finished"])
    if ev:
        loss = f"{ev['test_loss']:.4f}"
        accuracy = f"{100 * ev['test_accuracy']:.1f}%"
        return gettext(with_eval, lang, steps=steps, loss=loss, accuracy=accuracy, path=run_dir)
    return gettext(without, lang, steps=steps, path=run_dir)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv_lang(argv)).parse_args(argv)
    return run_train(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
