"""lossviz entry point: navigation only, like Streamlit's own hello app."""

import streamlit as st

st.set_page_config(page_title="lossviz", page_icon="📉", layout="wide")

explorer = st.Page("pages/explorer.py", title="Explore a loss", icon="🔍", default=True, url_path="explore")


def explorer_link() -> None:
    """``/explorer?...`` (the page's name in links and in the README) opens the explorer at ``/``.

    The default page lives at ``/`` and Streamlit ignores its url_path, so without this hidden
    alias an ``/explorer`` link would show "Page not found" over the page.
    """
    st.switch_page(explorer, query_params=st.query_params.to_dict())


st.navigation(
    [
        explorer,
        st.Page("pages/landscape.py", title="Loss landscape", icon="⛰️", url_path="landscape"),
        st.Page("pages/training.py", title="Watch training", icon="🏋️", url_path="training"),
        st.Page(explorer_link, title="Explore a loss", url_path="explorer", visibility="hidden"),
    ]
).run()
