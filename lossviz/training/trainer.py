"""The training loop behind ``python -m lossviz train`` (which the training page starts as a process).

A :class:`Trainer` trains the tutorial's CNN in the calling process (it never imports streamlit),
alone or as one rank of a ``torchrun`` job (DistributedDataParallel). Every batch produces one record::

    {"kind": "batch", "step", "epoch", "batch", "loss", "grad_norm", "layer_grad_norms": {name: norm},
     "lr", "batch_accuracy", "images_per_s", "time"}

and every finished epoch one ``{"kind": "eval", "test_loss", "test_accuracy", ...}`` record
(:class:`~lossviz.training.metrics.BatchRecord`, :class:`~lossviz.training.metrics.EvalRecord`).
Metrics registered with a compute hook (:mod:`lossviz.training.metrics`) add their keys on the
steps they are due.
Records go to the run's metrics.jsonl, its TensorBoard event file, an in-memory
:class:`~lossviz.training.metrics_log.MetricsLog` and the ``on_record`` callback. Pause and stop
come from :meth:`Trainer.pause`/:meth:`Trainer.stop` (signal handlers call them) or from the run
directory's control.json, and are checked before each batch; under torchrun the ranks agree on
them in the same all-reduce that sums the batch's loss, so every rank stops at the same step.

The gradient norms stay on the device (``torch._foreach_norm``) and are copied to the host
together with the loss and the accuracy in one transfer per batch.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses import chance_loss as _chance_loss
from lossviz.losses import get_loss, training_loss, training_losses
from lossviz.training import curvature, predictions
from lossviz.training.data import DATASET_KINDS, DatasetBundle, load_dataset, train_subset
from lossviz.training.health import ALARMS_FILE, HealthMonitor
from lossviz.training.metrics import MetricPlan, StepContext, clean_number, record_columns
from lossviz.training.metrics_log import MetricsLog
from lossviz.training.model import build_model, layer_labels, parameter_names, resolve_device
from lossviz.training.runs import ControlFile, RunWriter, jsonable, message_json, write_failure_message
from lossviz.training.snapshots import SnapshotRecorder

#: Losses from torch.nn that fit 10-class classification from raw scores, with how they are applied
#: (each loss's spec says so: LossSpec.training).
CLASSIFICATION_LOSSES: dict[str, str] = training_losses()
OPTIMIZERS = ("sgd", "adam")


def training_options(loss: str) -> tuple[str, ...]:
    """The settings a classification loss takes when it trains (``"label_smoothing"``, ``"margin"``), from its spec."""
    use = get_loss(loss).training
    return tuple(use.options) if use is not None else ()
STATUSES = ("ready", "running", "paused", "finished", "stopped", "diverged", "failed")
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 4096
EVAL_BATCH = 500


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; :meth:`validated` checks it and raises LossvizInputError.

    Defaults follow the tutorial (its network without activations, CrossEntropyLoss, SGD with
    lr 0.01) with a batch size of 64 instead of 1 and momentum 0.9 so a class sees progress quickly.
    """

    dataset: str = "auto"
    data_dir: str | None = None
    image_folder: str | None = None  # dataset="folder": class subfolders of pictures (data.load_image_folder)
    download: bool = False
    synthetic_train: int = 10_000
    synthetic_test: int = 2_000
    train_subset: int | None = None  # H6: only the first N training images (full-batch GD: batch_size = N)
    sharpness_every: int = 0  # H6: λ_max of the loss's Hessian every K steps (0: off), lossviz.training.curvature
    sharpness_images: int = 512  # the fixed batch it is measured on (the first N training images)
    relu: bool = False
    loss: str = "CrossEntropyLoss"
    label_smoothing: float = 0.0
    margin: float = 1.0
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 64
    epochs: int = 2
    seed: int = 0
    max_batches: int | None = None
    device: str = "auto"
    threads: int | None = None
    evaluate: bool = True
    amp: bool = False

    def validated(self) -> TrainConfig:
        """This config with names normalised, or LossvizInputError naming the bad value and the fix."""

        def number(name: str, value: Any, lo: float, hi: float, integer: bool = False) -> Any:
            ok = isinstance(value, int) if integer else isinstance(value, int | float)
            # exact comparison before any float(): a 401-digit integer is out of range, not an OverflowError
            if isinstance(value, bool) or not ok or math.isnan(clean_number(value, lo, hi)):
                if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) > 20:
                    value = f"{str(value)[:8]}…({len(str(abs(value)))} digits)"
                text = (
                    N_("{name}={value!r} is out of range: give a whole number from {lo} to {hi}")
                    if integer
                    else N_("{name}={value!r} is out of range: give a number from {lo} to {hi}")
                )
                raise LossvizInputError(Message(text, dict(name=name, value=value, lo=f"{lo:g}", hi=f"{hi:g}")))
            return value

        dataset = str(self.dataset).strip().lower().replace("-", "")
        if dataset not in DATASET_KINDS:
            raise LossvizInputError(
                msg("dataset {name!r} is unknown: choose one of {choices}", name=self.dataset, choices=", ".join(DATASET_KINDS))
            )
        loss = next((k for k in CLASSIFICATION_LOSSES if k.lower() == str(self.loss).strip().lower()), None)
        if loss is None:
            raise LossvizInputError(
                msg(
                    "loss {name!r} does not fit 10-class training here: choose one of {choices}",
                    name=self.loss,
                    choices=", ".join(CLASSIFICATION_LOSSES),
                )
            )
        optimizer = str(self.optimizer).strip().lower()
        if optimizer not in OPTIMIZERS:
            raise LossvizInputError(msg("optimizer {name!r} is unknown: choose sgd or adam", name=self.optimizer))
        number("lr", self.lr, 1e-8, 1e6)
        if self.lr <= 0:
            raise LossvizInputError(msg("lr must be greater than 0: try 0.01 for SGD or 0.001 for Adam"))
        number("momentum", self.momentum, 0.0, 0.999)
        number("label_smoothing", self.label_smoothing, 0.0, 0.99)
        number("margin", self.margin, 0.0, 100.0)
        number("batch_size", self.batch_size, 1, MAX_BATCH_SIZE, integer=True)
        number("epochs", self.epochs, 1, MAX_EPOCHS, integer=True)
        number("seed", self.seed, 0, 2**31 - 1, integer=True)
        number("synthetic_train", self.synthetic_train, 10, 200_000, integer=True)
        number("synthetic_test", self.synthetic_test, 10, 200_000, integer=True)
        number("sharpness_every", self.sharpness_every, 0, 10**6, integer=True)
        number("sharpness_images", self.sharpness_images, 8, 4096, integer=True)
        if self.train_subset is not None:
            number("train_subset", self.train_subset, 8, 200_000, integer=True)
        if self.max_batches is not None:
            number("max_batches", self.max_batches, 1, 10**9, integer=True)
        if self.threads is not None:
            number("threads", self.threads, 1, max(1, os.cpu_count() or 1) * 4, integer=True)
        if "label_smoothing" not in get_loss(loss).training.options and self.label_smoothing:
            raise LossvizInputError(
                msg("label_smoothing only applies to CrossEntropyLoss: set it to 0 or pick CrossEntropyLoss")
            )
        resolve_device(str(self.device))  # raises if unknown or unavailable
        return replace(
            self, dataset=dataset, loss=loss, optimizer=optimizer, device=str(self.device).strip().lower()
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict, ignoring keys that are not config fields (e.g. a saved config.json)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def make_loss(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss as a function of (scores, labels), as its spec's training use says (NLLLoss: log_softmax first)."""
    return training_loss(config.loss, label_smoothing=config.label_smoothing, margin=config.margin)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a torchrun job (``world_size == 1``: training alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DistInfo:
        """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK (absent: a single process)."""
        env = os.environ if env is None else env

        def whole(key: str, default: int) -> int:
            text = str(env.get(key, "")).strip()
            return int(text) if text.isdigit() else default

        return cls(whole("RANK", 0), max(1, whole("WORLD_SIZE", 1)), whole("LOCAL_RANK", 0))


def check_workers(batch_size: int, workers: int) -> None:
    """LossvizInputError unless every worker gets at least one image of each (global) batch."""
    if batch_size < workers:
        raise LossvizInputError(
            msg(
                "batch size {batch} is smaller than the {workers} workers: give every worker at least one image per batch",
                batch=batch_size,
                workers=workers,
            )
        )


def shard(index: torch.Tensor, dist: DistInfo) -> torch.Tensor:
    """This rank's part of a global batch (contiguous, sizes differ by at most one)."""
    if dist.world_size == 1:
        return index
    return index.tensor_split(dist.world_size)[dist.rank]


def make_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)


def divergence_advice(config: TrainConfig, step: int, value: float, what: str = "loss") -> Message:
    """A plain sentence saying the run blew up and what to try (``what``: "loss" or "gradient norm")."""
    lr = f"{config.lr / 10:g}"
    if config.optimizer == "sgd" and config.momentum > 0:
        tip = msg("a learning rate 10 times smaller (lr={lr}), or less momentum, or Adam with lr=0.001", lr=lr)
    elif config.optimizer == "sgd":
        tip = msg("a learning rate 10 times smaller (lr={lr}), or Adam with lr=0.001", lr=lr)
    else:
        tip = msg("a learning rate 10 times smaller (lr={lr})", lr=lr)
    quantity = msg("gradient norm") if what == "gradient norm" else msg("loss")
    return msg(
        "Training diverged: the {what} became {value} at step {step}. The steps were too large and the "
        "weights blew up. Try {tips}.",
        what=quantity,
        value=str(value),
        step=step,
        tips=tip,
    )


def batch_tensors(
    loss: torch.Tensor, scores: torch.Tensor, target: torch.Tensor, params: list[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """On the device: ``[loss, correct count]`` (summed across ranks under torchrun) and
    ``[total grad norm, norm of each param's grad...]`` (of the synchronized gradients, so the same
    on every rank). The norms use ``torch._foreach_norm``; the total is the L2 norm of the
    per-tensor norms, which equals the L2 norm over all gradient entries."""
    norms = torch.stack(torch._foreach_norm([p.grad for p in params]))
    total = torch.linalg.vector_norm(norms)
    correct = (scores.detach().argmax(dim=1) == target).sum()
    summed = torch.stack([loss.detach().float(), correct.float()])
    return summed, torch.cat([total.reshape(1), norms])


def batch_statistics(
    loss: torch.Tensor, scores: torch.Tensor, target: torch.Tensor, params: list[torch.Tensor]
) -> list[float]:
    """``[loss, total grad norm, correct count, norm of each param's grad...]`` in one host transfer."""
    summed, norms = batch_tensors(loss, scores, target, params)
    return torch.cat([summed[:1], norms[:1], summed[1:], norms[1:]]).tolist()


def chance_loss(loss: str, margin: float = 1.0, num_classes: int = 10) -> float:
    """The loss of a network that cannot tell the classes apart (all scores equal).

    CrossEntropyLoss and NLLLoss: ln(10) ≈ 2.30 (label smoothing does not change it);
    MultiMarginLoss: (C - 1) / C · margin.
    """
    return _chance_loss(loss, num_classes, margin=margin)


def recommended_threads(leave_free: int = 1) -> int:
    """Torch threads for training next to a live page: all cores but ``leave_free``, at least one.

    On a small machine a training loop that takes every core starves the page and the browser,
    and their drawing in turn stalls the loop's parallel sections; keeping one core free is faster
    for both.
    """
    return max(1, (os.cpu_count() or 1) - leave_free)


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    """Batches in one pass over the data (the last, smaller batch is kept, like DataLoader)."""
    return max(1, math.ceil(n_images / batch_size))


class Trainer:
    """Trains the tutorial's CNN in the calling thread (:meth:`run`); one rank of a torchrun job when
    ``dist.world_size > 1`` (the process group must be initialised; only rank 0 writes the run).

    Creating a Trainer validates the config, loads the data and creates the run directory, so every
    input problem surfaces as a LossvizInputError before training starts.

    Example:
        >>> t = Trainer(TrainConfig(dataset="synthetic", max_batches=5), runs_dir=tmp)  # doctest: +SKIP
        >>> t.run()  # doctest: +SKIP
        'finished'
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        runs_dir: str | os.PathLike[str] | None = None,
        run_name: str | None = None,
        dataset: DatasetBundle | None = None,
        write_run: bool = True,
        dist: DistInfo | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        tensorboard: bool = True,
    ) -> None:
        self.config = config.validated()
        self.dist = dist or DistInfo()
        check_workers(self.config.batch_size, self.dist.world_size)
        self.device = resolve_device(self.config.device)
        if self.device.type == "cuda" and self.dist.world_size > 1:
            self.device = torch.device("cuda", self.dist.local_rank % max(1, torch.cuda.device_count()))
        c = self.config
        # threads first: making the synthetic set with torch's default (every core) on a busy small
        # machine takes seconds longer than with the threads the run will train with
        if c.threads:
            torch.set_num_threads(int(c.threads))
        elif self.dist.world_size > 1 and self.device.type == "cpu":
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.dist.world_size))
        self.data = dataset or load_dataset(
            c.dataset,
            c.data_dir,
            download=c.download and self.dist.local_rank == 0,
            synthetic_seed=c.seed,
            synthetic_train=c.synthetic_train,
            synthetic_test=c.synthetic_test,
            image_folder=c.image_folder,
        )
        self.data = train_subset(self.data, c.train_subset)
        self.dataset_label = self.data.label
        self.steps_per_epoch = steps_per_epoch(len(self.data.train), c.batch_size)
        total = self.steps_per_epoch * c.epochs
        self.total_steps = min(total, c.max_batches) if c.max_batches else total
        self.log = MetricsLog()
        self.on_record = on_record
        self.status = "ready"
        self._ending = "finished"  # how the loop ended; published to ``status`` after the summary
        self.note: Message | str = ""  # how the run ended, as a Message (``message`` is its English text)
        self.step = 0
        self.epoch = 0
        self.last_record: dict[str, Any] | None = None
        self.last_eval: dict[str, Any] | None = None
        self.model: nn.Module | None = None
        self.model_saved = False
        self.error_traceback = ""
        # requests (from signals, methods or control.json) and the decision all ranks agreed on
        self._stop_req = threading.Event()
        self._pause_req = threading.Event()
        self._stop = threading.Event()
        self._paused = False
        self.writer: RunWriter | None = None
        self.tb: Any = None
        self._snapshots: SnapshotRecorder | None = None  # set when training starts
        self.control: ControlFile | None = None
        if write_run and self.dist.is_main:
            self.writer = RunWriter.create(runs_dir, run_name, self.run_config())
            self.control = ControlFile(self.writer.path)
            if tensorboard:
                try:
                    from lossviz.training.tboard import TensorBoardLog

                    self.tb = TensorBoardLog(self.writer.path, layer_labels(build_model(c.relu)))
                except OSError as exc:
                    message = write_failure_message(exc, self.writer.path)
                    try:
                        self.writer.close()
                        self.writer.update_summary(
                            status="failed", message=str(message), message_i18n=message_json(message), finished=time.time()
                        )
                    except OSError:
                        pass
                    raise LossvizInputError(message) from exc
        self.run_name = self.writer.name if self.writer else (run_name or "unsaved")
        self.run_dir: Path | None = self.writer.path if self.writer else None

    # ------------------------------------------------------------------ description

    def run_config(self) -> dict[str, Any]:
        """What goes into config.json: the settings plus what they resolved to."""
        model = build_model(self.config.relu)
        return {
            **self.config.to_dict(),
            "dataset": self.data.kind,
            "dataset_label": self.dataset_label,
            "synthetic": self.data.synthetic,
            "data_source": self.data.source,
            "classes": self.data.classes,
            "n_train": len(self.data.train),
            "n_test": len(self.data.test),
            "device_resolved": str(self.device),
            "world_size": self.dist.world_size,
            "backend": self._backend(),
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "layers": parameter_names(model),
            "model": [str(m) for m in model],
            "torch": torch.__version__,
        }

    def _backend(self) -> str | None:
        if self.dist.world_size == 1:
            return None
        return "nccl" if self.device.type == "cuda" else "gloo"

    @property
    def progress(self) -> float:
        """Fraction of the planned steps done, 0..1."""
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    def eta_seconds(self) -> float | None:
        """Seconds left at the current speed (None before the first batch)."""
        rec = self.last_record
        if not rec or not rec.get("images_per_s"):
            return None
        remaining = (self.total_steps - self.step) * self.config.batch_size
        return max(0.0, remaining / rec["images_per_s"])

    # ------------------------------------------------------------------ a thread, for tests and notebooks

    def start(self) -> Trainer:
        """Run :meth:`run` in a daemon thread (tests, notebooks); the page and the CLI use a process."""
        if getattr(self, "_thread", None) is not None:
            raise LossvizInputError(msg("this run has already been started: start a new run instead"))
        self._thread = threading.Thread(target=self.run, name=f"lossviz-train-{self.run_name}", daemon=True)
        self.status = "running"
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait for :meth:`start`'s thread; True when the run has ended."""
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return self.status not in ("ready", "running", "paused")

    # ------------------------------------------------------------------ controls (safe from signal handlers)

    def pause(self) -> None:
        self._pause_req.set()

    def resume(self) -> None:
        self._pause_req.clear()

    def stop(self) -> None:
        """Ask the loop to stop; it finishes the current batch (or eval batch) and exits."""
        self._stop_req.set()

    @property
    def paused(self) -> bool:
        return self._paused

    def _read_control(self) -> None:
        """Fold control.json into the requests (rank 0 only: the run directory lives there)."""
        if self.control is None:
            return
        state = self.control.poll()
        if state == "stop":
            self._stop_req.set()
        elif state == "pause":
            self._pause_req.set()
        elif state == "run" and self.control.path.exists():
            self._pause_req.clear()

    def _agree(self, summed: torch.Tensor | None = None, local: torch.Tensor | None = None) -> list[float]:
        """Sum ``summed`` plus this rank's stop/pause requests across ranks (one all-reduce), copy it
        and ``local`` to the host in one transfer, and set the agreed stop/pause.

        Returns ``summed`` (reduced) followed by ``local``, without the two flags.
        """
        self._read_control()
        flags = torch.tensor(
            [float(self._stop_req.is_set()), float(self._pause_req.is_set())], device=self.device
        )
        vec = flags if summed is None else torch.cat([summed, flags])
        if self.dist.world_size > 1:
            import torch.distributed as tdist

            tdist.all_reduce(vec)
        k = vec.shape[0] - 2
        host = (vec if local is None else torch.cat([vec, local])).tolist()
        stop, pause = host[k], host[k + 1]
        if stop > 0:
            self._stop.set()
        self._paused = pause > 0 and not self._stop.is_set()
        return host[:k] + host[k + 2 :]

    # ------------------------------------------------------------------ the loop

    def _emit(self, record: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.append(json.dumps(jsonable(record), allow_nan=False), record)
        if self.tb is not None:
            self.tb.add(record)
        self.log.add(record)
        if self.on_record is not None:
            self.on_record(record)

    @property
    def message(self) -> str:
        """How the run ended, in English (the CLI prints it; summary.json keeps :attr:`note` as data)."""
        return str(self.note)

    def _summary_fields(self) -> dict[str, Any]:
        rec = self.last_record or {}
        ev = self.last_eval or {}
        return {
            "status": self.status,
            "message": self.message,
            "message_i18n": message_json(self.note),
            "steps": self.step,
            "epochs_done": self.epoch,
            "total_steps": self.total_steps,
            "last_loss": rec.get("loss"),
            "last_grad_norm": rec.get("grad_norm"),
            "images_per_s": rec.get("images_per_s"),
            "elapsed_s": rec.get("time"),
            "test_loss": ev.get("test_loss"),
            "test_accuracy": ev.get("test_accuracy"),
            "paused": self._paused,
            "model_saved": self.model_saved,
            "world_size": self.dist.world_size,
        }

    def _wait_while_paused(self) -> float:
        """Block while the ranks agree to pause (heartbeat every few seconds); returns the seconds paused."""
        t0 = time.perf_counter()
        # The summary on disk says "paused" before the in-memory status does, so anyone who sees
        # ``status == "paused"`` (the page, a test) can rely on the run directory agreeing.
        if self.writer:
            self.writer.update_summary(**{**self._summary_fields(), "status": "paused"})
        if self.tb is not None:
            self.tb.flush()
        self.status = "paused"
        while self._paused and not self._stop.is_set():
            time.sleep(0.05)
            self._agree()
            if self.writer:
                self.writer.heartbeat(**self._summary_fields())
        if self.writer:
            self.writer.update_summary(**{**self._summary_fields(), "status": "running"})
        self.status = "running"
        return time.perf_counter() - t0

    def run(self) -> str:
        """Train to the end (or until stopped/diverged) in the calling thread; returns the final status.

        Never raises for a failed write: a full disk, a read-only or forbidden folder ends the run as
        "failed" with a plain message (written to summary.json if that still works).
        """
        self.status = "running"
        try:
            self._train()
        except OSError as exc:
            self._ending = "failed"
            self.note = write_failure_message(exc)
            self.error_traceback = traceback.format_exc()
        except Exception as exc:  # the run must always leave a readable summary behind
            self._ending = "failed"
            error = f"{type(exc).__name__}: {exc}"
            self.note = msg("Training stopped with an internal error: {error}", error=error)
            self.error_traceback = traceback.format_exc()
        finally:
            self._finish()
        return self.status

    def _finish(self) -> None:
        """Write the final summary and close the files; each step survives the others failing."""
        if getattr(self, "_plan", None) is not None:
            self._plan.close()  # the forward hooks leave the model
        if self._snapshots is not None:
            self._snapshots.close()  # the last weight snapshots are on disk before the run ends
        if self.tb is not None:
            try:
                self.tb.close()
            except Exception as exc:  # noqa: BLE001 - tensorboard re-raises its writer thread's error
                if self._ending != "failed":
                    self._ending = "failed"
                    self.note = write_failure_message(exc) if isinstance(exc, OSError) else str(exc)
        if self.writer is not None:
            try:
                self.writer.close()
            except OSError as exc:
                if self._ending != "failed":
                    self._ending, self.note = "failed", write_failure_message(exc)
            try:
                self.writer.update_summary(
                    **{**self._summary_fields(), "status": self._ending}, finished=time.time()
                )
            except OSError as exc:
                if self._ending != "failed":
                    self._ending, self.note = "failed", write_failure_message(exc)
        self.data = None  # type: ignore[assignment]  # free the images; the log keeps the curves
        self.status = self._ending

    def _train(self) -> None:
        c = self.config
        device = self.device
        data = self.data.to(device)
        train, test = data.train, data.test
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            model = build_model(c.relu).to(device)
        self.model = model
        net: nn.Module = model
        if self.dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        # weight snapshots for the landscape's path (run_dir is None on ranks other than 0)
        snapshots = self._snapshots = SnapshotRecorder.for_run(self.run_dir, self.total_steps, background=True)
        loss_fn = make_loss(c)
        optimizer = make_optimizer(c, model.parameters())
        params = list(model.parameters())
        names = [n for n, _ in model.named_parameters()]
        monitor = HealthMonitor(layer_labels(model))  # alarms from each record (the per-layer metrics are registered)
        sharp = curvature.in_run_tracker(model, make_loss(c), train, c.sharpness_images) if c.sharpness_every and self.dist.is_main else None
        gen = torch.Generator().manual_seed(c.seed)
        n_train = len(train)
        bs = c.batch_size
        lr = float(c.lr)
        world = self.dist.world_size
        amp = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(c.amp))
        plan = self._plan = MetricPlan(model)  # the registered metrics the loop computes (none due: no cost)
        ctx = StepContext(0, model, names, params, optimizer=optimizer)
        if self.writer is not None:
            self.writer.start_columns(record_columns(names, plan))

        t_start = time.perf_counter()
        paused_total = 0.0
        window: deque[tuple[float, int]] = deque(maxlen=21)  # (active time, images) at recent batch ends
        window.append((0.0, 0))
        images_seen = 0
        self._agree()

        for epoch in range(1, c.epochs + 1):
            if self._stop.is_set() or self.step >= self.total_steps:
                break
            self.epoch = epoch - 1
            perm = torch.randperm(n_train, generator=gen).to(device)
            net.train()
            completed_epoch = True
            for b in range(self.steps_per_epoch):
                if self.step >= self.total_steps:
                    completed_epoch = False
                    break
                if self._paused:
                    paused_total += self._wait_while_paused()
                if self._stop.is_set():
                    completed_epoch = False
                    break
                if snapshots is not None:
                    snapshots.observe(self.step, model)
                idx_global = perm[b * bs : (b + 1) * bs]
                n = int(idx_global.shape[0])
                idx = shard(idx_global, self.dist)
                n_local = int(idx.shape[0])
                x, y = train.batch(idx)
                if plan:
                    plan.begin(self.step + 1)
                with amp:
                    scores = net(x)
                    # a rank whose share of a short last batch is empty still joins DDP's all-reduce
                    loss = loss_fn(scores.float(), y) if n_local else scores.float().sum() * 0.0
                optimizer.zero_grad(set_to_none=True)
                # DDP averages the ranks' gradients; weighting each rank's mean loss by its share of the
                # global batch makes that average the gradient of the global batch's mean loss.
                (loss * (n_local * world / n) if world > 1 else loss).backward()
                host = self._agree(*batch_tensors(loss * n_local, scores, y, params))
                loss_v, correct_v, norm_v = host[0] / n, host[1], host[2]
                step = self.step + 1
                finite = math.isfinite(loss_v) and math.isfinite(norm_v)
                if plan:
                    ctx.step, ctx.loss, ctx.scores, ctx.target = step, loss, scores, y
                    plan.after_backward(ctx)
                    plan.before_step(ctx)
                if finite:
                    optimizer.step()
                if plan:
                    plan.after_step(ctx)
                    ctx.loss = ctx.scores = ctx.target = None
                images_seen += n
                now = time.perf_counter()
                active = now - t_start - paused_total
                window.append((active, images_seen))
                t0, i0 = window[0]
                record = {
                    "kind": "batch",
                    "step": step,
                    "epoch": epoch,
                    "batch": b + 1,
                    "loss": loss_v,
                    "grad_norm": norm_v,
                    "layer_grad_norms": dict(zip(names, host[3:], strict=True)),
                    "lr": lr,
                    "batch_accuracy": correct_v / n,
                    "images_per_s": (images_seen - i0) / (active - t0) if active > t0 else 0.0,
                    "time": now - t_start,
                    **(curvature.record_fields(sharp, step) if sharp and finite and (step == 1 or step % c.sharpness_every == 0) else {}),
                }
                if plan:
                    record.update(plan.fields())
                self.step = step
                self.last_record = record
                self._emit(record)
                self._write_alarms(monitor.observe(record))
                if not finite:
                    bad, what = (loss_v, "loss") if not math.isfinite(loss_v) else (norm_v, "gradient norm")
                    self._ending = "diverged"
                    self.note = divergence_advice(c, step, bad, what)
                    return
                if self.writer is not None:
                    self.writer.heartbeat(**self._summary_fields())
            stopped = self._stop.is_set()
            if completed_epoch and not stopped:
                self.epoch = epoch
            # evaluate after every full epoch, and once at the end of a --max-batches run (rank 0 only)
            last_partial = not completed_epoch and not stopped and self.step >= self.total_steps
            if c.evaluate and self.dist.is_main and not stopped and (completed_epoch or last_partial):
                ev = self._evaluate(model, loss_fn, test, epoch, t_start)
                if ev is not None:
                    self.last_eval = ev
                    self._emit(ev)
            if not stopped:
                self._save_model(model)
            if self.writer is not None:
                self.writer.update_summary(**self._summary_fields())
            if self.tb is not None:
                self.tb.flush()
        if self._stop.is_set():
            self._ending = "stopped"
            self.note = msg("Stopped by request after {step} of {total} steps.", step=self.step, total=self.total_steps)
            if self.step > 0:
                self._save_model(model)
        else:
            self._ending = "finished"
            self.note = msg("Finished {n} steps.", n=self.step)

    def _write_alarms(self, alarms: list[Any]) -> None:
        """Append new health alarms to the run's alarms.jsonl (see lossviz.training.health)."""
        if alarms and self.writer is not None:
            with open(self.writer.path / ALARMS_FILE, "a", encoding="utf-8") as f:
                f.writelines(json.dumps(a.to_json(), allow_nan=False) + "\n" for a in alarms)

    def _save_model(self, model: nn.Module) -> None:
        if self.writer is not None:
            self.writer.save_model(model.state_dict())
            self.model_saved = True

    @torch.no_grad()
    def _evaluate(
        self, model: nn.Module, loss_fn: Callable[..., torch.Tensor], test: Any, epoch: int, t_start: float
    ) -> dict[str, Any] | None:
        """Test loss and accuracy over the whole test split; None if stopped half-way (alone only:
        under torchrun the other ranks wait for rank 0 at the next batch, so it finishes)."""
        model.eval()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        n = len(test)
        answers = []
        for start in range(0, n, EVAL_BATCH):
            if self.dist.world_size == 1 and self._stop_req.is_set():
                model.train()
                return None
            idx = torch.arange(start, min(n, start + EVAL_BATCH), device=self.device)
            x, y = test.batch(idx)
            with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=bool(self.config.amp)):
                scores = model(x).float()
            total_loss += loss_fn(scores, y) * idx.shape[0]
            correct += (scores.argmax(dim=1) == y).sum()
            answers.append(torch.softmax(scores, dim=1).max(dim=1))  # H6: predictions.json
        model.train()
        if self.writer is not None:
            top = torch.cat([a.values for a in answers]), torch.cat([a.indices for a in answers])
            predictions.write(self.run_dir, predictions.build(
                test.images, test.labels, top[1], top[0], self.data.classes, self.step, epoch, self.data.kind))  # fmt: skip
        loss_v, correct_v = torch.stack([total_loss, correct.to(total_loss.dtype)]).tolist()
        return {
            "kind": "eval",
            "step": self.step,
            "epoch": epoch,
            "test_loss": loss_v / n,
            "test_accuracy": correct_v / n,
            "n_test": n,
            "time": time.perf_counter() - t_start,
        }
