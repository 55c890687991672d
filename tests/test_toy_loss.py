"""A loss registered inside a test works everywhere with no other change (issue 8: a loss is one entry).

The toy is a quartic loss, mean((ŷ − y)⁴), as a torch module; it is registered for these tests only.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from lossviz.cli import main as cli_main
from lossviz.explore import Example, explain, snippet
from lossviz.explore.presets import loss_labels
from lossviz.landscape import compute_surface, default_elements, element_label, setup_for
from lossviz.losses import (
    LandscapeExample,
    LossSpec,
    TensorSlot,
    get_loss,
    list_losses,
    register_loss,
    unregister_loss,
)

ROOT = Path(__file__).resolve().parents[1]
TOY = "QuarticLoss"
LINK = {"loss": TOY, "t_input": "1, 2, 3", "t_target": "1, 2, 5", "reduction": "sum"}


class QuarticLoss(nn.Module):
    """(ŷ − y)⁴ per element, reduced like torch's own losses."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # noqa: A002 - torch's name
        out = (input - target) ** 4
        return out if self.reduction == "none" else out.sum() if self.reduction == "sum" else out.mean()


def _check(t: dict[str, torch.Tensor], p: dict[str, Any]) -> tuple[dict[str, torch.Tensor], list[str]]:
    return {"input": t["input"].float(), "target": t["target"].float()}, []


@pytest.fixture
def toy() -> Iterator[LossSpec]:
    spec = register_loss(
        LossSpec(
            name=TOY,
            cls=QuarticLoss,
            title="Quartic loss",  # no catalog entry: every language shows the English
            task="regression",
            slots=(
                TensorSlot("input", "prediction ŷ", "prediction", "float", "any shape; floats", "input"),
                TensorSlot("target", "target y", "target", "float", "the input's shape", "target"),
            ),
            params=(),
            formula=r"\ell_i = (\hat y_i - y_i)^4",
            advice="A toy: like MSE, but large errors weigh far more.",
            check=_check,
            sample=lambda g: {"input": torch.randn(3, generator=g), "target": torch.randn(3, generator=g)},
            symbols={"input": "ŷ"},
            landscape_example=LandscapeExample({"input": "0.5, -1.0", "target": "0.0, 0.0"}),
        )
    )
    yield spec
    unregister_loss(TOY)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_toy_is_in_the_catalog_only_while_registered(toy: LossSpec) -> None:
    assert TOY in list_losses() and get_loss("quartic") is toy


def test_explorer_shows_the_toy_with_the_derivation_fallback(toy: LossSpec) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in LINK.items():
        at.query_params[k] = v
    at.run()
    _ok(at)
    assert at.selectbox(key="w_loss").value == TOY
    assert at.metric[0].value == "16"  # (3 − 5)⁴
    assert any(f"No hand derivation for {TOY}" in i.value for i in at.info)
    assert explain(Example.from_query(LINK)[0].evaluate()) is None


def test_landscape_draws_the_toy(toy: LossSpec) -> None:
    ex, notes = Example.from_query(LINK)
    assert not notes
    setup = setup_for(ex)
    x, y = default_elements(setup)
    surf = compute_surface(setup, x, y, x_range=(0, 4), y_range=(0, 4), resolution=5)
    # z[i, j] at (xs[j], ys[i]) with the third element fixed at 3 against 5: (x−1)⁴ + (y−2)⁴ + 16
    assert float(surf.z[0, 0]) == pytest.approx(1 + 16 + 16) and element_label(setup, x) == "ŷ₀"
    at = AppTest.from_file(str(ROOT / "pages" / "landscape.py"), default_timeout=120)
    for k, v in {**LINK, "ls_res": "21"}.items():
        at.query_params[k] = v
    at.run()
    _ok(at)
    assert not at.error and len(at.get("plotly_chart")) == 2
    assert TOY in at.markdown[1].value


def test_snippet_of_the_toy_runs_and_reproduces_the_value(toy: LossSpec, tmp_path: Path) -> None:
    r = Example.from_query(LINK)[0].evaluate()
    code = snippet(r)
    assert f"from {QuarticLoss.__module__} import QuarticLoss" in code
    path = tmp_path / "snippet.py"
    path.write_text(code)
    ns = runpy.run_path(str(path))
    torch.testing.assert_close(ns["loss"].detach(), r.output)
    torch.testing.assert_close(ns["input"].grad, r.grads["input"])


def test_cli_evaluates_the_toy(toy: LossSpec, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["eval", "--loss", TOY, "--input", "1, 2, 3", "--target", "1, 2, 5", "--reduction", "sum",
                     "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["loss"] == TOY and out["value"] == pytest.approx(16.0)
    assert out["grad"] == pytest.approx([0.0, 0.0, -32.0])  # 4·(3 − 5)³


def test_an_untranslated_toy_reads_in_english_in_every_language(
    toy: LossSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    assert loss_labels("zh")[TOY] == f"{TOY} · Quartic loss" and loss_labels("en")[TOY] == TOY
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in {**LINK, "lang": "zh"}.items():
        at.query_params[k] = v
    at.run()
    _ok(at)
    assert any(m.value.startswith(f"**Quartic loss**　{toy.advice}") for m in at.markdown)
    assert cli_main(["list", "--json"]) == 0
    entry = next(d for d in json.loads(capsys.readouterr().out) if d["name"] == TOY)
    assert entry["title"] == entry["title_zh"] == "Quartic loss"
    assert entry["advice"] == entry["advice_zh"] == toy.advice
