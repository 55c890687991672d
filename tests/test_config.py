"""The hardened server: .streamlit/config.toml, the pinned Streamlit, and no unpickling of user files.

Streamlit versions checked for advisories (PyPA advisory database / GitHub advisories, Nov 2026):
CVE-2022-35918 (< 1.11.1), GHSA-8qw9-gf7w-42x5 (< 1.30.0), CVE-2023-27494 (< 1.11.1),
CVE-2024-42474 (< 1.37.0, Windows), CVE-2026-10804 (< 1.53.1), CVE-2026-33682 (< 1.54.0, Windows).
The pin must be at or above the newest fixed version.
"""

from __future__ import annotations

import ast
import pickle
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
NEWEST_FIXED = (1, 54, 0)
CODE = sorted([*ROOT.joinpath("lossviz").rglob("*.py"), *ROOT.joinpath("pages").rglob("*.py"),
               *ROOT.joinpath("bench").glob("*.py"), ROOT / "app.py"])


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("server", "enableXsrfProtection", True),
        ("server", "enableCORS", True),
        ("server", "enableStaticServing", False),
        ("server", "enableAgentApi", False),
        ("server", "runOnSave", False),
        ("server", "fileWatcherType", "none"),
        ("server", "headless", True),
        ("server", "address", "127.0.0.1"),
        ("browser", "gatherUsageStats", False),
        ("client", "showErrorDetails", "none"),
        ("client", "showErrorLinks", False),
        ("client", "allowedOrigins", []),
        ("runner", "postScriptGC", False),  # a full gc after every rerun stalls every session (bench/load_sessions.py)
    ],
)
def test_security_setting(section: str, key: str, value: object) -> None:
    assert CONFIG[section][key] == value


def test_sizes_are_as_small_as_the_app_needs() -> None:
    server = CONFIG["server"]
    assert server["maxUploadSize"] == 1  # nothing is uploaded; 1 MB is Streamlit's minimum
    assert 3 <= server["maxMessageSize"] <= 16  # the largest figure is ~2.5 MB (landscape 301×301 in 3-D)
    assert server["maxWidgetStateSize"] <= 2  # boxes are capped at 20,000 characters
    size = re.fullmatch(r"(\d+)mb", str(server["maxCacheDataSize"]).lower())
    assert size and 64 <= int(size.group(1)) <= 1024


def test_streamlit_accepts_every_option() -> None:
    """Each key is a real Streamlit option (a typo would be silently ignored)."""
    from streamlit import config

    options = config.get_config_options()
    for section, values in CONFIG.items():
        for key in values:
            assert f"{section}.{key}" in options, f"{section}.{key}"


def test_the_largest_figure_fits_the_message_limit() -> None:
    """The 301×301 surface in 3-D with a long descent path is well under maxMessageSize."""
    import lossviz.landscape as S
    from lossviz.explore import Example
    from lossviz.landscape.figures import make_contour_figure, make_surface3d_figure

    s = S.setup_for(Example.for_landscape("CrossEntropyLoss"))
    x, y = S.default_elements(s)[:2]
    surface = S.compute_surface(s, x, y, x_range=S.auto_range(s, x), y_range=S.auto_range(s, y), resolution=301)
    path = S.descend(s, (x, y), lr=0.5, steps=500)
    biggest = max(len(f.to_json()) for f in (make_surface3d_figure(surface, path=path),
                                              make_contour_figure(surface, path=path, arrows=17)))
    assert biggest * 2 < CONFIG["server"]["maxMessageSize"] * 1e6


def _pin(requirements: Path, package: str) -> str:
    for line in requirements.read_text().splitlines():
        m = re.match(rf"^{package}\s*==\s*([0-9][0-9.]*)\s*(#.*)?$", line.strip(), re.IGNORECASE)
        if m:
            return m.group(1)
    raise AssertionError(f"{package} is not pinned with == in {requirements.name}")


def test_streamlit_is_pinned_to_a_version_without_known_advisories() -> None:
    import streamlit

    pinned = _pin(ROOT / "requirements.txt", "streamlit")
    assert tuple(int(p) for p in pinned.split(".")) >= NEWEST_FIXED
    assert streamlit.__version__ == pinned  # the venv runs what is pinned


def test_dev_requirements_pin_the_browser_tooling() -> None:
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text
    for package in ("playwright", "pytest", "hypothesis", "pytest-timeout"):
        _pin(ROOT / "requirements-dev.txt", package)


def test_ci_installs_chromium_and_runs_the_browser_tests() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert "make test" in run and "CI=" in run
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*chromium", makefile, re.MULTILINE)
    assert "apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji" in makefile
    recipes = "\n".join(line for line in makefile.splitlines() if not line.lstrip().startswith("#"))
    assert "playwright install" not in recipes
    ini = (ROOT / "pyproject.toml").read_text()
    assert "browser:" in ini and "not browser" not in ini.split("addopts", 1)[1].split("\n", 1)[0]


# --------------------------------------------------------------------------- no unpickling


def _calls(path: Path) -> list[tuple[str, ast.Call]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            out.append((ast.unparse(node.func), node))
    return out


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_unpickles_or_uploads(path: Path) -> None:
    """No pickle/joblib/dill/shelve/marshal loads, torch.load only with weights_only=True, no uploads."""
    for name, call in _calls(path):
        assert not re.search(r"(^|\.)(pickle|cPickle|joblib|dill|cloudpickle|shelve|marshal)\.(load|loads|open)$",
                             name), f"{path.name}: {name}"
        assert name not in ("eval", "exec", "literal_eval", "ast.literal_eval", "yaml.load"), f"{path.name}: {name}"
        # one uploader: the explorer's tensor slots, read by lossviz.losses.files (caps, never a pickle)
        assert not name.endswith("file_uploader") or path.name == "explorer.py", f"{path.name}: {name}"
        if name in ("torch.load", "load") and path.name != "conftest.py":
            kw = {k.arg: k.value for k in call.keywords}
            if name == "torch.load" or "weights_only" in kw:
                assert isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True, (
                    f"{path.name}:{call.lineno} torch.load without weights_only=True")
        if name.endswith("np.load") or name.endswith("numpy.load"):
            kw = {k.arg: k.value for k in call.keywords}
            pickle_kw = kw.get("allow_pickle")  # numpy's default is False; only a literal False may be spelled out
            assert pickle_kw is None or (isinstance(pickle_kw, ast.Constant) and pickle_kw.value is False), (
                f"{path.name}:{call.lineno}")


class _Boom:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path(self.marker).write_text, ("unpickled",))


def test_a_planted_cifar_folder_is_never_unpickled(tmp_path: Path) -> None:
    """The training page lets a browser name the CIFAR-10 folder: files there are md5-checked, never unpickled."""
    from lossviz.errors import LossvizInputError
    from lossviz.training.data import CIFAR_FOLDER, cifar10_status, load_dataset

    marker = tmp_path / "marker.txt"
    folder = tmp_path / "data" / CIFAR_FOLDER
    folder.mkdir(parents=True)
    payload = pickle.dumps(_Boom(str(marker)))
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(payload)
    assert cifar10_status(tmp_path / "data") == "present"
    with pytest.raises(LossvizInputError):
        load_dataset("cifar10", str(tmp_path / "data"))
    assert not marker.exists(), "a planted pickle was loaded"


def test_saved_models_load_with_weights_only(tmp_path: Path) -> None:
    """An older run's model.pt that is a pickle of anything but tensors is refused, not executed;
    model.safetensors is never unpickled at all (a pickle there is just a broken file)."""
    import torch

    from lossviz.training.runs import LEGACY_MODEL_FILE, MODEL_FILE, load_model_state

    marker = tmp_path / "marker.txt"
    run = tmp_path / "runs" / "evil"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    torch.save({"w": _Boom(str(marker))}, run / LEGACY_MODEL_FILE)
    with pytest.raises(Exception):  # noqa: B017 - torch's UnpicklingError, whatever its exact type
        load_model_state(tmp_path / "runs", "evil")
    assert not marker.exists()
    (run / LEGACY_MODEL_FILE).rename(run / MODEL_FILE)
    with pytest.raises(Exception):  # noqa: B017 - safetensors' header error
        load_model_state(tmp_path / "runs", "evil")
    assert not marker.exists()


def test_a_closed_session_is_not_kept_long() -> None:
    """Streamlit keeps a disconnected session for a reconnect; lossviz keeps it 30 s, not 120."""
    assert 5 <= CONFIG["server"]["disconnectedSessionTTL"] <= 60


def _cache_decorators(path: Path) -> list[tuple[str, dict[str, ast.expr], int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            target = call.func if call else dec
            name = ast.unparse(target)
            if name in ("st.cache_data", "st.cache_resource"):
                kw = {k.arg: k.value for k in call.keywords} if call else {}
                out.append((f"{path.name}:{node.name}", kw, len(node.args.args)))
    return out


@pytest.mark.parametrize("path", sorted(ROOT.joinpath("pages").rglob("*.py")), ids=lambda p: p.name)
def test_every_page_cache_is_bounded(path: Path) -> None:
    """Every st.cache_data / st.cache_resource has an entry or byte bound (or takes no arguments: one
    entry); the README's classroom section states each bound."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for where, kw, nargs in _cache_decorators(path):
        assert nargs == 0 or "max_entries" in kw or "max_size" in kw, f"{where} has no bound"
        assert where.split(":")[1] in readme, f"{where} is not in README's cache table"


def test_the_one_upload_is_read_by_the_safe_reader() -> None:
    """The explorer's uploader hands its bytes to Example.with_file, which reads them with
    lossviz.losses.files.read_tensor_bytes (size caps, weights_only=True, never a pickle)."""
    import pickle

    from lossviz import LossvizInputError
    from lossviz.explore import Example

    callbacks = (ROOT / "pages" / "parts" / "explorer_state.py").read_text()
    assert ".with_file(" in callbacks
    payload = pickle.dumps({"not": "a tensor"})
    with pytest.raises(LossvizInputError):
        Example.default("MSELoss").with_file("input", "x.pt", payload)
    ex = Example.default("MSELoss").with_file("input", "x.json", b"[1.5, 2.5, 3.5]")
    assert ex.files == {"input": "x.json"} and "1.5" in ex.texts["input"]
