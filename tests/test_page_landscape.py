"""AppTest of the landscape page (run directly: pages/landscape.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.losses import list_losses

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "landscape.py")


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_default_load_draws_contour_and_surface() -> None:
    at = _app()
    _ok(at)
    assert not at.error
    charts = _charts(at)
    assert [c["data"][0]["type"] for c in charts] == ["contour", "surface"]
    # the one default example (the explorer's): cross-entropy, the true class against its strongest rival
    assert charts[0]["layout"]["xaxis"]["title"]["text"].startswith("z₀,₁")
    assert "101×101 grid" in " ".join(c.value for c in at.caption)
    assert "L = " in at.markdown[1].value


def test_resolution_and_elements_can_change() -> None:
    at = _app(loss="MSELoss", t_input="2.0, -1.0, 0.5", t_target="0.5, 1.0, 0.5")
    at.select_slider(key="ls_res").set_value(21).run()
    _ok(at)
    assert "21×21 grid" in " ".join(c.value for c in at.caption)
    at.selectbox(key="ls_j").set_value("input:2").run()
    _ok(at)
    contour = _charts(at)[0]
    assert contour["layout"]["yaxis"]["title"]["text"].startswith("ŷ₂")
    assert contour["data"][0]["z"]["shape"] == "21, 21"
    at.selectbox(key="ls_j").set_value("input:0").run()  # same as x: refused in words
    assert any("two different" in e.value for e in at.error)
    _ok(at)


def test_every_tab_renders() -> None:
    at = _app(ls_res="21")
    for tab, types in (
        ("Descent", ["contour", "scatter"]),
        ("Loss curve", ["scatter"]),
        ("sum vs mean", ["scatter", "scatter"]),
    ):
        at.session_state["ls_view"] = tab
        at.run()
        _ok(at)
        assert [c["data"][0]["type"] for c in _charts(at)] == types, tab
    at.session_state["ls_view"] = "Descent"
    at.run()
    anim = _charts(at)[0]
    assert anim["frames"] and anim["layout"]["updatemenus"][0]["buttons"][0]["method"] == "animate"


def test_explorer_example_is_reused_from_query_params() -> None:
    at = _app(loss="MSELoss", t_input="1.5, 2.5, 0.0", t_target="1., 2., 3.", reduction="sum")
    _ok(at)
    text = at.markdown[1].value
    assert "on the example from the explorer" in text and "'sum'" in text and "L = **9.5**" in text


def test_loose_session_keys_of_other_pages_do_not_leak_in() -> None:
    """Only the shared Example crosses pages: a bare "loss" key (the training page's, before it took the
    tr_ prefix) or stray t_* keys never change the landscape."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["loss"] = "MultiMarginLoss"
    at.session_state["t_input"] = "[[2.0, 0.5, -1.0]]"
    at.session_state["t_target"] = "[0]"
    at.run()
    _ok(at)
    assert at.selectbox(key="ls_loss").value == "CrossEntropyLoss"  # the one default example
    assert "[[2.0, 0.5, -1.0]]" not in str(at.session_state["lossviz_example"])


def test_crafted_query_params_get_messages_not_tracebacks() -> None:
    at = _app(
        loss="Bogus",
        ls_res="100000",
        ls_steps="-5",
        ls_lr="abc",
        ls_i="nope:3",
        ls_range="1,2,3",
        ls_view="Hidden",
    )
    _ok(at)
    text = " ".join(w.value for w in at.warning) + " ".join(e.value for e in at.error)
    for bit in (
        "unknown loss",
        "resolution",
        "steps",
        "learning rate",
        "x element",
        "ranges need 4",
    ):
        assert bit in text, bit
    # the example's own keys go through the one URL reader (lossviz.explore.Example.from_query)
    at2 = _app(loss="MSELoss", reduction="max")
    _ok(at2)
    assert any("reduction" in w.value for w in at2.warning)
    assert at.select_slider(key="ls_res").value == 101 and at.number_input(key="ls_steps").value == 30
    assert len(_charts(at)) == 2


def test_an_example_that_does_not_fit_falls_back_with_an_error() -> None:
    at = _app(loss="CrossEntropyLoss", t_input="[[1, 2, 3]]", t_target="7")
    _ok(at)
    assert at.error and "cannot be used" in at.error[0].value
    assert len(_charts(at)) == 2


def test_domain_limits_are_explained() -> None:
    at = _app(loss="BCELoss", t_input="0.2, 0.9", t_target="1., 0.", ls_range="-1, 2, 0.1, 0.5")
    _ok(at)
    assert any("between 0 and 1" in i.value for i in at.info)
    at = _app(
        loss="CrossEntropyLoss",
        t_input="[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]",
        t_target="-100, 0",
        ls_i="input:0",
        ls_j="input:1",
    )
    _ok(at)
    assert any("ignore_index" in i.value for i in at.info)


@pytest.mark.slow
def test_page_works_for_every_catalog_loss() -> None:
    at = _app(ls_res="21")
    for name in list_losses():
        at.selectbox(key="ls_loss").set_value(name).run()
        _ok(at)
        assert not at.error, (name, [e.value for e in at.error])
        assert len(_charts(at)) == 2, name


def test_explorer_shared_example_object_is_reused() -> None:
    from lossviz.explore.example import Example

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lossviz_example"] = Example(
        loss="HuberLoss",
        reduction="sum",
        texts={"input": "3.0, -2.0", "target": "0.0, 0.0"},
        params={"delta": "0.5"},
    )
    at.run()
    _ok(at)
    assert at.selectbox(key="ls_loss").value == "HuberLoss"
    text = at.markdown[1].value
    assert "explorer" in text and "'sum'" in text
    assert "L = **2.25**" in text  # 0.5·(3 − 0.25) + 0.5·(2 − 0.25)


def test_switching_loss_resets_its_controls_without_warnings() -> None:
    at = _app(loss="GaussianNLLLoss", t_input="0.5, 2.0", t_target="1.5, 1.0", t_var="0.5, 1.0", ls_j="var:0")
    at.text_input(key="ls_range").set_value("-1, 2, 0.1, 2").run()
    at.number_input(key="ls_lr").set_value(0.3).run()
    assert at.selectbox(key="ls_j").value == "var:0"
    at.selectbox(key="ls_loss").set_value("CrossEntropyLoss").run()
    _ok(at)
    assert not at.warning and not at.error
    assert at.text_input(key="ls_range").value == "" and at.number_input(key="ls_lr").value is None
    assert at.selectbox(key="ls_i").value == "input:1" and at.selectbox(key="ls_j").value == "input:2"


def test_unrelated_widgets_do_not_recompute_the_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    import lossviz.landscape as S

    calls = {"n": 0}
    real = S.compute_surface

    def counting(*a, **k):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(S, "compute_surface", counting)  # the page imports it from the face
    at = _app(ls_res="41", ls_range="-1.25, 2.75, -1.75, 2.25")  # a grid no other test caches
    _ok(at)
    assert calls["n"] == 1
    at.checkbox(key="ls_arrows").set_value(False).run()
    at.number_input(key="ls_steps").set_value(7).run()
    at.session_state["ls_view"] = "Loss curve"
    at.run()
    _ok(at)
    assert calls["n"] == 1  # arrows, steps and tabs reuse the cached surface
    at.select_slider(key="ls_res").set_value(61).run()
    assert calls["n"] == 2


def test_both_pages_share_one_example_through_the_app() -> None:
    """Explorer → landscape → explorer in one session: what the landscape changes, the explorer shows."""
    app = str(Path(PAGE).parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["ex"] = "l1_sum"
    at.run()
    _ok(at)
    assert at.selectbox(key="w_loss").value == "L1Loss"
    at.switch_page("pages/landscape.py").run()
    _ok(at)
    assert at.selectbox(key="ls_loss").value == "L1Loss"  # the explorer's example came along
    at.selectbox(key="ls_loss").set_value("HuberLoss").run()
    at.selectbox(key="ls_red").set_value("sum").run()
    _ok(at)
    at.switch_page("pages/explorer.py").run()
    _ok(at)
    assert at.selectbox(key="w_loss").value == "HuberLoss"
    assert at.radio(key="w_reduction").value == "sum"
    assert at.metric, "the explorer evaluates the landscape's example"
    at.switch_page("pages/landscape.py").run()  # and back: still the same example, not a reset
    assert at.selectbox(key="ls_loss").value == "HuberLoss" and at.selectbox(key="ls_red").value == "sum"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        # issue 11's links, verbatim: each was a crash box
        ({"loss": "SoftMarginLoss", "t_input": "1.5,-0.3,-2.2", "t_target": "1."}, None),
        ({"loss": "CrossEntropyLoss", "t_input": "[[0.1,0.2,0.3]]", "t_target": "[1]", "p_ignore_index": "1e300"},
         "64 bits"),
        ({"loss": "MSELoss", "t_input": "9" * 5000, "t_target": "1"}, "too large"),
        ({"loss": "MSELoss", "t_input": "\u0661\u0662\u0663, 1", "t_target": "1, 2"}, "digits that are not 0-9"),
        ({"loss": "MSELoss", "t_input": "1, 2", "t_target": "1, 2", "ls_range": "\uff11, 2, 0, 1"},
         "digits that are not 0-9"),
    ],
)
def test_links_that_crashed_now_draw(query: dict[str, str], words: str | None) -> None:
    at = _app(ls_res="21", **query)
    _ok(at)
    errors = [e.value for e in at.error]
    if words is None:
        assert not errors, errors
    else:
        assert len(errors) == 1 and words in errors[0], errors
    # still usable: the contour and the surface are drawn (from the example, or the small one)
    assert [c["data"][0]["type"] for c in _charts(at)] == ["contour", "surface"]
    at.select_slider(key="ls_res").set_value(41).run()
    _ok(at)
    assert "41×41 grid" in " ".join(c.value for c in at.caption)


def test_soft_margin_broadcast_target_matches_torch() -> None:
    """A target () against an input (3,) broadcasts in torch; the landscape's value is torch's."""
    import torch

    at = _app(loss="SoftMarginLoss", t_input="1.5,-0.3,-2.2", t_target="1.", ls_res="21")
    _ok(at)
    want = torch.nn.SoftMarginLoss()(torch.tensor([1.5, -0.3, -2.2]), torch.tensor(1.0))
    assert f"L = **{float(want):.5g}**" in at.markdown[1].value


@pytest.mark.parametrize(("key", "value"), [("ls_lr", "\u0661"), ("ls_steps", "\uff15"), ("ls_lr", "1_0")])
def test_link_numbers_in_other_digits_are_not_read(key: str, value: str) -> None:
    """float() reads '١' or '５' as a number; the landscape refuses such a link value in words and uses its default."""
    at = _app(ls_res="21", **{key: value})
    _ok(at)
    assert any("not allowed" in w.value and value in w.value.replace("\\", "") for w in at.warning), [  # escaped: text (D8)
        w.value for w in at.warning]
    if key == "ls_lr":
        assert at.number_input(key="ls_lr").value is None  # the automatic rate
    else:
        assert at.number_input(key="ls_steps").value == 30


def test_round_trip_keeps_the_landscape_controls() -> None:
    """Explorer → landscape → explorer → landscape: resolution, steps and arrows come back as they were
    (issue 19: 101 → 21, 30 → 1, on → off, because Streamlit drops a page's widget keys when it is left and
    the page wrote the sliders' minimums into its link)."""
    app = str(Path(PAGE).parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=180)
    at.run()
    at.switch_page("pages/landscape.py").run()
    _ok(at)
    at.select_slider(key="ls_res").set_value(101).run()
    at.number_input(key="ls_steps").set_value(45).run()
    at.checkbox(key="ls_arrows").uncheck().run()
    _ok(at)
    for _ in range(2):
        at.switch_page("pages/explorer.py").run()
        _ok(at)
        at.switch_page("pages/landscape.py").run()
        _ok(at)
        assert at.select_slider(key="ls_res").value == 101
        assert at.number_input(key="ls_steps").value == 45
        assert at.checkbox(key="ls_arrows").value is False
        link = {k: at.query_params[k] for k in at.query_params}
        assert link.get("ls_res") in ("101", ["101"]) and link.get("ls_steps") in ("45", ["45"]), link


def test_a_nan_example_falls_back_to_a_finite_landscape_with_a_sentence() -> None:
    at = _app(loss="MSELoss", t_input="1., nan, 3", t_target="1., 2., 3.")
    assert not at.exception
    assert any("NaN" in e.value and "finite" in e.value for e in at.error), [e.value for e in at.error]
    assert _charts(at), "the loss's small finite example is drawn instead"
