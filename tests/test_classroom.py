"""Presentation mode's sizes and the class QR code."""

from __future__ import annotations

import io

import plotly.graph_objects as go
import pytest

from lossviz import LossvizInputError
from lossviz.classroom import (
    BACKGROUND_COLOR,
    BODY_PX,
    FORMULA_MIN_SCALE,
    FORMULA_SLACK_PX,
    TEXT_COLOR,
    TICK_PX,
    contrast_ratio,
    fit_formulas_js,
    for_projector,
    present_from,
    presentation_css,
    qr_png,
    share_link,
)
from lossviz.i18n import render
from tests.page_text import _nodes


def test_presentation_switch_from_links() -> None:
    assert [present_from(v) for v in ("1", "true", "ON", ["0", "1"], "0", "", None, "x" * 5000, [])] == [
        True, True, True, True, False, False, False, False, False]


def test_sizes_meet_the_classroom_targets() -> None:
    assert BODY_PX >= 20 and TICK_PX >= 16
    assert f"font-size: {BODY_PX}px" in presentation_css()
    assert contrast_ratio(TEXT_COLOR, BACKGROUND_COLOR) >= 4.5
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_projector_figure_fonts() -> None:
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0]), layout=dict(title="t"))
    out = for_projector(fig)
    assert out is fig
    assert fig.layout.xaxis.tickfont.size >= 16 and fig.layout.yaxis.tickfont.size >= 16
    assert fig.layout.font.size >= 16
    surf = for_projector(go.Figure(go.Surface(z=[[0, 1], [1, 0]])))
    assert surf.layout.scene.xaxis.tickfont.size >= 16


def test_qr_code_is_a_png_that_encodes_the_link() -> None:
    png = qr_png("http://192.168.1.20:8501/lessons?lesson=kl&step=2")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import segno

    code = segno.make("http://192.168.1.20:8501/lessons?lesson=kl&step=2", error="m", micro=False)
    ref = io.BytesIO()
    code.save(ref, kind="png", scale=8, border=2)
    assert png == ref.getvalue()


def test_share_link_flags_loopback_and_refuses_junk() -> None:
    assert share_link("http://127.0.0.1:8501/").loopback
    assert share_link("http://localhost:8501/x").loopback
    assert share_link("http://[::1]:8501/").loopback
    assert not share_link("http://192.168.1.20:8501/").loopback
    assert not share_link("https://lossviz.example.org/").loopback
    for bad in ("", "javascript:alert(1)", "file:///etc/passwd", "http://", "http://a/" + "x" * 2000):
        with pytest.raises(LossvizInputError) as exc:
            qr_png(bad)
        assert render(exc.value, "en") and render(exc.value, "zh") != render(exc.value, "en")


def test_formula_fitting_script_is_on_every_page() -> None:
    """Every page carries the script that scales a formula down to its column (browser-checked in
    tests/browser/test_layout_browser.py); its limits are the module's constants."""
    from tests.conftest import page_test

    js = fit_formulas_js()
    assert js.startswith("<script>") and f"Math.max({FORMULA_MIN_SCALE}," in js and f"room + {FORMULA_SLACK_PX})" in js
    for page in ("explorer.py", "landscape.py", "training.py", "lessons.py"):
        at = page_test(page)
        bodies = [getattr(n.proto, "body", "") for n in _nodes(at._tree) if getattr(n, "type", "") == "html"]
        assert js in bodies, page
