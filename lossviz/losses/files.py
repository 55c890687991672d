"""A tensor from a file: ``.npy``, ``.pt``, ``.csv`` or ``.json``, safely (never a pickle).

The CLI reads ``--input @preds.npy`` through :func:`read_tensor_file`; the explorer reads an uploaded
file's bytes through :func:`read_tensor_bytes`. Both apply the same rules:

- only a regular file inside the working folder (no directory, FIFO, device, or symlink that leaves
  the folder), opened without blocking and checked with ``fstat`` before a byte is read;
- at most :data:`MAX_FILE_BYTES` bytes (a sparse 2 GB file is refused by its size, unread), at most
  :data:`MAX_FILE_ELEMENTS` numbers and :data:`MAX_DEPTH` dimensions;
- ``.npy``: the header is read by numpy's own format reader and checked (numeric dtype, size that
  matches the bytes) before the data is viewed; object arrays are refused (``allow_pickle`` is never on);
- ``.pt``: ``torch.load(weights_only=True)``, which refuses any pickled object but tensors and plain
  containers; the result must be one dense real tensor;
- ``.csv`` and ``.json``: the text goes through the safe parser (lossviz.losses.parsing) with the file caps.

Whole numbers give int64 (class indices), anything else float32, as the parser does.

Example:
    >>> import numpy as np, io
    >>> buf = io.BytesIO(); np.save(buf, np.array([[0.1, 0.9]])); t = read_tensor_bytes(buf.getvalue(), "p.npy")
    >>> tuple(t.shape), t.dtype
    ((1, 2), torch.float32)
"""

from __future__ import annotations

import io
import math
import os
import stat
from pathlib import Path

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.losses.parsing import MAX_DEPTH, parse_tensor

#: Largest file read (bytes); checked on the file's size before reading.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Most numbers a tensor from a file may hold (16 times a text box's).
MAX_FILE_ELEMENTS = 65_536
#: The file types read, by suffix.
SUFFIXES = (".npy", ".pt", ".csv", ".json")


def read_tensor_file(path: str | os.PathLike[str], *, name: str = "input", root: str | os.PathLike[str] | None = None
                     ) -> torch.Tensor:
    """The tensor in the file at ``path`` (inside ``root``, by default the working folder)."""
    shown = str(path)[:120]
    base = Path(root if root is not None else os.getcwd()).resolve()
    target = Path(os.path.realpath(base / path))
    if not target.is_relative_to(base):
        raise LossvizInputError(msg(
            "{name}: {path} lies outside the working folder {root} (a symlink or a path that leaves it); "
            "copy the file into the folder",
            name=name, path=shown, root=str(base)[:120],
        ))
    _suffix(target.name, name)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise LossvizInputError(msg("{name}: there is no file {path}; check the name and the folder", name=name,
                                    path=shown)) from None
    except IsADirectoryError:
        raise LossvizInputError(msg("{name}: {path} is a folder, not a file; give a .npy, .pt, .csv or .json file",
                                    name=name, path=shown)) from None
    except OSError as exc:
        raise LossvizInputError(msg("{name}: {path} cannot be opened ({reason})", name=name, path=shown,
                                    reason=exc.strerror or type(exc).__name__)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise LossvizInputError(msg("{name}: {path} is a folder, not a file; give a .npy, .pt, .csv or .json file",
                                        name=name, path=shown))
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block forever, a device never ends
            raise LossvizInputError(msg(
                "{name}: {path} is not a regular file (a pipe, a device or a socket); give a .npy, .pt, .csv or "
                ".json file", name=name, path=shown,
            ))
        _check_size(info.st_size, name, shown)
        chunks, left = [], MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    _check_size(len(data), name, shown)  # the file grew while it was read
    return read_tensor_bytes(data, target.name, name=name)


def _check_size(size: int, name: str, shown: str) -> None:
    if size > MAX_FILE_BYTES:
        raise LossvizInputError(msg(
            "{name}: {path} is {size} bytes, over the limit of {most} bytes for a tensor file; use a smaller example",
            name=name, path=shown, size=format(size, ","), most=format(MAX_FILE_BYTES, ","),
        ))


def _suffix(filename: str, name: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise LossvizInputError(msg(
            "{name}: {file} is not a tensor file lossviz reads; give a .npy, .pt, .csv or .json file",
            name=name, file=repr(filename[:80]),
        ))
    return suffix


def read_tensor_bytes(data: bytes, filename: str, *, name: str = "input") -> torch.Tensor:
    """The tensor in ``data``, read by the type ``filename``'s suffix says (an upload's bytes)."""
    suffix = _suffix(filename, name)
    shown = filename[:80]
    _check_size(len(data), name, shown)
    if suffix == ".npy":
        t = _from_npy(data, name, shown)
    elif suffix == ".pt":
        t = _from_pt(data, name, shown)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise LossvizInputError(msg("{name}: {file} is not UTF-8 text; save it as UTF-8 (plain numbers)",
                                        name=name, file=shown)) from None
        t = parse_tensor(text, name=name, allow_nonfinite=True, max_elements=MAX_FILE_ELEMENTS,
                         max_chars=MAX_FILE_BYTES)
    return _checked(t, name, shown)


def _checked(t: torch.Tensor, name: str, shown: str) -> torch.Tensor:
    if t.dim() > MAX_DEPTH:
        raise LossvizInputError(msg("{name}: {file} has {n} dimensions, more than the {most} lossviz takes",
                                    name=name, file=shown, n=t.dim(), most=MAX_DEPTH))
    if t.numel() > MAX_FILE_ELEMENTS:
        raise LossvizInputError(msg(
            "{name}: {file} holds {n} numbers, more than the {most} a tensor file may hold; use a smaller example",
            name=name, file=shown, n=format(t.numel(), ","), most=format(MAX_FILE_ELEMENTS, ","),
        ))
    if t.dtype == torch.bool or t.is_complex() or not (t.is_floating_point() or _is_integer(t.dtype)):
        raise LossvizInputError(msg(
            "{name}: {file} holds {dtype} values; lossviz reads real numbers (floats, or whole numbers for class "
            "indices), so save it as float32 or int64",
            name=name, file=shown, dtype=str(t.dtype).replace("torch.", ""),
        ))
    if t.is_floating_point():
        return t.to(torch.float32).contiguous()
    return t.to(torch.int64).contiguous()


def _is_integer(dtype: torch.dtype) -> bool:
    return dtype in (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)


def _from_npy(data: bytes, name: str, shown: str) -> torch.Tensor:
    import numpy as np
    from numpy.lib import format as npformat

    buf = io.BytesIO(data)
    try:
        major, _minor = npformat.read_magic(buf)
        read_header = npformat.read_array_header_1_0 if major == 1 else npformat.read_array_header_2_0
        shape, fortran, dtype = read_header(buf, max_header_size=10_000)
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        raise LossvizInputError(msg("{name}: {file} is not a .npy file numpy can read ({reason})", name=name,
                                    file=shown, reason=str(exc).splitlines()[0][:120] if str(exc) else "bad header")) from None
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.kind == "b" or dtype.fields is not None:
        raise LossvizInputError(msg(
            "{name}: {file} holds {dtype} values; lossviz reads real numbers (floats, or whole numbers for class "
            "indices), so save it as float32 or int64",
            name=name, file=shown, dtype=str(dtype),
        ))
    if len(shape) > MAX_DEPTH:
        raise LossvizInputError(msg("{name}: {file} has {n} dimensions, more than the {most} lossviz takes",
                                    name=name, file=shown, n=len(shape), most=MAX_DEPTH))
    count = math.prod(shape)
    if count > MAX_FILE_ELEMENTS:
        raise LossvizInputError(msg(
            "{name}: {file} holds {n} numbers, more than the {most} a tensor file may hold; use a smaller example",
            name=name, file=shown, n=format(count, ","), most=format(MAX_FILE_ELEMENTS, ","),
        ))
    body = data[buf.tell():]
    if len(body) != count * dtype.itemsize:
        raise LossvizInputError(msg(
            "{name}: {file} says it holds {n} numbers but has data for {m}; the file is cut or damaged",
            name=name, file=shown, n=format(count, ","), m=format(len(body) // max(dtype.itemsize, 1), ","),
        ))
    arr = np.frombuffer(body, dtype=dtype, count=count)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    if dtype.kind == "u" and arr.size and int(arr.max()) > 2**63 - 1:
        raise LossvizInputError(msg("{name}: {file} holds whole numbers beyond 64 bits; save it as int64",
                                    name=name, file=shown))
    native = arr.astype(arr.dtype.newbyteorder("=")) if arr.dtype.byteorder not in ("=", "|") else arr
    return torch.from_numpy(np.array(native, copy=True))


def _from_pt(data: bytes, name: str, shown: str) -> torch.Tensor:
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Detected pickle protocol 4": the refusal below says it all
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError,
            ModuleNotFoundError, ImportError, KeyError, IndexError, OSError) as exc:
        said = str(exc)
        # torch's own text advises weights_only=False ("will likely succeed"): never repeat that, keep the reason
        if "WeightsUnpickler error:" in said:
            said = said.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0]
        first = " ".join(said.split())[:160] or type(exc).__name__
        raise LossvizInputError(msg(
            "{name}: {file} is not a tensor saved with torch.save that loads with weights_only=True (lossviz never "
            "unpickles anything else); PyTorch says: {reason}",
            name=name, file=shown, reason=first,
        )) from None
    if not isinstance(obj, torch.Tensor):
        raise LossvizInputError(msg(
            "{name}: {file} holds a {kind}, not one tensor; save a single tensor with torch.save(t, path)",
            name=name, file=shown, kind=type(obj).__name__,
        ))
    if obj.layout != torch.strided:
        obj = obj.to_dense()
    return obj.detach()
