"""The PyTorch snippet reproduces the page: run it, get the same loss and gradients."""

from __future__ import annotations

import runpy
import subprocess
import sys

import pytest
import torch

from lossviz.explore.codegen import snippet
from lossviz.explore.example import Example
from lossviz.explore.presets import list_presets
from lossviz.losses import get_loss, list_losses
from lossviz.losses.evaluate import evaluate


def _run(code: str, tmp_path) -> dict:
    path = tmp_path / "snippet.py"
    path.write_text(code)
    return runpy.run_path(str(path))


def _check(r, ns: dict) -> None:
    torch.testing.assert_close(ns["loss"].detach(), r.output, rtol=1e-6, atol=1e-7)
    for slot in r.spec.predictions:
        torch.testing.assert_close(ns[slot.name].grad, r.grads[slot.name], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: p.key)
def test_every_preset_snippet_reproduces_the_value(preset, tmp_path) -> None:
    ex = Example.from_preset(preset)
    r = ex.evaluate()
    code = snippet(r, ex.shapes)
    call = r.spec.function.rpartition(".")[2] if r.spec.function else f"nn.{r.spec.name}"
    assert f"{call}(" in code
    _check(r, _run(code, tmp_path))


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_snippet_reproduces_the_value(name: str, tmp_path) -> None:
    spec = get_loss(name)
    params = {p.name: p.choices[-1] for p in spec.params if p.kind == "choice"}
    for reduction in spec.reductions:
        r = evaluate(name, spec.sample(torch.Generator().manual_seed(3)), reduction=reduction, params=params)
        _check(r, _run(snippet(r), tmp_path))


def test_snippet_runs_in_a_fresh_interpreter(tmp_path) -> None:
    """Plain `python snippet.py` prints the loss: nothing from lossviz is needed."""
    ex = Example.from_preset(list_presets()[0])
    path = tmp_path / "s.py"
    path.write_text(snippet(ex.evaluate(), ex.shapes))
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=True)
    assert "tensor(2." in out.stdout
    assert "lossviz" not in path.read_text()


def test_snippet_shows_non_default_params_and_transform() -> None:
    r = evaluate("CrossEntropyLoss", {"input": torch.randn(2, 3), "target": torch.tensor([0, 2])},
                 params={"label_smoothing": 0.1, "weight": torch.tensor([1.0, 2.0, 3.0])})
    code = snippet(r)
    assert "label_smoothing=0.1" in code and "weight=torch.tensor([1.0, 2.0, 3.0])" in code
    assert "ignore_index" not in code
    r2 = evaluate("BCELoss", {"input": torch.tensor([0.5, -1.0]), "target": torch.tensor([1.0, 0.0])},
                  transform="sigmoid")
    assert "torch.sigmoid(input)" in snippet(r2)
