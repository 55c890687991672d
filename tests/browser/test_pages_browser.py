"""Every page in a real browser: it loads without an exception element or an error, the sidebar
navigation names all three pages, and its Plotly charts are drawn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import ROOT, Server, assert_charts_drawn, assert_clean, open_page

pytestmark = pytest.mark.browser

NAV = ("Explore a loss", "Loss landscape", "Watch training")


@pytest.fixture(scope="module")
def finished_run(app: Server) -> str:
    """A short finished synthetic run in the server's runs folder, so the training page has charts."""
    from lossviz.training.trainer import TrainConfig, Trainer

    cfg = TrainConfig(dataset="synthetic", synthetic_train=640, synthetic_test=100, max_batches=8, batch_size=32)
    trainer = Trainer(cfg, runs_dir=app.runs_dir, run_name="pages-smoke")
    assert trainer.run() == "finished"
    return trainer.run_name


def _nav(page: Any) -> list[str]:
    return [t.strip() for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


@pytest.mark.parametrize(
    ("path", "heading", "n_charts"),
    [
        ("/", "Explore a loss", 2),
        ("/explorer", "Explore a loss", 2),
        ("/landscape", "Loss landscape", 2),
        ("/training", "Watch a CNN learn", 4),
    ],
    ids=["root", "explorer", "landscape", "training"],
)
def test_page_loads_clean_with_charts(app: Server, finished_run: str, page: Any, path: str, heading: str,
                                      n_charts: int) -> None:
    open_page(page, app.url + path)
    assert_clean(page)
    assert heading in page.locator('[data-testid="stMain"] h1').first.inner_text()
    nav = _nav(page)
    assert all(any(name in item for item in nav) for name in NAV), nav
    found = assert_charts_drawn(page, n_charts)
    assert all(c["visible"] for c in found if not c["tab_hidden"]), found
    assert sum(not c["tab_hidden"] for c in found) >= n_charts, found
    if path == "/training":
        assert finished_run in page.locator('[data-testid="stMain"]').inner_text()


def test_running_server_applies_the_hardened_config(app: Server) -> None:
    """What the browser is told by the live server: no trusted parent frames, no agent API."""
    import json
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(app.url + "/_stcore/host-config", timeout=10) as r:
        host = json.loads(r.read())
    assert host["allowedOrigins"] == []
    request = urllib.request.Request(app.url + "/_stcore/agent/interact", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code in (403, 404)


# --------------------------------------------------------------------------- error details


def _session_run(port: int, states: dict[str, tuple[str, object]] | None = None) -> list[bytes]:
    """Open the explorer over Streamlit's websocket (as a browser does), optionally set widgets, rerun once.

    Returns the raw ForwardMsgs of the last run.
    """
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def rerun(page_hash: str, widget_states: dict[str, tuple[str, object]]) -> bytes:
        msg = BackMsg()
        msg.rerun_script.query_string = "ex=ce_4x4_mean"
        msg.rerun_script.page_script_hash = page_hash
        for wid, (kind, value) in widget_states.items():
            w = msg.rerun_script.widget_states.widgets.add()
            w.id = wid
            setattr(w, kind, value)
        return msg.SerializeToString()

    async def run() -> list[bytes]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                      origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
            page_hash, ids, raw = "", {}, []
            for step in range(2 if states else 1):
                await ws.send(rerun(page_hash, {} if step == 0 else {ids[k]: v for k, v in states.items()}))
                raw = []
                while True:
                    data = await asyncio.wait_for(ws.recv(), 60)
                    raw.append(data)
                    fm = ForwardMsg()
                    fm.ParseFromString(data)
                    kind = fm.WhichOneof("type")
                    if kind == "navigation":
                        page_hash = fm.navigation.page_script_hash
                    elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                        el = fm.delta.new_element
                        et = el.WhichOneof("type")
                        if et in ("radio", "text_area"):
                            ids[getattr(el, et).label] = getattr(el, et).id
                    elif kind == "script_finished":
                        break
            return raw

    # Playwright's sync API owns this thread's event loop: talk to the server from a thread of our own.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(run())).result(timeout=180)


def _kind(data: bytes) -> str:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    fm = ForwardMsg()
    fm.ParseFromString(data)
    return fm.WhichOneof("type") or ""


def _elements(raw: list[bytes], kind: str) -> list[object]:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = []
    for data in raw:
        fm = ForwardMsg()
        fm.ParseFromString(data)
        if fm.WhichOneof("type") == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            if el.WhichOneof("type") == kind:
                out.append(getattr(el, kind))
    return out


def test_error_details_never_reach_the_browser(app: Server) -> None:
    """client.showErrorDetails = "none": when Streamlit itself fails (here: a hand-made websocket message puts
    a number into the reduction radio, which no browser can send), the browser gets a redacted notice -
    no exception type, no message, no traceback, no server path - while the app's own st.error messages
    (a reduction the loss does not have) still arrive in full."""
    raw = _session_run(app.port, {"Reduction": ("int_value", 1)})
    exceptions = _elements(raw, "exception")
    assert exceptions, "expected Streamlit to fail on the malformed widget value"
    for exc in exceptions:
        assert "redacted" in exc.message
        assert exc.type == "" and not list(exc.stack_trace)
    # everything the run drew (Streamlit's session handshake names app.py's path by design; the run must not)
    blob = b"".join(data for data in raw if _kind(data) == "delta")
    for leak in (b"Traceback", str(ROOT).encode(), b".py", b"TypeError", b"site-packages"):
        assert leak not in blob, leak

    raw = _session_run(app.port, {"Reduction": ("string_value", "batchmean")})
    errors = [a.body for a in _elements(raw, "alert") if a.format == 1]
    assert errors == ["CrossEntropyLoss has no reduction 'batchmean'; choose one of: none, mean, sum"], errors
    assert not _elements(raw, "exception")
