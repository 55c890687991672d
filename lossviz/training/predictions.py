"""What the network answers on real test pictures: a small file the trainer writes after each evaluation.

``predictions.json`` in the run directory (written atomically)::

    {"step", "epoch", "classes": [...], "dataset": kind, "n_test",
     "images": {"shape": [16, 3, 32, 32], "dtype": "uint8", "base64": ...},   # the real pixels
     "true": [16 ints], "pred": [16 ints], "prob": [16 floats],                 # mistakes first
     "test_index": [16 ints], "confusion": [[C×C ints]]}                         # rows: true, columns: predicted

``prob`` is the softmax of the network's scores for its predicted class.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

PREDICTIONS_FILE = "predictions.json"
GRID = 16


def choose(true: torch.Tensor, pred: torch.Tensor, prob: torch.Tensor, n: int = GRID) -> torch.Tensor:
    """Indices of ``n`` test images: the most confident mistakes first, then the least confident correct ones."""
    wrong = (pred != true).nonzero().flatten()
    right = (pred == true).nonzero().flatten()
    wrong = wrong[torch.argsort(prob[wrong], descending=True, stable=True)]
    right = right[torch.argsort(prob[right], stable=True)]
    return torch.cat([wrong, right])[:n]


def confusion(true: torch.Tensor, pred: torch.Tensor, classes: int) -> list[list[int]]:
    """C×C counts: row = true class, column = predicted class."""
    idx = true.to(torch.int64) * classes + pred.to(torch.int64).clamp(0, classes - 1)
    return torch.bincount(idx, minlength=classes * classes).view(classes, classes).tolist()


def build(images: torch.Tensor, true: torch.Tensor, pred: torch.Tensor, prob: torch.Tensor, classes: list[str],
          step: int, epoch: int, dataset: str) -> dict[str, Any]:  # fmt: skip
    """The predictions record for test ``images`` (uint8 N×3×32×32) with the network's answers."""
    true, pred, prob = true.cpu(), pred.cpu(), prob.cpu().float()
    pick = choose(true, pred, prob)
    pixels = images[pick.to(images.device)].cpu().contiguous().to(torch.uint8).numpy()
    return {
        "step": int(step),
        "epoch": int(epoch),
        "dataset": dataset,
        "classes": list(classes),
        "n_test": int(true.numel()),
        "images": {"shape": list(pixels.shape), "dtype": "uint8", "base64": base64.b64encode(pixels.tobytes()).decode()},
        "true": true[pick].tolist(),
        "pred": pred[pick].tolist(),
        "prob": [round(float(p), 4) for p in prob[pick]],
        "test_index": pick.tolist(),
        "confusion": confusion(true, pred, max(len(classes), int(true.max()) + 1 if true.numel() else 1)),
        "accuracy": float((true == pred).float().mean()) if true.numel() else None,
    }


def write(run_dir: str | os.PathLike[str], record: dict[str, Any]) -> None:
    from lossviz.training.runs import atomic_write_json

    atomic_write_json(Path(run_dir) / PREDICTIONS_FILE, record)


def read(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The last predictions a run wrote, with ``pixels`` decoded (a numpy uint8 N×3×32×32); None if absent or broken."""
    from lossviz.training.runs import read_json

    data = read_json(Path(run_dir) / PREDICTIONS_FILE)
    if not isinstance(data, dict):
        return None
    try:
        meta = data["images"]
        raw = base64.b64decode(meta["base64"])
        data["pixels"] = np.frombuffer(raw, dtype=np.uint8).reshape(meta["shape"])
        n = data["pixels"].shape[0]
        if not (len(data["true"]) == len(data["pred"]) == len(data["prob"]) == n):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return data
