"""Predictions as pictures: the file the trainer writes after each evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lossviz.training import predictions as P
from lossviz.training.trainer import TrainConfig, Trainer


def test_choice_puts_confident_mistakes_first_and_confusion_counts() -> None:
    true = torch.tensor([0, 1, 2, 3, 4, 5])
    pred = torch.tensor([0, 2, 2, 1, 4, 0])
    prob = torch.tensor([0.9, 0.6, 0.5, 0.8, 0.99, 0.7])
    assert P.choose(true, pred, prob, 5).tolist() == [3, 5, 1, 2, 0]
    cm = P.confusion(true, pred, 6)
    assert cm[1][2] == 1 and cm[0][0] == 1 and sum(map(sum, cm)) == 6


def test_a_run_writes_real_test_pixels_and_its_answers(tmp_path: Path) -> None:
    t = Trainer(TrainConfig(dataset="digits", epochs=1, threads=1), runs_dir=tmp_path, tensorboard=False)
    test = t.data.test
    assert t.run() == "finished"
    got = P.read(t.run_dir)
    assert got is not None and got["classes"] == [str(i) for i in range(10)] and got["dataset"] == "digits"
    px = got["pixels"]
    assert px.shape == (16, 3, 32, 32) and px.dtype == np.uint8
    idx = got["test_index"]
    assert np.array_equal(px, test.images[idx].numpy())  # the real pixels of those test images
    assert got["true"] == test.labels[idx].tolist()
    wrong = [p != t_ for p, t_ in zip(got["pred"], got["true"], strict=True)]
    assert wrong == sorted(wrong, reverse=True)  # mistakes first
    cm = np.array(got["confusion"])
    assert cm.shape == (10, 10) and cm.sum() == len(test)
    assert abs(np.trace(cm) / cm.sum() - t.last_eval["test_accuracy"]) < 1e-9
    assert all(0.0 <= p <= 1.0 for p in got["prob"])
