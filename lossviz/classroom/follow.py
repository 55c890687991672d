"""Follow the teacher: a class is one small JSON file in the data folder that the teacher's browser
writes and every student's browser reads.

``$LOSSVIZ_DATA/classes/<id>.json`` holds the page the teacher shows (its page name and its own link
parameters, language included), a version that grows with each change, when the teacher was last seen,
and the SHA-256 of the teacher's token. The token itself (random, 128 bits) lives only in the teacher's
browser (a cookie, as a run's owner token does) and never in a link: only the browser that started a
class can lead it; a student, or anyone holding the class link, can only read. Each write is atomic
(a temporary file, then ``os.replace``), so every server process behind a proxy sees whole states.
A class ends when the teacher ends it, or when the teacher has not been seen for CLASS_IDLE_S.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> c, token = start_class(root, now=100.0)
    >>> c = publish(root, c.id, token, "lessons", {"lesson": "mse", "step": "2"}, now=101.0)
    >>> read_class(root, c.id, now=102.0).params["step"], may_lead(c, token), may_lead(c, "x" * 32)
    ('2', True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg

#: A class without its teacher for this long (seconds) is over.
CLASS_IDLE_S = 20 * 60
#: The pages a class can show.
PAGES = ("explore", "landscape", "training", "lessons")
#: Largest class file read (bytes), and the most / longest link parameters kept.
MAX_FILE_BYTES = 64 * 1024
MAX_PARAMS = 64
MAX_PARAM_CHARS = 4000
#: Parameters a class never carries to its students: presentation mode is the teacher's screen only,
#: a class id is the student's own, anything else is what the page itself put in its link.
NEVER_SHARED = frozenset({"present", "class", "owner"})

_ID = re.compile(r"^[a-z0-9]{8}$")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_KEY = re.compile(r"^[A-Za-z0-9_:\-]{1,40}$")
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: a class id read aloud is typed right


@dataclass(frozen=True)
class ClassState:
    """One class: what the teacher shows now (``page`` and its link ``params``) and its version."""

    id: str
    page: str = "explore"
    params: dict[str, str] = field(default_factory=dict)
    version: int = 0
    started: float = 0.0
    seen: float = 0.0
    ended: bool = False
    token_hash: str = ""

    def expired(self, now: float) -> bool:
        return self.ended or now - self.seen > CLASS_IDLE_S


def valid_class_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def valid_token(value: object) -> bool:
    return isinstance(value, str) and bool(_TOKEN.match(value))


def classes_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "classes"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_lead(state: ClassState | None, token: object) -> bool:
    """Whether ``token`` is the teacher's (constant-time comparison); never for an ended class."""
    if state is None or state.ended or not valid_token(token) or not state.token_hash:
        return False
    return hmac.compare_digest(_hash(str(token)), state.token_hash)


def clean_params(params: object) -> dict[str, str]:
    """The page's own link parameters as a class may carry them: string keys and values only, short,
    at most MAX_PARAMS, never ``present`` or a class id."""
    out: dict[str, str] = {}
    if not isinstance(params, dict):
        return out
    for k, v in params.items():
        if len(out) >= MAX_PARAMS:
            break
        if isinstance(k, str) and _KEY.match(k) and k not in NEVER_SHARED and isinstance(v, str) \
                and len(v) <= MAX_PARAM_CHARS:
            out[k] = v
    return out


def _path(data_dir: Path, class_id: str) -> Path:
    if not valid_class_id(class_id):
        raise LossvizInputError(msg("This class link is not valid."))
    return classes_dir(data_dir) / f"{class_id}.json"


def _write(data_dir: Path, state: ClassState) -> None:
    folder = classes_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"id": state.id, "page": state.page, "params": state.params, "version": state.version,
                       "started": state.started, "seen": state.seen, "ended": state.ended,
                       "token_hash": state.token_hash}, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{state.id}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
        os.replace(tmp, folder / f"{state.id}.json")
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    v = float(value)
    return v if v == v and abs(v) < 1e12 else default


def read_class(data_dir: Path, class_id: object, *, now: float) -> ClassState | None:
    """The class ``class_id``, or None when it does not exist, has ended or expired, or its file is not a
    small regular JSON file (never blocks on a FIFO, never reads a device)."""
    if not valid_class_id(class_id):
        return None
    path = _path(data_dir, str(class_id))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        raw = os.read(fd, MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("id") != class_id:
        return None
    page = data.get("page") if data.get("page") in PAGES else "explore"
    version = data.get("version")
    state = ClassState(
        id=str(class_id), page=str(page), params=clean_params(data.get("params")),
        version=int(version) if isinstance(version, int) and not isinstance(version, bool) and 0 <= version < 2**53
        else 0,
        started=_number(data.get("started")), seen=_number(data.get("seen")), ended=data.get("ended") is True,
        token_hash=str(data.get("token_hash") or "")[:64],
    )
    return None if state.expired(now) else state


def start_class(data_dir: Path, *, now: float) -> tuple[ClassState, str]:
    """A new class and its teacher's token (kept by the teacher's browser only)."""
    for _ in range(20):
        class_id = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        if not _path(data_dir, class_id).exists():
            break
    token = secrets.token_hex(16)
    state = ClassState(id=class_id, started=now, seen=now, token_hash=_hash(token))
    _write(data_dir, state)
    return state, token


def _led(data_dir: Path, class_id: str, token: object, now: float) -> ClassState:
    state = read_class(data_dir, class_id, now=now)
    if state is None:
        raise LossvizInputError(msg("This class has ended."))
    if not may_lead(state, token):
        raise LossvizInputError(msg("Only the browser that started this class can lead it."))
    return state


def publish(data_dir: Path, class_id: str, token: object, page: str, params: object, *, now: float) -> ClassState:
    """The teacher shows ``page`` with ``params``: students follow. Only the teacher's token may publish;
    an unchanged page only refreshes when the teacher was last seen (at most every 10 s)."""
    state = _led(data_dir, class_id, token, now)
    page = page if page in PAGES else "explore"
    params = clean_params(params)
    if (page, params) == (state.page, state.params):
        if now - state.seen < 10:
            return state
        new = ClassState(**{**state.__dict__, "seen": now})
    else:
        new = ClassState(**{**state.__dict__, "page": page, "params": params, "version": state.version + 1,
                            "seen": now})
    _write(data_dir, new)
    return new


def end_class(data_dir: Path, class_id: str, token: object, *, now: float) -> None:
    """The teacher ends the class: every student's page stops following."""
    state = _led(data_dir, class_id, token, now)
    _write(data_dir, ClassState(**{**state.__dict__, "ended": True, "seen": now}))


def student_link(base_url: str, class_id: str) -> str:
    """The link a student opens: the app's address and the class id (never the teacher's token)."""
    if not valid_class_id(class_id):
        raise LossvizInputError(msg("This class link is not valid."))
    return base_url.rstrip("/") + "/?class=" + class_id


__all__ = [
    "CLASS_IDLE_S",
    "ClassState",
    "clean_params",
    "classes_dir",
    "end_class",
    "may_lead",
    "publish",
    "read_class",
    "start_class",
    "student_link",
    "valid_class_id",
    "valid_token",
]
