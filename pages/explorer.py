"""Explore a loss: predictions and targets in, value, per-element loss, gradient,
derivation and PyTorch code out. Draws only; every number and decision comes from lossviz.

The session's one ``Example`` (lossviz.session.EXAMPLE) is what this page edits and the landscape draws;
every widget key starts with ``w_`` (lossviz.session.EXPLORER).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

import lossviz.explore as xp
from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.i18n import N_, gettext, render, tr, tr_phrase
from lossviz.losses import (
    MAX_FILE_ELEMENTS,
    REDUCTION_DOC,
    TRANSFORMS,
    LossResult,
    NeedsFloat,
    TorchSaid,
    format_tensor,
    get_loss,
    list_losses,
)
from pages import chart, deep_link_guard, link_notes, page_chrome, presenting, say, shared_example, write_link
from pages import evaluated as shared_result  # computed once for every session with the same numbers
from pages import grad_figure as shared_grad_figure
from pages import language as L  # noqa: N812 - reads like the tr() calls it feeds
from pages import loss_figure as shared_loss_figure

deep_link_guard()
W = K.EXPLORER
UPLOAD_ERROR = "lossviz_upload_error"  #: why the last upload was refused, shown once
CAST = N_("Cast {slot} to float")
CAST_HELP = N_("Writes every number of {slot} with a decimal point (1 → 1.0), as .float() or dtype=torch.float "
               "does in PyTorch: the values stay the same, only their type becomes float32.")
CAST_DONE = N_("{slot} is now written as decimals (float32), as the tutorials write dtype=torch.float.")
TORCH_WORDS = N_("PyTorch's own words (English, as torch wrote them)")
UPLOAD = N_("or upload {slot}")
UPLOAD_HELP = N_("A .npy, .csv, .pt (loaded with weights_only=True) or .json file of at most {most} numbers; "
                 "read on the server like the command line's @FILE, never unpickled.")
FROM_FILE = N_("from the file {file} (an uploaded tensor is not part of the page's link)")
UNFILE = N_("Type numbers instead")
KEEP = (W + "grid", W + "seed", W + "preset", W + "lang")  # widgets that outlive a new example

# --------------------------------------------------------------------------- state


def put(ex: xp.Example, *, reset_widgets: bool = True) -> None:
    st.session_state[K.EXAMPLE] = ex
    if reset_widgets:
        for k in [k for k in st.session_state if K.owns(k, W) and k not in KEEP]:
            del st.session_state[k]


def on_loss() -> None:
    ex, why = shared_example().with_loss(st.session_state[K.EXPLORER_LOSS])
    put(ex)
    st.session_state[K.EXPLORER_SWITCH_NOTE] = (
        tr("explorer.switched", L(), loss=ex.loss, why=tr_phrase(why, L())) if why else None
    )


def on_field(field: str) -> None:
    put(shared_example().replace(**{field: st.session_state[W + field]}, preset=""), reset_widgets=False)


def on_edit(kind: str, key: str) -> None:
    value = st.session_state[f"{W}{kind[0]}_{key}"]
    if kind != "texts":
        put(shared_example().edited(kind, key, value), reset_widgets=False)
        return
    ex, note = shared_example().with_text(key, value)  # a reshape that no longer fits is dropped, with a note
    put(ex, reset_widgets=False)
    if note is not None:
        st.session_state[f"{W}s_{key}"] = ""
        st.session_state[K.EXPLORER_SWITCH_NOTE] = render(note, L())


def on_cast(slot: str) -> None:
    """The one-click fix of an integer tensor where torch wants floats: write its numbers as decimals."""
    put(shared_example().cast_to_float(slot), reset_widgets=False)
    st.session_state.pop(f"{W}t_{slot}", None)
    st.session_state[K.EXPLORER_SWITCH_NOTE] = gettext(CAST_DONE, L(), slot=slot)


def on_upload(slot: str) -> None:
    """A tensor from an uploaded .npy / .csv / .pt / .json file (the CLI's reader: caps, never a pickle)."""
    up = st.session_state.get(f"{W}u_{slot}")
    if up is None:
        return
    try:
        put(shared_example().with_file(slot, up.name, up.getvalue()), reset_widgets=False)
    except LossvizInputError as exc:
        st.session_state[UPLOAD_ERROR] = render(exc, L())
        return
    st.session_state.pop(f"{W}t_{slot}", None)
    st.session_state.pop(f"{W}s_{slot}", None)


def on_unfile(slot: str) -> None:
    ex = shared_example()
    put(ex.with_text(slot, xp.Example.default(ex.loss).texts.get(slot, ""))[0], reset_widgets=False)
    st.session_state.pop(f"{W}t_{slot}", None)


def on_preset() -> None:
    key = st.session_state.get(W + "preset")
    if key:
        put(xp.Example.from_preset(xp.get_preset(key)))
        st.session_state[K.EXPLORER_SWITCH_NOTE] = None


def on_random() -> None:
    ex = shared_example()
    put(ex.replace(texts=xp.random_texts(ex.loss, int(st.session_state.get(W + "seed", 0))), shapes={},
                   transform="none", preset=""))


def help_list(names: tuple[str, ...], docs: dict[str, str]) -> str:
    return "\n".join(tr("explorer.help_item", L(), name=n, doc=tr_phrase(docs[n], L())) for n in names)


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


# --------------------------------------------------------------------------- results


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
