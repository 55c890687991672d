"""For the projector: presentation mode's sizes and the "share with the class" QR code.

Presentation mode (``?present=1`` or the sidebar toggle) hides the controls a demo does not need
and makes text and charts readable from the back of a room: body text 22 px, chart ticks 18 px,
titles larger, all in the theme's near-black on white (contrast about 18:1, far above WCAG's
4.5:1). The share box turns the page's own link into a QR code that students scan with a phone.

Example:
    >>> present_from("1"), present_from("no")
    (True, False)
    >>> qr_png("http://192.168.1.20:8501/lessons?lesson=kl").startswith(b"\\x89PNG")
    True
"""

from __future__ import annotations

import io
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import plotly.graph_objects as go

from lossviz.classroom.follow import (
    CLASS_IDLE_S,
    ClassState,
    clean_params,
    end_class,
    may_lead,
    publish,
    read_class,
    start_class,
    student_link,
    valid_class_id,
    valid_token,
)
from lossviz.classroom.runs_room import delete_run, same_settings
from lossviz.classroom.script import page_script_js
from lossviz.classroom.slides import figure_title, file_name, plot_config
from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.theme import style_figure

#: Body text in presentation mode (px): readable from about 10 m on a 2 m wide projection.
BODY_PX = 22
#: Chart tick labels, axis titles, chart titles and legends in presentation mode (px).
TICK_PX = 18
AXIS_TITLE_PX = 20
TITLE_PX = 24
LEGEND_PX = 18
#: Text and background colours of the theme (.streamlit/config.toml) and their contrast ratio.
TEXT_COLOR = "#111111"
BACKGROUND_COLOR = "#ffffff"
#: Longest link turned into a QR code (a phone scans version 25 codes fine; longer gets unreadable).
MAX_QR_URL = 1200

_TRUE = ("1", "true", "yes", "on")


def present_from(value: object) -> bool:
    """Presentation mode from a query value or a toggle: ``1``/``true``/``yes``/``on`` turn it on."""
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    return str(value or "").strip().lower()[:8] in _TRUE


#: Narrowest a column may get before it wraps onto the next line (px): controls, and rows of charts.
CONTROL_MIN_PX = 170
CHART_MIN_PX = 430
#: ... and a column of long select boxes or labels (containers keyed ``lv_wide*``, first column of ``lv_lead*``)
WIDE_MIN_PX = 400


def layout_css() -> str:
    """CSS for every page: a row of columns wraps instead of squeezing its contents. A control column
    never gets narrower than CONTROL_MIN_PX (so a select box shows its value, not "mear"), and a chart
    column (inside a container keyed ``lv_charts*``) never narrower than CHART_MIN_PX: at a laptop's
    1024 px two charts stack instead of shrinking to slivers. Columns of long select boxes (a container
    keyed ``lv_wide*``) stay at least WIDE_MIN_PX wide, as does the first column of one keyed ``lv_lead*``
    (the explorer's loss picker and its loss value: the rest of the row moves below them when narrow)."""
    return f"""
<style>
  [data-testid="stMain"] [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; row-gap: 0.5rem; }}
  [data-testid="stMain"] [data-testid="stColumn"] {{ min-width: min({CONTROL_MIN_PX}px, 100%); }}
  [data-testid="stMain"] [class*="st-key-lv_charts"] [data-testid="stColumn"] {{
    min-width: min({CHART_MIN_PX}px, 100%); }}
  [data-testid="stMain"] [class*="st-key-lv_wide"] [data-testid="stColumn"] {{
    min-width: min({WIDE_MIN_PX}px, 100%); }}
  [data-testid="stMain"] [class*="st-key-lv_lead"] [data-testid="stColumn"]:first-child {{
    min-width: min({WIDE_MIN_PX}px, 100%); }}
  .katex-display {{ overflow-x: auto; overflow-y: hidden; }}
</style>
"""


#: Smallest scale a formula is shrunk to before it scrolls instead (a formula in a narrow column).
FORMULA_MIN_SCALE = 0.5
#: How far a formula may run past its column unseen: KaTeX's invisible struts overhang by 2 px.
FORMULA_SLACK_PX = 3


def fit_formulas_js() -> str:
    """A script that scales each displayed formula down to the width of its column, whenever the page
    changes or the window is resized (KaTeX cannot wrap display maths; a formula wider than its column
    would scroll, its right end out of sight). At most FORMULA_MIN_SCALE; narrower still, it scrolls."""
    return (
        """<script>
(() => {
  if (window.__lossvizFitFormulas) return;
  window.__lossvizFitFormulas = true;
  const fit = () => {
    for (const box of document.querySelectorAll('.katex-display')) {
      const k = box.querySelector(':scope > .katex');
      if (!k) continue;
      k.style.fontSize = '';
      const room = box.clientWidth, need = box.scrollWidth;
      if (room > 0 && need > room + SLACK) {
        const scale = Math.max(MIN_SCALE, (room - SLACK) / need);
        k.style.fontSize = (parseFloat(getComputedStyle(k).fontSize) * scale).toFixed(2) + 'px';
      }
    }
  };
  let queued = false;
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; fit(); }); } };
  new MutationObserver(soon).observe(document.body, {childList: true, subtree: true});
  window.addEventListener('resize', soon);
  soon();
})();
</script>""".replace("MIN_SCALE", str(FORMULA_MIN_SCALE)).replace("SLACK", str(FORMULA_SLACK_PX))
    )


def presentation_css() -> str:
    """CSS for presentation mode: larger body text and widgets, less chrome. The page's header bar is
    see-through (only its sidebar button takes clicks): with the page pulled up to the top, an opaque bar
    would hide the top half of the page's title."""
    return f"""
<style>
  [data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMarkdownContainer"],
  [data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p {{ font-size: {BODY_PX}px !important; }}
  [data-testid="stMain"] h1 {{ font-size: 46px !important; }}
  [data-testid="stMain"] h2 {{ font-size: 36px !important; }}
  [data-testid="stMain"] h3 {{ font-size: 30px !important; }}
  [data-testid="stMetricValue"], [data-testid="stMetricValue"] p,
  [data-testid="stMetricValue"] div {{ font-size: 52px !important; line-height: 1.1 !important; }}
  [data-testid="stMetricLabel"] p {{ font-size: {BODY_PX}px !important; }}
  [data-testid="stMain"] input, [data-testid="stMain"] textarea,
  [data-testid="stMain"] [data-baseweb="select"] div {{ font-size: {BODY_PX}px !important; }}
  [data-testid="stCode"] code, .stCode code {{ font-size: 19px !important; }}
  [data-testid="stMetricValue"] > div {{ white-space: normal !important; overflow: visible !important;
    text-overflow: clip !important; overflow-wrap: anywhere !important; }}
  [data-testid="stToolbarActions"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"],
  [data-testid="stDecoration"] {{ display: none !important; }}
  [data-testid="stMainBlockContainer"] {{ padding-top: 1.2rem !important; }}
  [data-testid="stHeader"] {{ background: transparent !important; pointer-events: none; }}
  [data-testid="stHeader"] button {{ pointer-events: auto; }}
</style>
"""


def for_projector(fig: go.Figure) -> go.Figure:
    """``fig`` with fonts large enough for a projector (ticks ≥ 18 px, near-black); returns the same figure.

    The one theme function (lossviz.theme.style_figure) in presentation mode."""
    return style_figure(fig, present=True)


#: The URL path of each page (app.py's url_path; the explorer is the app's root).
PAGE_PATHS = {"explore": "", "landscape": "landscape", "training": "training", "lessons": "lessons"}


def page_link(url: str, page: str, params: object, lang: str) -> str:
    """The link that opens ``page`` as it is now: the app's address from ``url`` (scheme and host only;
    the path and query of the arriving link are dropped), the page's own ``params`` (cleaned: never
    ``present``, a class id or a token), and the language when it is not English.

    Example:
        >>> page_link("http://10.0.0.2:8501/lessons?next=http://evil.example&present=1", "lessons",
        ...           {"lesson": "kl", "step": "2", "present": "1"}, "zh")
        'http://10.0.0.2:8501/lessons?lesson=kl&step=2&lang=zh'
    """
    parts = urlsplit(str(url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LossvizInputError(msg("This page's address ({url}) is not a web link that can be shared.",
                                    url=str(url)[:80]))
    want = clean_params(params)
    want.pop("lang", None)
    if lang != "en":
        want["lang"] = lang
    path = PAGE_PATHS.get(page, "")
    return f"{parts.scheme}://{parts.netloc}/{path}" + ("?" + urlencode(want) if want else "")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain_text(text: object) -> str:
    """``text`` (from a link, a file or another program) escaped so that Streamlit's markdown shows it
    literally: no link, no image, no emphasis, no HTML. Newlines are kept.

    Example:
        >>> print(plain_text("[Log in](http://evil.example) ![](http://x/x.png)"))
        \\[Log in\\]\\(http\\://evil\\.example\\) \\!\\[\\]\\(http\\://x/x\\.png\\)
    """
    return _MARKDOWN.sub(r"\\\1", str(text))


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def lum(hex_color: str) -> float:
        h = hex_color.lstrip("#")
        if len(h) != 6:
            raise ValueError(f"not a #rrggbb colour: {hex_color!r}")
        chans = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@dataclass(frozen=True)
class ShareLink:
    """The link to show the class, and whether students' devices can reach it at all."""

    url: str
    loopback: bool  # 127.0.0.1 / localhost / ::1: only this computer can open it


def share_link(url: str) -> ShareLink:
    """Check a page's own URL for sharing; a loopback host is flagged (students cannot open it)."""
    url = str(url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LossvizInputError(msg("This page's address ({url}) is not a web link that can be shared.", url=url[:80]))
    if len(url) > MAX_QR_URL:
        raise LossvizInputError(
            msg("This link is {n} characters long, too long for a QR code a phone can read (at most {limit}).",
                n=len(url), limit=MAX_QR_URL)
        )
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost")
    return ShareLink(url, loopback)


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """A PNG QR code of ``url`` (segno; error correction M, a 2-module quiet zone)."""
    import segno

    link = share_link(url)
    buf = io.BytesIO()
    segno.make(link.url, error="m", micro=False).save(buf, kind="png", scale=max(1, min(int(scale), 20)), border=2)
    return buf.getvalue()


__all__ = [
    "BODY_PX",
    "CLASS_IDLE_S",
    "ClassState",
    "PAGE_PATHS",
    "clean_params",
    "delete_run",
    "end_class",
    "same_settings",
    "figure_title",
    "file_name",
    "may_lead",
    "page_link",
    "page_script_js",
    "plain_text",
    "plot_config",
    "publish",
    "read_class",
    "start_class",
    "student_link",
    "style_figure",
    "valid_class_id",
    "valid_token",
    "TICK_PX",
    "ShareLink",
    "contrast_ratio",
    "for_projector",
    "present_from",
    "layout_css",
    "presentation_css",
    "qr_png",
    "share_link",
]
