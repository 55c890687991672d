"""Page text in English and Chinese (many lossviz users read Chinese).

Pages call ``tr(key, lang)``; a missing Chinese string falls back to English, a
missing key raises (tests check both tables have the same keys). Sentences that
lossviz itself writes in English (derivation steps, tensor and parameter help,
warnings) go through ``tr_phrase(text, lang)``: an exact-match table plus a few
patterns for sentences with numbers in them; unknown text stays English.

Example:
    >>> tr("explorer.title", "zh")
    '🔍 探索损失函数'
"""

from __future__ import annotations

import re

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
        "explorer.by_hand": "By hand: {hand}; {cls}: {torch} (largest difference {diff}) {mark}",
        "explorer.by_hand_unsure": "By hand: {hand}; {cls}: {torch}. {reason}.",
        "explorer.switched": "Your numbers do not fit {loss} ({why}), so an example for it was loaded.",
        "explorer.tensor_help": "{doc}. Numbers separated by commas, spaces or new lines; [[...], [...]] for rows.",
        "explorer.param_help": "{doc}. Valid: {range}. Default: {default}.",
        "explorer.help_item": "- **{name}**: {doc}",
        "explorer.weight_placeholder": "e.g. 1, 2, 0.5 (one per class)",
        "explorer.shape_placeholder": "e.g. (1, 1, 1, 3)",
        "explorer.grid_one_row": "{label} · 1 row × {cols}",
        "explorer.grid_rows": "{label} · {rows} rows × {cols}",
        "explorer.grid_nan": "{slot}: every cell of the grid needs a number",
        "explorer.crash": "lossviz could not evaluate this example ({exc}); change the input or the loss and try again.",
        "explorer.tensor_line": "**{name}** · shape {shape} · {dtype}",
        "fig.loss_title": "loss per element",
        "fig.nonfinite": "{n} value(s) not finite (∞ or NaN): hatched bars at the axis edge",
        "fig.grad_title": "gradient ∂L/∂{name}",
        "fig.loss": "loss",
        "fig.element": "element",
        "fig.value": "value",
        "fig.rows": "sample / row",
        "fig.cols": "class / column",
        "fig.row": "row {i}",
        "fig.col": "col {j}",
        "nav.explore": "Explore a loss",
        "nav.landscape": "Loss landscape",
        "nav.training": "Watch training",
        "landscape.title": "⛰️ Loss landscape",
        "landscape.intro": "Pick two numbers of the prediction and watch how the loss changes as they move: the colours and the 3-D height are the loss, the arrows point **downhill** (−∇L, the direction gradient descent steps), and the white path is gradient descent starting from your current example (🟠).",
        "landscape.loss": "Loss",
        "landscape.loss_help": "The torch.nn loss whose landscape is drawn.",
        "landscape.reduction": "Reduction",
        "landscape.reduction_help": "'mean' divides by the number of elements, 'sum' adds them: same shape, different scale.",
        "landscape.cannot_use": "This example cannot be used: {exc}",
        "landscape.from_small": "a small example",
        "landscape.from_explorer": "the example from the explorer",
        "landscape.from_fallback": "a small example (the explorer's did not fit)",
        "landscape.one_number": "The landscape varies two numbers of the prediction, but this example has only one. Give the prediction at least two values on the explorer page.",
        "landscape.x": "x axis: vary this number",
        "landscape.y": "y axis: and this one",
        "landscape.resolution": "Resolution (points per axis)",
        "landscape.resolution_help": "Grid points per axis; 301 means 301×301 = 90,601 points.",
        "landscape.ranges": "Ranges: x from, x to, y from, y to",
        "landscape.ranges_help": "Leave empty for a range around the current example that includes the lowest point; e.g. -3, 3, -2, 2.",
        "landscape.lr": "Learning rate",
        "landscape.lr_help": "Step size of gradient descent. Empty: one chosen so the first step is visible.",
        "landscape.steps": "Descent steps",
        "landscape.arrows": "Arrows",
        "landscape.arrows_help": "Draw −∇L on the contours.",
        "landscape.same_axes": "Choose two different numbers for the x and y axes.",
        "landscape.summary": "**{loss}**, reduction `'{reduction}'`, on {origin}{transform}. At the current example L = **{value}**, ∂L/∂{x} = {gx}, ∂L/∂{y} = {gy}.",
        "landscape.transform": " (transform `{transform}`)",
        "landscape.none_sum": " With reduction 'none' the landscape shows the *sum* of the per-element losses (what backward() differentiates).",
        "landscape.automatic": " (automatic)",
        "landscape.surface_caption": "Left: contour map (dark = low loss) with arrows of −∇L; right: the same loss as a 3-D surface — drag to rotate. ★ marks the lowest point on the grid; the white path is {steps} steps of gradient descent with learning rate {lr}{auto}. Hover anywhere for the coordinates, the loss and the gradient.",
        "landscape.grid_caption": "{n}×{n} grid computed in one batched torch call ({method}) in {ms} ms.",
        "landscape.verdict": "Learning rate {lr}{auto}: {message}",
        "landscape.descent_caption": "Each step moves against the gradient: x ← x − lr·∇L. With L1 the gradient has the same size everywhere, so the steps never shrink; with MSE it fades near the minimum, so the steps do too. Press ▶ to watch; try a larger learning rate to see it diverge.",
        "landscape.overlay": "Overlay other losses on the same example",
        "landscape.overlay_help": "Only losses that accept these very tensors without a warning are offered.",
        "landscape.no_overlay": "No other catalog loss accepts this example as it is, so there is nothing to overlay.",
        "landscape.curve_caption": "The loss (top) and its slope (bottom) as {x} sweeps its range and everything else stays fixed. A slope that stays large far from the target (L1, hinge) keeps pushing hard; one that fades (MSE near the target, cross-entropy once the class wins) stops pushing.",
        "landscape.same_curve": "{a} and {b} draw the same curve here (one hides the other).",
        "landscape.margin": "Classic picture: classification losses against the margin y·z",
        "landscape.margin_caption": "One example with label y = +1 and score z, so the margin is m = y·z. Logistic losses (BCEWithLogits, SoftMargin: identical) never reach zero; the hinge is exactly zero once m ≥ 1; MSE against the label also punishes being *too* right.",
        "landscape.margin_title": "losses against the margin m = y·z",
        "landscape.margin_x": "margin m = y·z",
        "landscape.sum_ratio": "Same data, different reduction: here **'sum' = {r} × 'mean'** at the current point, so the surface is {r}× taller, every gradient {r}× longer, and the same learning rate takes {r}× bigger steps.",
        "landscape.red_title": "{loss}: the same sweep under each reduction",
        "landscape.red_paths": "Gradient descent with the same learning rate ({lr}) under each reduction:",
        "landscape.warnings": "Warnings about this example",
        "landscape.tab.Surface": "Surface",
        "landscape.tab.Descent": "Descent",
        "landscape.tab.Loss curve": "Loss curve",
        "landscape.tab.sum vs mean": "sum vs mean",
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
        "explorer.by_hand": "手工计算：{hand}；{cls}：{torch}（最大差异 {diff}）{mark}",
        "explorer.by_hand_unsure": "手工计算：{hand}；{cls}：{torch}。{reason}。",
        "explorer.switched": "你的数据不适用于 {loss}（{why}），已为它载入一个示例。",
        "explorer.tensor_help": "{doc}。数字之间用逗号、空格或换行分隔；多行用 [[...], [...]]。",
        "explorer.param_help": "{doc}。取值范围：{range}。默认值：{default}。",
        "explorer.help_item": "- **{name}**：{doc}",
        "explorer.weight_placeholder": "例如 1, 2, 0.5（每个类别一个）",
        "explorer.shape_placeholder": "例如 (1, 1, 1, 3)",
        "explorer.grid_one_row": "{label} · 1 行 × {cols} 列",
        "explorer.grid_rows": "{label} · {rows} 行 × {cols} 列",
        "explorer.grid_nan": "{slot}：表格的每个单元格都要填一个数字",
        "explorer.crash": "lossviz 无法计算这个示例（{exc}）；请修改输入或换一个损失函数再试。",
        "explorer.tensor_line": "**{name}** · 形状 {shape} · {dtype}",
        "fig.loss_title": "每个元素的损失",
        "fig.nonfinite": "有 {n} 个值不是有限数（∞ 或 NaN）：在坐标轴边缘画成带斜线的柱子",
        "fig.grad_title": "梯度 ∂L/∂{name}",
        "fig.loss": "损失",
        "fig.element": "元素",
        "fig.value": "值",
        "fig.rows": "样本 / 行",
        "fig.cols": "类别 / 列",
        "fig.row": "第 {i} 行",
        "fig.col": "第 {j} 列",
        "nav.explore": "探索损失函数",
        "nav.landscape": "损失曲面",
        "nav.training": "观察训练过程",
        "landscape.title": "⛰️ 损失曲面",
        "landscape.intro": "选出预测中的两个数，看它们变化时损失怎样变化：颜色和三维高度表示损失，箭头指向**下坡**（−∇L，梯度下降迈步的方向），白色路径是从当前样例（🟠）出发的梯度下降。",
        "landscape.loss": "损失函数",
        "landscape.loss_help": "绘制其损失曲面的 torch.nn 损失。",
        "landscape.reduction": "归约方式",
        "landscape.reduction_help": "'mean' 除以元素个数，'sum' 直接相加：形状相同，尺度不同。",
        "landscape.cannot_use": "这个样例无法使用：{exc}",
        "landscape.from_small": "一个小样例",
        "landscape.from_explorer": "探索页的样例",
        "landscape.from_fallback": "一个小样例（探索页的样例不适用）",
        "landscape.one_number": "损失曲面要改变预测中的两个数，但这个样例只有一个。请在探索页给预测至少两个值。",
        "landscape.x": "x 轴：改变这个数",
        "landscape.y": "y 轴：以及这个数",
        "landscape.resolution": "分辨率（每轴点数）",
        "landscape.resolution_help": "每个轴上的网格点数；301 表示 301×301 = 90,601 个点。",
        "landscape.ranges": "范围：x 起，x 止，y 起，y 止",
        "landscape.ranges_help": "留空则取当前样例周围、包含最低点的范围；例如 -3, 3, -2, 2。",
        "landscape.lr": "学习率",
        "landscape.lr_help": "梯度下降的步长。留空：自动选一个，使第一步清晰可见。",
        "landscape.steps": "下降步数",
        "landscape.arrows": "箭头",
        "landscape.arrows_help": "在等高线图上画出 −∇L。",
        "landscape.same_axes": "x 轴和 y 轴请选两个不同的数。",
        "landscape.summary": "**{loss}**，归约 `'{reduction}'`，使用{origin}{transform}。在当前样例处 L = **{value}**，∂L/∂{x} = {gx}，∂L/∂{y} = {gy}。",
        "landscape.transform": "（变换 `{transform}`）",
        "landscape.none_sum": " 归约为 'none' 时，曲面显示各元素损失之*和*（即 backward() 求导的对象）。",
        "landscape.automatic": "（自动）",
        "landscape.surface_caption": "左：等高线图（越暗损失越低）和 −∇L 箭头；右：同一损失的三维曲面，可拖动旋转。★ 标出网格上的最低点；白色路径是学习率 {lr}{auto} 的 {steps} 步梯度下降。悬停可查看坐标、损失和梯度。",
        "landscape.grid_caption": "{n}×{n} 网格由一次批量 torch 调用（{method}）算出，用时 {ms} 毫秒。",
        "landscape.verdict": "学习率 {lr}{auto}：{message}",
        "landscape.descent_caption": "每一步都逆着梯度走：x ← x − lr·∇L。L1 的梯度处处一样大，步子不会变小；MSE 的梯度在最低点附近变小，步子也随之变小。按 ▶ 观看；调大学习率可以看到发散。",
        "landscape.overlay": "在同一样例上叠加其他损失",
        "landscape.overlay_help": "只列出能不带警告地接受这些张量的损失。",
        "landscape.no_overlay": "目录中没有其他损失能直接接受这个样例，因此无可叠加。",
        "landscape.curve_caption": "{x} 扫过其范围、其余不变时的损失（上）和斜率（下）。远离目标时斜率仍然很大的（L1、hinge）一直用力推；斜率逐渐消失的（MSE 接近目标时、交叉熵在正确类胜出后）就不再推。",
        "landscape.same_curve": "{a} 和 {b} 在这里画出同一条曲线（一条挡住了另一条）。",
        "landscape.margin": "经典图：分类损失与间隔 y·z",
        "landscape.margin_caption": "一个标签 y = +1、分数 z 的样例，间隔 m = y·z。逻辑斯蒂损失（BCEWithLogits 与 SoftMargin 完全相同）永远到不了 0；hinge 在 m ≥ 1 后恰好为 0；以标签为目标的 MSE 还会惩罚“过于正确”。",
        "landscape.margin_title": "损失与间隔 m = y·z",
        "landscape.margin_x": "间隔 m = y·z",
        "landscape.sum_ratio": "同样的数据、不同的归约：在当前点 **'sum' = {r} × 'mean'**，所以曲面高 {r} 倍，每个梯度长 {r} 倍，同样的学习率迈出的步子也大 {r} 倍。",
        "landscape.red_title": "{loss}：同一扫描在各种归约下",
        "landscape.red_paths": "相同学习率（{lr}）下各种归约的梯度下降：",
        "landscape.warnings": "关于这个样例的警告",
        "landscape.tab.Surface": "曲面",
        "landscape.tab.Descent": "梯度下降",
        "landscape.tab.Loss curve": "损失曲线",
        "landscape.tab.sum vs mean": "sum 与 mean",
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


# --------------------------------------------------------------------------- phrases from lossviz itself
#
# The derivations, the catalog and the checkers write their sentences in English (tests and the CLI
# compare them). The page shows them in Chinese through ``tr_phrase``: an exact-match table, then a
# few patterns for sentences with numbers or names in them. Anything unknown stays English.

PHRASES_ZH: dict[str, str] = {
    # ---- derivation step titles (lossviz/explain.py)
    "sigmoid": "sigmoid：压缩到 (0, 1) 之间",
    "softmax": "softmax：变成概率",
    "log_softmax": "log_softmax：变成对数概率",
    "log": "取对数",
    "pick the true class": "取出正确类别",
    "smooth the target": "平滑目标（标签平滑）",
    "multiply by the target and add up": "乘以目标再求和",
    "uniform part (label smoothing)": "均匀分布部分（标签平滑）",
    "mix": "按比例混合",
    "negate": "取负",
    "negate and weight": "取负并加权",
    "log p": "对 p 取对数",
    "log (1 − p)": "对 1 − p 取对数",
    "combine": "合并两项",
    "log σ(z), stably": "数值稳定地计算 log σ(z)",
    "target probabilities": "目标概率",
    "pointwise KL (log target)": "逐元素 KL（目标为对数形式）",
    "log of the target": "对目标取对数",
    "pointwise KL": "逐元素 KL",
    "y = 1 term": "y = 1 的项",
    "y = −1 term": "y = −1 的项",
    "add": "两项相加",
    "margin": "间隔 y·x",
    "logistic": "逻辑斯蒂损失",
    "error": "误差",
    "square": "平方",
    "absolute value": "取绝对值",
    "β = 0: plain L1": "β = 0：退化为普通 L1",
    "which part": "落在哪一段",
    "piecewise": "分段计算",
    "clamp the variance": "截断方差",
    "negative log-likelihood": "负对数似然",
    "rate": "速率 λ",
    "Stirling term": "斯特林项",
    "signed gap": "带符号的差距",
    "hinge": "hinge：与 0 取最大值",
    "hinge per wrong class": "每个错误类别的 hinge 项",
    "sum and divide by C": "求和后除以 C",
    "cosine similarity": "余弦相似度",
    "by label": "按标签取值",
    "sum": "求和",
    "mean": "取平均",
    "batchmean": "按批次取平均（batchmean）",
    # ---- derivation step notes
    "each row now sums to 1": "现在每一行之和都是 1",
    "the log-probability the model gave the right answer": "模型给正确答案的对数概率",
    "sum, divided by the batch size": "求和后除以批次大小",
    "done inside the loss": "在损失函数内部完成",
    "the target was given as log p": "目标是以 log p 的形式给出的",
    "labels other than ±1 get both terms": "不是 ±1 的标签两项都会计入",
    "positive when the sign is right": "符号正确时为正",
    "1 = quadratic part, 0 = linear part": "1 = 二次段，0 = 线性段",
    # ---- what one element of reduction='none' is (LossSpec.per_element_means)
    "one loss per element of the input": "输入的每个元素一个损失",
    "one loss per sample (per position for (N, C, H, W))": "每个样本一个损失（输入为 (N, C, H, W) 时每个位置一个）",
    "one loss per sample": "每个样本一个损失",
    "one loss per pair": "每一对一个损失",
    "one loss per triplet": "每个三元组一个损失",
    "one loss per sequence": "每个序列一个损失",
    # ---- reductions (catalog.REDUCTION_DOC)
    "keep one loss per element (no reduction)": "逐元素保留损失（不归约）",
    "average the per-element losses": "对每个元素的损失取平均",
    "add the per-element losses": "把每个元素的损失相加",
    "sum, then divide by the batch size (the KL divergence of the maths)": "先求和，再除以批次大小（即数学上的 KL 散度）",
    # ---- transforms (evaluate.TRANSFORMS)
    "use the input as typed": "按输入原样使用",
    "σ(x) = 1 / (1 + e^{-x}), element by element (for BCELoss)": "逐元素计算 σ(x) = 1 / (1 + e^{-x})（用于 BCELoss）",
    "softmax over the class dimension": "在类别维度上做 softmax",
    "log-softmax over the class dimension (for NLLLoss, KLDivLoss, CTCLoss)":
        "在类别维度上做 log-softmax（用于 NLLLoss、KLDivLoss、CTCLoss）",
    # ---- tensor boxes (TensorSlot.label)
    "prediction ŷ": "预测值 ŷ",
    "target y": "目标值 y",
    "logits z": "logits（原始分数）z",
    "target (class index or probabilities)": "目标（类别下标或概率）",
    "log-probabilities": "对数概率",
    "target class index": "目标类别下标",
    "probability p": "概率 p",
    "label y": "标签 y",
    "logit z": "logit（原始分数）z",
    "log-probabilities log q": "对数概率 log q",
    "target distribution p": "目标分布 p",
    "distance x": "距离 x",
    "label y (1 or -1)": "标签 y（1 或 -1）",
    "score x": "分数 x",
    "scores z": "分数 z",
    "labels (0/1 per class)": "标签（每个类别 0 或 1）",
    "label indices, -1 padded": "标签下标（用 -1 补齐）",
    "log-rate (or rate λ)": "对数速率（或速率 λ）",
    "count k": "计数 k",
    "mean μ": "均值 μ",
    "variance σ²": "方差 σ²",
    "score x₁": "分数 x₁",
    "score x₂": "分数 x₂",
    "y = 1 if x₁ should rank higher, -1 otherwise": "y（x₁ 应排在前面为 1，否则为 -1）",
    "vector u": "向量 u",
    "vector v": "向量 v",
    "y (1 similar, -1 dissimilar)": "y（1 表示相似，-1 表示不相似）",
    "anchor a": "锚点 a",
    "positive p": "正样本 p",
    "negative n": "负样本 n",
    "log-probabilities (T, N, C)": "对数概率 (T, N, C)",
    "target labels": "目标标签",
    "input lengths": "输入长度",
    "target lengths": "目标长度",
    # ---- tensor help (TensorSlot.doc)
    "any shape; floats": "任意形状；浮点数",
    "the same shape as the input": "与输入形状相同",
    "raw scores: (C), (N, C) or (N, C, d1, ...)": "原始分数：(C)、(N, C) 或 (N, C, d1, ...)",
    "class indices of shape (), (N) or (N, d1, ...); or probabilities with the input's shape":
        "形状为 ()、(N) 或 (N, d1, ...) 的类别下标；或与输入同形状的概率",
    "log-probabilities: (C), (N, C) or (N, C, d1, ...)": "对数概率：(C)、(N, C) 或 (N, C, d1, ...)",
    "class indices of shape (), (N) or (N, d1, ...)": "形状为 ()、(N) 或 (N, d1, ...) 的类别下标",
    "probabilities in [0, 1]; any shape": "[0, 1] 之间的概率；任意形状",
    "labels in [0, 1], the input's shape": "[0, 1] 之间的标签，形状与输入相同",
    "raw scores; any shape": "原始分数；任意形状",
    "log-probabilities; any shape": "对数概率；任意形状",
    "probabilities (floats), the input's shape": "概率（浮点数），形状与输入相同",
    "distances (e.g. L1 between a pair); any shape": "距离（如一对样本之间的 L1 距离）；任意形状",
    "1 (similar) or -1 (dissimilar), the input's shape": "1（相似）或 -1（不相似），形状与输入相同",
    "1 or -1, the input's shape": "1 或 -1，形状与输入相同",
    "(C) or (N, C) raw scores": "形状为 (C) 或 (N, C) 的原始分数",
    "0 or 1 per class, the input's shape": "每个类别 0 或 1，形状与输入相同",
    "one class index per sample: () or (N)": "每个样本一个类别下标：() 或 (N)",
    "the input's shape: the true class indices first, then -1 to pad": "形状与输入相同：先写正确类别的下标，再用 -1 补齐",
    "any shape": "任意形状",
    "non-negative counts, the input's shape": "非负计数，形状与输入相同",
    "predicted means; any shape": "预测的均值；任意形状",
    "the input's shape": "与输入形状相同",
    "positive; the input's shape (or one per sample)": "正数；形状与输入相同（或每个样本一个）",
    "(N) scores": "(N) 个分数",
    "(N) scores, like input1": "(N) 个分数，与 input1 相同",
    "(N) of ±1": "(N) 个 ±1",
    "(D) or (N, D)": "形状为 (D) 或 (N, D)",
    "the shape of input1": "与 input1 形状相同",
    "(N) or () of ±1": "形状为 (N) 或 () 的 ±1",
    "the anchor's shape": "与锚点形状相同",
    "(T, N, C) or (T, C) log_softmax outputs": "形状为 (T, N, C) 或 (T, C) 的 log_softmax 输出",
    "(N, S) padded, or all targets concatenated": "补齐后的 (N, S)，或把所有目标首尾拼接",
    "(N): time steps used per sequence": "(N)：每个序列使用的时间步数",
    "(N): labels per sequence": "(N)：每个序列的标签个数",
    # ---- parameter help (ParamSpec.doc, ParamSpec.range_text)
    "where the quadratic part turns linear; 0 gives plain L1": "二次段转为线性段的分界点；取 0 即普通 L1",
    "where the quadratic part turns linear": "二次段转为线性段的分界点",
    "a rescaling weight per class (length C)": "每个类别的缩放权重（长度为 C）",
    "a target value that is ignored (class indices only)": "被忽略的目标值（仅用于类别下标）",
    "mix this much of a uniform distribution into the target": "向目标中混入这么多的均匀分布（标签平滑）",
    "a target value that is ignored": "被忽略的目标值",
    "a rescaling weight per element (broadcast to the input)": "每个元素的缩放权重（会广播到输入的形状）",
    "weight of positive examples per class (last dimension)": "每个类别正样本的权重（沿最后一维）",
    "the target is given as log-probabilities": "目标以对数概率的形式给出",
    "dissimilar pairs are pushed at least this far apart": "不相似的样本对至少要被推开这么远",
    "1 for the hinge, 2 for the squared hinge": "1 为 hinge，2 为平方 hinge",
    "how far the true class must beat every other": "正确类别的分数至少要比其他每个类别高出多少",
    "a weight per class (length C)": "每个类别的权重（长度为 C）",
    "the input is log λ (recommended) rather than λ": "输入是 log λ（推荐）而不是 λ",
    "add the Stirling term of log k!": "加上 log k! 的斯特林近似项",
    "added to λ before the log when log_input is off": "关闭 log_input 时，取对数前加到 λ 上的小量",
    "add the constant ½ log 2π": "加上常数项 ½ log 2π",
    "the variance is clamped to at least eps": "方差最小被截断为 eps",
    "how far the better item must be ahead": "更好的一项至少要领先多少",
    "dissimilar pairs are pushed below this cosine": "不相似对的余弦相似度要被压到这个值以下",
    "the negative must be this much farther than the positive": "负样本必须比正样本远出这么多",
    "the norm of the distance": "计算距离所用范数的阶数",
    "added inside the distance for stability": "为数值稳定加在距离里的小量",
    "use the closer of d(a,n) and d(p,n) (distance swap)": "取 d(a,n) 与 d(p,n) 中较小者（距离交换）",
    "the index of the blank label": "空白标签（blank）的下标",
    "replace infinite losses (impossible alignments) by zero": "把无穷大的损失（不可能的对齐）替换为 0",
    "any value": "任意值",
    # ---- warnings for legal but suspicious input (catalog checkers, evaluate)
    "target is read as class probabilities (it has the input's shape), but its rows do not sum "
    "to 1; soft labels are normally a probability distribution over the classes.":
        "target 与输入形状相同，因此被当作类别概率，但它的每一行之和不为 1；软标签通常应是各类别上的概率分布。",
    "input rows already look like probabilities (in [0, 1] and summing to 1). CrossEntropyLoss applies "
    "log-softmax itself, so pass raw scores (logits), not softmax outputs; feeding probabilities "
    "squashes the loss and its gradients.":
        "input 的每一行看起来已经是概率（都在 [0, 1] 之间且和为 1）。CrossEntropyLoss 内部会自己做 log-softmax，"
        "所以应传入原始分数（logits），而不是 softmax 的输出；传入概率会把损失和梯度都压得很小。",
    "NLLLoss expects log-probabilities (all ≤ 0), but the input has positive values. Apply "
    "log_softmax first (choose the log_softmax transform), or use CrossEntropyLoss on raw logits.":
        "NLLLoss 期望输入是对数概率（全部 ≤ 0），但输入中有正值。请先做 log_softmax（选择 log_softmax 变换），"
        "或者直接对原始 logits 使用 CrossEntropyLoss。",
    "some inputs are exactly 0 or 1. log(0) is -inf, so PyTorch clamps the log at -100: the loss of "
    "those elements is capped at 100 and their gradient is not the true one.":
        "有些输入恰好是 0 或 1。log(0) 是 -inf，所以 PyTorch 把对数截断在 -100："
        "这些元素的损失最多为 100，它们的梯度也不是真实的梯度。",
    "log_target is on, so target should be log-probabilities (≤ 0), but it has positive values.":
        "log_target 已开启，所以 target 应为对数概率（≤ 0），但其中有正值。",
    "KLDivLoss expects its input as log-probabilities (all ≤ 0), but it has positive values: apply "
    "log_softmax first (the log_softmax transform).":
        "KLDivLoss 期望输入是对数概率（全部 ≤ 0），但输入中有正值：请先做 log_softmax（选择 log_softmax 变换）。",
    "reduction 'mean' divides by the number of elements, not the batch size, so it is not the "
    "KL divergence of the maths; use reduction 'batchmean'.":
        "reduction='mean' 除以的是元素总数而不是批次大小，所以它不是数学上的 KL 散度；请使用 reduction='batchmean'。",
    "targets should be 0 or 1 (is the label present?); other values are used as soft labels.":
        "target 应为 0 或 1（该标签是否出现）；其他值会被当作软标签使用。",
    "log_probs should be log-probabilities (≤ 0): apply log_softmax over the classes first.":
        "log_probs 应为对数概率（≤ 0）：请先在类别维度上做 log_softmax。",
    "the loss is not finite (inf or NaN).": "损失不是有限值（inf 或 NaN）。",
    "the loss is not finite (inf or NaN). No alignment of the targets fits in the input length; turn on "
    "zero_infinity or lengthen the input.":
        "损失不是有限值（inf 或 NaN）。在输入长度内找不到目标序列的任何对齐方式；请开启 zero_infinity 或加长输入。",
    # what a label that is not ±1 does (inside the ±1 warning)
    "A label that is neither 1 nor -1 (such as 0) gets both terms: x + max(0, margin − x).":
        "既不是 1 也不是 -1 的标签（比如 0）会同时计入两项：x + max(0, margin − x)。",
    "With label 0 the loss is log 2 whatever the input, so nothing is learnt.":
        "标签为 0 时，无论输入是什么，损失都是 log 2，模型什么也学不到。",
    "Label 0 makes the loss max(0, margin), whatever the inputs.":
        "标签为 0 时，无论输入如何，损失都是 max(0, margin)。",

    # ---- issue 9: new catalog entries (torchvision detection losses, TripletMarginWithDistanceLoss)
    "(N, 4) or (4): x1, y1, x2, y2 with x2 ≥ x1 and y2 ≥ y1": "形状为 (N, 4) 或 (4)：x1, y1, x2, y2，且 x2 ≥ x1、y2 ≥ y1",
    "(N, D), or (D) for the pairwise distance": "形状为 (N, D)；用成对距离时也可以是 (D)",
    "0 or 1 as floats, the inputs' shape": "0 或 1（浮点数），形状与 inputs 相同",
    "label y (0 or 1)": "标签 y（0 或 1）",
    "one loss per box": "每个框一个损失",
    "predicted boxes (x1, y1, x2, y2)": "预测框 (x1, y1, x2, y2)",
    "target boxes (x1, y1, x2, y2)": "目标框 (x1, y1, x2, y2)",
    "the shape of boxes1": "与 boxes1 形状相同",
    "added to divisions to keep them finite": "加在除数上、保证结果有限的小量",
    "focusing exponent of (1 - p_t); 0 gives plain (alpha-weighted) BCE": "(1 - p_t) 的聚焦指数；取 0 即普通的（按 alpha 加权的）BCE",
    "the distance d: pairwise L2 (torch's default) or 1 - cosine similarity": "距离 d：成对 L2 距离（torch 的默认值）或 1 - 余弦相似度",
    "weight of the positive class (in [0, 1]); -1 switches it off": "正类的权重（在 [0, 1] 之间）；取 -1 表示不加权",
    # derivation steps of the new entries
    "binary cross-entropy": "二元交叉熵",
    "probability of the true label": "真实标签的概率",
    "focus on the hard examples": "聚焦困难样本",
    "easy examples (p_t near 1) are scaled down the most": "简单样本（p_t 接近 1）被缩小得最多",
    "weigh the classes": "按类别加权",
    "intersection": "交集",
    "IoU": "IoU（交并比）",
    "union": "并集",
    "0 whenever the boxes do not overlap, wherever they are": "只要两个框不重叠，无论在哪里都是 0",
    "smallest enclosing box": "最小外接框",
    "GIoU loss": "GIoU 损失",
    "the empty share of C still has a gradient": "C 中空着的部分仍然有梯度",
    "enclosing box's diagonal²": "外接框对角线长度的平方",
    "centre distance²": "中心距离的平方",
    "DIoU loss": "DIoU 损失",
    "aspect-ratio difference": "宽高比差异",
    "its weight": "它的权重",
    "treated as a constant by the gradient (torch.no_grad)": "求梯度时当作常数（torch.no_grad）",
    "CIoU loss": "CIoU 损失",
    # warnings: odd but legal input (torch computes it, lossviz says what is odd)
    "target has the input's shape, so it is read as class probabilities, but it holds values "
    "outside [0, 1]. PyTorch computes with them anyway (the loss can then be negative); "
    "probabilities are normally in [0, 1] with rows summing to 1.":
        "target 与输入形状相同，因此被当作类别概率，但其中有 [0, 1] 之外的值。PyTorch 照样计算（损失可能变成负数）；"
        "概率通常在 [0, 1] 之间，每行之和为 1。",
    "target has values outside [0, 1]. PyTorch computes with them anyway (the loss can then be "
    "negative and has no minimum); labels are 0 or 1, soft labels in between.":
        "target 中有 [0, 1] 之外的值。PyTorch 照样计算（损失可能为负，而且没有最小值）；标签应为 0 或 1，软标签介于两者之间。",
    "target has negative values. PyTorch computes with them, but the log of a negative probability is "
    "NaN: the target must be probabilities (≥ 0), or turn on log_target if you are giving "
    "log-probabilities.":
        "target 中有负值。PyTorch 照样计算，但负概率的对数是 NaN：target 必须是概率（≥ 0）；如果给的是对数概率，请开启 log_target。",
    "target has negative values. PyTorch computes with them, but a count is ≥ 0, so the loss has "
    "no meaning as a Poisson likelihood there.":
        "target 中有负值。PyTorch 照样计算，但计数应 ≥ 0，这些位置的损失没有泊松似然的意义。",
    "with log_input off the input is the rate λ itself, which should be ≥ 0; PyTorch computes "
    "log(λ + eps) anyway, which is NaN for a negative rate. Turn log_input on if you are giving log-rates.":
        "关闭 log_input 时输入就是速率 λ 本身，应当 ≥ 0；PyTorch 照样计算 log(λ + eps)，速率为负时结果是 NaN。"
        "如果给的是对数速率，请开启 log_input。",
    "eps is not positive, so a rate of 0 gives log(0) = -inf; eps is meant as a small positive number.":
        "eps 不是正数，速率为 0 时会得到 log(0) = -inf；eps 应是一个小的正数。",
    "eps is negative; PyTorch adds it to every difference anyway. It is meant as a small positive "
    "number that keeps the distance's gradient finite.":
        "eps 是负数；PyTorch 照样把它加到每个差值上。它本应是一个小的正数，用来保证距离的梯度有限。",
    "targets should be 0 or 1 (is the object there?); torchvision computes with other values, "
    "but then the loss can be negative and has no minimum.":
        "targets 应为 0 或 1（目标是否存在）；torchvision 也会用其他值计算，但损失可能为负，而且没有最小值。",
    "gamma is negative, so (1 - p_t)^gamma grows as examples get easier: the opposite of focusing "
    "on hard examples (and a perfect prediction gives 0^gamma = inf).":
        "gamma 是负数，(1 - p_t)^gamma 会随样本变简单而变大：与聚焦困难样本正好相反（完全正确的预测会得到 0^gamma = inf）。",
    "an input length is 0: that sequence has no frames, so no alignment fits a non-empty target "
    "and its loss is inf. PyTorch computes it anyway; input lengths normally run from 1 to T.":
        "有一个输入长度为 0：该序列没有任何帧，非空目标找不到任何对齐方式，损失为 inf。PyTorch 照样计算；输入长度通常在 1 到 T 之间。",
    "eps is not positive; it keeps the divisions by the union and the enclosing box finite when "
    "a box has no area.":
        "eps 不是正数；当某个框面积为 0 时，它用来保证除以并集和外接框面积的结果有限。",
}

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


def tr_phrase(text: str, lang: str = "en") -> str:
    """``text`` (an English sentence from lossviz itself) in ``lang``; unknown text comes back unchanged.

    Example:
        >>> tr_phrase("divided by 4", "zh")
        '除以 4'
        >>> tr_phrase("divided by 4", "en")
        'divided by 4'
    """
    if lang != "zh" or not text:
        return text
    exact = PHRASES_ZH.get(text)
    if exact is not None:
        return exact
    for pattern, template, nested in _PATTERNS_ZH:
        m = pattern.fullmatch(text)
        if m:
            groups = {k: (tr_phrase(v, lang) if k in nested else v) for k, v in m.groupdict().items()}
            return template.format(**groups)
    return text


# --------------------------------------------------------------------------- weight-space landscape
# (lossviz/training/weight_landscape*.py, lossviz/training/snapshots.py, pages/parts/weight_landscape.py)

TEXT["en"].update(
    {
        "wl.title": "⛰️ The network's own loss landscape",
        "wl.intro": "The loss as a function of the network's weights, on a 2-D slice through the current weights "
        "(Li et al., NeurIPS 2018): each point is the same network with its weights moved a·x + b·y along two "
        "directions, evaluated on {n} test images. The ★ is the current weights; the line is the path training took.",
        "wl.plane": "Plane",
        "wl.plane_random": "two random directions (filter-normalised)",
        "wl.plane_pca": "top two PCA directions of the path",
        "wl.grid": "Resolution (points per side)",
        "wl.images": "Test images",
        "wl.seed": "Direction seed",
        "wl.span": "Span (±)",
        "wl.compute": "Compute the landscape",
        "wl.cancel": "Cancel",
        "wl.cancelled": "Cancelled: showing the points computed so far.",
        "wl.progress": "{done} of {total} points · about {eta} left",
        "wl.progress_line": "The 1-D line: {done} of {total} points · about {eta} left",
        "wl.done": "{points} points on {n} images in {seconds:.1f} s.",
        "wl.weights_at": "Weights: {source}, step {step}.",
        "wl.live_note": "This run is still training: the slice is around its latest saved weights.",
        "wl.no_weights": "This run has no saved weights yet: the landscape appears after the first snapshot.",
        "wl.contour_title": "Loss over a 2-D slice of weight space",
        "wl.surface_title": "The same slice as a surface",
        "wl.line_title": "Loss on the straight line from the initial to the current weights",
        "wl.axis_x": "x direction (a)",
        "wl.axis_y": "y direction (b)",
        "wl.axis_pc1": "PC 1 ({pct:.0f}% of the path's variance)",
        "wl.axis_pc2": "PC 2 ({pct:.0f}%)",
        "wl.axis_alpha": "α (0 = initial weights, 1 = current weights)",
        "wl.loss": "loss",
        "wl.accuracy": "accuracy",
        "wl.current": "current weights",
        "wl.initial": "initial weights",
        "wl.path": "training path",
        "wl.step": "step",
        "wl.coarse": "Coarse {n}×{n} picture; refining…",
        "wl.why_random": "Why does the path hardly show on the random plane? The network has {n} weights. Two random "
        "directions in a space that large are almost perpendicular to any fixed direction, including the one "
        "training moved along (a typical overlap is 1/√{n} ≈ {overlap}), so the plane shows only {random}% of the "
        "path's motion and the path collapses to a dot near the ★.",
        "wl.why_random_pca": "Why does the path hardly show on the random plane? The network has {n} weights. Two random "
        "directions in a space that large are almost perpendicular to any fixed direction, including the one "
        "training moved along (a typical overlap is 1/√{n} ≈ {overlap}), so the plane shows only {random}% of the "
        "path's motion and the path collapses to a dot near the ★. The PCA plane is built from the path itself and "
        "shows {pca}% of it.",
        "wl.snapshot_unreadable": "Skipped the weight snapshot {file}: it cannot be read ({why}); it may be damaged.",
        "wl.snapshot_mismatch": "Skipped the weight snapshot {file}: its tensors do not match the run's network.",
        "wl.busy": "The server is already computing other weight landscapes: try again in a minute.",
        "wl.error": "The landscape could not be computed: {message}",
    }
)
TEXT["zh"].update(
    {
        "wl.title": "⛰️ 网络自身的损失地形",
        "wl.intro": "把损失看作网络权重的函数，在穿过当前权重的一个二维切片上画出来（Li 等，NeurIPS 2018）：每个点都是同一个网络，"
        "权重沿两个方向移动 a·x + b·y 后，在 {n} 张测试图像上求得的损失。★ 是当前权重，折线是训练走过的路径。",
        "wl.plane": "平面",
        "wl.plane_random": "两个随机方向（按滤波器归一化）",
        "wl.plane_pca": "路径的前两个主成分方向",
        "wl.grid": "分辨率（每边点数）",
        "wl.images": "测试图像数",
        "wl.seed": "方向的随机种子",
        "wl.span": "范围（±）",
        "wl.compute": "计算损失地形",
        "wl.cancel": "取消",
        "wl.cancelled": "已取消：显示目前已算出的点。",
        "wl.progress": "已算 {done} / {total} 个点 · 大约还需 {eta}",
        "wl.progress_line": "一维直线：已算 {done} / {total} 个点 · 大约还需 {eta}",
        "wl.done": "在 {n} 张图像上算了 {points} 个点，用时 {seconds:.1f} 秒。",
        "wl.weights_at": "权重：{source}，第 {step} 步。",
        "wl.live_note": "这个运行仍在训练：切片围绕的是它最近保存的权重。",
        "wl.no_weights": "这个运行还没有保存权重：第一个快照写入后才能画出损失地形。",
        "wl.contour_title": "权重空间二维切片上的损失",
        "wl.surface_title": "同一切片的三维曲面",
        "wl.line_title": "从初始权重到当前权重的直线上的损失",
        "wl.axis_x": "x 方向 (a)",
        "wl.axis_y": "y 方向 (b)",
        "wl.axis_pc1": "主成分 1（占路径方差的 {pct:.0f}%）",
        "wl.axis_pc2": "主成分 2（{pct:.0f}%）",
        "wl.axis_alpha": "α（0 = 初始权重，1 = 当前权重）",
        "wl.loss": "损失",
        "wl.accuracy": "准确率",
        "wl.current": "当前权重",
        "wl.initial": "初始权重",
        "wl.path": "训练路径",
        "wl.step": "步",
        "wl.coarse": "先显示 {n}×{n} 的粗略图，正在细化……",
        "wl.why_random": "为什么在随机平面上几乎看不到路径？这个网络有 {n} 个权重。在这么高维的空间里，两个随机方向几乎与任何固定方向"
        "都垂直，包括训练移动的方向（典型的重叠只有 1/√{n} ≈ {overlap}），所以这个平面只显示了路径 {random}% 的移动，"
        "路径缩成 ★ 旁边的一个点。",
        "wl.why_random_pca": "为什么在随机平面上几乎看不到路径？这个网络有 {n} 个权重。在这么高维的空间里，两个随机方向几乎与任何固定方向"
        "都垂直，包括训练移动的方向（典型的重叠只有 1/√{n} ≈ {overlap}），所以这个平面只显示了路径 {random}% 的移动，"
        "路径缩成 ★ 旁边的一个点。主成分平面由路径本身求得，显示了路径 {pca}% 的移动。",
        "wl.snapshot_unreadable": "跳过了权重快照 {file}：无法读取（{why}），文件可能已损坏。",
        "wl.snapshot_mismatch": "跳过了权重快照 {file}：其中的张量与这个运行的网络不符。",
        "wl.busy": "服务器正在计算其他损失地形，请过一分钟再试。",
        "wl.error": "无法计算损失地形：{message}",
    }
)
