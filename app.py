"""lossviz entry point: navigation only, like Streamlit's own hello app."""

import streamlit as st

from lossviz import session as K
from lossviz.classroom import present_from
from lossviz.i18n import lang_from, tr
from lossviz.memory import start_trimmer

# Presentation mode opens with the sidebar folded (a projector's 1024 px are for the page; one click brings it back).
_present = present_from(st.session_state.get(K.PRESENT, st.query_params.get(K.PRESENT_QUERY)))
st.set_page_config(page_title="lossviz", page_icon="📉", layout="wide",
                   initial_sidebar_state="collapsed" if _present else "auto")
# Once per server process (later calls do nothing): memory that finished reruns freed goes back to the
# operating system, so the server shrinks again when a class ends (lossviz/memory.py, README: Memory).
start_trimmer()

# Page titles follow the language the explorer chose (or ?lang= on a first visit); url_paths never change.
lang = lang_from(st.session_state.get(K.LANG) or st.query_params.get(K.LANG_QUERY))

explorer = st.Page("pages/explorer.py", title=tr("nav.explore", lang), icon="🔍", default=True, url_path="explore")


def explorer_link() -> None:
    """``/explorer?...`` (the page's name in links and in the README) opens the explorer at ``/``.

    The default page lives at ``/`` and Streamlit ignores its url_path, so without this hidden
    alias an ``/explorer`` link would show "Page not found" over the page.
    """
    st.switch_page(explorer, query_params=st.query_params.to_dict())


st.navigation(
    [
        explorer,
        st.Page("pages/landscape.py", title=tr("nav.landscape", lang), icon="⛰️", url_path="landscape"),
        st.Page("pages/training.py", title=tr("nav.training", lang), icon="🏋️", url_path="training"),
        st.Page("pages/lessons.py", title=tr("nav.lessons", lang), icon="📚", url_path="lessons"),
        st.Page(explorer_link, title=tr("nav.explore", lang), url_path="explorer", visibility="hidden"),
    ]
).run()
