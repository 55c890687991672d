"""Tensors from files (``--input @preds.npy``, the explorer's upload): the good forms match torch, and the
bad-input matrix (missing file, folder, FIFO, wrong dtype, a pickle disguised as .pt, a 2 GB sparse file,
a header that lies, a symlink out of the folder) each end in one plain LossvizInputError, nothing hung,
nothing unpickled."""

from __future__ import annotations

import io
import json
import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lossviz.cli.main import main as cli_main
from lossviz.errors import LossvizInputError
from lossviz.losses import (
    MAX_FILE_BYTES,
    MAX_FILE_ELEMENTS,
    evaluate_text,
    read_tensor_bytes,
    read_tensor_file,
)


def _ctc_example(folder: Path) -> torch.Tensor:
    """The issue's realistic CTC example (T = 50, C = 20): too long to type, easy to save."""
    lp = torch.log_softmax(torch.randn(50, 2, 20, generator=torch.Generator().manual_seed(0)), dim=-1)
    np.save(folder / "lp.npy", lp.numpy())
    torch.save(lp, folder / "lp.pt")
    (folder / "lp.json").write_text(json.dumps(lp.tolist()))
    np.savetxt(folder / "tg.csv", np.array([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]]), fmt="%d", delimiter=",")
    return lp


@pytest.mark.parametrize("suffix", [".npy", ".pt", ".json"])
def test_cli_reads_every_tensor_option_from_a_file(suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    lp = _ctc_example(tmp_path)
    (tmp_path / "il.json").write_text("[50, 40]")
    code = cli_main(["eval", "--loss", "CTCLoss", "--input", f"@lp{suffix}", "--target", "@tg.csv",
                     "--input-lengths", "@il.json", "--target-lengths", "5, 3", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    got = json.loads(out.out)
    leaf = lp.clone().requires_grad_(True)
    want = F.ctc_loss(leaf, torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]]), torch.tensor([50, 40]),
                      torch.tensor([5, 3]))
    (grad,) = torch.autograd.grad(want, leaf)
    assert got["value"] == pytest.approx(float(want.detach()), rel=1e-5)
    torch.testing.assert_close(torch.tensor(got["grad"]), grad, rtol=1e-4, atol=1e-6)
    assert got["input_shape"] == [50, 2, 20]


def test_cli_weight_param_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "w.npy", np.array([1.0, 2.0, 0.5], dtype=np.float32))
    code = cli_main(["eval", "--loss", "CrossEntropyLoss", "--input", "[[0.1, 0.2, 0.3]]", "--target", "[1]",
                     "--param", "weight=@w.npy", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    want = F.cross_entropy(torch.tensor([[0.1, 0.2, 0.3]]), torch.tensor([1]), weight=torch.tensor([1.0, 2, 0.5]))
    assert json.loads(out.out)["value"] == pytest.approx(float(want), rel=1e-6)


def test_formats_and_dtypes(tmp_path: Path) -> None:
    for arr, want in [(np.array([1, 0, 2], dtype=np.int32), torch.int64), (np.array([0.5], dtype=np.float64), torch.float32),
                      (np.arange(6, dtype=">f4").reshape(2, 3), torch.float32),
                      (np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)), torch.float32)]:
        buf = io.BytesIO()
        np.save(buf, arr)
        t = read_tensor_bytes(buf.getvalue(), "a.npy")
        assert t.dtype == want and t.tolist() == np.ascontiguousarray(arr).astype(np.float64 if want == torch.float32 else np.int64).tolist()
    assert read_tensor_bytes(b"1, 0, 0, 0\n0, 1, 0, 0\n", "onehot.csv").shape == (2, 4)
    assert read_tensor_bytes(b"\xef\xbb\xbf[[0.1, nan]]", "p.json").isnan().any()  # a BOM, and nan as torch has it
    r = evaluate_text("MSELoss", {"input": "1., 2.", "target": "1., 2."})
    assert r.value == 0.0


def _cases(tmp: Path) -> list[tuple[str, str, str]]:
    """(what, path relative to tmp, a word the message must hold)."""
    (tmp / "dir.npy").mkdir()
    os.mkfifo(tmp / "fifo.npy")
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp / "object.npy").write_bytes(buf.getvalue())
    for name, arr in [("complex", np.array([1 + 2j])), ("bool", np.array([True, False])), ("str", np.array(["ab"]))]:
        np.save(tmp / f"{name}.npy", arr)
    marker = tmp / "PWNED"

    class Evil:
        def __reduce__(self):  # noqa: D105 - what an attacker ships
            return (Path.touch, (marker,))

    (tmp / "raw_pickle.pt").write_bytes(pickle.dumps(Evil()))
    torch.save({"x": Evil()}, tmp / "zip_pickle.pt")
    torch.save({"x": torch.ones(2)}, tmp / "dict.pt")
    torch.save(torch.tensor([1 + 1j]), tmp / "complex.pt")
    with open(tmp / "sparse.npy", "wb") as fh:  # a 2 GB file that takes no disk
        fh.truncate(2 * 1024**3)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**9,)})
    (tmp / "liar.npy").write_bytes(header.getvalue() + b"\0" * 16)
    small = io.BytesIO()
    np.lib.format.write_array_header_1_0(small, {"descr": "<f4", "fortran_order": False, "shape": (100,)})
    (tmp / "cut.npy").write_bytes(small.getvalue() + b"\0" * 16)
    (tmp / "junk.npy").write_bytes(b"not numpy at all")
    np.save(tmp / "big.npy", np.zeros(MAX_FILE_ELEMENTS + 1, dtype=np.float32))
    np.save(tmp / "deep.npy", np.zeros((1,) * 7, dtype=np.float32))
    (tmp / "words.csv").write_text("1, 2, three\n")
    (tmp / "object.json").write_text('{"input": [1, 2]}')
    (tmp / "latin1.csv").write_bytes("1,2\xe9".encode("latin-1"))
    (tmp / "notes.txt").write_text("1, 2")
    outside = tmp.parent / f"{tmp.name}_outside.npy"
    np.save(outside, np.ones(2, dtype=np.float32))
    (tmp / "escape.npy").symlink_to(outside)
    (tmp / "zero.npy").symlink_to("/dev/zero")
    return [
        ("missing", "nope.npy", "no file"),
        ("folder", "dir.npy", "folder"),
        ("fifo", "fifo.npy", "not a regular file"),
        ("object dtype", "object.npy", "object"),
        ("complex dtype", "complex.npy", "complex"),
        ("bool dtype", "bool.npy", "bool"),
        ("string dtype", "str.npy", "<U2"),
        ("raw pickle as .pt", "raw_pickle.pt", "weights_only=True"),
        ("zip pickle as .pt", "zip_pickle.pt", "weights_only=True"),
        ("dict in .pt", "dict.pt", "not one tensor"),
        ("complex .pt", "complex.pt", "complex"),
        ("2 GB sparse file", "sparse.npy", "over the limit"),
        ("header claims 1e9 numbers", "liar.npy", "numbers"),
        ("data cut short", "cut.npy", "cut or damaged"),
        ("not npy", "junk.npy", "not a .npy"),
        ("too many numbers", "big.npy", "more than"),
        ("too many dimensions", "deep.npy", "dimensions"),
        ("words in csv", "words.csv", "not a number"),
        ("json object", "object.json", "not a number"),
        ("not utf-8", "latin1.csv", "UTF-8"),
        ("unknown suffix", "notes.txt", ".npy, .pt, .csv or .json"),
        ("symlink out of the folder", "escape.npy", "outside the working folder"),
        ("symlink to /dev/zero", "zero.npy", "outside the working folder"),
        ("absolute path outside", "/etc/hostname", "outside the working folder"),
        ("parent path", "../x.npy", "outside the working folder"),
    ]


def test_bad_file_matrix(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    cases = _cases(folder)
    for what, rel, word in cases:
        done: list[BaseException | None] = []

        def run(rel: str = rel, done: list[BaseException | None] = done) -> None:
            try:
                read_tensor_file(rel, name="input", root=folder)
            except BaseException as caught:  # noqa: BLE001 - the test inspects what came out
                done.append(caught)
            else:
                done.append(None)

        th = threading.Thread(target=run, daemon=True)
        th.start()
        th.join(10)
        assert not th.is_alive(), f"{what}: the reader hung"
        exc = done[0]
        assert isinstance(exc, LossvizInputError), f"{what}: {exc!r}"
        text = str(exc)
        assert word in text and "Traceback" not in text and len(text) < 400, f"{what}: {text}"
        assert "weights_only=False" not in text, text  # never torch's advice to unpickle
    assert not (folder / "PWNED").exists(), "a pickle ran"
    assert MAX_FILE_BYTES < 2 * 1024**3


def test_cli_bad_file_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "p.npy")
    for value in ("@p.npy", "@missing.csv", "@../../etc/passwd.json"):
        code = cli_main(["eval", "--loss", "MSELoss", "--input", value, "--target", "1., 2."])
        out = capsys.readouterr()
        assert code == 2 and out.out == "", out
        lines = out.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), out.err
    code = cli_main(["eval", "--loss", "MSELoss", "--input", "@missing.csv", "--target", "1., 2.", "--lang", "zh"])
    err = capsys.readouterr().err
    assert code == 2 and "没有文件" in err, err


def test_a_text_box_never_reads_a_file(tmp_path: Path) -> None:
    """Only the CLI's options read files: the page's text (and a link's) starting with @ is just text."""
    with pytest.raises(LossvizInputError, match="not a number"):
        evaluate_text("MSELoss", {"input": "@/etc/hostname", "target": "1."})
