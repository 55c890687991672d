"""Transitional: Chinese for English sentences that still carry numbers or names inline.

The sentences below are matched AFTER they were written in English, which is exactly what the
gettext catalogs replace: each one is being rewritten at its source as a Message with named
parameters (lossviz/i18n). Delete an entry once its source emits a Message; delete this file when
it is empty.
"""

from __future__ import annotations

import re

# (pattern, Chinese template, groups that are phrases themselves and get translated too)
_PATTERNS_ZH: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(p, re.DOTALL), zh, nested)
    for p, zh, nested in (
        # derivation notes
        (r"divided by (?P<n>\S+)", "除以 {n}", ()),
        (r"applied to the typed (?P<slot>\w+) before the loss", "计算损失之前，先作用在你输入的 {slot} 上", ()),
        (r"targets equal to ignore_index (?P<i>-?\d+) give 0", "等于 ignore_index（{i}）的目标，损失记为 0", ()),
        # parameter ranges
        (r"one of (?P<values>.+)", "取 {values} 之一", ()),
        (r"(?P<lo>[>≥] \S+) and (?P<hi>[<≤] \S+)", "{lo} 且 {hi}", ()),
        # warnings
        (
            r"(?P<a>\w+) has shape (?P<sa>\(.*?\)) but (?P<b>\w+) has shape (?P<sb>\(.*?\)); PyTorch broadcasts "
            r"them to (?P<out>\(.*?\)), pairing every (?P=a) value with every (?P=b) value\. That is almost "
            r"always a bug: give them the same shape\.",
            "{a} 的形状是 {sa}，而 {b} 的形状是 {sb}；PyTorch 会把它们广播成 {out}，让每个 {a} 值都与每个 {b} 值配对。"
            "这几乎总是 bug：请让两者形状相同。",
            (),
        ),
        (
            r"(?P<slot>\w+) labels should be 1 or -1, but found (?P<found>.*?)\. (?P<note>.*?)\s*Write -1 for the "
            r"negative class \(labels 0/1 belong to BCE-style losses\)\.",
            "{slot} 的标签应为 1 或 -1，但出现了 {found}。{note}负类请写 -1（0/1 标签属于 BCE 一类的损失）。",
            ("note",),
        ),
        (r"var has zeros; PyTorch clamps the variance up to eps = (?P<eps>\S+)\.",
         "var 中有 0；PyTorch 会把方差截断到至少 eps = {eps}。", ()),
        (r"PyTorch warns: (?P<msg>.*)", "PyTorch 警告：{msg}", ()),
        # why the explorer replaced the numbers when the loss changed (state.Example.with_loss)
        (r"(?P<a>\w+) has shape (?P<sa>\(.*?\)) but (?P<b>\w+) has shape (?P<sb>\(.*?\))",
         "{a} 的形状是 {sa}，而 {b} 的形状是 {sb}", ()),
        (r"(?P<loss>\w+) takes (?P<slots>\w+(?:, \w+)*)", "{loss} 需要的张量是 {slots}", ()),
        # notes about a link that was repaired (state.Example.from_query)
        (r"The link names an unknown loss (?P<loss>'.*'); showing (?P<default>\w+) instead\.",
         "链接里的损失函数 {loss} 不存在，改为显示 {default}。", ()),
        (r"(?P<loss>\w+) has no reduction (?P<r>'.*'); using (?P<default>'\w+')\.",
         "{loss} 没有 reduction {r}，改用 {default}。", ()),
        (r"Transform (?P<t>'.*') does not apply to (?P<loss>\w+); using none\.",
         "变换 {t} 不适用于 {loss}，改为不做变换。", ()),
        (r"The link's (?P<slot>\w+) is over (?P<n>\d+) characters; using an example instead\.",
         "链接里的 {slot} 超过 {n} 个字符，改用一个示例。", ()),
        (r"(?P<loss>\w+) has no parameter (?P<p>'.*'); ignored it\.", "{loss} 没有参数 {p}，已忽略。", ()),
    )
)



def legacy_zh(text: str, translate) -> str | None:
    """Chinese for ``text`` from the patterns above, or None."""
    for pattern, template, nested in _PATTERNS_ZH:
        m = pattern.fullmatch(text)
        if m:
            groups = {k: (translate(v) if k in nested else v) for k, v in m.groupdict().items()}
            return template.format(**groups)
    return None
