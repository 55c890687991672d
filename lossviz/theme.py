"""One look for every figure: the palette, the colour scales and the legend style.

The palette is Okabe & Ito's, which stays distinguishable for the common colour-vision deficiencies
(figures also tell lines apart by dash, never by colour alone). Every ``make_*_figure`` in
lossviz.explore, lossviz.landscape and lossviz.training takes its colours and legend from here.

Example:
    >>> legend_below(-0.2)["y"], PALETTE[0]
    (-0.2, '#0072B2')
"""

from __future__ import annotations

from typing import Any

#: Text of every chart (ticks, axis titles, titles, legends): the page's near-black (18:1 on white).
TEXT_COLOR = "#111111"
#: Chart text sizes in presentation mode (px): readable from the back row at 1024x768.
PRESENT_TICK_PX = 18
PRESENT_AXIS_TITLE_PX = 20
PRESENT_TITLE_PX = 24
PRESENT_NOTE_PX = 18

#: Line and marker colours, in the order series use them.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#F0E442",  # yellow (last: weak on white)
)
#: Heights of a loss (dark = low): Plasma from its dark end to 0.62, so even the highest value is drawn
#: at >= 3:1 on white (Viridis' yellow end #fde725 is 1.26:1 and vanishes on a projector).
LOSS_SCALE: list[list[Any]] = [
    [0.0, "#0d0887"], [0.125, "#350598"], [0.25, "#5702a3"], [0.375, "#7603a7"], [0.5, "#9312a0"],
    [0.625, "#ac2792"], [0.75, "#c23d81"], [0.875, "#d5536e"], [1.0, "#e46b5d"],
]
#: Signed values such as gradients (blue negative, red positive, white zero).
SIGNED_SCALE = "RdBu"
#: The current example wherever it is marked.
HIGHLIGHT = PALETTE[1]


def legend_below(y: float = -0.14) -> dict[str, Any]:
    """The one legend style: a horizontal row under the plot, left-aligned, ``y`` below the axes (paper units)."""
    return dict(orientation="h", yanchor="top", y=y, xanchor="left", x=0.0)


def tint(color: str, amount: float = 0.6) -> str:
    """``color`` mixed with white (``amount`` 0: unchanged, 1: white): for raw series under their average.

    Example:
        >>> tint("#000000", 0.5)
        '#808080'
    """
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


#: Height one row of a horizontal legend takes in presentation mode (px), and the room under the plot
#: that the x-axis ticks and title need (px): the legend goes below both, never over the axis title.
_LEGEND_ROW_PX = 30
_3D = ("surface", "scatter3d", "mesh3d", "cone", "streamtube", "isosurface", "volume")
_AXIS_BLOCK_PX = 78


def _legend_rows(fig: Any, width_px: float = 430.0) -> int:
    # an image trace (go.Image) has no legend entry, nor a showlegend property
    names = [str(t.name or "") for t in fig.data if getattr(t, "showlegend", False) is not False and (t.name or "")]
    if not names or (fig.layout.showlegend is None and len(fig.data) < 2):
        return 0
    widths = [40 + 10.5 * len(n) for n in names]  # swatch + text at 18 px (a CJK glyph is about two Latin ones)
    rows, used = 1, 0.0
    for w in widths:
        if used and used + w > width_px:
            rows, used = rows + 1, 0.0
        used += w
    return rows


#: Width a chart has on a projector when the page shows two side by side (px, at 1024 wide), and the
#: height one more line of an 18 px subtitle takes (px).
_HALF_WIDTH_PX = 430.0
_NOTE_LINE_PX = 24
#: A 24 px title's line, and the gap above it (px).
_TITLE_LINE_PX = 32
_TITLE_PAD_PX = 10


def _glyph_px(ch: str, font_px: float) -> float:
    """About how wide ``ch`` is drawn (a CJK glyph is a full em; a Latin one 0.41 em on average in the
    page's sans serif, measured on a screenshot, and 0.48 here to be safe)."""
    return font_px if ord(ch) >= 0x2E80 else 0.48 * font_px


def wrap_to_width(text: str, width_px: float, font_px: float = PRESENT_NOTE_PX) -> list[str]:
    """``text`` in lines that fit ``width_px`` at ``font_px``: Latin text breaks at spaces, CJK text
    between any two characters (never before a closing mark). Text with markup is one line.

    Example:
        >>> wrap_to_width("one two three", 60, 18)
        ['one', 'two', 'three']
    """
    if "<" in text or not text:
        return [text]
    closing = set("，。；：、）》」』！？,.;:)")
    tokens: list[str] = []
    for part in text.split(" "):  # a Latin word stays whole; each CJK glyph is a token of its own
        word = ""
        for ch in part:
            if ord(ch) >= 0x2E80 and ch not in closing:
                if word:
                    tokens.append(word)
                word = ch
            else:
                word += ch
        tokens.append(word)
        tokens.append(" ")
    lines, line, used = [], "", 0.0
    for tok in tokens[:-1]:
        w = sum(_glyph_px(c, font_px) for c in tok)
        if tok != " " and line.strip() and used + w > width_px:
            lines.append(line.rstrip())
            line, used = "", 0.0
        if tok == " " and not line:
            continue
        line += tok
        used += w
    lines.append(line.rstrip())
    return [ln for ln in lines if ln] or [text]


def _wrap_subtitle(fig: Any) -> None:
    """A subtitle too long for its chart (18 px on a projector, half the page wide) in lines, with the
    room above the plot grown for them: plotly draws a subtitle on one line and cuts it at the edge."""
    sub = fig.layout.title.subtitle
    lines = wrap_to_width(str(sub.text), max(120.0, (fig.layout.width or _HALF_WIDTH_PX) - 20))
    sub.text = "<br>".join(lines)
    # The title hangs from the top edge (plotly centres an "auto" title in the top margin, so a taller
    # margin would move it down too), the subtitle's lines under it, then one line more: the top tick
    # label is centred on the plot's top edge, and plotly sets a one-line subtitle lower than the first
    # line of two (measured in Chromium at 1024x768: 16 px to spare with one line's room, 12 px touched).
    fig.update_layout(title=dict(yref="container", y=1.0, yanchor="top", pad=dict(t=_TITLE_PAD_PX)))
    need = _TITLE_PAD_PX + _TITLE_LINE_PX + (len(lines) + 1) * _NOTE_LINE_PX
    top = fig.layout.margin.t if fig.layout.margin.t is not None else 100
    # the figure keeps its height (the page's first chart must end above a projector's fold): the plot
    # gives the subtitle its lines
    fig.update_layout(margin=dict(t=max(top, need)))


def style_figure(fig: Any, *, present: bool = False) -> Any:
    """The one look every chart gets before it is drawn (pages call it through their one chart helper).

    Always: ticks, axis titles, titles and legends in the near-black TEXT_COLOR (18:1 on white, far above
    7:1). In presentation mode also: ticks >= 18 px, axis titles 20 px, titles 24 px, notes and subtitles
    >= 18 px (a subtitle too long for half the page in lines); a horizontal legend moves below the x-axis title (the plot's bottom margin is made room for
    both), and animation buttons and sliders are placed under it, so nothing lies over an axis title.
    Returns ``fig`` (changed in place: pass a copy of a cached figure).
    """
    dark = dict(color=TEXT_COLOR)
    fig.update_layout(font=dark, title_font=dark, legend_font=dark)
    fig.update_xaxes(tickfont=dark, title_font=dark, linecolor="#444444")
    fig.update_yaxes(tickfont=dark, title_font=dark, linecolor="#444444")
    scenes = sorted({k for k in fig.layout.to_plotly_json() if k.startswith("scene")}
                    | {getattr(t, "scene", None) or "scene" for t in fig.data if t.type in _3D})
    for trace in fig.data:
        if hasattr(trace, "colorbar") and getattr(trace, "showscale", None) is not False:
            try:
                trace.colorbar.tickfont = dict(color=TEXT_COLOR, **({"size": PRESENT_TICK_PX} if present else {}))
                trace.colorbar.title.font = dict(color=TEXT_COLOR, **({"size": PRESENT_TICK_PX} if present else {}))
            except (ValueError, AttributeError):
                pass
    if not present:
        for sc in scenes:
            for ax in ("xaxis", "yaxis", "zaxis"):
                fig.layout[sc][ax].update(tickfont=dark, title_font=dark)
        return fig
    tick, axis_title = dict(size=PRESENT_TICK_PX, **dark), dict(size=PRESENT_AXIS_TITLE_PX, **dark)
    for trace in fig.data:  # numbers printed on bars and points
        if trace.type in ("bar", "scatter") and getattr(trace, "text", None) is not None:
            trace.textfont = dict(size=PRESENT_TICK_PX, color=TEXT_COLOR)
    fig.update_layout(font=dict(size=PRESENT_TICK_PX), title_font=dict(size=PRESENT_TITLE_PX, **dark),
                      legend_font=dict(size=PRESENT_TICK_PX), hoverlabel=dict(font_size=PRESENT_TICK_PX))
    fig.update_xaxes(tickfont=tick, title_font=axis_title, automargin=True)
    fig.update_yaxes(tickfont=tick, title_font=axis_title, automargin=True)
    if fig.layout.title and fig.layout.title.subtitle and fig.layout.title.subtitle.text:
        fig.layout.title.subtitle.font = dict(size=PRESENT_NOTE_PX, **dark)
        _wrap_subtitle(fig)
    for note in fig.layout.annotations or ():
        size = note.font.size if note.font and note.font.size else 0
        note.font = dict(size=max(size, PRESENT_NOTE_PX), color=(note.font.color if note.font and note.font.color
                                                                 else TEXT_COLOR))
    for sc in scenes:
        for ax in ("xaxis", "yaxis", "zaxis"):
            fig.layout[sc][ax].update(tickfont=tick, title_font=axis_title)
    _below_axis_titles(fig, bool(scenes))
    return fig


def _below_axis_titles(fig: Any, is_3d: bool) -> None:
    """Under the plot, top to bottom: the x-axis ticks and title, the animation slider, its buttons, the
    legend. Sliders and buttons are placed in paper units (the plot's height is known: fixed height and
    margins), the legend in container units at the bottom edge."""
    rows = _legend_rows(fig) if fig.layout.showlegend is not False else 0
    horizontal = True  # on a projector every legend is a row under the plot: a column beside it covers titles
    menus, sliders = list(fig.layout.updatemenus or ()), list(fig.layout.sliders or ())
    legend_px = rows * _LEGEND_ROW_PX if horizontal else 0
    if not legend_px and not menus and not sliders:
        return
    axis = 10 if is_3d else _AXIS_BLOCK_PX
    slider_px, menu_px = (105 if sliders else 0), (56 if menus else 0)
    need = axis + slider_px + menu_px + legend_px + 8
    height = fig.layout.height or 450
    top = fig.layout.margin.t if fig.layout.margin.t is not None else 100
    bottom = fig.layout.margin.b if fig.layout.margin.b is not None else 80
    grow = max(0, need - bottom)
    fig.update_layout(height=height + grow, margin=dict(b=bottom + grow))
    plot_h = max(50.0, height - top - bottom)  # the plot keeps its height; the figure grows under it
    if sliders:
        fig.update_layout(sliders=[dict(s.to_plotly_json(), yanchor="top", y=-axis / plot_h, pad=dict(t=0, b=0))
                                   for s in sliders])
    if menus:
        fig.update_layout(updatemenus=[dict(m.to_plotly_json(), yanchor="top", y=-(axis + slider_px) / plot_h,
                                            x=0.0, xanchor="left", pad=dict(t=0, r=10)) for m in menus])
    if legend_px:
        fig.update_layout(legend=dict(orientation="h", yref="container", y=0.0, yanchor="bottom", xanchor="left",
                                      x=0.0))
