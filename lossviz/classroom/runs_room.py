"""What the training page needs in a class: which compared runs share their settings, and deleting a
finished run safely (only a folder directly inside the runs folder, never a symlink, never a live run).

Example:
    >>> same_settings({"a": {"lr": 0.1, "seed": 1}, "b": {"lr": 0.1, "seed": 1}, "c": {"lr": 0.2}})
    [('a', 'b')]
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg

#: Config fields that say where or when a run happened, not how it trains (ignored when comparing).
NOT_SETTINGS = frozenset({"name", "started", "run_dir", "data_dir", "dataset_label", "world_size", "device", "threads",
                          "host", "pid", "lossviz_version", "torch_version"})


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in NOT_SETTINGS}


def same_settings(configs: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of runs (in the given order) whose training settings are identical."""
    names = list(configs)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if configs[a] and _settings(configs[a]) == _settings(configs[b]):
                out.append((a, b))
    return out


def delete_run(runs_dir: str | os.PathLike[str], name: str, *, live: bool) -> None:
    """Delete the finished run ``name``: refused while it runs, for a name that is not a plain folder
    directly inside ``runs_dir`` (``..``, a path, a symlink), or when it is not a run folder."""
    if live:
        raise LossvizInputError(msg("Run {name} is still training: stop it before deleting it.", name=name))
    root = Path(runs_dir).resolve()
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name \
            or name.startswith("."):
        raise LossvizInputError(msg("Run {name} is not in the runs folder.", name=str(name)[:80]))
    path = root / name
    if path.is_symlink() or not path.is_dir() or path.resolve().parent != root or not (path / "config.json").is_file():
        raise LossvizInputError(msg("Run {name} is not in the runs folder.", name=name[:80]))
    shutil.rmtree(path)
