"""Page text in English and Chinese (many lossviz users read Chinese).

Pages call ``tr(key, lang)``; a missing Chinese string falls back to English, a
missing key raises (tests check both tables have the same keys).

Example:
    >>> tr("explorer.title", "zh")
    '🔍 探索损失函数'
"""

from __future__ import annotations

LANGS = {"en": "English", "zh": "中文"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "lang.label": "Language · 语言",
        "explorer.title": "🔍 Explore a loss",
        "explorer.intro": "Type predictions and targets (or load a classic example), pick a loss and a reduction, "
        "and see the value, the loss of every element, the gradient backpropagation sends to each prediction, "
        "and how it is computed.",
        "explorer.loss": "Loss function",
        "explorer.reduction": "Reduction",
        "explorer.transform": "Apply to the input first",
        "explorer.reshape": "reshape to (optional)",
        "explorer.examples": "Classic examples",
        "explorer.example": "Example",
        "explorer.load": "Load example",
        "explorer.random": "Random numbers",
        "explorer.seed": "seed",
        "explorer.fill": "🎲 Fill with random valid input",
        "explorer.grid": "Edit tensors as a grid",
        "explorer.grid_help": "Edit small tensors cell by cell.",
        "explorer.fix": "Fix the value above and the results come back; nothing else was lost.",
        "explorer.loss_value": "loss · reduction '{reduction}'",
        "explorer.loss_sum": "sum of the {n} losses",
        "explorer.per_element": "**Loss per element** — {means}; **reduction '{reduction}'** {doc}.",
        "explorer.none_grad": "With no reduction the gradient shown is that of the **sum** of the losses.",
        "explorer.none_caption": "reduction='none': {means}.",
        "explorer.grad_wrt": "gradient with respect to",
        "explorer.grad_caption": "The arrow of learning: a step of gradient descent moves each value against "
        "its bar (positive bar → value goes down).",
        "explorer.tab_steps": "Step by step",
        "explorer.tab_code": "PyTorch code",
        "explorer.tab_tensors": "Tensors the loss saw",
        "explorer.code_caption": "Run it: the printed loss and gradient are the ones on this page.",
        "explorer.no_derivation": "No hand derivation for {loss} yet: the formula above and the PyTorch code show it.",
        "explorer.by_hand": "By hand: {hand}; torch.nn.{cls}: {torch} (largest difference {diff}) {mark}",
        "explorer.switched": "Your numbers do not fit {loss} ({why}), so an example for it was loaded.",
        "explorer.tensor_help": "{doc}. Numbers separated by commas, spaces or new lines; [[...], [...]] for rows.",
        "explorer.param_help": "{doc}. Valid: {range}. Default: {default}.",
    },
    "zh": {
        "lang.label": "Language · 语言",
        "explorer.title": "🔍 探索损失函数",
        "explorer.intro": "输入预测值和目标值（或载入经典示例），选择损失函数和归约方式，即可看到损失值、每个元素的损失、"
        "反向传播传给每个预测值的梯度，以及逐步的计算过程。",
        "explorer.loss": "损失函数",
        "explorer.reduction": "归约方式（reduction）",
        "explorer.transform": "先对输入做变换",
        "explorer.reshape": "reshape 为（可选）",
        "explorer.examples": "经典示例",
        "explorer.example": "示例",
        "explorer.load": "载入示例",
        "explorer.random": "随机数",
        "explorer.seed": "随机种子",
        "explorer.fill": "🎲 填入随机的合法输入",
        "explorer.grid": "以表格方式编辑张量",
        "explorer.grid_help": "逐个单元格编辑较小的张量。",
        "explorer.fix": "修正上面的输入，结果就会恢复；其他内容都不会丢失。",
        "explorer.loss_value": "损失值 · reduction='{reduction}'",
        "explorer.loss_sum": "{n} 个损失之和",
        "explorer.per_element": "**每个元素的损失** — {means}；**reduction='{reduction}'**：{doc}。",
        "explorer.none_grad": "不做归约时，这里显示的是所有损失**之和**的梯度。",
        "explorer.none_caption": "reduction='none'：{means}。",
        "explorer.grad_wrt": "对哪个输入求梯度",
        "explorer.grad_caption": "学习的方向：梯度下降的一步会让每个值朝柱子的反方向移动（柱子为正 → 值变小）。",
        "explorer.tab_steps": "逐步推导",
        "explorer.tab_code": "PyTorch 代码",
        "explorer.tab_tensors": "损失函数实际收到的张量",
        "explorer.code_caption": "运行这段代码：打印出的损失和梯度与本页一致。",
        "explorer.no_derivation": "{loss} 暂无手工推导：请参考上面的公式和 PyTorch 代码。",
        "explorer.by_hand": "手工计算：{hand}；torch.nn.{cls}：{torch}（最大差异 {diff}）{mark}",
        "explorer.switched": "你的数据不适用于 {loss}（{why}），已为它载入一个示例。",
        "explorer.tensor_help": "{doc}。数字之间用逗号、空格或换行分隔；多行用 [[...], [...]]。",
        "explorer.param_help": "{doc}。取值范围：{range}。默认值：{default}。",
    },
}


def tr(key: str, lang: str = "en", **fmt: object) -> str:
    """The text for ``key`` in ``lang`` (English when that language lacks it), formatted with ``fmt``."""
    table = TEXT.get(lang, TEXT["en"])
    text = table.get(key)
    if text is None:
        text = TEXT["en"][key]
    return text.format(**fmt) if fmt else text


def lang_from(value: object) -> str:
    """A safe language code from user input (URL or widget); unknown values give English."""
    v = str(value or "").strip().lower()
    return v if v in LANGS else "en"
