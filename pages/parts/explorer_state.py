"""The explorer's state: the session's one Example and the callbacks its widgets call (a loss, a field,
a typed tensor, a cast, an upload, a preset, random numbers). Draws nothing."""

from __future__ import annotations

import streamlit as st

import lossviz.explore as xp
from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.i18n import N_, gettext, render, tr, tr_phrase
from pages import language as L  # noqa: N812 - reads like the tr() calls it feeds
from pages import shared_example

W = K.EXPLORER
UPLOAD_ERROR = "lossviz_upload_error"  #: why the last upload was refused, shown once
CAST_DONE = N_("{slot} is now written as decimals (float32), as the tutorials write dtype=torch.float.")
KEEP = (W + "grid", W + "seed", W + "preset", W + "lang")  # widgets that outlive a new example


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
