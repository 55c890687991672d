"""The explorer's answer: the value, the per-element and gradient charts, the derivation, the code and
the tensors, or the refusal in a sentence (with the one-click cast and torch's own words folded away)."""

from __future__ import annotations

import streamlit as st
import torch

import lossviz.explore as xp
from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.i18n import N_, gettext, render, tr, tr_phrase
from lossviz.losses import REDUCTION_DOC, LossResult, NeedsFloat, TorchSaid, format_tensor
from pages import chart, presenting
from pages import evaluated as shared_result  # computed once for every session with the same numbers
from pages import grad_figure as shared_grad_figure
from pages import language as L  # noqa: N812 - reads like the tr() calls it feeds
from pages import loss_figure as shared_loss_figure
from pages.parts.explorer_state import on_cast

W = K.EXPLORER
CAST = N_("Cast {slot} to float")
CAST_HELP = N_("Writes every number of {slot} with a decimal point (1 → 1.0), as .float() or dtype=torch.float "
               "does in PyTorch: the values stay the same, only their type becomes float32.")
TORCH_WORDS = N_("PyTorch's own words (English, as torch wrote them)")


def results(ex: xp.Example) -> None:
    try:
        r = shared_result(ex)
    except LossvizInputError as exc:
        st.error(render(exc, L()), icon="🚫")
        if isinstance(exc, NeedsFloat):  # one click instead of a dead end, saying what it does
            st.button(gettext(CAST, L(), slot=exc.slot), key=W + "cast", on_click=on_cast, args=(exc.slot,),
                      type="primary")
            st.caption(gettext(CAST_HELP, L(), slot=exc.slot))
        if isinstance(exc, TorchSaid):  # torch's own words, kept and labelled as such, folded away
            with st.expander(gettext(TORCH_WORDS, L())):
                st.code(exc.torch_said, language=None)
        st.caption(tr("explorer.fix", L()))
        return
    except Exception as exc:  # never a traceback in the page: say what failed, keep the page usable
        st.error(tr("explorer.crash", L(), exc=type(exc).__name__), icon="🚫")
        return
    for w in r.warnings:
        st.warning(tr_phrase(w, L()), icon="⚠️")
    c1, c2 = st.container(key="lv_lead_value").columns([1.6, 2])  # the value's label is never cut
    label = (tr("explorer.loss_value", L(), reduction=r.reduction) if r.is_scalar
             else tr("explorer.loss_sum", L(), n=r.output.numel()))
    c1.metric(label, f"{r.value:.6g}")
    c1.caption(f"{r.spec.torch_name}(reduction='{r.reduction}')")
    means = tr_phrase(r.spec.per_element_means, L())
    if presenting():  # on a projector the charts come right under the value, their explanation below them
        charts(r, means)
    with c2 if not presenting() else st.container():
        st.markdown(tr("explorer.per_element", L(), means=means, reduction=r.reduction,
                       doc=tr_phrase(REDUCTION_DOC[r.reduction], L())))
        if r.reduction == "none":
            st.markdown(tr("explorer.none_grad", L()))
        lesson = xp.get_preset(ex.preset).lesson_in(L()) if ex.preset else ""
        if lesson:
            st.info(lesson, icon="💡")
    if not presenting():
        charts(r, means)
    tab_steps, tab_code, tab_tensors = st.tabs([tr(f"explorer.tab_{t}", L()) for t in ("steps", "code", "tensors")])
    with tab_steps:
        derivation(r)
    with tab_code:
        st.code(xp.snippet(r, ex.shapes), language="python")
        st.caption(tr("explorer.code_caption", L()))
    with tab_tensors:
        for name, t in r.inputs.items():
            st.markdown(tr("explorer.tensor_line", L(), name=name, shape=tuple(t.shape),
                           dtype=str(t.dtype).replace("torch.", "")))
            st.code(format_tensor(t, pretty=True), language=None)


def charts(r: LossResult, means: str) -> None:
    c1, c2 = st.container(key="lv_charts_explorer").columns(2)
    chart(c1, shared_loss_figure(r.per_element, L()), key=W + "fig_loss")
    c1.caption(tr("explorer.none_caption", L(), means=means))
    names = list(r.grads)
    name = c2.radio(tr("explorer.grad_wrt", L()), names, horizontal=True, key=W + "grad_slot") if len(names) > 1 \
        else names[0]
    chart(c2, shared_grad_figure(r.grads[name], name, L()), key=W + "fig_grad")
    c2.caption(tr("explorer.grad_caption", L()))


def derivation(r: LossResult) -> None:
    d = xp.explain(r)
    if d is None:
        st.info(tr("explorer.no_derivation", L(), loss=r.spec.name))
        return
    for i, step in enumerate(d.steps, start=1):
        title, note = tr_phrase(step.title, L()), tr_phrase(step.note, L())
        st.markdown(f"**{i}. {title}**" + (f" — {note}" if note else ""))
        st.latex(step.latex)
        st.code(format_tensor(step.value.to(torch.float32), digits=5, pretty=True), language=None)
    a, name = xp.agreement(d, r), r.spec.torch_name
    kw = {"hand": f"{d.value:.6g}", "cls": ("torch." if name.startswith("nn.") else "") + name, "torch": f"{r.value:.6g}"}
    if a.agrees:  # a tick only when both sides are finite and agree
        st.success(tr("explorer.by_hand", L(), diff=f"{a.diff:.1e}", mark="✓", **kw), icon="🧮")
    else:
        st.warning(tr("explorer.by_hand_unsure", L(), reason=tr_phrase(a.reason, L()), **kw), icon="🧮")
