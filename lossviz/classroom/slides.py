"""Charts for slides: what every chart's toolbar does (PNG at 3x, SVG, a file name from the title, the
reader's language).

Example:
    >>> cfg = plot_config("损失 / loss: 'mean'", "zh")
    >>> cfg["toImageButtonOptions"]["scale"], cfg["locale"], cfg["toImageButtonOptions"]["filename"]
    (3, 'zh-CN', '损失-loss-mean')
"""

from __future__ import annotations

import re
from typing import Any

from lossviz.i18n import N_

#: PNG export scale: a 535x340 chart saves as 1605x1020, sharp on a slide.
PNG_SCALE = 3
#: Longest file name a chart's title gives (characters, before ".png").
MAX_FILE_NAME = 60

#: Plotly's zh-CN locale (plotly.js dist/plotly-locale-zh-cn.js): the toolbar's tooltips and the
#: date/number format, passed in each chart's config (``locales``), so nothing has to be registered.
ZH_CN_LOCALE: dict[str, Any] = {
    "dictionary": {
        "Autoscale": "自动缩放",
        "Box Select": "矩形框选",
        "Click to enter Colorscale title": "点击输入色阶的标题",
        "Click to enter Component A title": "点击输入组件A的标题",
        "Click to enter Component B title": "点击输入组件B的标题",
        "Click to enter Component C title": "点击输入组件C的标题",
        "Click to enter Plot title": "点击输入图表的标题",
        "Click to enter X axis title": "点击输入X轴的标题",
        "Click to enter Y axis title": "点击输入Y轴的标题",
        "Click to enter radial axis title": "点击输入径向轴的标题",
        "Compare data on hover": "悬停时比较数据",
        "Double-click on legend to isolate one trace": "双击图例来突显对应轨迹",
        "Double-click to zoom back out": "双击返回缩放",
        "Download plot": "下载图表",
        "Download plot as a PNG": "下载图表为 PNG 图片",
        "Download plot as JSON": "下载图表为 JSON",
        "Draw circle": "画圆",
        "Draw closed freeform": "画封闭的任意形状",
        "Draw line": "画线",
        "Draw open freeform": "画开放的任意形状",
        "Draw rectangle": "画矩形",
        "Edit in Chart Studio": "用 Chart Studio 编辑",
        "Erase active shape": "擦除选中的形状",
        "Lasso Select": "套索选择",
        "Orbital rotation": "轨道旋转",
        "Pan": "平移",
        "Produced with Plotly.js": "由 Plotly.js 生成",
        "Reset": "重置",
        "Reset axes": "重置轴",
        "Reset camera to default": "重置镜头视角为默认状态",
        "Reset camera to last save": "重置镜头视角为上次保存状态",
        "Reset view": "重置视图",
        "Reset views": "重置视图",
        "Show closest data on hover": "悬停时显示最近的数据",
        "Snapshot succeeded": "生成快照成功",
        "Sorry, there was a problem downloading your snapshot!": "抱歉，下载快照出现问题！",
        "Taking snapshot - this may take a few seconds": "正在生成快照 - 可能需要几秒钟",
        "Toggle Spike Lines": "切换显示数据点辅助线",
        "Toggle show closest data on hover": "切换显示最近的数据",
        "Turntable rotation": "旋转",
        "Zoom": "缩放",
        "Zoom in": "放大",
        "Zoom out": "缩小",
    },
    "format": {
        "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        "months": ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
        "shortMonths": ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"],
        "date": "%Y-%m-%d",
        "decimal": ".",
        "thousands": ",",
    },
}
#: The plotly locale of each page language.
PLOTLY_LOCALES = {"zh": "zh-CN"}
#: Tooltip of the SVG button the page script adds next to the camera (per language).
SVG_TITLE = N_("Download plot as an SVG (vector, for slides)")

_UNSAFE = re.compile(r"[^\w\u00c0-\uffff.]+", re.UNICODE)


def file_name(title: object, fallback: str = "chart") -> str:
    """A file name from a chart's title: words kept (Chinese too), everything else one dash, at most
    MAX_FILE_NAME characters; ``fallback`` when the title has no word.

    Example:
        >>> file_name("<b>gradient</b> ∂L/∂input"), file_name("  "), file_name("../../etc/passwd")
        ('gradient-∂L-∂input', 'chart', 'etc-passwd')
    """
    text = re.sub(r"<[^>]*>", " ", str(title or ""))
    name = _UNSAFE.sub("-", text).strip("-.")[:MAX_FILE_NAME].strip("-.")
    name = re.sub(r"\.{2,}", ".", name)
    return name or fallback


def plot_config(title: object, lang: str) -> dict[str, Any]:
    """The Plotly config of every chart: no logo, PNG at PNG_SCALE with a file name from ``title``, and the
    toolbar in the reader's language (the locale passed inline, so nothing is registered globally)."""
    cfg: dict[str, Any] = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "scale": PNG_SCALE, "filename": file_name(title)},
    }
    locale = PLOTLY_LOCALES.get(lang)
    if locale:
        cfg["locale"] = locale
        cfg["locales"] = {locale: ZH_CN_LOCALE}
    return cfg


def figure_title(fig: Any) -> str:
    """A figure's title text ('' when it has none)."""
    try:
        return str(fig.layout.title.text or "")
    except AttributeError:
        return ""
