"""Explore a loss: predictions and targets in, value, per-element loss, gradient,
derivation and PyTorch code out. Draws only; every number and decision comes from lossviz.

The session's one ``Example`` (lossviz.session.EXAMPLE) is what this page edits and the landscape draws;
every widget key starts with ``w_`` (lossviz.session.EXPLORER).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import lossviz.explore as xp
from lossviz import session as K
from lossviz.i18n import N_, gettext, render, tr, tr_phrase
from lossviz.losses import (
    MAX_FILE_ELEMENTS,
    REDUCTION_DOC,
    TRANSFORMS,
    get_loss,
    list_losses,
)
from pages import deep_link_guard, link_notes, page_chrome, presenting, say, shared_example, write_link
from pages import language as L  # noqa: N812 - reads like the tr() calls it feeds
from pages.parts.explorer_results import results
from pages.parts.explorer_state import (
    UPLOAD_ERROR,
    help_list,
    on_edit,
    on_field,
    on_loss,
    on_preset,
    on_random,
    on_unfile,
    on_upload,
    put,
)

deep_link_guard()
W = K.EXPLORER
UPLOAD = N_("or upload {slot}")
UPLOAD_HELP = N_("A .npy, .csv, .pt (loaded with weights_only=True) or .json file of at most {most} numbers; "
                 "read on the server like the command line's @FILE, never unpickled.")
FROM_FILE = N_("from the file {file} (an uploaded tensor is not part of the page's link)")
UNFILE = N_("Type numbers instead")

# --------------------------------------------------------------------------- widgets


def loss_ui(ex: xp.Example) -> None:
    """Loss, reduction, transform and the loss's parameters."""
    spec = get_loss(ex.loss)
    for field in ("loss", "reduction", "transform"):
        st.session_state.setdefault(W + field, getattr(ex, field))
    c1, c2, c3 = st.container(key="lv_lead_loss").columns([2.7, 1.9, 1.4])  # the loss's name is never cut
    c1.selectbox(tr("explorer.loss", L()), list_losses(), key=K.EXPLORER_LOSS, on_change=on_loss,
                 format_func=xp.loss_labels(L()).__getitem__)
    c2.radio(tr("explorer.reduction", L()), spec.reductions, key=W + "reduction", on_change=on_field,
             args=("reduction",), horizontal=True, help=help_list(spec.reductions, REDUCTION_DOC))
    transforms = xp.allowed_transforms(spec)
    if len(transforms) > 1:
        c3.radio(tr("explorer.transform", L()), transforms, key=W + "transform", on_change=on_field,
                 args=("transform",), horizontal=True, help=help_list(transforms, TRANSFORMS))
    st.markdown(f"**{render(spec.title, L())}**　{render(spec.advice, L())}")
    st.latex(spec.formula)
    cols = st.columns(min(len(spec.params), 4)) if spec.params else []
    for i, p in enumerate(spec.params):
        col, key = cols[i % len(cols)], f"{W}p_{p.name}"
        st.session_state.setdefault(key, ex.param_value(p))
        kw = dict(key=key, on_change=on_edit, args=("params", p.name), help=tr(
            "explorer.param_help", L(), doc=tr_phrase(p.doc, L()), range=tr_phrase(p.range_text(), L()),
            default=p.default))
        if p.kind == "bool":
            col.checkbox(p.name, **kw)
        elif p.kind == "choice":
            col.selectbox(p.name, p.choices, **kw)
        else:
            col.text_input(p.name, placeholder=tr("explorer.weight_placeholder", L()) if p.kind == "tensor" else
                           ("" if p.default is None else str(p.default)), **kw)


def tensors_ui(ex: xp.Example) -> None:
    """One box per tensor (or an editable grid), with its optional reshape."""
    spec = get_loss(ex.loss)
    cols = st.columns(len(spec.slots)) if len(spec.slots) <= 3 else st.columns(2)
    for i, slot in enumerate(spec.slots):
        text = ex.texts.get(slot.name, "")
        # The torch argument's name next to ours: messages and the PyTorch code use it ("input", "target").
        ours = tr_phrase(slot.label, L())
        label = ours if slot.name in ours else f"{ours} · {slot.name}"
        with cols[i % len(cols)]:
            if slot.name in ex.files:  # an uploaded tensor: too big for a text box, and not in the link
                st.markdown(f"**{label}**")
                st.caption(gettext(FROM_FILE, L(), file=ex.files[slot.name]))
                st.button(gettext(UNFILE, L()), key=f"{W}unfile_{slot.name}", on_click=on_unfile, args=(slot.name,))
                continue
            if not (st.session_state.get(W + "grid", False) and grid_ui(ex, slot.name, label, text)):
                st.session_state.setdefault(f"{W}t_{slot.name}", text)
                st.text_area(label, key=f"{W}t_{slot.name}", on_change=on_edit, args=("texts", slot.name),
                             height=130, help=tr("explorer.tensor_help", L(), doc=tr_phrase(slot.doc, L())))
            if slot.role != "aux":
                st.session_state.setdefault(f"{W}s_{slot.name}", ex.shapes.get(slot.name, ""))
                st.text_input(tr("explorer.reshape", L()), key=f"{W}s_{slot.name}", on_change=on_edit,
                              args=("shapes", slot.name), placeholder=tr("explorer.shape_placeholder", L()))
            if not presenting():
                st.file_uploader(gettext(UPLOAD, L(), slot=slot.name), type=["npy", "csv", "pt", "json"],
                                 key=f"{W}u_{slot.name}", on_change=on_upload, args=(slot.name,),
                                 help=gettext(UPLOAD_HELP, L(), most=f"{MAX_FILE_ELEMENTS:,}"))


def grid_ui(ex: xp.Example, slot: str, label: str, text: str) -> bool:
    """An editable grid for small 1-D/2-D tensors; False when the text cannot be shown as one."""
    base_key = f"{W}gridbase_{slot}"
    base = st.session_state.get(base_key, text)
    rows = xp.grid_rows(base, slot)
    if rows is None:
        return False
    st.session_state[base_key] = base
    df = pd.DataFrame(rows.reshape(1, -1).tolist() if rows.dim() == 1 else rows.tolist())
    df.columns = [str(c) for c in df.columns]
    edited = st.data_editor(df, key=f"{W}grid_{slot}", width="stretch", hide_index=False)
    st.caption(tr("explorer.grid_one_row", L(), label=label, cols=rows.shape[-1]) if rows.dim() == 1
               else tr("explorer.grid_rows", L(), label=label, rows=rows.shape[0], cols=rows.shape[-1]))
    try:
        new = xp.grid_text(edited.astype(float).to_numpy().tolist(), base, slot)
    except xp.EmptyCell:
        st.error(tr("explorer.grid_nan", L(), slot=slot))
        return True
    if new is not None and new != ex.texts.get(slot):
        put(ex.edited("texts", slot, new), reset_widgets=False)
    return True


def sidebar_ui() -> None:
    """Language, classic examples and random input."""
    with st.sidebar:
        st.subheader(tr("explorer.examples", L()))
        presets = xp.list_presets()
        st.session_state.setdefault(W + "preset", shared_example().preset or presets[0].key)
        st.selectbox(tr("explorer.example", L()), [p.key for p in presets], key=W + "preset",
                     format_func=xp.preset_titles(L()).__getitem__)
        st.button(tr("explorer.load", L()), on_click=on_preset, type="primary", width="stretch", key=W + "load")
        if presenting():  # a demo needs the examples, not the random-input tools
            return
        st.subheader(tr("explorer.random", L()))
        st.session_state.setdefault(W + "seed", 0)
        st.number_input(tr("explorer.seed", L()), min_value=0, max_value=2**31 - 1, step=1, key=W + "seed")
        st.button(tr("explorer.fill", L()), on_click=on_random, width="stretch", key=W + "random")
        st.toggle(tr("explorer.grid", L()), key=W + "grid", help=tr("explorer.grid_help", L()))


# --------------------------------------------------------------------------- page

st.title(tr("explorer.title", L()))
if not presenting():  # a projector shows the answer first
    st.caption(tr("explorer.intro", L()))
shared_example()
for note in link_notes():
    say("warning", tr_phrase(note, L()), icon="🔗")  # a link's text: shown as text, never markdown
switch = st.session_state.pop(K.EXPLORER_SWITCH_NOTE, None)
if switch:
    st.info(switch, icon="↪️")
upload_error = st.session_state.pop(UPLOAD_ERROR, None)
if upload_error:
    st.error(upload_error, icon="🚫")
page_chrome(W)
sidebar_ui()
if presenting():  # the answer first on a projector: value and charts above the fold, the inputs below
    results(shared_example())
loss_ui(shared_example())
tensors_ui(shared_example())
if not presenting():
    results(shared_example())
write_link(shared_example().to_query())
