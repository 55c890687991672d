"""Sequence losses: CTCLoss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses.checks import _as_float, _flat, _rand, _shape
from lossviz.losses.registry import ElementRef, LossSpec, ParamSpec, Tensor, TensorSlot, register_loss


def _ctc_pair(t: Mapping[str, Tensor], p: Mapping[str, Any]) -> tuple[ElementRef, ElementRef] | None:
    """At time 0 a path can only start with the blank or the first label: vary those two."""
    x = t["log_probs"]
    if x.dim() < 2 or x.shape[-1] < 2:
        return None
    c = x.shape[-1]
    blank = int(p.get("blank", 0))
    y = t["targets"]
    label = int(y.reshape(-1)[0]) if y.numel() else (blank + 1) % c
    label = label if label != blank else (blank + 1) % c
    pos = (0, 0) if x.dim() == 3 else (0,)
    shape = tuple(x.shape)
    return ("log_probs", _flat(shape, (*pos, blank))), ("log_probs", _flat(shape, (*pos, label)))


def _ctc_flat(slot: str, idx: tuple[int, ...], label: str, t: Mapping[str, Tensor], p: Mapping[str, Any],
              transform: str) -> Message | None:
    x = t["log_probs"]
    il = t["input_lengths"].reshape(-1)
    n = idx[1] if x.dim() == 3 else 0
    if idx[0] >= int(il[n]):
        return msg("{label} does not change the loss: time step {step} is past sequence {n}'s input length "
                   "({length}), so CTC ignores it.", label=label, step=idx[0], n=n, length=int(il[n]))
    return None

# --------------------------------------------------------------------------- sequences


def _check_ctc(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "CTCLoss"
    w: list[str] = []
    x = _as_float(t["log_probs"])
    y = t["targets"]
    il = t["input_lengths"]
    tl = t["target_lengths"]
    if x.dim() not in (2, 3):
        raise LossvizInputError(
            msg(
                "{loss}: log_probs must be (T, N, C) or (T, C) (time steps, batch, classes), not shape "
                "{shape_x}",
                loss=loss, shape_x=_shape(x),
            )
        )
    if any(v.is_floating_point() for v in (y, il, tl)):
        raise LossvizInputError(msg("{loss}: targets, input_lengths and target_lengths must be whole numbers", loss=loss))
    T = x.shape[0]
    C = x.shape[-1]
    N = x.shape[1] if x.dim() == 3 else None
    blank = int(p.get("blank", 0))
    if not 0 <= blank < C:
        raise LossvizInputError(msg(
            "{loss}: blank is {blank} but there are {c} classes; use 0..{c2}",
            loss=loss, blank=blank, c=C, c2=C - 1,
        ))
    il = il.reshape(-1) if il.dim() == 0 else il
    tl = tl.reshape(-1) if tl.dim() == 0 else tl
    n = N if N is not None else 1
    if il.numel() != n or tl.numel() != n:
        raise LossvizInputError(
            msg(
                "{loss}: give one input length and one target length per sequence ({n}), got {numel} and "
                "{numel2}",
                loss=loss, n=n, numel=il.numel(), numel2=tl.numel(),
            )
        )
    if ((il < 0) | (il > T)).any():
        raise LossvizInputError(msg(
            "{loss}: input_lengths must be between 1 and T = {t} (log_probs' first dimension)",
            loss=loss, t=T,
        ))
    if (il == 0).any():
        w.append(N_("an input length is 0: that sequence has no frames, so no alignment fits a non-empty target "
                 "and its loss is inf. PyTorch computes it anyway; input lengths normally run from 1 to T."))
    if (tl < 0).any():
        raise LossvizInputError(msg("{loss}: target_lengths must be ≥ 0", loss=loss))
    if y.dim() == 2 and N is not None:
        if y.shape[0] != N:
            raise LossvizInputError(msg(
                "{loss}: targets has {shape} rows but the batch has {n} sequences",
                loss=loss, shape=y.shape[0], n=N,
            ))
        if (tl > y.shape[1]).any():
            raise LossvizInputError(msg(
                "{loss}: a target length is longer than the targets' rows ({shape})",
                loss=loss, shape=y.shape[1],
            ))
        used = torch.cat([y[i, : int(tl[i])] for i in range(N)]) if N else y.flatten()
    else:
        y = y.reshape(-1)
        if int(tl.sum()) != y.numel():
            raise LossvizInputError(
                msg(
                    "{loss}: targets holds {numel} labels but target_lengths add up to {sum}; they must match"
                    " (concatenated targets) or give targets one padded row per sequence",
                    loss=loss, numel=y.numel(), sum=int(tl.sum()),
                )
            )
        used = y
    if ((used < 0) | (used >= C)).any():
        # torch does not check this and reads outside log_probs (undefined results), so lossviz refuses
        raise LossvizInputError(
            msg(
                "{loss}: target labels must be class indices 0..{c}; PyTorch does not check this and "
                "would read memory outside log_probs, so there is no meaningful loss to show",
                loss=loss, c=C - 1,
            )
        )
    if (used == blank).any():
        w.append(
            msg(
                "targets contain the blank index {blank}. PyTorch computes anyway, but the blank means "
                "\"no label\" and may not appear in the targets, so this loss does not measure the sequence"
                " you meant: use another class index, or set blank to an index the targets do not use.",
                blank=blank,
            )
        )
    if x.dim() == 2:
        il = il.reshape(())
        tl = tl.reshape(())
        if y.dim() != 1:
            y = y.reshape(-1)
    if (x > 1e-6).any():
        w.append(N_("log_probs should be log-probabilities (≤ 0): apply log_softmax over the classes first."))
    return {"log_probs": x, "targets": y, "input_lengths": il, "target_lengths": tl}, w


def _sample_ctc(g: torch.Generator) -> dict[str, Tensor]:
    return {
        "log_probs": torch.log_softmax(_rand(g, 6, 2, 4), dim=2),
        "targets": torch.randint(1, 4, (2, 3), generator=g),
        "input_lengths": torch.tensor([6, 5]),
        "target_lengths": torch.tensor([3, 2]),
    }


register_loss(
    LossSpec(
        name="CTCLoss",
        cls=nn.CTCLoss,
        symbols={"log_probs": "x"}, dim_names={3: ("time", "sequence", "class"), 2: ("time", "class")},
        classes_last=True, batch_layout="ctc", default_pair=_ctc_pair, flat_reason=_ctc_flat,
        nonfinite_hint=N_("No alignment of the targets fits in the input length; turn on zero_infinity or "
                          "lengthen the input."),
        title=N_("Connectionist temporal classification loss (CTC)"),
        task="sequence",
        slots=(
            TensorSlot("log_probs", N_("log-probabilities (T, N, C)"), "prediction", "float", N_("(T, N, C) or (T, C) log_softmax outputs"), "input"),
            TensorSlot("targets", N_("target labels"), "target", "long", N_("(N, S) padded, or all targets concatenated"), "target"),
            TensorSlot("input_lengths", N_("input lengths"), "aux", "long", N_("(N): time steps used per sequence"), "input-lengths"),
            TensorSlot("target_lengths", N_("target lengths"), "aux", "long", N_("(N): labels per sequence"), "target-lengths"),
        ),
        params=(
            ParamSpec("blank", "int", 0, N_("the index of the blank label"), low=0),
            ParamSpec("zero_infinity", "bool", False, N_("replace infinite losses (impossible alignments) by zero")),
        ),
        formula=r"\ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_n)} \prod_{t} p_{t, \pi_t}",
        advice=N_("Speech and handwriting recognition: sums the probability of every alignment of the label "
        "sequence to the frames (blanks between). 'mean' divides each loss by its target length."),
        check=_check_ctc,
        sample=_sample_ctc,
        transforms=("log_softmax",),
        per_element_means=N_("one loss per sequence"),
    )
)
