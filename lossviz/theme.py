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
#: Heights of a loss (dark = low).
LOSS_SCALE = "Viridis"
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
