"""The argparse flavour every ``python -m lossviz`` command shares."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_BAD_INPUT = 2


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one ``error: ...`` line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)
