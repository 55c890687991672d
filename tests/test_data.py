"""Data: the real CIFAR-10 loader on a tiny fixture in the real on-disk format, and the synthetic set."""

from __future__ import annotations

import hashlib
import pickle
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from lossviz.errors import LossvizInputError
from lossviz.training import data as lv_data
from lossviz.training.model import build_model

TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: steady speed on a busy 2-core machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_cifar_fixture(root: Path, per_batch: int = 4, n_test: int = 6, seed: int = 0) -> dict:
    """Write a tiny CIFAR-10 in the real format: pickled dicts with uint8 ``data`` rows of 3072 bytes
    (1024 red, 1024 green, 1024 blue, each 32×32 row-major) and ``labels``, plus ``batches.meta``."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written: dict[str, tuple[np.ndarray, list[int]]] = {}
    for name, n in [(f, per_batch) for f in TRAIN_FILES] + [("test_batch", n_test)]:
        rows = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        entry = {"batch_label": name.encode(), "labels": labels, "data": rows, "filenames": [b"x.png"] * n}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        written[name] = (rows, labels)
    meta = {"num_cases_per_batch": per_batch, "label_names": list(lv_data.CIFAR10_CLASSES), "num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return written


def fixture_class(root: Path) -> type[CIFAR10]:
    """torchvision's CIFAR10, unchanged except that its checksums are those of the fixture files."""
    folder = root / "cifar-10-batches-py"

    class FixtureCIFAR10(CIFAR10):
        train_list = [[name, _md5(folder / name)] for name in TRAIN_FILES]
        test_list = [["test_batch", _md5(folder / "test_batch")]]
        meta = {**CIFAR10.meta, "md5": _md5(folder / "batches.meta")}

    return FixtureCIFAR10


def test_real_loader_reads_the_cifar_format_through_torchvision(tmp_path: Path) -> None:
    written = write_cifar_fixture(tmp_path)
    bundle = lv_data.load_cifar10(tmp_path, dataset_cls=fixture_class(tmp_path))
    assert bundle.kind == "cifar10" and bundle.label == "CIFAR-10" and not bundle.synthetic
    assert bundle.classes == lv_data.CIFAR10_CLASSES
    assert tuple(bundle.train.images.shape) == (20, 3, 32, 32)
    assert tuple(bundle.test.images.shape) == (6, 3, 32, 32)
    assert bundle.train.images.dtype == torch.uint8
    expected_train = np.concatenate([written[n][0] for n in TRAIN_FILES]).reshape(-1, 3, 32, 32)
    assert np.array_equal(bundle.train.images.numpy(), expected_train)  # channel-first, pixel for pixel
    assert bundle.train.labels.tolist() == sum((written[n][1] for n in TRAIN_FILES), [])
    rows, labels = written["test_batch"]
    assert np.array_equal(bundle.test.images.numpy(), rows.reshape(-1, 3, 32, 32))
    assert bundle.test.labels.tolist() == labels
    x, y = bundle.train.batch(torch.tensor([0, 5]))
    assert (
        x.dtype == torch.float32
        and x.shape == (2, 3, 32, 32)
        and float(x.min()) >= -1
        and float(x.max()) <= 1
    )
    assert y.tolist() == [bundle.train.labels[0].item(), bundle.train.labels[5].item()]


def test_the_fixture_trains_through_the_trainer(tmp_path: Path) -> None:
    from lossviz.training.trainer import TrainConfig, Trainer

    write_cifar_fixture(tmp_path / "data")
    bundle = lv_data.load_cifar10(tmp_path / "data", dataset_cls=fixture_class(tmp_path / "data"))
    cfg = TrainConfig(dataset="cifar10", data_dir=str(tmp_path / "data"), batch_size=8, epochs=1)
    trainer = Trainer(cfg, runs_dir=tmp_path / "runs", dataset=bundle)
    assert trainer.run() == "finished"  # runs in this thread
    assert trainer.step == 3  # 20 images, batches of 8 -> 3 batches
    config = (trainer.run_dir / "config.json").read_text()
    assert '"dataset_label": "CIFAR-10"' in config and '"synthetic": false' in config


def test_stock_torchvision_class_rejects_the_fixture_as_corrupted(tmp_path: Path) -> None:
    write_cifar_fixture(tmp_path)  # real CIFAR-10 checksums do not match these files
    with pytest.raises(LossvizInputError, match="corrupted"):
        lv_data.load_cifar10(tmp_path)


def test_truncated_file_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    write_cifar_fixture(tmp_path)
    cls = fixture_class(tmp_path)
    victim = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(LossvizInputError, match="corrupted"):
        lv_data.load_cifar10(tmp_path, dataset_cls=cls)  # checksum no longer matches
    cls.train_list = [[n, _md5(tmp_path / "cifar-10-batches-py" / n)] for n in TRAIN_FILES]
    with pytest.raises(LossvizInputError, match="corrupted"):
        lv_data.load_cifar10(tmp_path, dataset_cls=cls)  # checksum matches, the pickle is cut short


def test_missing_dataset_says_how_to_get_it(tmp_path: Path) -> None:
    assert lv_data.cifar10_status(tmp_path) == "missing"
    with pytest.raises(LossvizInputError, match="not in .*synthetic"):
        lv_data.load_cifar10(tmp_path)


def test_partial_dataset_is_reported(tmp_path: Path) -> None:
    write_cifar_fixture(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    assert lv_data.cifar10_status(tmp_path) == "partial"
    with pytest.raises(LossvizInputError, match="corrupted"):
        lv_data.load_cifar10(tmp_path, dataset_cls=fixture_class_without_test(tmp_path))


def fixture_class_without_test(root: Path) -> type[CIFAR10]:
    folder = root / "cifar-10-batches-py"

    class Partial(CIFAR10):
        train_list = [[name, _md5(folder / name)] for name in TRAIN_FILES]
        test_list = [["test_batch", None]]

    return Partial


def test_download_offline_gives_a_banner_message(tmp_path: Path) -> None:
    class Offline(CIFAR10):
        def download(self) -> None:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(LossvizInputError, match="offline"):
        lv_data.load_cifar10(tmp_path, download=True, dataset_cls=Offline)


def test_auto_falls_back_to_the_real_digits_when_cifar_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path))
    assert lv_data.default_data_dir() == tmp_path
    bundle = lv_data.load_dataset("auto", synthetic_train=100, synthetic_test=20)
    assert bundle.kind == "digits" and not bundle.synthetic and bundle.label == "digits"
    with pytest.raises(LossvizInputError, match="unknown"):
        lv_data.load_dataset("imagenet")


def test_synthetic_set_is_cifar_shaped_and_deterministic() -> None:
    a = lv_data.make_synthetic(seed=3, n_train=200, n_test=50)
    assert tuple(a.train.images.shape) == (200, 3, 32, 32) and a.train.images.dtype == torch.uint8
    assert tuple(a.test.images.shape) == (50, 3, 32, 32)
    assert sorted(set(a.train.labels.tolist())) == list(range(10))
    assert a.kind == "synthetic" and a.label == "synthetic" and "synthetic" in a.source
    lv_data._CACHE.clear()
    b = lv_data.make_synthetic(seed=3, n_train=200, n_test=50)
    assert a is not b
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.test.labels, b.test.labels)
    c = lv_data.make_synthetic(seed=4, n_train=200, n_test=50)
    assert not torch.equal(a.train.images, c.train.images)
    with pytest.raises(LossvizInputError, match="out of range"):
        lv_data.make_synthetic(n_train=5)


def test_synthetic_set_is_learnable(one_thread: None) -> None:
    """The tutorial's network (no ReLU) clearly lowers the loss within a few dozen batches."""
    bundle = lv_data.make_synthetic(seed=0, n_train=3200, n_test=100)
    torch.manual_seed(0)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(bundle.train), generator=torch.Generator().manual_seed(0))
    losses = []
    for i in range(60):
        x, y = bundle.train.batch(perm[i * 32 : (i + 1) * 32])
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert first > 2.2  # starts at chance, ln(10) ≈ 2.30
    assert last < 0.7 * first, (first, last)


def test_image_split_validates_its_tensors() -> None:
    with pytest.raises(ValueError, match="uint8"):
        lv_data.ImageSplit(torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="one label per image"):
        lv_data.ImageSplit(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))
    x = lv_data.to_float(torch.tensor([0, 255], dtype=torch.uint8))
    assert x.tolist() == [-1.0, 1.0]


def test_page_data_dir_stays_inside_the_data_root(tmp_path) -> None:
    from lossviz.errors import LossvizInputError
    from lossviz.training.data import page_data_dir

    root = tmp_path / "data"
    root.mkdir()
    assert page_data_dir("", root) == root.resolve()
    assert page_data_dir("cifar", root) == (root / "cifar").resolve()
    assert page_data_dir(str(root / "sub"), root) == (root / "sub").resolve()
    for bad in ("..", "../elsewhere", "/etc", str(tmp_path)):
        with pytest.raises(LossvizInputError, match="inside"):
            page_data_dir(bad, root)
