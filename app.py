"""lossviz entry point: navigation only, like Streamlit's own hello app."""

import streamlit as st

st.set_page_config(page_title="lossviz", page_icon="📉", layout="wide")

st.navigation(
    [
        st.Page("pages/explorer.py", title="Explore a loss", icon="🔍", default=True, url_path="explorer"),
        st.Page("pages/landscape.py", title="Loss landscape", icon="⛰️", url_path="landscape"),
        st.Page("pages/training.py", title="Watch training", icon="🏋️", url_path="training"),
    ]
).run()
