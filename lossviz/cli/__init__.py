"""``python -m lossviz list | eval | train``: the command line."""

from __future__ import annotations

from lossviz.cli.main import main

__all__ = ["main"]
