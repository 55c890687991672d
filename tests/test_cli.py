"""python -m lossviz list | eval: the contract of docs/CONTRACTS.md."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from lossviz.cli.main import main
from lossviz.i18n import gettext
from lossviz.losses import get_loss, list_losses
from tests.page_text import chinese, english_phrases

KEYS = {"loss", "reduction", "value", "per_element", "grad", "input_shape", "warnings"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lossviz", *args], capture_output=True, text=True, timeout=120)


def test_list_and_list_json() -> None:
    out = cli("list")
    assert out.returncode == 0
    for name in list_losses():
        assert name in out.stdout
    data = json.loads(cli("list", "--json").stdout)
    assert [d["name"] for d in data] == list_losses()
    ce = next(d for d in data if d["name"] == "CrossEntropyLoss")
    assert {p["name"] for p in ce["params"]} == {"weight", "ignore_index", "label_smoothing"}
    # English title and advice, and the Chinese of both from the catalog (keys kept for JSON readers)
    assert ce["title"] == "Cross-entropy loss" and ce["title_zh"] == "交叉熵损失"
    assert ce["advice"] == get_loss("CrossEntropyLoss").advice
    assert ce["advice_zh"].startswith("单标签分类用")


def test_eval_json_contract() -> None:
    out = cli("eval", "--loss", "CrossEntropyLoss", "--input", "[[0.1, 0.2, 0.3]]", "--target", "[1]", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert data["value"] == pytest.approx(1.1019428968)
    assert data["input_shape"] == [1, 3]
    assert data["grad"][0][1] == pytest.approx(-0.66777503)
    assert out.stderr == ""


def test_eval_tutorial_l1_reshape(capsys) -> None:
    rc = main(["eval", "--loss", "L1Loss", "--input", "1,2,3", "--target", "1,2,5", "--reduction", "sum",
               "--input-shape", "(1,1,1,3)", "--target-shape", "(1,1,1,3)", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and data["value"] == 2.0 and data["input_shape"] == [1, 1, 1, 3]


@pytest.mark.parametrize(
    ("args", "grad_keys"),
    [
        (["--loss", "MarginRankingLoss", "--input", "1, 2", "--input2", "2, 1", "--target", "1, 1"],
         {"input1", "input2"}),
        (["--loss", "CosineEmbeddingLoss", "--input", "[[1, 0]]", "--input2", "[[0, 1]]", "--target", "[1]"],
         {"input1", "input2"}),
        (["--loss", "TripletMarginLoss", "--input", "[[1, 0]]", "--positive", "[[1, 0.5]]", "--negative",
          "[[0.2, 0]]"], {"anchor", "positive", "negative"}),
        (["--loss", "GaussianNLLLoss", "--input", "1, 2", "--target", "1.5, 2", "--var", "0.5, 1"],
         {"input", "var"}),
    ],
)
def test_several_inputs_grad_keyed_by_name(capsys, args: list[str], grad_keys: set[str]) -> None:
    assert main(["eval", *args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["grad"]) == grad_keys


def test_ctc_options(capsys) -> None:
    rc = main(["eval", "--loss", "CTCLoss", "--input", "[[[-1.2, -0.5, -1.9]], [[-0.7, -1.1, -1.6]], [[-1.0, -1.0, -1.3]]]",
               "--target", "[[1, 2]]", "--input-lengths", "[3]", "--target-lengths", "[2]", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and data["input_shape"] == [3, 1, 3]


def test_warnings_go_to_stderr_and_json() -> None:
    out = cli("eval", "--loss", "HingeEmbeddingLoss", "--input", "0.3, 1.5", "--target", "1, 0", "--json")
    assert out.returncode == 0
    assert out.stderr.startswith("warning: ") and "1 or -1" in out.stderr
    assert any("1 or -1" in w for w in json.loads(out.stdout)["warnings"])


@pytest.mark.parametrize(
    "args",
    [
        ["--loss", "CrossEntropyLoss", "--input", "[[0.1, 0.2, 0.3]]", "--target", "[1, 0, 1]"],
        ["--loss", "KLDivLoss", "--input", "[[-1.2, -0.5]]", "--target", "[[0, 1]]"],
        ["--loss", "NoSuchLoss", "--input", "1", "--target", "1"],
        ["--loss", "MSELoss", "--input", "1, x", "--target", "1, 2"],
        ["--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--reduction", "batchmean"],
        ["--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--param", "margin"],
        ["--loss", "MSELoss", "--input", "1, 2"],
        ["--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--var", "1"],
        ["--loss", "CrossEntropyLoss", "--input", "[[1, 2]]", "--target", "[0]", "--param", "label_smoothing=3"],
        ["--input", "1"],
    ],
)
def test_bad_input_exit_2_one_error_line(args: list[str]) -> None:
    out = cli("eval", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_unknown_command_is_exit_2() -> None:
    out = cli("frobnicate")
    assert out.returncode == 2 and out.stderr.startswith("error: ")


def test_cli_speaks_chinese_with_lang_or_the_environment() -> None:
    """Errors and warnings on stderr follow --lang, else LANG; the JSON stays English (a contract)."""
    import os
    import subprocess
    import sys

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lossviz", *args], capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=120)

    bad = ("eval", "--loss", "NoSuchLoss", "--input", "1", "--target", "1")
    en = run(*bad)
    assert en.returncode == 2 and en.stderr.startswith("error: ")
    zh = run("--lang", "zh", *bad)
    assert zh.returncode == 2 and zh.stderr.startswith("error: ")
    zh_env = run(*bad, env={"LANG": "zh_CN.UTF-8"})
    assert zh_env.stderr == zh.stderr
    warn = ("eval", "--loss", "HingeEmbeddingLoss", "--input", "0.3, 1.5", "--target", "1, 0", "--json")
    en_w, zh_w = run(*warn), run(*warn, "--lang", "zh")
    assert en_w.returncode == zh_w.returncode == 0 and en_w.stdout == zh_w.stdout
    assert "warning: " in zh_w.stderr and any("\u4e00" <= ch <= "\u9fff" for ch in zh_w.stderr)
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en_w.stderr)


# ----------------------------------------------------------------------------- help in the user's language

HELP_COMMANDS = [[], ["list"], ["eval"], ["train"], ["landscape"]]


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def _prose(help_text: str) -> str:
    """The help without what is typed, not read: the usage block, {choices} and 'quoted' examples."""
    text = help_text.split("\n\n", 1)[1]  # the usage block ends at the first blank line
    text = re.sub(r"\{[^}]*\}", " ", text)
    return re.sub(r"'[^'\n]*'", " ", text)


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "main")
def test_help_in_chinese_has_no_english_sentence(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    text = _help(capsys, "--lang", "zh", *command)
    assert text.startswith("用法：python -m lossviz")
    assert "选项:" in text and "显示此帮助信息并退出" in text  # argparse's own words, from our catalog
    assert "usage:" not in text and "options:" not in text and "show this help" not in text
    assert len(chinese(_prose(text))) > 20
    assert english_phrases(_prose(text)) == []


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "main")
def test_help_in_english_has_no_chinese(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    text = _help(capsys, "--lang", "en", *command)
    assert text.startswith("usage: python -m lossviz") and "options:" in text
    assert chinese(text) == []


@pytest.mark.parametrize(
    "argv",
    [["eval", "--lang=zh"], ["eval", "--lang", "zh"], ["--lang", "zh", "eval"], ["eval", "--lan", "zh"]],
)
def test_help_language_is_read_before_the_parser_is_built(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """--help acts the moment argparse meets it, so --lang is read from the command line beforehand."""
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert _help(capsys, *argv).startswith("用法：")
    with pytest.raises(SystemExit):
        main(["eval", "--help", "--lang", "zh"])  # --lang after --help counts too
    assert capsys.readouterr().out.startswith("用法：")


def test_help_follows_the_environment_and_lang_wins(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert _help(capsys, "train").startswith("用法：")
    assert _help(capsys, "train", "--lang", "en").startswith("usage: ")


def test_errors_keep_their_prefix_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--lang", "zh", "eval", "--loss", "NoSuchLoss", "--input", "1", "--target", "1"],
                 ["--lang", "zh", "eval", "--input", "1"], ["--lang", "zh", "frobnicate"]):  # fmt: skip
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        assert code == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")


# ----------------------------------------------------------------------------- list and errors in the user's language


def _list(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main([*argv, "list"]) == 0
    return capsys.readouterr().out.splitlines()


def test_list_in_chinese_names_titles_and_reductions(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _list(capsys, "--lang", "zh")
    assert len(lines) == len(list_losses())
    for name, line in zip(list_losses(), lines, strict=True):
        spec = get_loss(name)
        assert line.startswith(f"{name} ") and (len(name) >= 26 or line[:27].rstrip() == name)  # a name column
        reductions = ", ".join(spec.reductions)  # the values typed after --reduction, not prose
        assert gettext(spec.title, "zh") in line and line.endswith(f"归约方式：{reductions}")
        assert english_phrases(line.replace(reductions, " ")) == [], line
    assert "交叉熵损失" in next(line for line in lines if line.startswith("CrossEntropyLoss "))


def test_list_language_follows_lang_after_the_command_and_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    zh = _list(capsys, "--lang", "zh")
    assert main(["list", "--lang", "zh"]) == 0 and capsys.readouterr().out.splitlines() == zh
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["list"]) == 0 and capsys.readouterr().out.splitlines() == zh
    en = _list(capsys, "--lang", "en")
    assert chinese("\n".join(en)) == []
    ce = next(line for line in en if line.startswith("CrossEntropyLoss "))
    assert "Cross-entropy loss" in ce and "reductions: none, mean, sum" in ce


@pytest.mark.parametrize(
    ("argv", "en"),
    [
        (["--loss", "MSELoss", "--input", "1", "--target", "1", "--param", "x"],
         "error: --param 'x' needs the form key=value, e.g. --param margin=0.5"),
        (["--loss", "MarginRankingLoss", "--input", "1", "--target", "1"],
         "error: MarginRankingLoss needs --input2"),
        (["--loss", "MSELoss", "--input", "1", "--target", "1", "--var", "2"], "error: MSELoss takes no --var"),
    ],
    ids=["param", "needs", "takes-no"],
)
def test_eval_option_errors_in_either_language(capsys: pytest.CaptureFixture[str], argv: list[str], en: str) -> None:
    assert main(["--lang", "en", "eval", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(en) and chinese(err) == []
    assert main(["--lang", "zh", "eval", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert chinese(err) and english_phrases(err.removeprefix("error: ")) == [], err
