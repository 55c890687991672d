"""The explorer's editable grid: which tensors can be shown cell by cell, and the text an edit gives back.

Example:
    >>> rows = grid_rows("1, 2, 3", "input")
    >>> rows.tolist()
    [1, 2, 3]
    >>> grid_text([[1.0, 2.0, 4.0]], "1, 2, 3", "input")
    '[1, 2, 4]'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.losses import format_tensor, parse_tensor


class EmptyCell(LossvizInputError):
    """An edited grid has a cell without a number."""


#: Largest tensor offered as an editable grid.
GRID_MAX = 400


def grid_rows(text: str, slot: str, limit: int = GRID_MAX) -> torch.Tensor | None:
    """The tensor when it can be a small grid (1-D: one row; 2-D: rows), else None."""
    try:
        t = parse_tensor(text, name=slot)
    except LossvizInputError:
        return None
    if t.dim() == 0 or t.dim() > 2 or t.numel() > limit:
        return None
    return t


def grid_text(values: Sequence[Sequence[Any]] | Any, text: str, slot: str) -> str | None:
    """The text for edited grid ``values`` of the tensor written as ``text``; None when nothing changed.

    Whole numbers stay integers when the original was (class indices); an empty cell is refused.
    """
    t = parse_tensor(text, name=slot)
    new = torch.tensor(values, dtype=torch.float64)
    if new.isnan().any():
        raise EmptyCell(msg("{slot}: every cell of the grid needs a number", slot=slot))
    new = new.to(torch.int64) if not t.is_floating_point() and (new == new.round()).all() else new.to(torch.float32)
    new = new.reshape(t.shape)
    if torch.equal(new.to(torch.float64), t.to(torch.float64)):
        return None
    return format_tensor(new)
