"""The explorer: the one Example (with its URL codec), presets, lessons, derivations, snippets and figures."""

from __future__ import annotations

from lossviz.explore.codegen import snippet
from lossviz.explore.example import DEFAULT_LOSS, Example, allowed_transforms
from lossviz.explore.explain import (
    Agreement,
    Derivation,
    Step,
    agreement,
    explain,
    explained_losses,
    has_derivation,
)
from lossviz.explore.figures import make_grad_figure, make_loss_figure, make_tensor_figure
from lossviz.explore.grid import GRID_MAX, EmptyCell, grid_rows, grid_text
from lossviz.explore.lessons import (
    Computation,
    Lesson,
    LessonStep,
    get_lesson,
    lesson_from_query,
    list_lessons,
)
from lossviz.explore.presets import (
    Preset,
    default_texts,
    get_preset,
    list_presets,
    loss_labels,
    preset_titles,
    random_texts,
)

__all__ = [
    "GRID_MAX",
    "Computation",
    "Lesson",
    "LessonStep",
    "get_lesson",
    "lesson_from_query",
    "list_lessons",
    "EmptyCell",
    "agreement",
    "grid_rows",
    "grid_text",
    "DEFAULT_LOSS",
    "Agreement",
    "Derivation",
    "Example",
    "Preset",
    "Step",
    "allowed_transforms",
    "default_texts",
    "explain",
    "explained_losses",
    "get_preset",
    "has_derivation",
    "list_presets",
    "loss_labels",
    "preset_titles",
    "make_grad_figure",
    "make_loss_figure",
    "make_tensor_figure",
    "random_texts",
    "snippet",
]
