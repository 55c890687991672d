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

        # issue 9: odd-but-legal input, honest checks
        (r"label_smoothing is (?P<v>\S+); PyTorch computes with a negative value, which sharpens the target "
         r"beyond one-hot instead of smoothing it\. Use a value in \[0, 1\]\.",
         "label_smoothing 为 {v}；PyTorch 照样用负值计算，这会让目标比 one-hot 更尖锐，而不是更平滑。请使用 [0, 1] 之间的值。", ()),
        (r'p is (?P<v>\S+); below 1 the p-"norm" is not a distance \(no triangle inequality\)\. PyTorch '
         r"computes with it anyway; the usual choices are 1 and 2\.",
         "p 为 {v}；p 小于 1 时 p-“范数”不是距离（不满足三角不等式）。PyTorch 照样计算；常用的取值是 1 和 2。", ()),
        (r"target has shape (?P<st>\(.*?\)) but input has shape (?P<si>\(.*?\)); PyTorch broadcasts them to "
         r"(?P<out>\(.*?\)), reusing target values\. Check that this pairing is meant\.",
         "target 的形状是 {st}，而 input 的形状是 {si}；PyTorch 会把它们广播成 {out}，重复使用 target 的值。请确认这种配对是你想要的。", ()),
        (r"eps is (?P<v>\S+); the variance is clamped to at least eps, so a zero variance now gives "
         r"log\(0\) = -inf\. eps is meant as a small positive number\.",
         "eps 为 {v}；方差最小被截断为 eps，所以方差为 0 时会得到 log(0) = -inf。eps 应是一个小的正数。", ()),
        (r"margin is (?P<v>\S+), outside \[-1, 1\] where a cosine lives\. PyTorch computes with it: no "
         r"dissimilar pair can ever reach it, so they never contribute\.",
         "margin 为 {v}，超出了余弦值所在的 [-1, 1]。PyTorch 照样计算：没有任何不相似对能达到它，所以它们从不贡献损失。", ()),
        (r"margin is (?P<v>\S+), outside \[-1, 1\] where a cosine lives\. PyTorch computes with it: every "
         r"dissimilar pair is always above it, so they always contribute\.",
         "margin 为 {v}，超出了余弦值所在的 [-1, 1]。PyTorch 照样计算：每个不相似对都总在它之上，所以它们总会贡献损失。", ()),
        (r"target has shape (?P<st>\(.*?\)) but there are (?P<n>\d+) pair\(s\) of vectors; PyTorch broadcasts "
         r"them, reusing labels or pairs\. Give one label per pair\.",
         "target 的形状是 {st}，但共有 {n} 对向量；PyTorch 会广播，重复使用标签或向量对。请每对给一个标签。", ()),
        (r'targets contain the blank index (?P<b>\d+)\. PyTorch computes anyway, but the blank means "no label" '
         r"and may not appear in the targets, so this loss does not measure the sequence you meant: use "
         r"another class index, or set blank to an index the targets do not use\.",
         "targets 中出现了空白标签 {b}。PyTorch 照样计算，但空白表示“没有标签”，不应出现在目标里，所以这个损失衡量的"
         "并不是你想要的序列：请换一个类别下标，或把 blank 设为目标中没有用到的下标。", ()),
        (r"box (?P<i>\d+) of (?P<name>\w+) is (?P<box>\(.*?\)), with x2 < x1 or y2 < y1: it is turned inside "
         r"out\. torchvision computes with it anyway, but its width or height is negative, so its area, "
         r"the IoU and the loss mean nothing\. Boxes are \(x1, y1, x2, y2\): the top-left corner, then the "
         r"bottom-right one, with x2 ≥ x1 and y2 ≥ y1\.",
         "{name} 的第 {i} 个框是 {box}，x2 < x1 或 y2 < y1：这个框是“翻过来”的。torchvision 照样计算，但它的宽或高为负，"
         "所以面积、IoU 和损失都没有意义。框的格式是 (x1, y1, x2, y2)：先左上角，再右下角，且 x2 ≥ x1、y2 ≥ y1。", ()),
        (r"(?P<p>\w+) has values below (?P<low>\S+) \((?P<found>.*?)\)\. PyTorch computes with them: a negative "
         r"weight turns that part's loss into a reward, so minimising pushes its prediction away from the "
         r"target \(its gradient changes sign\), and where 'mean' divides by the sum of the weights that sum "
         r"can be zero or negative \(the loss then becomes inf, NaN or flips sign\)\.",
         "{p} 中有小于 {low} 的值（{found}）。PyTorch 照样计算：负权重会把那部分的损失变成“奖励”，最小化时会把预测"
         "推离目标（梯度变号）；而 'mean' 要除以权重之和，这个和可能为 0 或负数（损失随之变成 inf、NaN 或变号）。", ()),
        (r"float32 overflow: the exact loss is about (?P<v>\S+) \(largest element (?P<b>\S+)\), beyond "
         r"float32's largest number \((?P<max>\S+)\), so PyTorch, computing in float32 like the explorer, gives "
         r"inf \(or NaN where inf meets inf\)\. Scale the inputs down to see a finite loss\.",
         "float32 溢出：精确的损失约为 {v}（最大的元素 {b}），超过了 float32 能表示的最大数（{max}），所以像探索页一样"
         "用 float32 计算的 PyTorch 给出 inf（inf 与 inf 相遇处为 NaN）。把输入缩小就能看到有限的损失。", ()),
        (r"No agreement to claim: by hand \(in float64\) the loss is (?P<v>\S+), but torch computes in float32, "
         r"whose largest number is (?P<max>\S+), so an intermediate value overflowed and torch gives (?P<got>\S+)",
         "无法声称一致：手工（float64）计算的损失是 {v}，但 torch 用 float32 计算，其最大数为 {max}，中间结果溢出，"
         "torch 给出 {got}", ()),
        (r"No agreement to claim: the loss is not finite even by hand \((?P<got>\S+)\), so there is no number "
         r"to compare", "无法声称一致：即使手工计算，损失也不是有限值（{got}），没有可比较的数", ()),
        (r"The hand computation and torch differ by (?P<d>\S+)", "手工计算与 torch 相差 {d}", ()),
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
