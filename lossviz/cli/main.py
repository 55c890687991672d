"""``python -m lossviz list | eval | train``: the command-line contract of docs/CONTRACTS.md.

Bad input: exit status 2 and one line ``error: ...`` on stderr. Warnings go to
stderr as ``warning: ...`` (and into the JSON with ``--json``, always in English). Messages on stderr
are in ``--lang`` (en or zh), else the language of ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``.

Losses with more than one input take extra options:

- MarginRankingLoss, CosineEmbeddingLoss: ``--input`` (input1) and ``--input2``
- GaussianNLLLoss: ``--var``
- TripletMarginLoss: ``--input`` (anchor), ``--positive``, ``--negative``
- CTCLoss: ``--input`` (log_probs), ``--target`` (targets), ``--input-lengths``, ``--target-lengths``

Any tensor option (and a tensor ``--param`` such as ``weight``) reads a file instead of text when its
value starts with ``@``: ``--input @preds.npy`` (also ``.pt`` loaded with ``weights_only=True``, ``.csv``,
``.json``), a regular file inside the working folder, at most 2 MiB and 65,536 numbers, never a pickle.

With more than one prediction tensor, ``grad`` in the JSON is an object keyed
by torch's argument name (input1/input2, anchor/positive/negative, input/var).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from lossviz.cli.json_out import result_json
from lossviz.cli.parsing import LANG_HELP, OneLineErrorParser, add_subcommand, argv_lang
from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, cli_lang, gettext, msg, render
from lossviz.losses import REDUCTION_DOC, get_loss, list_losses
from lossviz.losses.evaluate import TRANSFORMS, evaluate
from lossviz.losses.files import read_tensor_file
from lossviz.losses.parsing import format_tensor, parse_tensor, reshape

EXIT_BAD_INPUT = 2

#: An error line that quotes torch: the explanation, then torch's own words (English, as torch wrote them).
TORCH_WORDS = N_("{message} (PyTorch's own words: “{said}”)")

#: One line of ``list`` (the name is padded to a column before it is filled in).
LIST_LINE = N_("{name} {title} · reductions: {reductions}")

#: slot cli names beyond --input / --target, with their help
EXTRA_SLOT_OPTIONS = {
    "input2": N_("second input (MarginRankingLoss, CosineEmbeddingLoss)"),
    "var": N_("variance (GaussianNLLLoss)"),
    "positive": N_("positive example (TripletMarginLoss, TripletMarginWithDistanceLoss; --input is the anchor)"),
    "negative": N_("negative example (TripletMarginLoss, TripletMarginWithDistanceLoss)"),
    "input-lengths": N_("input lengths per sequence (CTCLoss)"),
    "target-lengths": N_("target lengths per sequence (CTCLoss)"),
}


_Parser = OneLineErrorParser


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``python -m lossviz``, its help in ``lang`` (default: the environment's, see
    :func:`lossviz.i18n.cli_lang`; :func:`main` reads ``--lang`` from the command line first)."""
    lang = cli_lang(lang)

    def t(text: str) -> str:
        return gettext(text, lang)

    parser = _Parser(prog="python -m lossviz", description=t(N_("Look inside PyTorch losses from the terminal.")),
                     lang=lang)  # fmt: skip
    lang_help = t(LANG_HELP)
    parser.add_argument("--lang", help=lang_help)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True

    p_list = add_subcommand(sub, "list", lang, help=t(N_("list the loss catalog")),
                            description=t(N_("List the loss catalog: the name, title and reductions of each loss.")))  # fmt: skip
    p_list.add_argument("--json", action="store_true", help=t(N_("print the catalog as JSON")))
    p_list.add_argument("--lang", default=argparse.SUPPRESS, help=lang_help)

    p_eval = add_subcommand(sub, "eval", lang, help=t(N_("evaluate one loss: value, per-element loss, gradient")),
                            description=t(N_("Evaluate one loss on tensors written as text: its value, "
                                             "the loss per element and the gradient.")))  # fmt: skip
    p_eval.add_argument("--loss", required=True, help=t(N_("a catalog name, e.g. CrossEntropyLoss")))
    p_eval.add_argument("--input", required=True, help=t(N_("predictions as text, e.g. '[[0.1, 0.2, 0.3]]', or "
                                                            "@FILE: a .npy, .pt, .csv or .json file")))
    p_eval.add_argument("--target", help=t(N_("targets as text or @FILE (TripletMarginLoss has none)")))
    for opt, text in EXTRA_SLOT_OPTIONS.items():
        p_eval.add_argument(f"--{opt}", help=t(text))
    p_eval.add_argument("--reduction", help=t(N_("none, mean, sum (batchmean for KLDivLoss); default: the loss's own")))
    p_eval.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help=t(N_("a constructor parameter, e.g. label_smoothing=0.1, weight=1,2,3 or weight=@w.npy "
                                  "(repeatable)")))
    p_eval.add_argument("--transform", default="none", choices=list(TRANSFORMS),
                        help=t(N_("apply to the input before the loss (as the tutorials do)")))
    p_eval.add_argument("--input-shape", help=t(N_("reshape the input, e.g. '(1, 1, 1, 3)'")))
    p_eval.add_argument("--target-shape", help=t(N_("reshape the target")))
    p_eval.add_argument("--json", action="store_true", help=t(N_("print one JSON object")))
    p_eval.add_argument("--lang", default=argparse.SUPPRESS, help=lang_help)

    try:
        from lossviz.cli.train import add_train_parser
    except ImportError:  # the training side is optional for eval/list
        add_train_parser = None
    if add_train_parser is not None:
        add_train_parser(sub, lang)
    from lossviz.cli.landscape import add_landscape_parser

    add_landscape_parser(sub, lang)
    from lossviz.cli.sharpness import add_sharpness_parser  # H6

    add_sharpness_parser(sub, lang)
    return parser


def _catalog_json() -> list[dict[str, Any]]:
    out = []
    for name in list_losses():
        s = get_loss(name)
        out.append(
            {
                "name": s.name,
                "title": s.title,
                "title_zh": gettext(s.title, "zh"),
                "task": s.task,
                "reductions": list(s.reductions),
                "default_reduction": s.default_reduction,
                "inputs": [
                    {"name": t.name, "option": f"--{t.cli}", "role": t.role, "dtype": t.dtype, "doc": t.doc}
                    for t in s.slots
                ],
                "params": [
                    {"name": p.name, "type": p.kind, "default": p.default, "range": str(p.range_text()), "doc": p.doc}
                    for p in s.params
                ],
                "transforms": list(s.transforms),
                "formula": s.formula,
                "advice": s.advice,
                "advice_zh": gettext(s.advice, "zh"),
            }
        )
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(_catalog_json(), ensure_ascii=False, indent=2))
        return 0
    lang = cli_lang(args.lang)
    for name in list_losses():
        s = get_loss(name)
        title = gettext(s.title, lang)
        print(gettext(LIST_LINE, lang, name=f"{s.name:<26}", title=title, reductions=", ".join(s.reductions)))
    return 0


def _parse_params(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise LossvizInputError(
                msg("--param {item} needs the form key=value, e.g. --param margin=0.5", item=repr(item))
            )
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _tensor_option(text: str, name: str) -> Any:
    """A tensor option's value: ``@FILE`` reads a .npy / .pt / .csv / .json file inside the working folder
    (lossviz.losses.files: caps, no pickle), anything else is text for the safe parser."""
    if text.startswith("@"):
        return read_tensor_file(text[1:], name=name)
    return _parse_text(text, name)


def _parse_text(text: str, name: str) -> Any:
    return parse_tensor(text, name=name, allow_nonfinite=True)  # nan/inf: computed as torch does


def _cmd_eval(args: argparse.Namespace) -> int:
    spec = get_loss(args.loss)
    given = {
        "input": args.input,
        "target": args.target,
        "input2": args.input2,
        "var": args.var,
        "positive": args.positive,
        "negative": args.negative,
        "input-lengths": args.input_lengths,
        "target-lengths": args.target_lengths,
    }
    tensors: dict[str, Any] = {}
    for slot in spec.slots:
        text = given.get(slot.cli)
        if text is None:
            raise LossvizInputError(
                msg(
                    "{loss} needs --{option} ({label}: {doc})",
                    loss=spec.name,
                    option=slot.cli,
                    label=Message(slot.label),
                    doc=Message(slot.doc),
                )
            )
        t = _tensor_option(text, slot.name)
        shape = args.input_shape if slot.cli == "input" else args.target_shape if slot.cli == "target" else None
        tensors[slot.name] = reshape(t, shape, name=slot.name) if shape else t
    unused = [k for k, v in given.items() if v is not None and k not in {s.cli for s in spec.slots}]
    if unused:
        raise LossvizInputError(msg("{loss} takes no --{option}", loss=spec.name, option=unused[0]))
    params: dict[str, Any] = dict(_parse_params(args.param))
    for p in spec.params:
        value = params.get(p.name)
        if p.kind == "tensor" and isinstance(value, str) and value.startswith("@"):
            params[p.name] = read_tensor_file(value[1:], name=f"{spec.name} {p.name}")
    result = evaluate(
        spec,
        tensors,
        reduction=args.reduction,
        params=params,
        transform=args.transform,
    )
    for w in result.warnings:
        sys.stderr.write(f"warning: {render(w, cli_lang(args.lang))}\n")
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False))
        return 0
    print(f"{spec.name}  reduction={result.reduction} ({REDUCTION_DOC[result.reduction]})")
    if result.is_scalar:
        print(f"loss = {result.value:.6g}")
    else:
        print(f"loss (per element) = {format_tensor(result.output)}")
    print(f"per element: {format_tensor(result.per_element)}")
    for name, g in result.grads.items():
        print(f"grad {name}: {format_tensor(g)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv_lang(argv))
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "eval":
            return _cmd_eval(args)
        if args.command == "train":
            from lossviz.cli.train import run_train

            return run_train(args)
        if args.command in ("landscape", "sharpness"):
            return args.handler(args)
    except LossvizInputError as exc:
        lang = cli_lang(args.lang)
        line = render(exc, lang)
        said = getattr(exc, "torch_said", None)  # torch's own words, kept beside the explanation
        if said:
            line = gettext(TORCH_WORDS, lang, message=line, said=said)
        sys.stderr.write(f"error: {' '.join(line.split())}\n")
        return EXIT_BAD_INPUT
    parser.error(f"unknown command {args.command!r}")
    return EXIT_BAD_INPUT
