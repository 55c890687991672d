"""Each page speaks one language: in Chinese no English phrase, in English no Chinese, anywhere on the
page (titles, text, labels, help, options, tabs, messages, chart titles, axes and legends).

The collector and the phrase rule are in tests/page_text.py; code, LaTeX and API names such as
``CrossEntropyLoss`` or ``reduction='mean'`` are not phrases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import page_test
from tests.page_text import chinese, english_phrases, page_texts

#: (page, link) pairs walked in each language: the default view and views that show more text.
VIEWS = [
    ("explorer.py", {}),
    ("explorer.py", {"ex": "kl_batchmean"}),
    ("explorer.py", {"loss": "HingeEmbeddingLoss", "t_input": "0.3, 1.5, 0.2", "t_target": "1, 0, 1"}),
    ("explorer.py", {"loss": "CrossEntropyLoss", "t_input": "0.1, 0.2", "t_target": "[5]"}),
    ("landscape.py", {}),
    ("landscape.py", {"loss": "MSELoss", "ls_view": "Descent"}),
    ("landscape.py", {"loss": "L1Loss", "ls_view": "Loss curve", "ls_range": "-100,100"}),
    ("landscape.py", {"loss": "MSELoss", "ls_view": "sum vs mean", "present": "1"}),
    ("landscape.py", {"loss": "BCELoss"}),
    ("lessons.py", {"lesson": "reduction", "step": "1"}),
    ("lessons.py", {"lesson": "ce_forms", "step": "5"}),
    ("lessons.py", {"lesson": "ce_batch", "step": "2"}),
    ("lessons.py", {"lesson": "backward", "step": "1", "present": "1"}),
    # training: "_runs" is not a link parameter but the runs folder the view needs ("finished": two ended runs)
    ("training.py", {}),
    ("training.py", {"_runs": "finished"}),
    ("training.py", {"_runs": "finished", "present": "1"}),
    ("training.py", {"_runs": "live"}),
]


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder with two short finished synthetic runs (a few seconds on one CPU thread)."""
    import torch

    from lossviz.training.trainer import TrainConfig, Trainer

    runs = tmp_path_factory.mktemp("runs")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    for seed, name in ((0, "first"), (1, "second")):
        cfg = TrainConfig(dataset="synthetic", synthetic_train=64, synthetic_test=32, batch_size=16, epochs=1, seed=seed)
        Trainer(cfg, runs_dir=runs, run_name=name).run()
    torch.set_num_threads(before)
    return runs


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[Path]:
    """A runs folder with a run that another program (e.g. the CLI) is still writing: status, progress and
    ETA text, and the read-only note."""
    from lossviz.training import runs as lv_runs

    runs = tmp_path / "live-runs"
    config = {"dataset": "synthetic", "dataset_label": "synthetic", "loss": "CrossEntropyLoss", "optimizer": "sgd",
              "lr": 0.01, "batch_size": 16, "total_steps": 100, "relu": False}  # fmt: skip
    writer = lv_runs.RunWriter.create(runs, "from-cli", config)
    for step in range(1, 6):
        writer.append_record({"kind": "batch", "step": step, "epoch": 1, "loss": 2.3 - 0.01 * step, "grad_norm": 1.0,
                              "layer_grad_norms": {"0.weight": 0.5, "0.bias": 0.1}, "lr": 0.01,
                              "batch_accuracy": 0.1, "images_per_s": 500.0, "time": 0.1 * step})  # fmt: skip
    yield runs
    writer.close()


def _view(page: str, query: dict[str, str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> dict[str, str]:
    """The link of a view; a training view also gets its own runs and data folders (never the real ones)."""
    query = dict(query)
    if page == "training.py":
        which = query.pop("_runs", None)
        runs = request.getfixturevalue({"finished": "finished_runs", "live": "live_run"}[which]) if which else tmp_path / "runs"
        monkeypatch.setenv("LOSSVIZ_RUNS", str(runs))
        monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    return query


def test_the_phrase_rule_can_fail() -> None:
    assert english_phrases("the lowest point on the grid")
    assert not english_phrases("CrossEntropyLoss(reduction='mean') · `x.sum()` · $\\frac{a}{b}$ 的损失")
    assert not english_phrases("nn.L1Loss · log_softmax · 损失函数 · ‖grad‖ of conv1")
    assert chinese("损失") and not chinese("loss")


@pytest.mark.parametrize(("page", "query"), VIEWS, ids=lambda v: str(v))
def test_chinese_page_has_no_english_phrase(page: str, query: dict[str, str], request: pytest.FixtureRequest,
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    query = _view(page, query, request, monkeypatch, tmp_path)
    at = page_test(page, {**query, "lang": "zh"})
    assert not at.exception
    texts = page_texts(at)
    assert len(texts) > 10
    bad = [(kind, text[:100], english_phrases(text)) for kind, text in texts if english_phrases(text)]
    assert not bad, bad


@pytest.mark.parametrize(("page", "query"), VIEWS, ids=lambda v: str(v))
def test_english_page_has_no_chinese(page: str, query: dict[str, str], request: pytest.FixtureRequest,
                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    query = _view(page, query, request, monkeypatch, tmp_path)
    at = page_test(page, {**query, "lang": "en"})
    assert not at.exception
    bad = [(kind, text[:100]) for kind, text in page_texts(at) if chinese(text)]
    assert not bad, bad


def _charts(at: object) -> list:
    return [n.proto for n in _nodes_of(at) if getattr(n, "type", None) == "plotly_chart" and getattr(n, "proto", None)]


def _nodes_of(at: object) -> list:
    from tests.page_text import _nodes

    return list(_nodes(at._tree))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_compare_box_and_chart_toolbar_speak_the_readers_language(lang: str, finished_runs: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """The compare box with two runs picked (its log toggle, its same-settings note, the overlay chart),
    and every chart's toolbar: Plotly's zh-CN locale in Chinese, PNG at 3x named after the chart."""
    import json

    monkeypatch.setenv("LOSSVIZ_RUNS", str(finished_runs))
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    at = page_test("training.py", {"lang": lang})
    at.multiselect(key="tr_compare_runs").set_value(["first", "second"]).run()
    assert not at.exception
    texts = page_texts(at)
    if lang == "zh":
        bad = [(kind, text[:100], english_phrases(text)) for kind, text in texts if english_phrases(text)]
    else:
        bad = [(kind, text[:100]) for kind, text in texts if chinese(text)]
    assert not bad, bad
    charts = _charts(at)
    assert len(charts) >= 5  # four live charts and the comparison
    for proto in charts:
        config = json.loads(proto.config)
        assert config["toImageButtonOptions"]["scale"] == 3 and config["toImageButtonOptions"]["filename"] != ""
        if lang == "zh":
            assert config["locale"] == "zh-CN" and config["locales"]["zh-CN"]["dictionary"]["Autoscale"] == "自动缩放"
        else:
            assert "locale" not in config
