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


# --------------------------------------------------------------------------- issue 18: a class in a real room

import json  # noqa: E402
import os  # noqa: E402

from lossviz.classroom import (  # noqa: E402
    CLASS_IDLE_S,
    end_class,
    file_name,
    may_lead,
    page_link,
    page_script_js,
    plain_text,
    plot_config,
    publish,
    read_class,
    start_class,
    student_link,
    style_figure,
)
from lossviz.classroom.runs_room import delete_run, same_settings  # noqa: E402
from lossviz.theme import LOSS_SCALE  # noqa: E402


def test_share_link_is_the_page_now_never_the_arriving_query() -> None:
    url = "http://10.0.0.2:8501/?next=http://evil.example&present=1&junk=" + "x" * 1300
    link = page_link(url, "lessons", {"lesson": "kl", "step": "3", "present": "1", "class": "abcdefgh"}, "zh")
    assert link == "http://10.0.0.2:8501/lessons?lesson=kl&step=3&lang=zh"
    assert share_link(link).url == link  # 1,300 junk characters never reach the box
    assert page_link("https://h/x", "explore", {"loss": "MSELoss"}, "en") == "https://h/?loss=MSELoss"
    with pytest.raises(LossvizInputError):
        page_link("javascript:alert(1)", "explore", {}, "en")


def test_class_state_who_may_lead_and_expiry(tmp_path) -> None:
    c, token = start_class(tmp_path, now=1000.0)
    assert may_lead(c, token) and not may_lead(c, "0" * 32) and not may_lead(c, None)
    assert token not in (tmp_path / "classes" / f"{c.id}.json").read_text()  # only its hash is stored
    c2 = publish(tmp_path, c.id, token, "lessons", {"lesson": "mse", "step": "2", "present": "1"}, now=1001.0)
    assert c2.version == 1 and c2.params == {"lesson": "mse", "step": "2"}
    assert publish(tmp_path, c.id, token, "lessons", {"lesson": "mse", "step": "2"}, now=1002.0).version == 1
    with pytest.raises(LossvizInputError):  # a student (no token, or a wrong one) never pushes
        publish(tmp_path, c.id, "f" * 32, "explore", {}, now=1003.0)
    assert read_class(tmp_path, c.id, now=1003.0).page == "lessons"
    assert read_class(tmp_path, c.id, now=1001.0 + CLASS_IDLE_S + 1) is None  # the teacher left long ago
    end_class(tmp_path, c.id, token, now=1004.0)
    assert read_class(tmp_path, c.id, now=1005.0) is None
    with pytest.raises(LossvizInputError):
        publish(tmp_path, c.id, token, "explore", {}, now=1006.0)
    assert not [p for p in (tmp_path / "classes").iterdir() if p.suffix == ".tmp"]  # atomic: no leftovers
    assert student_link("http://h:1/", c.id) == f"http://h:1/?class={c.id}"
    assert "token" not in student_link("http://h:1", c.id)


def test_class_files_that_lie_are_not_classes(tmp_path) -> None:
    for bad in ("../etc", "ABCDEFGH", "", None, 5, "a" * 9):
        assert read_class(tmp_path, bad, now=0.0) is None
    folder = tmp_path / "classes"
    folder.mkdir()
    os.mkfifo(folder / "abcdefgh.json")  # never blocks
    assert read_class(tmp_path, "abcdefgh", now=0.0) is None
    (folder / "bcdefghi.json").write_text(json.dumps({"id": "bcdefghi", "page": "x", "version": 1e400,
                                                      "seen": "soon", "params": {"k": 1}}))
    assert read_class(tmp_path, "bcdefghi", now=0.0) is not None  # damaged fields read as harmless defaults
    assert read_class(tmp_path, "bcdefghi", now=0.0).params == {}
    (folder / "cdefghij.json").write_text("[" * 100000)
    assert read_class(tmp_path, "cdefghij", now=0.0) is None


def test_text_from_links_is_never_markdown() -> None:
    out = plain_text("[Log in](http://evil.example) ![](http://x/x.png) **b** <b>")
    assert "](" not in out.replace("\\](", "") and "\\!" in out and "\\*\\*" in out and "\\<" in out


def test_every_chart_gets_the_one_theme() -> None:
    fig = go.Figure([go.Scatter(x=[0, 1], y=[1, 0], name="a"), go.Scatter(x=[0], y=[1], name="b")],
                    layout=dict(height=400, margin=dict(t=40, b=10), title=dict(text="t", subtitle=dict(text="s"))))
    style_figure(fig, present=True)
    assert fig.layout.xaxis.tickfont.size >= 18 and contrast_ratio(fig.layout.xaxis.tickfont.color, "#ffffff") >= 7
    assert fig.layout.title.subtitle.font.size >= 18
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0.0  # under the axis title
    assert fig.layout.margin.b >= 78 + 30
    for _, colour in LOSS_SCALE:
        assert contrast_ratio(colour, "#ffffff") >= 3, colour


def test_a_long_subtitle_wraps_on_the_projector_and_the_chart_keeps_its_size() -> None:
    from lossviz.theme import wrap_to_width

    zh = "每个批次的 CrossEntropyLoss；虚线：每轮结束后在测试集上的损失"
    fig = go.Figure([go.Scatter(x=[0, 1], y=[1, 0])],
                    layout=dict(height=380, margin=dict(t=78, b=45), title=dict(text="t", subtitle=dict(text=zh))))
    style_figure(fig, present=True)
    lines = fig.layout.title.subtitle.text.split("<br>")
    assert len(lines) == 2 and "".join(lines).replace(" ", "") == zh.replace(" ", "")
    assert not lines[1].startswith(("；", "：", "，"))  # a closing mark stays on the line it closes
    assert fig.layout.margin.t >= 10 + 32 + 3 * 24 and fig.layout.height == 380  # room above, the size kept
    assert fig.layout.title.yanchor == "top" and fig.layout.title.y == 1.0  # hung from the top, not centred
    short = go.Figure(layout=dict(height=380, margin=dict(t=78), title=dict(text="t", subtitle=dict(text="short"))))
    style_figure(short, present=True)
    assert short.layout.title.subtitle.text == "short" and short.layout.margin.t > 78  # clear of the top tick
    plain = go.Figure(layout=dict(height=380, title=dict(text="t", subtitle=dict(text=zh))))
    assert style_figure(plain).layout.title.subtitle.text == zh  # at a desk: one line, as drawn before
    en = wrap_to_width("CrossEntropyLoss of each batch; dashed: the test set after each epoch", 410, 18)
    assert len(en) == 2 and all(len(line) * 0.48 * 18 <= 410 for line in en)
    assert wrap_to_width("a <b>bold</b> note that is long enough to wrap twice over", 50) == [
        "a <b>bold</b> note that is long enough to wrap twice over"]  # markup is never cut


def test_plot_config_for_slides() -> None:
    cfg = plot_config("gradient ∂L/∂input", "zh")
    assert cfg["toImageButtonOptions"] == {"format": "png", "scale": 3, "filename": "gradient-∂L-∂input"}
    assert cfg["locale"] == "zh-CN" and cfg["locales"]["zh-CN"]["dictionary"]["Download plot as a PNG"]
    assert "locale" not in plot_config("x", "en")
    assert file_name("../../x") == "x" and len(file_name("y" * 500)) <= 60
    js = page_script_js("zh", present=True)
    for key in ("ArrowRight", "PageDown", "PageUp", "ArrowLeft", "'svg'", "全选"):
        assert key in js, key


def test_runs_room(tmp_path) -> None:
    assert same_settings({"a": {"lr": 1}, "b": {"lr": 1, "started": 5}, "c": {"lr": 2}}) == [("a", "b")]
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "config.json").write_text("{}")
    with pytest.raises(LossvizInputError):
        delete_run(tmp_path, "r1", live=True)
    for bad in ("..", "../x", "/etc", ".hidden", "nope"):
        with pytest.raises(LossvizInputError):
            delete_run(tmp_path, bad, live=False)
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "config.json").write_text("{}")
    (tmp_path / "link").symlink_to(outside)
    with pytest.raises(LossvizInputError):
        delete_run(tmp_path, "link", live=False)
    delete_run(tmp_path, "r1", live=False)
    assert not (tmp_path / "r1").exists() and (outside / "config.json").exists()
