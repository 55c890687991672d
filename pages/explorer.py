"""Explore a loss: predictions and targets in, value, per-element loss, gradient,
derivation and PyTorch code out. Draws only; every number comes from lossviz."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch
from streamlit.runtime.pages_manager import PagesManager

from lossviz import LossvizInputError
from lossviz.explore import (
    Example,
    allowed_transforms,
    explain,
    get_preset,
    list_presets,
    make_grad_figure,
    make_loss_figure,
    random_texts,
    snippet,
)
from lossviz.i18n import LANGS, lang_from, tr, tr_phrase
from lossviz.losses import (
    REDUCTION_DOC,
    TRANSFORMS,
    LossResult,
    format_tensor,
    get_loss,
    list_losses,
    parse_tensor,
)

# A deep link (e.g. /landscape) opened before anyone has loaded "/" makes Streamlit run this file
# alone in its legacy pages/ mode, without app.py's navigation and page config. Hand over to app.py's
# st.navigation and rerun, so every first visit sees the page as designed.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

EX = "lossviz_example"
GRID_MAX = 400  # largest tensor offered as an editable grid


# --------------------------------------------------------------------------- state


def current() -> Example:
    if EX not in st.session_state:
        ex, notes = Example.from_query(st.query_params.to_dict())
        st.session_state[EX] = ex
        st.session_state["lossviz_notes"] = notes
    return st.session_state[EX]


def put(ex: Example, *, reset_widgets: bool = True) -> None:
    st.session_state[EX] = ex
    if reset_widgets:
        keep = ("w_grid", "w_seed", "w_preset", "w_lang")
        for k in [k for k in st.session_state if str(k).startswith("w_") and k not in keep]:
            del st.session_state[k]


def init(key: str, value: object) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def on_loss() -> None:
    ex, why = current().with_loss(st.session_state["w_loss"])
    put(ex)
    st.session_state["lossviz_switch_note"] = (
        tr("explorer.switched", L(), loss=ex.loss, why=tr_phrase(why, L())) if why else None
    )


def L() -> str:
    """The page language: the widget, else the session, else the URL."""
    if "lossviz_lang" not in st.session_state:
        st.session_state["lossviz_lang"] = lang_from(st.query_params.get("lang"))
    return st.session_state["lossviz_lang"]


def on_lang() -> None:
    st.session_state["lossviz_lang"] = lang_from(st.session_state["w_lang"])


def on_field(field: str) -> None:
    put(current().replace(**{field: st.session_state[f"w_{field}"]}, preset=""), reset_widgets=False)


def on_text(kind: str, slot: str) -> None:
    ex = current()
    store = dict(getattr(ex, kind))
    store[slot] = st.session_state[f"w_{kind[0]}_{slot}"]
    put(ex.replace(**{kind: store}, preset=""), reset_widgets=False)


def on_param(name: str) -> None:
    ex = current()
    params = dict(ex.params)
    value = st.session_state[f"w_p_{name}"]
    params[name] = str(value) if not isinstance(value, bool) else ("true" if value else "false")
    put(ex.replace(params=params, preset=""), reset_widgets=False)


def on_preset() -> None:
    key = st.session_state.get("w_preset")
    if key:
        put(Example.from_preset(get_preset(key)))
        st.session_state["lossviz_switch_note"] = None


def on_random() -> None:
    ex = current()
    seed = int(st.session_state.get("w_seed", 0))
    put(ex.replace(texts=random_texts(ex.loss, seed), shapes={}, transform="none", preset=""))


# --------------------------------------------------------------------------- widgets


def controls(ex: Example) -> None:
    spec = get_loss(ex.loss)
    init("w_loss", ex.loss)
    init("w_reduction", ex.reduction)
    init("w_transform", ex.transform)
    c1, c2, c3 = st.columns([2.2, 2, 1.6])
    c1.selectbox(
        tr("explorer.loss", L()),
        list_losses(),
        key="w_loss",
        on_change=on_loss,
        format_func=lambda n: f"{n} · {get_loss(n).title_zh}",
    )
    c2.radio(
        tr("explorer.reduction", L()),
        spec.reductions,
        key="w_reduction",
        on_change=on_field,
        args=("reduction",),
        horizontal=True,
        help="\n".join(tr("explorer.help_item", L(), name=r, doc=tr_phrase(REDUCTION_DOC[r], L()))
                       for r in spec.reductions),
    )
    transforms = allowed_transforms(ex.loss)
    if len(transforms) > 1:
        c3.radio(
            tr("explorer.transform", L()),
            transforms,
            key="w_transform",
            on_change=on_field,
            args=("transform",),
            horizontal=True,
            help="\n".join(tr("explorer.help_item", L(), name=t, doc=tr_phrase(TRANSFORMS[t], L()))
                           for t in transforms),
        )
    if L() == "zh":
        st.markdown(f"**{spec.title_zh}**　{spec.advice_zh}")
        st.caption(spec.advice)
    else:
        st.markdown(f"**{spec.task.capitalize()}.** {spec.advice}")
        st.caption(spec.advice_zh)
    st.latex(spec.formula)
    if spec.params:
        cols = st.columns(min(len(spec.params), 4))
        for i, p in enumerate(spec.params):
            col = cols[i % len(cols)]
            key = f"w_p_{p.name}"
            given = ex.params.get(p.name)
            helptext = tr("explorer.param_help", L(), doc=tr_phrase(p.doc, L()), range=tr_phrase(p.range_text(), L()),
                          default=p.default)
            if p.kind == "bool":
                init(key, (given or str(p.default)).lower() in ("true", "1", "yes", "on"))
                col.checkbox(p.name, key=key, on_change=on_param, args=(p.name,), help=helptext)
            elif p.kind == "choice":
                init(key, type(p.choices[0])(given) if given and given in map(str, p.choices) else p.default)
                col.selectbox(p.name, p.choices, key=key, on_change=on_param, args=(p.name,), help=helptext)
            else:
                default = "" if p.default is None else str(p.default)
                init(key, given if given is not None else default)
                placeholder = tr("explorer.weight_placeholder", L()) if p.kind == "tensor" else default
                col.text_input(p.name, key=key, on_change=on_param, args=(p.name,), help=helptext,
                               placeholder=placeholder)


def tensor_boxes(ex: Example) -> None:
    spec = get_loss(ex.loss)
    grid = st.session_state.get("w_grid", False)
    cols = st.columns(len(spec.slots)) if len(spec.slots) <= 3 else st.columns(2)
    for i, slot in enumerate(spec.slots):
        col = cols[i % len(cols)]
        text = ex.texts.get(slot.name, "")
        # The torch argument's name next to ours: messages and the PyTorch code use it ("input", "target").
        ours = tr_phrase(slot.label, L())
        label = ours if slot.name in ours else f"{ours} · {slot.name}"
        with col:
            if grid and _grid_editor(ex, slot.name, label, text):
                pass
            else:
                key = f"w_t_{slot.name}"
                init(key, text)
                st.text_area(
                    label,
                    key=key,
                    on_change=on_text,
                    args=("texts", slot.name),
                    height=130,
                    help=tr("explorer.tensor_help", L(), doc=tr_phrase(slot.doc, L())),
                )
            if slot.role != "aux":
                skey = f"w_s_{slot.name}"
                init(skey, ex.shapes.get(slot.name, ""))
                st.text_input(
                    tr("explorer.reshape", L()),
                    key=skey,
                    on_change=on_text,
                    args=("shapes", slot.name),
                    placeholder=tr("explorer.shape_placeholder", L()),
                )


def _grid_editor(ex: Example, slot: str, label: str, text: str) -> bool:
    """An editable grid for small 1-D/2-D tensors; False when the text cannot be shown as one."""
    base_key = f"w_gridbase_{slot}"
    base = st.session_state.get(base_key, text)
    try:
        t = parse_tensor(base, name=slot)
    except LossvizInputError:
        return False
    if t.dim() > 2 or t.numel() > GRID_MAX or t.dim() == 0:
        return False
    st.session_state[base_key] = base
    df = pd.DataFrame(t.reshape(1, -1).tolist() if t.dim() == 1 else t.tolist())
    df.columns = [str(c) for c in df.columns]
    edited = st.data_editor(df, key=f"w_grid_{slot}", width="stretch", hide_index=False)
    if t.dim() == 1:
        st.caption(tr("explorer.grid_one_row", L(), label=label, cols=t.shape[-1]))
    else:
        st.caption(tr("explorer.grid_rows", L(), label=label, rows=t.shape[0], cols=t.shape[-1]))
    values = torch.tensor(edited.astype(float).to_numpy())
    if values.isnan().any():
        st.error(tr("explorer.grid_nan", L(), slot=slot))
        return True
    if not t.is_floating_point() and (values == values.round()).all():
        values = values.to(torch.int64)
    else:
        values = values.to(torch.float32)
    values = values.reshape(t.shape)
    new_text = format_tensor(values)
    if not torch.equal(values.to(t.dtype), t) and new_text != ex.texts.get(slot):
        texts = dict(ex.texts)
        texts[slot] = new_text
        put(ex.replace(texts=texts, preset=""), reset_widgets=False)
    return True


def sidebar() -> None:
    with st.sidebar:
        init("w_lang", L())
        st.radio(tr("lang.label", L()), list(LANGS), key="w_lang", format_func=LANGS.get, horizontal=True,
                 on_change=on_lang)
        st.subheader(tr("explorer.examples", L()))
        presets = list_presets()
        init("w_preset", current().preset or presets[0].key)
        st.selectbox(
            tr("explorer.example", L()),
            [p.key for p in presets],
            key="w_preset",
            format_func=lambda k: get_preset(k).title,  # one label per option in every language
        )
        if L() == "zh":
            st.caption(get_preset(st.session_state["w_preset"]).title_zh)
        st.button(tr("explorer.load", L()), on_click=on_preset, type="primary", width="stretch", key="b_load")
        st.subheader(tr("explorer.random", L()))
        init("w_seed", 0)
        st.number_input(tr("explorer.seed", L()), min_value=0, max_value=2**31 - 1, step=1, key="w_seed")
        st.button(tr("explorer.fill", L()), on_click=on_random, width="stretch", key="b_random")
        st.toggle(tr("explorer.grid", L()), key="w_grid", help=tr("explorer.grid_help", L()))


# --------------------------------------------------------------------------- results


def results(ex: Example) -> None:
    try:
        r = ex.evaluate()
    except LossvizInputError as exc:
        st.error(str(exc), icon="🚫")
        st.caption(tr("explorer.fix", L()))
        return
    except Exception as exc:  # never a traceback in the page: say what failed, keep the page usable
        st.error(tr("explorer.crash", L(), exc=type(exc).__name__), icon="🚫")
        return
    for w in r.warnings:
        st.warning(tr_phrase(w, L()), icon="⚠️")
    lesson = get_preset(ex.preset).lesson_in(L()) if ex.preset else ""
    value_block(r, lesson)
    charts(r)
    tab_steps, tab_code, tab_tensors = st.tabs(
        [tr("explorer.tab_steps", L()), tr("explorer.tab_code", L()), tr("explorer.tab_tensors", L())]
    )
    with tab_steps:
        derivation(r)
    with tab_code:
        st.code(snippet(r, ex.shapes), language="python")
        st.caption(tr("explorer.code_caption", L()))
    with tab_tensors:
        for name, t in r.inputs.items():
            st.markdown(tr("explorer.tensor_line", L(), name=name, shape=tuple(t.shape),
                           dtype=str(t.dtype).replace("torch.", "")))
            st.code(format_tensor(t, pretty=True), language=None)


def value_block(r: LossResult, lesson: str) -> None:
    c1, c2 = st.columns([1, 2])
    spec = r.spec
    if r.is_scalar:
        c1.metric(tr("explorer.loss_value", L(), reduction=r.reduction), f"{r.value:.6g}")
    else:
        c1.metric(tr("explorer.loss_sum", L(), n=r.output.numel()), f"{r.value:.6g}")
    c1.caption(f"nn.{spec.cls.__name__}(reduction='{r.reduction}')")
    with c2:
        st.markdown(tr("explorer.per_element", L(), means=tr_phrase(spec.per_element_means, L()),
                       reduction=r.reduction, doc=tr_phrase(REDUCTION_DOC[r.reduction], L())))
        if r.reduction == "none":
            st.markdown(tr("explorer.none_grad", L()))
        if lesson:
            st.info(lesson, icon="💡")


def charts(r: LossResult) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(make_loss_figure(r.per_element, lang=L()), width="stretch", theme="streamlit",
                        key="fig_loss")
        st.caption(tr("explorer.none_caption", L(), means=tr_phrase(r.spec.per_element_means, L())))
    with c2:
        names = list(r.grads)
        name = names[0]
        if len(names) > 1:
            name = st.radio(tr("explorer.grad_wrt", L()), names, horizontal=True, key="grad_slot")
        st.plotly_chart(make_grad_figure(r.grads[name], name=name, lang=L()), width="stretch", theme="streamlit",
                        key="fig_grad")
        st.caption(tr("explorer.grad_caption", L()))


def derivation(r: LossResult) -> None:
    d = explain(r)
    if d is None:
        st.info(tr("explorer.no_derivation", L(), loss=r.spec.name))
        return
    for i, step in enumerate(d.steps, start=1):
        title, note = tr_phrase(step.title, L()), tr_phrase(step.note, L())
        st.markdown(f"**{i}. {title}**" + (f" — {note}" if note else ""))
        st.latex(step.latex)
        st.code(format_tensor(step.value.to(torch.float32), digits=5, pretty=True), language=None)
    diff = float((d.result - r.output.to(d.result.dtype)).abs().max()) if d.result.numel() else 0.0
    ok = diff <= 1e-6 + 1e-6 * float(r.output.abs().max() if r.output.numel() else 0)
    st.success(
        tr("explorer.by_hand", L(), hand=f"{d.value:.6g}", cls=r.spec.cls.__name__, torch=f"{r.value:.6g}",
           diff=f"{diff:.1e}", mark="✓" if ok else "✗"),
        icon="🧮",
    )


# --------------------------------------------------------------------------- page

st.title(tr("explorer.title", L()))
st.caption(tr("explorer.intro", L()))

ex = current()
for note in st.session_state.pop("lossviz_notes", []) or []:
    st.warning(tr_phrase(note, L()), icon="🔗")
switch = st.session_state.pop("lossviz_switch_note", None)
if switch:
    st.info(switch, icon="↪️")

sidebar()
controls(current())
tensor_boxes(current())
results(current())

query = current().to_query()
if L() != "en":
    query["lang"] = L()
if st.query_params.to_dict() != query:
    st.query_params.from_dict(query)
