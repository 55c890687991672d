"""Explorer figures: one ``make_<thing>_figure(...) -> go.Figure`` each.

Colours are colour-blind safe: per-element losses use the sequential
``Viridis``; gradients use the diverging ``RdBu`` (blue for positive, red
for negative), centred on zero so the sign is visible at a glance. Backgrounds are left to the
Streamlit theme.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg, tr
from lossviz.theme import LOSS_SCALE, SIGNED_SCALE

#: Cells with this many or fewer get their numbers written on them.
_ANNOTATE_MAX = 64


def _as_2d(t: torch.Tensor, lang: str = "en") -> tuple[torch.Tensor, list[str], list[str]]:
    """Any tensor -> 2-D grid for a heatmap, with row and column labels."""
    t = t.detach().to(torch.float64).cpu()
    if t.dim() == 2:
        rows, cols = t.shape
        return t, [tr("fig.row", lang, i=i) for i in range(rows)], [tr("fig.col", lang, j=j) for j in range(cols)]
    lead = tuple(t.shape[:-1])
    flat = t.reshape(-1, t.shape[-1])
    idx = torch.cartesian_prod(*[torch.arange(d) for d in lead]) if len(lead) > 1 else torch.arange(lead[0])[:, None]
    rows = ["[" + ",".join(str(int(v)) for v in r.reshape(-1)) + "]" for r in idx]
    return flat, rows, [f"{j}" for j in range(t.shape[-1])]


def _index_labels(t: torch.Tensor, lang: str = "en") -> list[str]:
    if t.dim() == 0:
        return [tr("fig.value", lang)]
    if t.dim() == 1:
        return [str(i) for i in range(t.shape[0])]
    idx = torch.cartesian_prod(*[torch.arange(d) for d in t.shape])
    return ["[" + ",".join(str(int(v)) for v in r) + "]" for r in idx]


def _number_text(v: float, digits: int = 4) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:.{digits}g}"


def make_tensor_figure(
    t: torch.Tensor,
    *,
    title: str,
    kind: str = "loss",
    value_name: str = "value",
    height: int | None = None,
    lang: str = "en",
) -> go.Figure:
    """Bar chart for scalars and vectors, heatmap for matrices and higher.

    ``kind`` is "loss" (sequential colours) or "grad" (diverging, centred on 0); ``lang`` is the
    language of the axis titles and labels (``title`` and ``value_name`` are used as given).
    """
    if kind not in ("loss", "grad"):
        raise ValueError("kind must be 'loss' or 'grad'")
    if not isinstance(t, torch.Tensor):
        raise LossvizInputError(msg("make_tensor_figure needs a tensor"))
    vals = t.detach().to(torch.float64).cpu()
    finite = vals[torch.isfinite(vals)]
    amax = float(finite.abs().max()) if finite.numel() else 1.0
    amax = amax or 1.0
    fig = go.Figure()
    if vals.dim() <= 1 or math.prod(vals.shape[:-1]) == 1:
        _add_bars(fig, vals, amax, kind, value_name, lang)
    else:
        _add_heatmap(fig, vals, kind, value_name, lang)
    fig.update_layout(
        title=dict(text=title),
        height=height or 340,
        margin=dict(l=10, r=10, t=60, b=10),
        showlegend=False,
    )
    return fig


def _add_bars(fig: go.Figure, vals: torch.Tensor, amax: float, kind: str, value_name: str, lang: str) -> None:
    """Scalars and vectors as bars; inf and NaN drawn at the axis edge, hatched and labelled."""
    raw = vals.reshape(-1)
    labels = _index_labels(vals, lang)
    # plotly silently drops inf and NaN bars: draw them at the edge of the axis, hatched and labelled
    bad = ~torch.isfinite(raw)
    cap = amax * 1.15
    flat = torch.where(torch.isposinf(raw), cap, torch.where(torch.isneginf(raw), -cap, raw))
    flat = torch.where(torch.isnan(raw), 0.0, flat)
    colors = flat.tolist()
    texts = [_number_text(v) for v in raw.tolist()]
    bar = go.Bar(
        x=labels,
        y=flat.tolist(),
        customdata=texts,
        marker=dict(
            color=colors,
            colorscale=SIGNED_SCALE if kind == "grad" else LOSS_SCALE,
            cmin=-amax if kind == "grad" else 0.0,
            cmax=amax,
            line=dict(width=[2 if b else 0 for b in bad.tolist()], color="#d62728"),
            pattern=dict(shape=["x" if b else "" for b in bad.tolist()]),
        ),
        text=[t if b or raw.numel() <= 24 else "" for t, b in zip(texts, bad.tolist(), strict=True)]
        if raw.numel() <= 24 or bool(bad.any()) else None,
        textposition="outside",
        textfont=dict(color="#555555"),
        cliponaxis=False,
        hovertemplate=tr("fig.element", lang) + " %{x}<br>" + value_name + " = %{customdata}<extra></extra>",
    )
    fig.add_trace(bar)
    if bad.any():
        fig.add_annotation(text=tr("fig.nonfinite", lang, n=int(bad.sum())), xref="paper", yref="paper",
                           x=0.0, y=1.0, xanchor="left", yanchor="bottom", showarrow=False,
                           font=dict(color="#d62728"))
    fig.update_xaxes(title_text=tr("fig.element", lang), type="category")
    fig.update_yaxes(title_text=value_name, zeroline=True, zerolinewidth=2)


def _add_heatmap(fig: go.Figure, vals: torch.Tensor, kind: str, value_name: str, lang: str) -> None:
    """Matrices and higher as a heatmap over rows × the last dimension; non-finite cells written out."""
    grid, rows, cols = _as_2d(vals, lang)
    finite_grid = torch.isfinite(grid)
    # a heatmap leaves an inf or NaN cell blank: write what it is on the cell instead
    labels2d = [[_number_text(v, 3) for v in row] for row in grid.tolist()]
    fig.add_trace(
        go.Heatmap(
            z=[[v if ok else None for v, ok in zip(row, oks, strict=True)]
               for row, oks in zip(grid.tolist(), finite_grid.tolist(), strict=True)],
            x=cols,
            y=rows,
            colorscale=SIGNED_SCALE if kind == "grad" else LOSS_SCALE,
            zmid=0.0 if kind == "grad" else None,
            text=labels2d,
            texttemplate="%{text}" if grid.numel() <= _ANNOTATE_MAX or not bool(finite_grid.all()) else None,
            hovertemplate="%{y}, %{x}<br>" + value_name + " = %{text}<extra></extra>",
            colorbar=dict(title=dict(text=value_name)),
        )
    )
    fig.update_yaxes(autorange="reversed", title_text=tr("fig.rows", lang), type="category")
    fig.update_xaxes(title_text=tr("fig.cols", lang), type="category")


def make_loss_figure(per_element: torch.Tensor, *, what: str | None = None, lang: str = "en") -> go.Figure:
    """The per-element loss (reduction='none'); titled ``what``, else "loss per element" in ``lang``."""
    return make_tensor_figure(per_element, title=what or tr("fig.loss_title", lang), kind="loss",
                              value_name=tr("fig.loss", lang), lang=lang)


def make_grad_figure(grad: torch.Tensor, *, name: str = "input", lang: str = "en") -> go.Figure:
    """The gradient sent back to each prediction: sign and size at a glance."""
    return make_tensor_figure(grad, title=tr("fig.grad_title", lang, name=name), kind="grad",
                              value_name=f"∂L/∂{name}", lang=lang)
