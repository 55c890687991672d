"""Training: the tutorial CNN, its data, the trainer (a process, torchrun-aware), run directories,
the process manager, metrics, TensorBoard files, what the page decides, figures, and the network's
own loss landscape over its weights (weight_landscape, snapshots)."""

from __future__ import annotations

from lossviz.training import curvature, data, health, predictions, runs, view, weight_landscape
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
from lossviz.training.landscape_figures import (
    make_weight_contour_figure,
    make_weight_line_figure,
    make_weight_surface_figure,
)
from lossviz.training.metrics_log import MetricsLog, MetricsSnapshot
from lossviz.training.model import (
    RELU_EXPLANATION,
    available_devices,
    build_model,
    count_parameters,
    describe_model,
    layer_labels_for,
)
from lossviz.training.snapshots import note_text
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
from lossviz.training.weight_landscape_run import LandscapeJob

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
    "RELU_EXPLANATION",
    "JobManager",
    "LandscapeJob",
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
    "make_weight_contour_figure",
    "make_weight_line_figure",
    "make_weight_surface_figure",
    "note_text",
    "progress_summary",
    "recommended_threads",
    "runs",
    "steps_per_epoch",
    "stop_all_managers",
    "train_command",
    "training_options",
    "view",
    "weight_landscape",
]
