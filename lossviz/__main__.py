"""``python -m lossviz``: see lossviz/cli/."""

from __future__ import annotations

import sys

from lossviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
