"""Sharpness: Hessian-vector products and the top eigenvalue against dense torch answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import render
from lossviz.weightspace import sharpness as S


def _small(seed: int = 0, dtype=torch.float64):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 3)).to(dtype)
    x = torch.randn(32, 6, dtype=dtype)
    y = torch.randint(0, 3, (32,))
    return model, nn.functional.cross_entropy, x, y


def test_hvp_equals_a_finite_difference_of_gradients() -> None:
    model, loss_fn, x, y = _small()
    op = S.HessianOperator(model, loss_fn, x, y)
    v = torch.randn(op.n, dtype=torch.float64)
    hv = op(v)
    params = list(model.parameters())
    w0 = [p.detach().clone() for p in params]

    def grad_at(sign: float, eps: float) -> torch.Tensor:
        k = 0
        with torch.no_grad():
            for p, base in zip(params, w0, strict=True):
                p.copy_(base + sign * eps * v[k : k + p.numel()].view_as(p))
                k += p.numel()
        g = torch.autograd.grad(loss_fn(model(x), y), params)
        return torch.cat([t.reshape(-1) for t in g])

    eps = 1e-5
    fd = (grad_at(1, eps) - grad_at(-1, eps)) / (2 * eps)
    assert torch.allclose(hv, fd, rtol=1e-5, atol=1e-8)
    assert op.products == 1


@pytest.mark.parametrize("seed", [0, 1])
def test_lanczos_top_eigenvalue_equals_the_dense_hessians(seed: int) -> None:
    model, loss_fn, x, y = _small(seed)
    dense = S.dense_top_eigenvalue(model, loss_fn, x, y)
    op = S.HessianOperator(model, loss_fn, x, y)
    est = S.lanczos_top(op, op.n, iters=op.n)
    assert est.value == pytest.approx(dense, rel=1e-3)
    hv = op(est.vector.double())
    assert float((hv - est.value * est.vector.double()).norm()) < 1e-2 * abs(dense)
    # power iteration finds the largest magnitude one; here it is the top one too (CE is convex in the scores)
    pw = S.power_iteration(op, op.n, iters=500, tol=1e-10)
    assert pw.value == pytest.approx(dense, rel=1e-3)


def test_warm_start_needs_fewer_products_on_the_cnn() -> None:
    from lossviz.training.model import build_model

    torch.manual_seed(0)
    model = build_model()
    x, y = torch.randn(32, 3, 32, 32), torch.arange(32) % 10
    tracker = S.SharpnessTracker(model, nn.functional.cross_entropy, x, y, iters=20, warm_iters=8)
    cold = tracker.measure()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.001)
    warm = tracker.measure()
    assert warm["warm"] and warm["hvps"] <= 8 < cold["hvps"] + 1
    assert warm["lambda_max"] == pytest.approx(cold["lambda_max"], rel=0.05)
    assert cold["lambda_max"] > 0


def test_threshold_and_its_sentence() -> None:
    assert S.stability_threshold("sgd", 0.05) == pytest.approx(40.0)
    assert S.stability_threshold("sgd", 0.1, 0.9) == pytest.approx(38.0)
    assert S.stability_threshold("adam", 0.001) is None
    assert "2/η" in render(S.threshold_text({"threshold": 40.0, "lr": 0.05, "momentum": 0.0}), "en")
    assert "Adam" in render(S.threshold_text({"threshold": None}), "zh")
    with pytest.raises(LossvizInputError):
        S.check_images(3)


def test_probe_follows_a_finished_run(tmp_path: Path) -> None:
    from lossviz.training.trainer import TrainConfig, Trainer

    t = Trainer(TrainConfig(dataset="digits", train_subset=64, batch_size=64, momentum=0.0, lr=0.05, epochs=6,
                            threads=1, evaluate=False), runs_dir=tmp_path, tensorboard=False)  # fmt: skip
    assert t.run() == "finished"
    out = S.follow_run(t.run_dir, tmp_path / "probe", images=64, iters=10, duty=1.0, follow=False)
    data = json.loads((tmp_path / "probe" / S.SHARPNESS_FILE).read_text())
    assert data["status"] == "done" and data["threshold"] == pytest.approx(40.0) and data["images"] == 64
    steps = [p["step"] for p in data["points"]]
    assert steps == sorted(steps) and len(steps) >= 3 and all(p["lambda_max"] > 0 for p in data["points"])
    assert sum(p["warm"] for p in out["points"]) == len(steps) - 1  # one cold start, then warm


def test_cli_probe_and_its_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lossviz.cli.main import main
    from lossviz.training.trainer import TrainConfig, Trainer

    t = Trainer(TrainConfig(dataset="digits", train_subset=32, batch_size=32, momentum=0.0, lr=0.05, epochs=2,
                            threads=1, evaluate=False), runs_dir=tmp_path, tensorboard=False)  # fmt: skip
    t.run()
    probe = tmp_path / "p"
    assert main(["sharpness", str(t.run_dir), "--probe-dir", str(probe), "--images", "32", "--iters", "6",
                 "--no-follow", "--duty", "1", "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["status"] == "done" and out["points"] and (probe / S.SHARPNESS_FILE).is_file()
    assert main(["sharpness", str(tmp_path / "nope"), "--no-follow"]) == 2
    assert main(["sharpness", str(t.run_dir), "--images", "2", "--no-follow"]) == 2
    assert "error:" in capsys.readouterr().err


def test_in_run_sharpness_is_a_batch_record_field(tmp_path: Path) -> None:
    from lossviz.training.trainer import TrainConfig, Trainer

    t = Trainer(TrainConfig(dataset="digits", train_subset=32, batch_size=32, momentum=0.0, lr=0.05, epochs=2,
                            sharpness_every=2, sharpness_images=32, threads=1, evaluate=False),
                runs_dir=tmp_path, tensorboard=False)  # fmt: skip
    t.run()
    recs = [json.loads(line) for line in (t.run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in recs if "sharpness" in r]
    assert steps == [1, 2] and all(r["sharpness"] > 0 for r in recs if "sharpness" in r)
    # the last value is the top eigenvalue at the final weights on those 32 images
    from lossviz.training.data import load_digits_dataset

    model = t.model
    x, y = load_digits_dataset().train.batch(torch.arange(32))
    op = S.HessianOperator(model, nn.functional.cross_entropy, x, y)
    cold = S.lanczos_top(op, op.n, iters=20)
    assert recs[-1]["sharpness"] == pytest.approx(cold.value, rel=0.02)


def test_the_sharpness_chart_draws_the_stability_line_and_its_own_loss_ticks() -> None:
    from lossviz.training import make_sharpness_figure

    points = [{"step": 1, "lambda_max": 2.0, "loss": 2.288}, {"step": 40, "lambda_max": 26.0, "loss": 1.016}]
    fig = make_sharpness_figure(points, 76.0, "digits", "zh")
    (line,) = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert line.y0 == line.y1 == 76.0 and fig.layout.yaxis.range[1] >= 76.0  # the line is on the chart
    # the loss axis picks round ticks of its own, not the left grid's (1.016, 1.334, 1.652, ...)
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.tickmode == "auto"
    assert [t.yaxis for t in fig.data] == [None, "y2"] and list(fig.data[1].y) == pytest.approx([2.288, 1.016])
    assert "稳定" in fig.layout.annotations[0].text  # the line's label in the reader's language
    empty = make_sharpness_figure([{"step": 1, "lambda_max": float("nan")}], None, None, "en")
    assert not [t for t in empty.data if getattr(t, "y", None) is not None and len(t.y)]
