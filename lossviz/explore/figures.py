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
from lossviz.i18n import tr
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
        raise LossvizInputError("make_tensor_figure needs a tensor")
    vals = t.detach().to(torch.float64).cpu()
    finite = vals[torch.isfinite(vals)]
    amax = float(finite.abs().max()) if finite.numel() else 1.0
    amax = amax or 1.0
    fig = go.Figure()
    as_bars = vals.dim() <= 1 or math.prod(vals.shape[:-1]) == 1
    if as_bars:
        flat = vals.reshape(-1)
        labels = _index_labels(vals, lang)
        colors = flat.tolist()
        bar = go.Bar(
            x=labels,
            y=flat.tolist(),
            marker=dict(
                color=colors,
                colorscale=SIGNED_SCALE if kind == "grad" else LOSS_SCALE,
                cmin=-amax if kind == "grad" else 0.0,
                cmax=amax,
                line=dict(width=0),
            ),
            text=[f"{v:.4g}" for v in flat.tolist()] if flat.numel() <= 24 else None,
            textposition="outside",
            textfont=dict(color="#555555"),
            cliponaxis=False,
            hovertemplate=tr("fig.element", lang) + " %{x}<br>" + value_name + " = %{y:.6g}<extra></extra>",
        )
        fig.add_trace(bar)
        fig.update_xaxes(title_text=tr("fig.element", lang), type="category")
        fig.update_yaxes(title_text=value_name, zeroline=True, zerolinewidth=2)
    else:
        grid, rows, cols = _as_2d(vals, lang)
        fig.add_trace(
            go.Heatmap(
                z=grid.tolist(),
                x=cols,
                y=rows,
                colorscale=SIGNED_SCALE if kind == "grad" else LOSS_SCALE,
                zmid=0.0 if kind == "grad" else None,
                texttemplate="%{z:.3g}" if grid.numel() <= _ANNOTATE_MAX else None,
                hovertemplate="%{y}, %{x}<br>" + value_name + " = %{z:.6g}<extra></extra>",
                colorbar=dict(title=dict(text=value_name)),
            )
        )
        fig.update_yaxes(autorange="reversed", title_text=tr("fig.rows", lang), type="category")
        fig.update_xaxes(title_text=tr("fig.cols", lang), type="category")
    fig.update_layout(
        title=dict(text=title),
        height=height or 340,
        margin=dict(l=10, r=10, t=60, b=10),
        showlegend=False,
    )
    return fig


def make_loss_figure(per_element: torch.Tensor, *, what: str | None = None, lang: str = "en") -> go.Figure:
    """The per-element loss (reduction='none'); titled ``what``, else "loss per element" in ``lang``."""
    return make_tensor_figure(per_element, title=what or tr("fig.loss_title", lang), kind="loss",
                              value_name=tr("fig.loss", lang), lang=lang)


def make_grad_figure(grad: torch.Tensor, *, name: str = "input", lang: str = "en") -> go.Figure:
    """The gradient sent back to each prediction: sign and size at a glance."""
    return make_tensor_figure(grad, title=tr("fig.grad_title", lang, name=name), kind="grad",
                              value_name=f"∂L/∂{name}", lang=lang)
