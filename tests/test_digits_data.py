"""The offline real data: scikit-learn's handwritten digits and a folder of the user's own pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz.errors import LossvizInputError
from lossviz.training import data as lv_data
from lossviz.training.jobs import train_command
from lossviz.training.trainer import TrainConfig


def test_digits_are_the_real_scans_scaled_to_the_cnn_shape() -> None:
    from sklearn.datasets import load_digits

    lv_data._CACHE.clear()
    b = lv_data.load_digits_dataset()
    assert b.kind == "digits" and b.label == "digits" and not b.synthetic
    assert b.classes == [str(i) for i in range(10)]
    assert len(b.train) + len(b.test) == 1797 and len(b.test) == 359
    assert tuple(b.train.images.shape[1:]) == (3, 32, 32) and b.train.images.dtype == torch.uint8
    # the three channels are the same grey picture; down-sampled back to 8×8 it is the scan itself
    img = b.train.images.float()
    assert torch.equal(img[:, 0], img[:, 1]) and torch.equal(img[:, 1], img[:, 2])
    d = load_digits()
    raw = torch.as_tensor(d.images, dtype=torch.float32) * (255 / 16)
    back = torch.nn.functional.interpolate(img[:20, :1], size=(8, 8), mode="bilinear").squeeze(1)
    dist, nearest = torch.cdist(back.flatten(1), raw.flatten(1)).min(dim=1)
    assert float(dist.max()) < 0.15 * float(raw.flatten(1).norm(dim=1).mean())
    assert torch.equal(torch.as_tensor(d.target)[nearest], b.train.labels[:20])
    # the split is fixed and stratified: every class in both halves, no image in both
    lv_data._CACHE.clear()
    again = lv_data.load_digits_dataset()
    assert again is not b and torch.equal(again.test.images, b.test.images)
    assert sorted(set(b.test.labels.tolist())) == list(range(10))


def test_train_command_and_config_name_the_digits() -> None:
    cmd = train_command(TrainConfig(dataset="digits"), "runs", "r")
    assert "--digits" in cmd
    cmd = train_command(TrainConfig(dataset="folder", image_folder="mine"), "runs", "r")
    assert cmd[cmd.index("--image-folder") + 1] == "mine"
    assert lv_data.resolved_kind("auto", "/nonexistent") == "digits"


def test_image_folder_reads_class_subfolders(tmp_path: Path) -> None:
    from PIL import Image

    for k, colour in enumerate(("red", "blue", "green")):
        (tmp_path / f"class_{k}").mkdir()
        for i in range(5):
            Image.new("RGB", (40 + i, 20), colour).save(tmp_path / f"class_{k}" / f"{i}.png")
    b = lv_data.load_image_folder(tmp_path)
    assert b.kind == "folder" and b.classes == ["class_0", "class_1", "class_2"]
    assert tuple(b.train.images.shape[1:]) == (3, 32, 32) and len(b.train) + len(b.test) == 15
    red = b.train.images[b.train.labels == 0][0]
    assert int(red[0].float().mean()) == 255 and int(red[2].float().mean()) == 0
    with pytest.raises(LossvizInputError, match="does not exist"):
        lv_data.load_image_folder(tmp_path / "nope")
    (tmp_path / "lonely").mkdir()
    with pytest.raises(LossvizInputError, match="class subfolders|no pictures"):
        lv_data.load_image_folder(tmp_path / "lonely")


def test_a_digits_run_learns_and_config_says_which_data(tmp_path: Path) -> None:
    from lossviz.training.trainer import Trainer

    t = Trainer(
        TrainConfig(dataset="digits", epochs=3, batch_size=32, lr=0.01, threads=1), runs_dir=tmp_path, tensorboard=False
    )
    assert t.run() == "finished"
    import json

    cfg = json.loads((t.run_dir / "config.json").read_text())
    assert cfg["dataset"] == "digits" and cfg["dataset_label"] == "digits" and cfg["classes"][3] == "3"
    assert t.last_eval["test_accuracy"] > 0.9
    assert np.isfinite(t.last_eval["test_loss"])
