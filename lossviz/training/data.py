"""Image data for the training page: real CIFAR-10 through torchvision, scikit-learn's bundled handwritten
digits (real pictures offline, the default when CIFAR-10 is not on disk), a folder of the user's own
images in class subfolders, or a learnable synthetic stand-in.

Each split is loaded into tensors once (uint8, N×3×32×32) and batches are indexed from memory,
so the training loop never converts a PIL image. The synthetic set has the same shape and ten
classes; it is generated deterministically from a seed and is always labelled "synthetic".
"""

from __future__ import annotations

import os
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import Message, msg

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SYNTHETIC_CLASSES = [f"pattern {i}" for i in range(10)]
CIFAR_FOLDER = "cifar-10-batches-py"
DIGITS_CLASSES = [str(i) for i in range(10)]
DATASET_KINDS = ("auto", "cifar10", "digits", "folder", "synthetic")
#: The tag of each kind in config.json's ``dataset_label`` (not shown as is: figures.dataset_text translates it).
DATASET_TAGS = {"cifar10": "CIFAR-10", "digits": "digits", "folder": "image folder", "synthetic": "synthetic"}
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0
MAX_FOLDER_IMAGES = 50_000
DEFAULT_SYNTHETIC_TRAIN = 10_000
DEFAULT_SYNTHETIC_TEST = 2_000
MAX_SYNTHETIC = 200_000


@dataclass
class ImageSplit:
    """One split held in memory: uint8 images (N×3×32×32) and int64 labels (N)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if (
            self.images.dtype != torch.uint8
            or self.images.dim() != 4
            or tuple(self.images.shape[1:]) != (3, 32, 32)
        ):
            raise ValueError(
                f"images must be uint8 N×3×32×32, got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("need exactly one label per image")
        self.labels = self.labels.to(torch.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def to(self, device: torch.device | str) -> ImageSplit:
        """This split on ``device`` (no copy when it is already there)."""
        return ImageSplit(self.images.to(device), self.labels.to(device))

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images scaled to [-1, 1] and their labels for the rows in ``index``.

        On CPU the images come channels-last: convolutions then take oneDNN's fast path (a training
        step of the tutorial CNN at batch 64 drops from about 17 ms to 11 ms; same values up to float
        rounding, and the weights keep their usual layout)."""
        x = to_float(self.images[index])
        if x.device.type == "cpu" and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.labels[index]


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 to float32 in [-1, 1] (``ToTensor`` then ``Normalize(0.5, 0.5)``)."""
    return images.to(torch.float32).mul_(2.0 / 255.0).sub_(1.0)


@dataclass
class DatasetBundle:
    """Train and test splits plus how to label them wherever they show."""

    kind: str  # "cifar10", "digits", "folder" or "synthetic"
    train: ImageSplit
    test: ImageSplit
    classes: list[str]
    source: str  # where it came from, for config.json
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    @property
    def label(self) -> str:
        """Short label for charts and run lists: ``"CIFAR-10"``, ``"digits"``, ``"image folder"`` or ``"synthetic"``."""
        return DATASET_TAGS.get(self.kind, self.kind)

    def to(self, device: torch.device | str) -> DatasetBundle:
        return DatasetBundle(
            self.kind, self.train.to(device), self.test.to(device), self.classes, self.source, self.details
        )


def default_data_dir() -> Path:
    """``$LOSSVIZ_DATA`` if set, else ``./data``."""
    return Path(os.environ.get("LOSSVIZ_DATA") or "data")


def page_data_dir(text: str | os.PathLike[str] | None, root: str | os.PathLike[str] | None = None) -> Path:
    """A data folder typed in the page, kept inside the server's data root.

    The page is shared by a whole class, so its box may only name the data root
    (``$LOSSVIZ_DATA`` or ``./data``) or a folder below it; anything else (an
    absolute path elsewhere, ``..``) is refused, so no student can make the
    server probe or download into other folders. The CLI takes any path.
    """
    base = Path(root if root is not None else default_data_dir()).expanduser().resolve()
    raw = str(text or "").strip()
    if not raw:
        return base
    if "\x00" in raw or any(ord(ch) < 32 for ch in raw):
        raise LossvizInputError(msg("the CIFAR-10 folder name contains a control character: type a plain folder name"))
    if len(raw.encode("utf-8", errors="replace")) > 1024 or any(
        len(part.encode("utf-8", errors="replace")) > 255 for part in Path(raw).parts
    ):
        raise LossvizInputError(msg("the CIFAR-10 folder name is too long: use a shorter folder inside the data folder"))
    try:
        p = Path(raw).expanduser() if raw.startswith("~") else Path(raw)
        candidate = (p if p.is_absolute() else base / p).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise LossvizInputError(
            msg("the CIFAR-10 folder cannot be used ({error}): type a plain folder name", error=type(exc).__name__)
        ) from exc
    if candidate != base and base not in candidate.parents:
        raise LossvizInputError(
            msg(
                "the CIFAR-10 folder must be the server's data folder or a folder inside it; the server's "
                "LOSSVIZ_DATA setting chooses another root"
            )
        )
    return candidate


# ----------------------------------------------------------------------------- real CIFAR-10


def cifar10_status(data_dir: str | os.PathLike[str] | None = None) -> str:
    """``"present"`` (all six batch files and the meta file exist), ``"partial"`` or ``"missing"``.

    Presence is cheap to check; corruption shows only when loading (see :func:`load_cifar10`).
    """
    try:
        folder = Path(data_dir if data_dir is not None else default_data_dir()) / CIFAR_FOLDER
        if not folder.is_dir():
            return "missing"
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
        found = sum((folder / n).is_file() for n in names)
    except (OSError, ValueError):  # a NUL byte or an over-long name: nothing usable there
        return "missing"
    return "present" if found == len(names) else ("missing" if found == 0 else "partial")


def _missing_message(root: Path) -> Message:
    return msg(
        "CIFAR-10 is not in {root} (expected the folder {folder}/ from cifar-10-python.tar.gz). "
        "Download it (needs internet), point the data folder or LOSSVIZ_DATA at a copy, "
        "or train on the synthetic set.",
        root=str(root),
        folder=CIFAR_FOLDER,
    )


def _corrupt_message(root: Path, why: Message | str) -> Message:
    return msg(
        "CIFAR-10 in {root} is incomplete or corrupted ({why}). Delete that folder and download "
        "it again, or train on the synthetic set.",
        root=str(root / CIFAR_FOLDER),
        why=why,
    )


def download_cifar10(
    data_dir: str | os.PathLike[str] | None = None, dataset_cls: Any = None, shown_as: str | None = None
) -> Path:
    """Download and unpack CIFAR-10 into ``data_dir`` through torchvision; only called when a user asks.

    Offline machines get a LossvizInputError that says so, never a traceback; it names the folder
    as ``shown_as`` (the page passes a name relative to the server's data root).
    """
    from torchvision.datasets import CIFAR10

    cls = dataset_cls or CIFAR10
    root = Path(data_dir if data_dir is not None else default_data_dir())
    try:
        root.mkdir(parents=True, exist_ok=True)
        cls(root=str(root), train=False, download=True)
    except Exception as exc:  # network errors come in many types (URLError, OSError, ssl, http)
        error = type(exc).__name__ if shown_as else f"{type(exc).__name__}: {exc}"  # the page shows no server detail
        raise LossvizInputError(
            msg(
                "could not download CIFAR-10 into {folder}: {error}. "
                "This machine may be offline: copy cifar-10-python.tar.gz's folder there by hand, "
                "or train on the synthetic set.",
                folder=shown_as or str(root),
                error=error,
            )
        ) from exc
    _CACHE.clear()
    return root


def _load_split(cls: Any, root: Path, train: bool) -> tuple[ImageSplit, list[str]]:
    try:
        ds = cls(root=str(root), train=train, download=False)
    except RuntimeError as exc:
        if cifar10_status(root) == "missing":
            raise LossvizInputError(_missing_message(root)) from exc
        raise LossvizInputError(
            _corrupt_message(root, msg("a file is missing or its checksum does not match"))
        ) from exc
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, OSError) as exc:
        raise LossvizInputError(_corrupt_message(root, f"{type(exc).__name__}: {exc}")) from exc
    data = ds.data  # numpy uint8 N×32×32×3 (torchvision converts to HWC)
    try:
        images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
        labels = torch.as_tensor(ds.targets, dtype=torch.int64)
        split = ImageSplit(images, labels)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise LossvizInputError(_corrupt_message(root, msg("unexpected contents: {error}", error=str(exc)))) from exc
    if len(split) == 0:
        raise LossvizInputError(_corrupt_message(root, msg("the split has no images")))
    if int(split.labels.min()) < 0 or int(split.labels.max()) > 9:
        raise LossvizInputError(_corrupt_message(root, msg("labels outside 0..9")))
    return split, list(getattr(ds, "classes", CIFAR10_CLASSES))


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    dataset_cls: Any = None,
) -> DatasetBundle:
    """Real CIFAR-10, read by ``torchvision.datasets.CIFAR10`` and held as uint8 tensors.

    ``dataset_cls`` swaps in a subclass of torchvision's class (tests use one whose checksums
    match their tiny fixture). Missing or corrupt data raises LossvizInputError.

    Example:
        >>> bundle = load_cifar10("data")  # doctest: +SKIP
        >>> len(bundle.train), len(bundle.test)  # doctest: +SKIP
        (50000, 10000)
    """
    from torchvision.datasets import CIFAR10

    cls = dataset_cls or CIFAR10
    root = Path(data_dir if data_dir is not None else default_data_dir())
    if download:
        download_cifar10(root, cls)
    elif cifar10_status(root) == "missing":
        raise LossvizInputError(_missing_message(root))
    key = ("cifar10", str(root.resolve()), cls.__qualname__, _mtimes(root / CIFAR_FOLDER))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        train, classes = _load_split(cls, root, True)
        test, _ = _load_split(cls, root, False)
        bundle = DatasetBundle("cifar10", train, test, classes, source=str(root / CIFAR_FOLDER))
        _CACHE.clear()  # keep one dataset in memory at a time (CIFAR-10 is 180 MB as uint8)
        _CACHE[key] = bundle
        return bundle


def _mtimes(folder: Path) -> tuple[float, ...]:
    try:
        return tuple(sorted(p.stat().st_mtime for p in folder.iterdir()))
    except OSError:
        return ()


# ----------------------------------------------------------------------------- synthetic

_CACHE: dict[tuple[Any, ...], DatasetBundle] = {}
_LOCK = threading.Lock()


def _templates(gen: torch.Generator) -> torch.Tensor:
    """Ten smooth colour patterns (10×3×32×32), one per class, roughly unit scale."""
    coarse = torch.randn(10, 3, 4, 4, generator=gen)
    smooth = torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bicubic", align_corners=False)
    return smooth / smooth.flatten(1).std(dim=1).view(10, 1, 1, 1)


def _sample(templates: torch.Tensor, n: int, gen: torch.Generator, keep: int | None = None) -> ImageSplit:
    """``n`` noisy images: the class pattern at a random strength, a faint pattern of another class,
    a random shift of up to 4 pixels, a random brightness and strong pixel noise.

    ``keep`` builds only the first ``keep`` images (rounded up to a chunk) and, for the rest, only
    draws the random numbers they would use, so ``gen`` ends in the same state: what comes after
    (the test split after the training split) is the same images, without the time and memory of
    building the ones nobody looks at.
    """
    labels = torch.arange(n) % 10
    labels = labels[torch.randperm(n, generator=gen)]
    built = n if keep is None else max(0, min(n, int(keep)))
    images = torch.empty(built, 3, 32, 32, dtype=torch.uint8)
    chunk = 2048
    noise = None
    for start in range(0, n, chunk):
        lab = labels[start : start + chunk]
        m = lab.shape[0]
        if start >= built:  # the same draws, in the same order and shapes, into reused buffers
            noise = torch.empty(m, 3, 32, 32) if noise is None or noise.shape[0] != m else noise
            torch.rand(m, 1, 1, 1, generator=gen)
            torch.randint(1, 10, (m,), generator=gen)
            torch.rand(m, 1, 1, 1, generator=gen)
            torch.randint(-4, 5, (m,), generator=gen)
            torch.randint(-4, 5, (m,), generator=gen)
            torch.randn(m, 1, 1, 1, generator=gen)
            torch.randn(m, 3, 32, 32, generator=gen, out=noise)
            continue
        strength = 0.25 + 0.25 * torch.rand(m, 1, 1, 1, generator=gen)
        other = (lab + torch.randint(1, 10, (m,), generator=gen)) % 10
        x = templates[lab] * strength + templates[other] * (0.5 * torch.rand(m, 1, 1, 1, generator=gen))
        dx = torch.randint(-4, 5, (m,), generator=gen)
        dy = torch.randint(-4, 5, (m,), generator=gen)
        shifted = torch.empty_like(x)
        for a in range(-4, 5):
            for b in range(-4, 5):
                rows = ((dx == a) & (dy == b)).nonzero().flatten()
                if rows.numel():
                    shifted[rows] = torch.roll(x[rows], shifts=(a, b), dims=(2, 3))
        x = (
            shifted
            + 0.3 * torch.randn(m, 1, 1, 1, generator=gen)
            + 2.0 * torch.randn(m, 3, 32, 32, generator=gen)
        )
        upto = min(m, built - start)
        images[start : start + upto] = (128.0 + 40.0 * x[:upto]).round_().clamp_(0, 255).to(torch.uint8)
    return ImageSplit(images, labels[:built])


def synthetic_test_images(seed: int, n_train: int, n_test: int, n: int) -> ImageSplit:
    """The first ``n`` test images of :func:`make_synthetic` ``(seed, n_train, n_test)``, the same
    pixels, without building the training split (a weight-space slice on 16 images of a 200,000-image
    run needs 16 images, not 400,000: issue 20, D13).

    Example:
        >>> a = synthetic_test_images(0, 100, 20, 5)
        >>> bool((a.images == make_synthetic(0, 100, 20).test.images[:5]).all())
        True
    """
    for what, k in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(k, int) or k < 10 or k > MAX_SYNTHETIC:
            raise LossvizInputError(
                msg("{name}={n!r} is out of range: give a whole number from 10 to {limit}", name=what, n=k, limit=MAX_SYNTHETIC)
            )
    gen = torch.Generator().manual_seed(int(seed))
    templates = _templates(gen)
    _sample(templates, n_train, gen, keep=0)
    return _sample(templates, n_test, gen, keep=min(int(n), n_test))


def make_synthetic(
    seed: int = 0, n_train: int = DEFAULT_SYNTHETIC_TRAIN, n_test: int = DEFAULT_SYNTHETIC_TEST
) -> DatasetBundle:
    """A learnable CIFAR-shaped set: each class is a smooth colour pattern under heavy noise.

    The same seed always gives the same images. A network starts at chance (loss ≈ ln 10 ≈ 2.3)
    and the loss falls clearly within a few hundred batches.

    Example:
        >>> b = make_synthetic(seed=0, n_train=100, n_test=20)
        >>> tuple(b.train.images.shape), b.label
        ((100, 3, 32, 32), 'synthetic')
    """
    for what, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, int) or n < 10 or n > MAX_SYNTHETIC:
            raise LossvizInputError(
                msg("{name}={n!r} is out of range: give a whole number from 10 to {limit}", name=what, n=n, limit=MAX_SYNTHETIC)
            )
    key = ("synthetic", int(seed), n_train, n_test)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        gen = torch.Generator().manual_seed(int(seed))
        templates = _templates(gen)
        train = _sample(templates, n_train, gen)
        test = _sample(templates, n_test, gen)
        bundle = DatasetBundle(
            "synthetic",
            train,
            test,
            list(SYNTHETIC_CLASSES),
            source=f"synthetic(seed={seed})",
            details={"seed": int(seed), "n_train": n_train, "n_test": n_test},
        )
        _CACHE.clear()
        _CACHE[key] = bundle
        return bundle


# ----------------------------------------------------------------------------- real digits, offline


def _split(images: torch.Tensor, labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[ImageSplit, ImageSplit]:
    """A fixed, stratified train/test split (the same seed always gives the same split)."""
    gen = torch.Generator().manual_seed(seed)
    train_idx, test_idx = [], []
    for c in labels.unique().tolist():
        rows = (labels == c).nonzero().flatten()
        rows = rows[torch.randperm(rows.numel(), generator=gen)]
        k = max(1, round(rows.numel() * test_fraction)) if rows.numel() > 1 else 0
        test_idx.append(rows[:k])
        train_idx.append(rows[k:])
    tr = torch.cat(train_idx).sort().values
    te = torch.cat(test_idx).sort().values
    return ImageSplit(images[tr].contiguous(), labels[tr]), ImageSplit(images[te].contiguous(), labels[te])


def load_digits_dataset(test_fraction: float = DIGITS_TEST_FRACTION, seed: int = DIGITS_SPLIT_SEED) -> DatasetBundle:
    """scikit-learn's bundled handwritten digits (1,797 real 8×8 scans of the UCI set, in the package:
    no download), scaled to 32×32 (bilinear) and repeated to three channels so the same CNN trains on
    them. Ink is bright on a dark background, as in MNIST. A fixed stratified split: 1,438 train / 359 test.

    Example:
        >>> b = load_digits_dataset()
        >>> tuple(b.train.images.shape[1:]), len(b.train) + len(b.test), b.label
        ((3, 32, 32), 1797, 'digits')
    """
    key = ("digits", float(test_fraction), int(seed))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
            raise LossvizInputError(msg("the handwritten digits need scikit-learn: pip install scikit-learn")) from exc
        d = load_digits()
        small = torch.as_tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # N×1×8×8 in [0, 1]
        big = torch.nn.functional.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False)
        images = (big * 255.0).round_().clamp_(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
        labels = torch.as_tensor(d.target, dtype=torch.int64)
        train, test = _split(images, labels, test_fraction, seed)
        bundle = DatasetBundle(
            "digits",
            train,
            test,
            list(DIGITS_CLASSES),
            source="sklearn.datasets.load_digits (UCI handwritten digits, 8×8 scaled to 32×32)",
            details={"n_images": int(labels.numel()), "test_fraction": float(test_fraction), "split_seed": int(seed)},
        )
        _CACHE.clear()
        _CACHE[key] = bundle
        return bundle


# ----------------------------------------------------------------------------- the user's own images


def load_image_folder(
    folder: str | os.PathLike[str], test_fraction: float = DIGITS_TEST_FRACTION, seed: int = DIGITS_SPLIT_SEED
) -> DatasetBundle:
    """A folder of the user's own pictures, one subfolder per class (``torchvision.datasets.ImageFolder``),
    each resized to 32×32 RGB; 2 to 10 classes (the CNN has ten outputs), a fixed stratified split.

    The page passes a folder already checked to lie inside the server's data folder (:func:`page_data_dir`).
    """
    root = Path(folder)
    if not root.is_dir():
        raise LossvizInputError(msg("the image folder {folder} does not exist: make one subfolder per class in it", folder=str(root)))
    try:
        mtime = max([root.stat().st_mtime, *(p.stat().st_mtime for p in root.iterdir())])
    except OSError:
        mtime = 0.0
    key = ("folder", str(root.resolve()), mtime, float(test_fraction), int(seed))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        from torchvision import transforms
        from torchvision.datasets import ImageFolder

        try:
            ds = ImageFolder(str(root), transform=transforms.Compose([transforms.Resize((32, 32)), transforms.PILToTensor()]))
        except (FileNotFoundError, OSError, RuntimeError) as exc:
            raise LossvizInputError(
                msg("no pictures found in {folder}: put each class's images (.png, .jpg) in its own subfolder", folder=str(root))
            ) from exc
        if not 2 <= len(ds.classes) <= 10:
            raise LossvizInputError(
                msg("the image folder has {n} class subfolders: the network sorts 2 to 10 classes", n=len(ds.classes))
            )
        if len(ds) > MAX_FOLDER_IMAGES:
            raise LossvizInputError(msg("the image folder holds {n} pictures: at most {limit} fit in memory here", n=len(ds), limit=MAX_FOLDER_IMAGES))
        pics, labs = [], []
        for i in range(len(ds)):
            try:
                img, lab = ds[i]
            except (OSError, ValueError) as exc:
                raise LossvizInputError(
                    msg("{file} is not a picture that can be read ({error})", file=Path(ds.samples[i][0]).name, error=type(exc).__name__)
                ) from exc
            if img.shape[0] == 1:
                img = img.expand(3, -1, -1)
            pics.append(img[:3])
            labs.append(lab)
        if len(pics) < 4:
            raise LossvizInputError(msg("the image folder holds only {n} pictures: give each class a few", n=len(pics)))
        images = torch.stack(pics).to(torch.uint8).contiguous()
        train, test = _split(images, torch.as_tensor(labs, dtype=torch.int64), test_fraction, seed)
        bundle = DatasetBundle(
            "folder", train, test, list(ds.classes), source=f"image folder {root}", details={"n_images": len(pics)}
        )
        _CACHE.clear()
        _CACHE[key] = bundle
        return bundle


def train_subset(bundle: DatasetBundle, n: int | None) -> DatasetBundle:
    """The first ``n`` training images only (a fixed subset, e.g. for full-batch gradient descent); the test split stays."""
    if not n or n >= len(bundle.train):
        return bundle
    idx = torch.arange(int(n))
    sub = ImageSplit(bundle.train.images[idx], bundle.train.labels[idx])
    return DatasetBundle(bundle.kind, sub, bundle.test, bundle.classes, bundle.source, {**bundle.details, "train_subset": int(n)})


def resolved_kind(kind: str, data_dir: str | os.PathLike[str] | None = None, download: bool = False) -> str:
    """What ``"auto"`` means here and now: ``"cifar10"`` when it is on disk (or asked to download), else ``"digits"``."""
    if kind != "auto":
        return kind
    present = cifar10_status(data_dir if data_dir is not None else default_data_dir()) == "present"
    return "cifar10" if download or present else "digits"


def load_dataset(
    kind: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    synthetic_seed: int = 0,
    synthetic_train: int = DEFAULT_SYNTHETIC_TRAIN,
    synthetic_test: int = DEFAULT_SYNTHETIC_TEST,
    image_folder: str | os.PathLike[str] | None = None,
) -> DatasetBundle:
    """``"cifar10"``, ``"digits"``, ``"folder"`` (``image_folder``), ``"synthetic"``, or ``"auto"``
    (real CIFAR-10 if it is on disk, else the real handwritten digits)."""
    if kind not in DATASET_KINDS:
        raise LossvizInputError(
            msg("dataset {name!r} is unknown: choose one of {choices}", name=kind, choices=", ".join(DATASET_KINDS))
        )
    kind = resolved_kind(kind, data_dir, download)
    if kind == "cifar10":
        return load_cifar10(data_dir, download=download)
    if kind == "digits":
        return load_digits_dataset()
    if kind == "folder":
        if not image_folder:
            raise LossvizInputError(msg("name the image folder: one subfolder of pictures per class"))
        return load_image_folder(image_folder)
    return make_synthetic(synthetic_seed, synthetic_train, synthetic_test)


def dataset_from_config(config: dict[str, Any]) -> DatasetBundle:
    """The data a run trained on, from its config.json (probes use it to rebuild the run's batches)."""
    kind = str(config.get("dataset") or "digits")
    return load_dataset(
        kind if kind in DATASET_KINDS else "digits",
        config.get("data_dir"),
        synthetic_seed=int(config.get("seed", 0)),
        synthetic_train=int(config.get("synthetic_train", DEFAULT_SYNTHETIC_TRAIN)),
        synthetic_test=int(config.get("synthetic_test", DEFAULT_SYNTHETIC_TEST)),
        image_folder=config.get("image_folder"),
    )
