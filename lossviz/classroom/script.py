"""The page's own small script (Streamlit has no key events): keys that press the page's own buttons,
an SVG button beside every chart's camera, and Streamlit's few built-in English words in Chinese.

- → / PageDown / Space: the lesson's Next; ← / PageUp: its Back (what a presenter's clicker sends),
  unless the focus is in a text box. In presentation mode on the landscape's descent chart the same
  keys step the animation (its slider, one step at a time).
- Every chart's toolbar gets an "SVG" button: it saves the chart as a vector file (the camera's own
  export with the format switched for one click; the camera itself saves PNG at 3x).
- Entering presentation mode collapses the sidebar once (its arrow brings it back).
- In Chinese: the multiselect's "Select all" and the chart's "Fullscreen" read 全选 / 全屏.

Example:
    >>> "ArrowRight" in page_script_js("en", present=False)
    True
"""

from __future__ import annotations

import json

from lossviz.classroom.slides import SVG_TITLE
from lossviz.i18n import gettext

#: Streamlit's own English words a Chinese reader still meets, and their translation.
STREAMLIT_WORDS_ZH = {
    "Select all": "全选",
    "Fullscreen": "全屏",
    "Close fullscreen": "退出全屏",
    "No results": "没有结果",
    "Choose an option": "请选择",
}
#: Buttons the keys press (Streamlit puts a widget's key into its container's class as st-key-<key>).
NEXT_BUTTONS = '[class*="st-key-le_next_"] button'
BACK_BUTTONS = '[class*="st-key-le_back_"] button'
DESCENT_CHART = '[class*="st-key-ls_fig_anim"]'

_JS = r"""<script>
(() => {
  window.__lossvizPage = CONFIG;
  document.documentElement.lang = CONFIG.lang === 'zh' ? 'zh-CN' : 'en';
  if (window.__lossvizPageScript) { window.__lossvizPageScript(); return; }
  const cfg = () => window.__lossvizPage;
  const typing = el => !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
  const press = sel => {
    const b = [...document.querySelectorAll(sel)].find(b => !b.disabled && b.offsetParent !== null);
    if (b) { b.click(); return true; }
    return false;
  };
  const stepAnimation = dir => {
    const box = document.querySelector(DESCENT + ' .js-plotly-plot');
    if (!box || !box._fullLayout || !box._fullLayout.sliders || !box._fullLayout.sliders.length) return false;
    const ticks = [...box.querySelectorAll('.slider-tick-rect')];
    const rail = box.querySelector('.slider-rail-touch-rect');
    const active = box._fullLayout.sliders[0].active || 0;
    const target = Math.max(0, Math.min(ticks.length - 1, active + dir));
    if (!rail || !ticks.length || target === active) return true;
    const t = ticks[target].getBoundingClientRect(), r = rail.getBoundingClientRect();
    const opts = {bubbles: true, cancelable: true, view: window, clientX: t.left + t.width / 2,
                  clientY: r.top + r.height / 2, button: 0};
    rail.dispatchEvent(new MouseEvent('mousedown', opts));
    window.dispatchEvent(new MouseEvent('mouseup', opts));
    return true;
  };
  const onKey = ev => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || typing(document.activeElement)) return;
    const next = ['ArrowRight', 'PageDown', ' ', 'Spacebar'].includes(ev.key);
    const back = ['ArrowLeft', 'PageUp'].includes(ev.key);
    if (!next && !back) return;
    const desc = cfg().present && document.querySelector(DESCENT + ' .js-plotly-plot');
    const done = desc ? stepAnimation(next ? 1 : -1) : press(next ? NEXT : BACK);
    if (done) ev.preventDefault();
  };
  const translate = () => {
    const words = cfg().lang === 'zh' ? WORDS : null;
    if (!words) return;
    for (const el of document.querySelectorAll('[role="option"], [role="option"] *, [data-testid="stTooltipContent"] *')) {
      if (el.childElementCount === 0 && words[el.textContent.trim()]) el.textContent = words[el.textContent.trim()];
    }
    for (const el of document.querySelectorAll('[aria-label="Fullscreen"], [aria-label="Close fullscreen"]')) {
      el.setAttribute('aria-label', words[el.getAttribute('aria-label')]);
    }
  };
  const svgButtons = () => {
    for (const bar of document.querySelectorAll('.js-plotly-plot .modebar')) {
      const gd = bar.closest('.js-plotly-plot');
      const cam = bar.querySelector('.modebar-group:first-child > .modebar-btn:first-child');
      if (!gd || !gd._context || !gd._context.toImageButtonOptions || !cam || cam.classList.contains('lv-svg')) continue;
      let svg = cam.parentElement.querySelector('.lv-svg');
      if (!svg) {
        svg = document.createElement('a');
        svg.className = 'modebar-btn lv-svg';
        svg.setAttribute('rel', 'tooltip');
        svg.style.cssText = 'font: bold 10px sans-serif; padding: 3px 4px; color: inherit; cursor: pointer;';
        svg.textContent = 'SVG';
        svg.addEventListener('click', e => {
          e.preventDefault();
          const o = gd._context.toImageButtonOptions, before = o.format;
          o.format = 'svg';
          try { cam.dispatchEvent(new MouseEvent('click', {bubbles: true})); } finally { o.format = before; }
        });
        cam.parentElement.insertBefore(svg, cam.nextSibling);
      }
      svg.setAttribute('data-title', SVG[cfg().lang] || SVG.en);
    }
  };
  const collapse = () => {
    if (!cfg().present) { window.__lossvizCollapsed = false; return; }
    if (window.__lossvizCollapsed) return;
    const bar = document.querySelector('[data-testid="stSidebar"]');
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (bar && button && bar.getAttribute('data-collapsed') === 'false') { button.click(); window.__lossvizCollapsed = true; }
    else if (bar && bar.getAttribute('data-collapsed') === 'true') window.__lossvizCollapsed = true;
  };
  let queued = false;
  const tidy = () => { queued = false; collapse(); translate(); svgButtons(); };
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(tidy); } };
  window.__lossvizPageScript = soon;
  new MutationObserver(soon).observe(document.body, {childList: true, subtree: true});
  document.addEventListener('keydown', onKey, true);
  soon();
})();
</script>"""


def page_script_js(lang: str, *, present: bool) -> str:
    """The page script (installed once per browser tab; later calls only update its language and mode)."""
    config = json.dumps({"lang": "zh" if lang == "zh" else "en", "present": bool(present)})
    return (
        _JS.replace("CONFIG", config)
        .replace("WORDS", json.dumps(STREAMLIT_WORDS_ZH, ensure_ascii=False))
        .replace("SVG[", "__SVG__[").replace("SVG.en", "__SVG__.en")
        .replace("const cfg", "const __SVG__ = " + json.dumps({lg: gettext(SVG_TITLE, lg) for lg in ("en", "zh")}, ensure_ascii=False) + ";\n  const cfg", 1)
        .replace("DESCENT", json.dumps(DESCENT_CHART))
        .replace("NEXT", json.dumps(NEXT_BUTTONS)).replace("BACK", json.dumps(BACK_BUTTONS))
    )
