"""Training: the tutorial CNN, its data, the trainer (a process, torchrun-aware), run directories,
weight snapshots, the process manager, metrics, TensorBoard files, what the page decides, figures.

The network's own loss landscape over its weights lives in lossviz.weightspace, which imports this
face (never the other way round)."""

from __future__ import annotations

from lossviz.training import curvature, data, health, predictions, runs, view
from lossviz.training.data import synthetic_test_images
from lossviz.training.figures import (
    make_accuracy_figure,
    make_grad_norm_figure,
    make_layer_grad_figure,
    make_loss_figure,
    make_overlay_figure,
    progress_summary,
)
from lossviz.training.insight_figures import (
    HEALTH_VIEWS,
    make_confusion_figure,
    make_health_heatmap_figure,
    make_prediction_grid_figure,
    make_sharpness_figure,
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
# what lossviz.weightspace reads of a run (h1-weightspace): snapshots, the loss, the synthetic test images
from lossviz.training.snapshots import (
    SNAPSHOT_DIR,
    Snapshot,
    SnapshotRecorder,
    list_snapshot_files,
    load_weights,
    save_weights,
    weights_from_bytes,
)
from lossviz.training.trainer import (
    CLASSIFICATION_LOSSES,
    DistInfo,
    TrainConfig,
    Trainer,
    chance_loss,
    make_loss,
    recommended_threads,
    steps_per_epoch,
    training_options,
)

__all__ = [
    "CLASSIFICATION_LOSSES",
    "HEALTH_VIEWS",
    "curvature",
    "health",
    "make_confusion_figure",
    "make_health_heatmap_figure",
    "make_prediction_grid_figure",
    "make_sharpness_figure",
    "predictions",
    "SNAPSHOT_DIR",
    "Snapshot",
    "SnapshotRecorder",
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
    "list_snapshot_files",
    "load_weights",
    "make_loss",
    "make_accuracy_figure",
    "make_grad_norm_figure",
    "make_layer_grad_figure",
    "make_loss_figure",
    "make_overlay_figure",
    "max_workers",
    "progress_summary",
    "recommended_threads",
    "runs",
    "save_weights",
    "steps_per_epoch",
    "synthetic_test_images",
    "stop_all_managers",
    "train_command",
    "training_options",
    "view",
    "weights_from_bytes",
]
