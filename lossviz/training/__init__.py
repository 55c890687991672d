"""Training: the tutorial CNN, its data, the trainer (a process, torchrun-aware), run directories,
the process manager, metrics, TensorBoard files, what the page decides, and figures."""

from __future__ import annotations

from lossviz.training import data, runs, view
from lossviz.training.figures import (
    make_accuracy_figure,
    make_grad_norm_figure,
    make_layer_grad_figure,
    make_loss_figure,
    make_overlay_figure,
    progress_summary,
)
from lossviz.training.jobs import JobManager, max_workers, stop_all_managers, train_command
from lossviz.training.metrics_log import MetricsLog, MetricsSnapshot
from lossviz.training.model import (
    RELU_EXPLANATION,
    available_devices,
    build_model,
    count_parameters,
    describe_model,
    layer_labels_for,
)
from lossviz.training.trainer import (
    CLASSIFICATION_LOSSES,
    DistInfo,
    TrainConfig,
    Trainer,
    chance_loss,
    recommended_threads,
    steps_per_epoch,
    training_options,
)

__all__ = [
    "CLASSIFICATION_LOSSES",
    "RELU_EXPLANATION",
    "JobManager",
    "MetricsLog",
    "MetricsSnapshot",
    "DistInfo",
    "TrainConfig",
    "Trainer",
    "available_devices",
    "build_model",
    "chance_loss",
    "count_parameters",
    "data",
    "describe_model",
    "layer_labels_for",
    "make_accuracy_figure",
    "make_grad_norm_figure",
    "make_layer_grad_figure",
    "make_loss_figure",
    "make_overlay_figure",
    "max_workers",
    "progress_summary",
    "recommended_threads",
    "runs",
    "steps_per_epoch",
    "stop_all_managers",
    "train_command",
    "training_options",
    "view",
]
