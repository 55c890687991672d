"""Landscape figures: what they draw, and that they refuse what they cannot draw."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

import lossviz.landscape as S
from lossviz.classroom import contrast_ratio
from lossviz.errors import LossvizInputError
from lossviz.explore import Example
from lossviz.landscape.figures import (
    MAX_FRAMES,
    make_contour_figure,
    make_curve_figure,
    make_descent_animation_figure,
    make_descent_loss_figure,
    make_surface3d_figure,
)
from lossviz.theme import LOSS_SCALE


@pytest.fixture(scope="module")
def mse() -> tuple[S.Setup, S.Surface, S.DescentPath]:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    x, y = S.default_elements(setup)
    surf = S.compute_surface(setup, x, y, resolution=31)
    path = S.descend(setup, (x, y), lr=0.5, steps=12)
    return setup, surf, path


def _no_hardcoded_background(fig: go.Figure) -> None:
    lay = fig.layout
    assert lay.paper_bgcolor is None and lay.plot_bgcolor is None  # Streamlit's theme decides


def test_contour_has_field_markers_and_named_axes(mse) -> None:
    _, surf, path = mse
    fig = make_contour_figure(surf, path=path)
    contour = fig.data[0]
    assert isinstance(contour, go.Contour)
    assert np.asarray(contour.z).shape == (31, 31)
    # the theme's one loss scale (Plasma's dark part: colour-blind safe, its light end still 3:1 on white)
    assert [c for _, c in contour.colorscale] == [c for _, c in LOSS_SCALE]
    assert contrast_ratio(LOSS_SCALE[-1][1], "#ffffff") >= 3.0
    assert "∂L/∂ŷ₀" in contour.hovertemplate and "∂L/∂ŷ₁" in contour.hovertemplate
    assert np.asarray(contour.customdata).shape == (31, 31, 2)
    names = [t.name for t in fig.data]
    assert "−∇L (downhill)" in names and "current example" in names and "lowest point on the grid" in names
    assert any(n and n.startswith("gradient descent") for n in names)
    assert fig.layout.xaxis.title.text.startswith("ŷ₀") and fig.layout.yaxis.title.text.startswith("ŷ₁")
    assert list(fig.layout.xaxis.range) == pytest.approx([surf.xs[0], surf.xs[-1]], rel=1e-6)
    _no_hardcoded_background(fig)


def test_arrows_point_downhill(mse) -> None:
    _, surf, _ = mse
    fig = make_contour_figure(surf, arrows=5)
    arrows = next(t for t in fig.data if t.name == "−∇L (downhill)")
    xs, ys = np.asarray(arrows.x, dtype=float), np.asarray(arrows.y, dtype=float)
    # each arrow is 9 points: start, tip, gap, then the two strokes of its head
    n = len(xs) // 9
    start = np.stack([xs[0::9], ys[0::9]], 1)
    tip = np.stack([xs[1::9], ys[1::9]], 1)
    g = S.evaluate_points(S.setup_for(Example.for_landscape("MSELoss")), (surf.x, surf.y), start)[1]
    assert n > 0
    assert np.all(np.sum((tip - start) * g, axis=1) < 0)  # every arrow goes against the gradient
    assert not any(t.name == "−∇L (downhill)" for t in make_contour_figure(surf, arrows=0).data)


def test_surface3d_marks_current_and_minimum(mse) -> None:
    _, surf, path = mse
    fig = make_surface3d_figure(surf, path=path)
    assert isinstance(fig.data[0], go.Surface)
    assert np.asarray(fig.data[0].z).shape == (31, 31)
    names = [t.name for t in fig.data]
    assert "current example" in names and "lowest point on the grid" in names
    assert fig.layout.scene.xaxis.title.text == "ŷ₀" and fig.layout.scene.zaxis.title.text == "loss"
    _no_hardcoded_background(fig)


def test_huge_values_near_a_domain_edge_are_capped_not_hidden() -> None:
    setup = S.setup_for(Example.for_landscape("GaussianNLLLoss"))
    surf = S.compute_surface(
        setup, S.Element("input", 0), S.Element("var", 0), x_range=(-4, 6), y_range=(0.0011, 3), resolution=41
    )
    fig = make_surface3d_figure(surf)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.max() < surf.z.max()  # drawn flat at the cap
    assert np.asarray(fig.data[0].customdata)[..., 2].max() == pytest.approx(surf.z.max(), rel=1e-6)
    assert any("drawn flat" in a.text for a in fig.layout.annotations)
    contour = make_contour_figure(surf).data[0]
    assert contour.zmax is not None and contour.zmax < surf.z.max()


def test_animation_has_frames_and_a_play_button(mse) -> None:
    _, surf, path = mse
    fig = make_descent_animation_figure(surf, path)
    assert len(fig.frames) == len(path.points) <= MAX_FRAMES
    buttons = fig.layout.updatemenus[0].buttons
    assert buttons[0].method == "animate" and "play" in buttons[0].label
    last = fig.frames[-1]
    assert len(last.data) == 1 and len(last.data[0].x) == len(path.points)  # only the path trace changes
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)


def test_every_frame_of_the_animation_keeps_the_contour(mse) -> None:
    """Issue 18: ▶ erased the map (12 contour paths -> 0). With ``redraw: false`` plotly.js drops the layers
    of every non-scatter trace whatever the frames list (plotly.js #4491, measured in Chromium), so every
    ▶, ❚❚ and slider step redraws, and no frame replaces or removes the contour trace."""
    _, surf, path = mse
    fig = make_descent_animation_figure(surf, path)
    assert fig.data[0].type == "contour"
    moving = {i for i, t in enumerate(fig.data) if t.type == "scatter" and t.mode == "lines+markers"}
    for frame in fig.frames:
        assert set(frame.traces) <= moving and 0 not in frame.traces
        assert all(d.type == "scatter" for d in frame.data)
        # what the figure looks like at this frame: the frame's data merged into the listed traces
        shown = [fig.data[i].type for i in range(len(fig.data))]
        assert shown[0] == "contour" and fig.data[0].z is not None
    args = [b.args[1] for b in fig.layout.updatemenus[0].buttons] + [s.args[1] for s in fig.layout.sliders[0].steps]
    assert args and all(a["frame"]["redraw"] is True for a in args)


def test_one_colour_cap_rule_for_both_landscapes() -> None:
    from lossviz.plots import color_cap
    from lossviz.weightspace import make_weight_contour_figure

    bowl = np.add.outer(np.linspace(-1, 1, 21) ** 2, np.linspace(-1, 1, 21) ** 2)
    assert color_cap(bowl) is None  # a smooth bowl keeps its whole range
    exploding = bowl.copy()
    exploding[:2, :2] = 1e6
    cap = color_cap(exploding)
    assert cap is not None and cap < 10
    w = make_weight_contour_figure(np.linspace(-1, 1, 21), np.linspace(-1, 1, 21), exploding).data[0]
    assert w.zmax == pytest.approx(cap)
    assert w.colorbar.outlinecolor == "#111111"  # the yellow end never meets the white page unframed


def test_long_descents_are_subsampled_to_max_frames() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    x, y = S.default_elements(setup)
    surf = S.compute_surface(setup, x, y, resolution=11)
    path = S.descend(setup, (x, y), lr=0.001, steps=400)
    fig = make_descent_animation_figure(surf, path)
    assert len(fig.frames) == MAX_FRAMES
    assert len(fig.frames[-1].data[0].x) == len(path.points)


def test_curve_figure_overlays_labelled_losses(mse) -> None:
    setup, surf, _ = mse
    curves = S.compare_curves(setup, surf.x, ["L1Loss", "HuberLoss"], resolution=51)
    fig = make_curve_figure(curves)
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend[:3] == ["MSELoss", "L1Loss", "HuberLoss"] and "current example" in legend
    dashes = {t.line.dash for t in fig.data if t.mode == "lines"}
    assert len(dashes) >= 3  # told apart without colour
    assert fig.layout.yaxis2.title.text == "slope" and fig.layout.xaxis.title.text == "ŷ₀"


def test_descent_loss_figure_compares_paths() -> None:
    setup = S.prepare("MSELoss", {"input": torch.tensor([3.0]), "target": torch.tensor([1.0])})
    el = (S.Element("input", 0),)
    good, bad = S.descend(setup, el, lr=0.1, steps=10), S.descend(setup, el, lr=1.5, steps=10)
    fig = make_descent_loss_figure([good, bad])
    assert [t.name for t in fig.data if t.showlegend is not False] == ["lr 0.1", "lr 1.5"]
    assert fig.layout.yaxis.type == "log"  # the diverging path spans many decades


def test_figures_refuse_what_they_cannot_draw(mse) -> None:
    setup, surf, path = mse
    with pytest.raises(LossvizInputError):
        make_contour_figure("not a surface")  # type: ignore[arg-type]
    with pytest.raises(LossvizInputError):
        make_contour_figure(surf, arrows=500)
    with pytest.raises(LossvizInputError):
        make_curve_figure([])
    with pytest.raises(LossvizInputError):
        make_descent_animation_figure(surf, None)  # type: ignore[arg-type]
    other = S.descend(setup, (surf.y, surf.x), lr=0.1, steps=3)  # axes swapped
    with pytest.raises(LossvizInputError):
        make_contour_figure(surf, path=other)
    with pytest.raises(LossvizInputError):
        make_descent_loss_figure([path], labels=["a", "b"])


def test_a_diverging_path_does_not_blow_up_the_3d_axes() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    x, y = S.default_elements(setup)
    surf = S.compute_surface(setup, x, y, resolution=21)
    path = S.descend(setup, (x, y), lr=20.0, steps=20)
    assert path.status == "diverged"
    fig = make_surface3d_figure(surf, path=path)
    drawn = next(t for t in fig.data if t.name and t.name.startswith("gradient descent"))
    assert len(drawn.x) < len(path.points)
    assert min(drawn.x) >= surf.xs[0] and max(drawn.x) <= surf.xs[-1]
    assert list(fig.layout.scene.xaxis.range) == pytest.approx([surf.xs[0], surf.xs[-1]], rel=1e-6)
    assert any("leaves the plotted range" in a.text for a in fig.layout.annotations)


def test_margin_figure_overlays_the_classic_losses_on_fixed_axes() -> None:
    fig = S.make_margin_figure("t", "m")
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names[:4] == [c.name for c in S.margin_curves()]
    assert tuple(fig.layout.yaxis.range) == (-0.2, 4.0) and tuple(fig.layout.yaxis2.range) == (-3.0, 1.5)
    assert fig.layout.title.text == "t" and fig.layout.xaxis.title.text == "m"
