"""The weight-space landscape: directions, slice engine, line, path projections, snapshots and the CLI.

Every value is checked against a direct evaluation: the tutorial CNN loaded with the weights of
that point (``load_state_dict``) and the run's loss called on the same images.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz.cli.main import main as cli_main
from lossviz.errors import LossvizInputError
from lossviz.i18n import render
from lossviz.training.model import build_model
from lossviz.training.snapshots import (
    SnapshotRecorder,
    list_snapshot_files,
    load_weights,
    save_weights,
)
from lossviz.training.trainer import TrainConfig, make_loss
from lossviz.weightspace import directions as D
from lossviz.weightspace import load as R
from lossviz.weightspace import path as P
from lossviz.weightspace import slices as S
from lossviz.weightspace.figures import (
    make_weight_contour_figure,
    make_weight_line_figure,
    make_weight_surface_figure,
)
from lossviz.weightspace.load import load_snapshots
from tests.page_text import chinese, english_phrases


def note_text(note: object, lang: str = "en") -> str:
    return render(note, lang)


ROOT = Path(__file__).resolve().parent.parent


def make_run(
    folder: Path,
    *,
    loss: str = "CrossEntropyLoss",
    relu: bool = False,
    steps: int = 6,
    weights_format: str = "pt",
    status: str = "finished",
) -> Path:
    """A small run directory as the trainer writes it: config, summary, snapshots, final weights."""
    run = folder / f"run-{loss}-{int(relu)}-{weights_format}"
    run.mkdir(parents=True)
    cfg = TrainConfig(
        dataset="synthetic", synthetic_train=20, synthetic_test=40, seed=3, relu=relu, loss=loss, lr=0.05
    )
    config = {**cfg.to_dict(), "dataset": "synthetic", "synthetic": True}
    (run / "config.json").write_text(json.dumps(config))
    (run / "summary.json").write_text(json.dumps({"status": status, "steps": steps}))
    model = build_model(relu)
    model.load_state_dict(R.initial_weights(config))
    loss_fn = make_loss(cfg.validated())
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rec = SnapshotRecorder(run, every=1)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 32, 32, generator=gen), torch.randint(0, 10, (16,), generator=gen)
    for step in range(steps):
        rec.observe(step, model)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if weights_format == "pt":
        torch.save(state, run / "model.pt")
    else:
        save_weights(run / "model.safetensors", state)
    return run


def direct_loss(
    run: R.RunWeights, weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> float:
    model = build_model(bool(run.config.get("relu")))
    model.load_state_dict(weights)
    model.eval()
    with torch.no_grad():
        return float(run.loss_fn(model(x), y))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs"))


# ----------------------------------------------------------------------------- directions


def test_filter_normalisation_is_filter_by_filter(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    dx, dy = D.random_directions(run.centre, seed=7)
    for d in (dx, dy):
        for name, w in run.centre.items():
            if w.dim() == 1:
                assert torch.count_nonzero(d[name]) == 0, f"{name}: biases get a zero direction"
                continue
            for i in range(w.shape[0]):
                assert torch.allclose(d[name][i].norm(), w[i].norm(), rtol=1e-5), (name, i)
            # not merely rescaled copies of the weights: a random direction
            assert not torch.allclose(d[name], w)
    again = D.random_directions(run.centre, seed=7)
    assert all(torch.equal(dx[k], again[0][k]) for k in dx)
    other = D.random_directions(run.centre, seed=8)
    assert not torch.equal(dx["0.weight"], other[0]["0.weight"])


def test_refinement_levels_coarse_first_and_cover_every_point() -> None:
    assert [len(lv) for lv in D.refinement_levels(41)] == [9, 17, 33, 41]
    order = D.point_order(21, 21)
    first, (ia, ib) = order[0]
    assert len(ia) == len(ib) == 9 and len(first) == 81
    assert 10 in ia, "the centre is in the coarse picture"
    everything = [p for pts, _ in order for p in pts]
    assert len(everything) == len(set(everything)) == 21 * 21


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("loss", ["CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"])
def test_grid_points_equal_a_direct_evaluation(tmp_path: Path, loss: str, relu: bool) -> None:
    run = R.load_run(make_run(tmp_path, loss=loss, relu=relu, steps=3))
    x, y = R.evaluation_images(run.config, 12)
    land = R.plan(run, seed=1, span=0.8, images=12)
    R.compute(land, x, y, grid=5, line=False)
    s = land.slice
    assert s is not None and s.complete
    for i, j in [(0, 0), (1, 3), (4, 2), (2, 2)]:
        w = {k: run.centre[k] + s.alphas[j] * land.x_dir[k] + s.betas[i] * land.y_dir[k] for k in run.centre}
        assert s.loss[i, j] == pytest.approx(direct_loss(run, w, x, y), abs=1e-5, rel=1e-5), (i, j)
    assert len({round(v, 6) for v in s.loss.ravel()}) > 10, "the slice is not flat"


def test_centre_equals_the_runs_model(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    x, y = R.evaluation_images(run.config, 16)
    land = R.compute(R.plan(run, images=16), x, y, grid=3, line=True)
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert land.slice is not None and land.line is not None
    assert land.slice.loss[1, 1] == pytest.approx(direct_loss(run, state, x, y), abs=1e-5)
    # the 1-D line: α = 0 the initial weights, α = 1 the current ones
    a = list(land.line.alphas)
    assert land.line.loss[a.index(1.0)] == pytest.approx(direct_loss(run, state, x, y), abs=1e-5)
    assert land.line.loss[a.index(0.0)] == pytest.approx(direct_loss(run, run.initial, x, y), abs=1e-5)
    assert min(a) == -0.5 and max(a) == 1.5


def test_vmap_and_loop_agree(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    x, y = R.evaluation_images(run.config, 8)
    dx, dy = D.random_directions(run.centre, 0)
    ax = D.grid_axis(3, 1.0)
    loop = S.compute_slice(S.Evaluator(run.model, run.loss_fn, x, y), run.centre, dx, dy, ax, ax)
    vm = S.compute_slice(
        S.Evaluator(run.model, run.loss_fn, x, y, method="vmap"), run.centre, dx, dy, ax, ax, chunk=4
    )
    np.testing.assert_allclose(loop.loss, vm.loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loop.accuracy, vm.accuracy)


def test_cancel_stops_within_one_chunk(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    x, y = R.evaluation_images(run.config, 4)
    dx, dy = D.random_directions(run.centre, 0)
    ev = S.Evaluator(run.model, run.loss_fn, x, y)
    cancel = threading.Event()
    seen: list[S.Progress] = []

    def progress(p: S.Progress) -> None:
        seen.append(p)
        cancel.set()  # asked right after the first chunk

    ax = D.grid_axis(9, 1.0)
    res = S.compute_slice(ev, run.centre, dx, dy, ax, ax, chunk=5, progress=progress, cancel=cancel.is_set)
    assert res.cancelled and not res.complete
    assert ev.forwards == 5 and res.points_done == 5 and len(seen) == 1
    assert seen[0].eta_s is not None and seen[0].eta_s > 0


def test_coarse_picture_arrives_first_with_progress(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    x, y = R.evaluation_images(run.config, 4)
    dx, dy = D.random_directions(run.centre, 0)
    levels: list[int] = []
    ax = D.grid_axis(17, 1.0)
    S.compute_slice(
        S.Evaluator(run.model, run.loss_fn, x, y), run.centre, dx, dy, ax, ax, chunk=9,
        progress=lambda p: levels.append(p.result.level),
    )  # fmt: skip
    assert levels[0] == -1 and levels[8] == 0 and levels[-1] == 1  # 81 points = 9 chunks: the 9×9 picture


# ----------------------------------------------------------------------------- the path


def test_pca_directions_are_orthonormal(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    ws = [s.weights for s in run.path]
    d1, d2, explained = P.pca_directions(ws, run.centre)
    names = list(run.centre)
    v1, v2 = D.flatten(d1, names), D.flatten(d2, names)
    assert float(v1.norm()) == pytest.approx(1.0, abs=1e-5)
    assert float(v2.norm()) == pytest.approx(1.0, abs=1e-5)
    assert abs(float(v1 @ v2)) < 1e-5
    assert 1.0 >= explained[0] >= explained[1] > 0 and sum(explained) <= 1.0 + 1e-9


def test_projected_path_passes_through_final_weights_at_origin(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    land = R.plan(run, plane="pca")
    for proj in (land.path_random, land.path_pca):
        assert proj is not None
        assert proj.xs[-1] == pytest.approx(0.0, abs=1e-9) and proj.ys[-1] == pytest.approx(0.0, abs=1e-9)
        assert proj.steps[0] == 0 and proj.steps == sorted(proj.steps)
    pca = land.path_pca
    assert pca is not None and abs(pca.xs[0]) > 1e-4
    # the PCA plane shows most of the path's motion, a random plane almost none of it
    assert pca.captured[0] > 0.5 > 0.05 > land.path_random.captured[0]
    text = note_text(land.why)
    assert "%" in text and f"{run.n_params:,}" in text
    assert "主成分" in note_text(land.why, "zh")


# ----------------------------------------------------------------------------- snapshots


@pytest.mark.parametrize("background", [False, True], ids=["inline", "writer-thread"])
def test_snapshot_recorder_is_bounded_and_keeps_the_initial_weights(tmp_path: Path, background: bool) -> None:
    model = build_model()
    rec = SnapshotRecorder(tmp_path, every=1, max_count=8, background=background)
    for step in range(100):
        rec.observe(step, model)
    rec.close()
    steps = [s for s, _ in list_snapshot_files(tmp_path)]
    assert steps == rec.steps and 4 <= len(steps) <= 8 and steps[0] == 0
    gaps = set(np.diff(steps).tolist())
    assert len(gaps) == 1, f"evenly spaced, got {steps}"
    small = SnapshotRecorder(tmp_path / "b", every=1, max_bytes=3 * 600_000, background=background)
    for step in range(20):
        small.observe(step, model)
    small.close()
    assert len(list_snapshot_files(tmp_path / "b")) <= 3


def test_background_snapshots_hold_the_weights_of_their_step(tmp_path: Path) -> None:
    """The writer thread saves a copy taken at observe(): later updates never leak into a file."""
    model = build_model()
    rec = SnapshotRecorder(tmp_path, every=1, background=True)
    seen = {}
    for step in range(5):
        rec.observe(step, model)
        seen[step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
    rec.close()
    for step, path in list_snapshot_files(tmp_path):
        saved = load_weights(path)
        for k, v in seen[step].items():
            torch.testing.assert_close(saved[k], v, rtol=0, atol=0)


def test_a_failed_snapshot_write_switches_recording_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    def full_disk(*args: object, **kwargs: object) -> None:
        raise safetensors.SafetensorError("Error while serializing: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    rec = SnapshotRecorder(tmp_path, every=1)
    assert rec.observe(0, build_model()) is False and "No space left" in rec.error
    assert rec.observe(1, build_model()) is False and list_snapshot_files(tmp_path) == []
    assert not [p for p in (tmp_path / "snapshots").iterdir()], "no temp file left behind"
    # the trainer's writer thread: the first failure switches recording off just the same
    bg = SnapshotRecorder(tmp_path / "bg", every=1, background=True)
    bg.observe(0, build_model())
    bg.close()
    assert "No space left" in bg.error and bg.observe(1, build_model()) is False
    assert list_snapshot_files(tmp_path / "bg") == []


def test_corrupted_snapshot_is_skipped_with_a_message(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, weights_format="safetensors")
    files = list_snapshot_files(run_dir)
    bad = files[2][1]
    bad.write_bytes(bad.read_bytes()[:100])
    snaps, notes = load_snapshots(run_dir)
    assert [s.step for s in snaps] == [s for s, _ in files if s != files[2][0]]
    assert len(notes) == 1 and bad.name in note_text(notes[0]) and bad.name in note_text(notes[0], "zh")
    run = R.load_run(run_dir)
    assert run.notes == notes and run.centre_source == "model.safetensors"


def test_trainer_saves_snapshots(tmp_path: Path) -> None:
    from lossviz.training.trainer import Trainer

    t = Trainer(
        TrainConfig(
            dataset="synthetic", synthetic_train=40, synthetic_test=20, batch_size=8, epochs=1, evaluate=False
        ),
        runs_dir=tmp_path,
        run_name="snap",
    )
    t.run()
    steps = [s for s, _ in list_snapshot_files(tmp_path / "snap")]
    assert steps[0] == 0 and len(steps) >= 2
    snaps, notes = load_snapshots(tmp_path / "snap")
    assert not notes
    init = R.initial_weights(json.loads((tmp_path / "snap" / "config.json").read_text()))
    assert all(torch.equal(snaps[0].weights[k], init[k]) for k in init), "step 0 holds the initial weights"


# ----------------------------------------------------------------------------- figures


def test_figures(run_dir: Path) -> None:
    run = R.load_run(run_dir)
    x, y = R.evaluation_images(run.config, 4)
    land = R.compute(R.plan(run, images=4), x, y, grid=3)
    s, p = land.slice, land.path_plane
    assert s is not None and p is not None and land.line is not None
    fig = make_weight_contour_figure(s.alphas, s.betas, s.loss, path_x=p.xs, path_y=p.ys, path_steps=p.steps)
    names = [t.name for t in fig.data]
    assert "training path" in names and "current weights" in names
    assert make_weight_surface_figure(s.alphas, s.betas, s.loss).data[0].type == "surface"
    assert len(make_weight_line_figure(land.line.alphas, land.line.loss, land.line.accuracy).data) == 2
    with pytest.raises(LossvizInputError):
        make_weight_contour_figure(s.alphas, s.betas, s.loss[:2])


# ----------------------------------------------------------------------------- CLI


def test_cli_json_contract(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["landscape", str(run_dir), "--grid", "5", "--images", "6", "--seed", "2", "--span", "0.5",
                   "--json", "--out", str(tmp_path / "out")])  # fmt: skip
    assert rc == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("alphas", "betas", "loss", "directions", "images_file", "seconds"):
        assert key in res
    assert res["alphas"][2] == 0 and res["betas"][2] == 0 and res["alphas"][-1] == 0.5
    # recompute one off-diagonal point independently from the two files
    from safetensors.torch import load_file

    tensors = load_file(res["directions"])
    x, y = torch.load(res["images_file"], weights_only=True)
    assert x.shape == (6, 3, 32, 32) and y.shape == (6,)
    model = build_model(False)
    names = list(model.state_dict())
    assert {f"x.{n}" for n in names} | {f"y.{n}" for n in names} <= set(tensors)
    state = torch.load(run_dir / "model.pt", weights_only=True)
    i, j = 0, 3  # row 0 follows betas[0], column 3 follows alphas[3]
    a, b = res["alphas"][j], res["betas"][i]
    model.load_state_dict({n: state[n] + a * tensors[f"x.{n}"] + b * tensors[f"y.{n}"] for n in names})
    with torch.no_grad():
        expected = float(torch.nn.functional.cross_entropy(model.eval()(x), y))
    assert res["loss"][i][j] == pytest.approx(expected, abs=1e-5)
    assert res["loss"][j][i] != pytest.approx(expected, abs=1e-5), "rows follow betas, not alphas"


@pytest.mark.parametrize(
    "args",
    [["--grid", "99"], ["--images", "0"], ["--span", "-1"], ["--plane", "sideways"]],
)
def test_cli_bad_input_exits_2_with_one_error_line(
    run_dir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        rc = cli_main(["landscape", str(run_dir), *args])
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ")


def test_cli_missing_run_and_no_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["landscape", str(tmp_path / "nope")]) == 2
    run = make_run(tmp_path)
    (run / "model.pt").unlink()
    shutil.rmtree(run / "snapshots")
    assert cli_main(["landscape", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("error: ") for e in err) and "no saved weights" in err[1]


def test_cli_summary_in_either_language(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The plain-text summary follows --lang; --json does not (its keys and values are a contract)."""
    base = ["landscape", str(run_dir), "--grid", "3", "--images", "4", "--no-line", "--out", str(tmp_path / "o")]
    assert cli_main([*base, "--lang", "en"]) == 0
    en = capsys.readouterr().out.strip().splitlines()
    assert en[0].startswith(f"{run_dir.name}: 3×3 random slice of CrossEntropyLoss on 4 test images in ")
    assert "loss at the centre " in en[0] and en[-2].startswith("directions: ") and en[-1].startswith("images: ")
    assert chinese("\n".join(en)) == []
    assert cli_main([*base, "--lang", "zh", "--plane", "pca"]) == 0
    zh = capsys.readouterr().out.strip().splitlines()
    assert zh[0].startswith(f"{run_dir.name}：CrossEntropyLoss 在 4 张测试图像上的 3×3 PCA切片") and "中心处损失" in zh[0]
    assert zh[-2].startswith("方向：") and zh[-1].startswith("图像：")
    for line in zh:
        assert chinese(line) and english_phrases(line) == [], line
    assert cli_main([*base, "--lang", "zh", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plane"] == "random"


def test_cli_errors_in_chinese_keep_their_prefix(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for argv in (["--grid", "99"], ["--seed", "-1"], ["--out", str(blocker / "sub")]):
        assert cli_main(["landscape", str(run_dir), "--grid", "3", "--images", "4", "--no-line", *argv,
                         "--lang", "zh"]) == 2  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and chinese(err[0]), err
        assert english_phrases(err[0].removeprefix("error: ")) == [], err
    assert cli_main(["landscape", str(tmp_path / "nope"), "--lang", "zh"]) == 2
    assert "不是运行目录" in capsys.readouterr().err


def test_refusals_of_each_module_render_in_chinese(run_dir: Path) -> None:
    """One converted error per module: English for the CLI's log and the tests, Chinese for the reader."""
    from lossviz.errors import LossvizInputError
    from lossviz.i18n import render

    run = R.load_run(run_dir)
    cases = [
        (lambda: D.check_seed(-1), "seed=-1 is out of range", "seed=-1 超出范围"),
        (lambda: D.check_grid(99), "grid=99 is out of range", "grid=99 超出范围"),
        (lambda: R.plan(run, plane="sideways"), "plane 'sideways' is unknown", "未知的平面 'sideways'"),
        (lambda: R.load_run(run_dir / "nope"), "is not a run directory", "不是运行目录"),
        (lambda: make_weight_line_figure([0.0], [1.0]), "give one loss per α", "请为每个 α 给出一个损失值"),
        (lambda: make_weight_contour_figure([0, 1], [0, 1], np.zeros((3, 2))), "one row per beta", "每个 beta 一行"),
    ]
    for call, en, zh in cases:
        with pytest.raises(LossvizInputError) as err:
            call()
        assert en in str(err.value) and zh in render(err.value, "zh")
        zh_text = re.sub(r"'[^']*'", " ", render(err.value, "zh"))  # a 'quoted' command is typed, not read
        assert english_phrases(zh_text) == [], zh_text


def test_live_run_uses_its_latest_snapshot(tmp_path: Path) -> None:
    import socket
    import time

    run_dir = make_run(tmp_path, status="running")
    (run_dir / "summary.json").write_text(
        json.dumps(
            {"status": "running", "pid": os.getpid(), "host": socket.gethostname(), "updated": time.time()}
        )
    )
    (run_dir / "model.pt").unlink()
    run = R.load_run(run_dir)
    assert run.live and run.centre_step == list_snapshot_files(run_dir)[-1][0]
    land = R.plan(run)
    assert land.path_random is not None and land.path_random.xs[-1] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow
def test_torchrun_two_gloo_ranks_give_the_same_slice(run_dir: Path, tmp_path: Path) -> None:
    args = [str(run_dir), "--grid", "5", "--images", "4", "--json", "--no-line"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    single = subprocess.run(
        [sys.executable, "-m", "lossviz", "landscape", *args, "--out", str(tmp_path / "a")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    multi = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "lossviz", "landscape", *args, "--out", str(tmp_path / "b")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert multi.returncode == 0, multi.stderr
    one = json.loads(single.stdout.strip().splitlines()[-1])
    lines = [ln for ln in multi.stdout.strip().splitlines() if ln.startswith("{")]
    assert len(lines) == 1, "only rank 0 prints"
    two = json.loads(lines[0])
    assert two["world_size"] == 2 and one["world_size"] == 1
    np.testing.assert_allclose(np.array(two["loss"]), np.array(one["loss"]), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- run folders that lie (issue 20)


def _landscape_cli(run: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    rc = cli_main(["landscape", str(run), "--grid", "3", "--images", "4", "--no-line", "--out",
                   str(run.parent / f"out-{run.name}"), *extra])  # fmt: skip
    return rc, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("where", ["snapshot", "model", "config", "summary"])
def test_a_fifo_in_the_run_folder_never_blocks(tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    """D1: ``mkfifo runs/r/snapshots/step_000999.safetensors`` blocked ``landscape`` until someone wrote to it."""
    run = make_run(tmp_path, weights_format="safetensors")
    target = {
        "snapshot": run / "snapshots" / "step_000999.safetensors",
        "model": run / "model.safetensors",
        "config": run / "config.json",
        "summary": run / "summary.json",
    }[where]
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    done = threading.Event()
    outcome: list[object] = []

    def go() -> None:  # a thread, so that a regression fails the test instead of hanging it
        try:
            outcome.append(_landscape_cli(run, capsys))
        finally:
            done.set()

    threading.Thread(target=go, daemon=True).start()
    assert done.wait(120), "the landscape blocked on a FIFO"
    rc, err = outcome[0]
    if where in ("snapshot", "summary"):  # skipped (with a note) or not needed: the slice is computed
        assert rc == 0
        assert where == "summary" or any("not a regular file" in e for e in err), err
    else:
        assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), err


def test_thousands_of_snapshot_links_are_capped_and_links_out_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D6: 3,000 snapshot files (symlinks to one) made ``landscape`` peak at 9.6 GB."""
    run = make_run(tmp_path)
    snaps = run / "snapshots"
    one = sorted(snaps.iterdir())[-1]
    for k in range(3000):
        (snaps / f"step_{100000 + k:06d}.safetensors").symlink_to(one.name)
    outside = tmp_path / "elsewhere.safetensors"
    shutil.copy(one, outside)
    (snaps / "step_999999.safetensors").symlink_to(outside)
    shapes = {k: v.shape for k, v in build_model(False).state_dict().items()}
    got, notes = load_snapshots(run, shapes)
    assert len(got) <= R.MAX_SNAPSHOTS
    texts = [render(n) for n in notes]
    assert any("3007 weight snapshots" in t and "uses 64" in t for t in texts), texts
    assert any("leads out of the run folder" in t and "step_999999" in t for t in texts), texts
    assert all("step_999999" not in str(s.path) for s in got)
    rc, err = _landscape_cli(run, capsys)
    assert rc == 0 and all(e.startswith("warning: ") for e in err), err


@pytest.mark.parametrize("kind", ["nan", "inf", "int64", "uint8", "zero"])
def test_weights_that_cannot_be_sliced_give_one_error_line(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D10: NaN, Inf, int64, uint8 or all-zero weights gave a ``_LinAlgError`` traceback."""
    run = make_run(tmp_path)
    state = torch.load(run / "model.pt", weights_only=True)
    make = {
        "nan": lambda v: torch.full_like(v, float("nan")),
        "inf": lambda v: torch.full_like(v, float("inf")),
        "int64": lambda v: (v * 100).to(torch.int64),
        "uint8": lambda v: (v.abs() * 100).to(torch.uint8),
        "zero": torch.zeros_like,
    }[kind]
    torch.save({k: make(v) for k, v in state.items()}, run / "model.pt")
    rc, err = _landscape_cli(run, capsys)
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), err
    assert "LinAlg" not in err[0] and "Traceback" not in err[0]
    want = {"nan": "not finite", "inf": "not finite", "int64": "int64", "uint8": "uint8", "zero": "every weight is zero"}
    assert want[kind] in err[0], err
    rc, err = _landscape_cli(run, capsys, "--lang", "zh")
    assert rc == 2 and len(err) == 1 and chinese(err[0]), err


def test_bad_snapshots_are_skipped_with_a_note(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    first = sorted((run / "snapshots").iterdir())[1]
    save_weights(first, {k: torch.full_like(v, float("nan")) for k, v in load_weights(first).items()})
    got, notes = load_snapshots(run)
    assert first not in [s.path for s in got]
    assert any(first.name in render(n) and "not finite" in render(n) for n in notes)
    assert any(first.name in render(n, "zh") and "有限" in render(n, "zh") for n in notes)


def test_synthetic_test_images_are_built_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """D13: a 3×3 slice on 16 images of a 200,000-image run rebuilt all 400,000 images."""
    from lossviz.training import data

    small = data.make_synthetic(5, 4100, 2300)  # the training split spans three chunks
    got = data.synthetic_test_images(5, 4100, 2300, 2050)
    assert torch.equal(got.images, small.test.images[:2050]) and torch.equal(got.labels, small.test.labels[:2050])

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the whole data set was built for a few images")

    monkeypatch.setattr(data, "make_synthetic", refuse)
    config = {**TrainConfig(dataset="synthetic", synthetic_train=20000, synthetic_test=20000, seed=1).to_dict()}
    built: list[int] = []
    real = data._sample

    def counting(templates: torch.Tensor, n: int, gen: torch.Generator, keep: int | None = None) -> data.ImageSplit:
        out = real(templates, n, gen, keep)
        built.append(len(out))
        return out

    monkeypatch.setattr(data, "_sample", counting)
    x, y = R.evaluation_images(config, 16)
    assert x.shape == (16, 3, 32, 32) and y.shape == (16,)
    assert built == [0, 16], "no training image and only the 16 test images are built"


def test_config_with_a_400_digit_seed_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path)
    cfg = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**cfg, "batch_size": "abc"}))
    rc, err = _landscape_cli(run, capsys)
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), err


# ----------------------------------------------------------------------------- the probe folder


def test_probe_writes_levels_progress_and_result_atomically(run_dir: Path, tmp_path: Path) -> None:
    import lossviz.weightspace as ws
    from lossviz.weightspace import probe as PR

    params = ws.SliceParams(grid=17, images=4)
    folder = ws.probe_dir(run_dir, params)
    assert folder == ws.probe_dir(run_dir, params), "the key is stable"
    assert folder != ws.probe_dir(run_dir, ws.SliceParams(grid=17, images=4, seed=1)), "and follows the parameters"
    assert cli_main(ws.landscape_command(run_dir, params, folder)) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert {"level_09.npz", "level_17.npz", "progress.json", "meta.json", "result.json", "lock"} <= set(names)
    assert not [n for n in names if n.endswith(".tmp")]
    state = ws.read_probe(folder)
    assert state.complete and state.fraction == 1.0 and state.picture[2].shape == (17, 17)
    res = json.loads((folder / PR.RESULT_FILE).read_text())
    np.testing.assert_allclose(np.array(res["loss"], dtype=float), state.picture[2], rtol=1e-6)
    assert render(ws.probe_message(state.meta["why"])).startswith("Why does the path")
    # a damaged finest level is passed over: the previous complete level is shown
    (folder / "level_17.npz").write_bytes(b"half a file")
    assert ws.read_probe(folder).picture[2].shape == (9, 9)


def test_a_killed_probe_leaves_a_plain_message(run_dir: Path) -> None:
    import signal

    import lossviz.weightspace as ws

    params = ws.SliceParams(grid=41, images=64)
    folder = ws.probe_dir(run_dir, params)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lossviz", *ws.landscape_command(run_dir, params, folder)],
                            env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        end = time.monotonic() + 120
        while ws.read_probe(folder).picture is None:
            assert time.monotonic() < end and proc.poll() is None, "the probe never drew its coarse level"
            time.sleep(0.1)
        assert ws.read_probe(folder).running
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    state = ws.read_probe(folder)
    assert state.state == "interrupted" and state.picture is not None
    assert "stopped before it finished" in render(state.message) and "进程" in render(state.message, "zh")


def test_sigterm_cancels_a_probe_between_chunks(run_dir: Path) -> None:
    import signal

    import lossviz.weightspace as ws

    params = ws.SliceParams(grid=41, images=64, seed=3)
    folder = ws.probe_dir(run_dir, params)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lossviz", *ws.landscape_command(run_dir, params, folder)],
                            env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    end = time.monotonic() + 120
    while ws.read_probe(folder).picture is None:
        assert time.monotonic() < end and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    state = ws.read_probe(folder)
    assert state.state == "cancelled" and state.picture is not None and state.result is None


# ----------------------------------------------------------------------------- rooms and figures


def test_weightspace_imports_only_the_face_of_training_and_never_back() -> None:
    import ast

    deep, back = [], []
    for path in (ROOT / "lossviz" / "weightspace").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lossviz.training."):
                deep.append(f"{path.name}: {node.module}")
    for path in (ROOT / "lossviz" / "training").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            back += [f"{path.name}: {m}" for m in mods if m.startswith("lossviz.weightspace")]
    assert not deep, deep
    assert not back, back


def test_weight_figures_honour_presentation_mode_and_outline_their_colour_bar(run_dir: Path) -> None:
    from lossviz.classroom import TICK_PX, for_projector
    from lossviz.plots import COLORBAR_OUTLINE

    a = np.linspace(-1, 1, 9)
    z = np.add.outer(a**2, a**2)
    for fig in (make_weight_contour_figure(a, a, z, lang="zh"), make_weight_line_figure(a, z[0], z[1] / 2)):
        fig = for_projector(fig)
        assert fig.layout.font.size >= 18 and fig.layout.font.color == "#111111"
        assert fig.layout.xaxis.tickfont.size >= TICK_PX and fig.layout.yaxis.title.font.size >= 18
    contour = make_weight_contour_figure(a, a, z).data[0]
    assert contour.colorbar.outlinewidth == COLORBAR_OUTLINE["outlinewidth"] and contour.colorbar.outlinecolor == "#111111"
    assert make_weight_contour_figure(a, a, z, lang="zh").layout.title.text == "权重空间二维切片上的损失" or chinese(
        make_weight_contour_figure(a, a, z, lang="zh").layout.title.text
    )
