"""``python -m lossviz sharpness RUN_DIR --probe-dir DIR``: the top Hessian eigenvalue along a run.

A probe process (the training page starts it through the job manager): it follows the run's weight
snapshots and, for each, estimates λ_max of the training loss on a fixed batch of the run's own
training images (Lanczos on Hessian-vector products, warm-started), writing DIR/sharpness.json
atomically after every point. Bad input: exit 2 and one ``error: ...`` line. ``--json`` prints the
final file's contents as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from lossviz.cli.parsing import LANG_HELP, add_subcommand
from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, cli_lang, gettext, msg, render

EXIT_OK, EXIT_INPUT = 0, 2


def add_sharpness_parser(subparsers: Any, lang: str = "en") -> argparse.ArgumentParser:
    """Add the ``sharpness`` subcommand, its help in ``lang``; its handler is :func:`run_sharpness`."""
    from lossviz.weightspace import sharpness as S

    def t(text: str) -> str:
        return gettext(text, lang)

    p = add_subcommand(
        subparsers,
        "sharpness",
        lang,
        help=t(N_("the top Hessian eigenvalue (sharpness) along a run, against 2/η")),
        description=t(N_("Follow a run's weight snapshots and estimate the top eigenvalue of the training loss's "
                         "Hessian at each, on a fixed batch of its training images.")),
    )  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help=t(N_("a run directory written by 'python -m lossviz train'")))
    p.add_argument("--probe-dir", default=None, help=t(N_("where sharpness.json goes (default RUN_DIR/probes/sharpness)")))
    p.add_argument("--images", type=int, default=S.DEFAULT_IMAGES, help=t(N_("training images in the fixed batch")))
    p.add_argument("--iters", type=int, default=S.DEFAULT_ITERS, help=t(N_("Hessian-vector products for a cold start")))
    p.add_argument("--trace", type=int, default=0, metavar="N", help=t(N_("also estimate the trace with N Hutchinson probes")))
    p.add_argument("--duty", type=float, default=0.5, help=t(N_("largest share of time spent computing (0.05..1)")))
    p.add_argument("--no-follow", action="store_true", help=t(N_("measure the snapshots there now, then stop")))
    p.add_argument("--json", action="store_true", help=t(N_("print one JSON object")))
    p.add_argument("--lang", default=argparse.SUPPRESS, help=t(LANG_HELP))
    p.set_defaults(func=run_sharpness, handler=run_sharpness)
    return p


def run_sharpness(args: argparse.Namespace) -> int:
    from lossviz.weightspace import sharpness as S

    lang = cli_lang(getattr(args, "lang", None))
    stopping = {"now": False}

    def on_term(signum: int, frame: Any) -> None:
        stopping["now"] = True

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (tests)
        pass
    probe_dir = Path(args.probe_dir) if args.probe_dir else Path(args.run_dir) / "probes" / "sharpness"
    try:
        if not 1 <= int(args.iters) <= 200:
            raise LossvizInputError(msg("iters must be a whole number from 1 to 200"))
        if not 0 <= int(args.trace) <= 100:
            raise LossvizInputError(msg("trace must be a whole number from 0 to 100"))
        out = S.follow_run(args.run_dir, probe_dir, images=args.images, iters=args.iters, trace=args.trace,
                           duty=args.duty, follow=not args.no_follow, stop=lambda: stopping["now"])  # fmt: skip
    except LossvizInputError as exc:
        from lossviz.training.runs import record_error

        record_error(exc.message)
        sys.stderr.write(f"error: {' '.join(render(exc, lang).split())}\n")
        return EXIT_INPUT
    if args.json:
        sys.stdout.write(json.dumps(out) + "\n")
    return EXIT_OK
