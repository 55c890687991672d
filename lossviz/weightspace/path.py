"""The training path in weight space: its projection on a plane, and the plane of its top two PCA
directions (Li et al. 2018, section 7).

The path is the run's weight snapshots; each is projected by least squares onto the slice's plane
through the final weights, so the final weights sit at (0, 0). ``captured`` says how much of each
snapshot's displacement the plane shows: a random plane in a space of 62,006 weights shows almost
none of it (:func:`why_random_plane_note` says why), the PCA plane most.

Example:
    >>> d = torch.tensor([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    >>> p = project_deltas(d, [0, 1, 2], torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 0]))
    >>> p.xs.tolist(), p.ys.tolist()
    ([2.0, 1.0, 0.0], [0.0, 1.0, 0.0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.weightspace.directions import Params, flatten, unflatten

WHY_RANDOM = N_(
    "Why does the path hardly show on the random plane? The network has {n} weights. Two random directions in "
    "a space that large are almost perpendicular to any fixed direction, including the one training moved along "
    "(a typical overlap is 1/√{n} ≈ {overlap}), so the plane shows only {random} of the path's motion and the "
    "path collapses to a dot near the ★."
)
WHY_RANDOM_PCA = N_(
    "Why does the path hardly show on the random plane? The network has {n} weights. Two random directions in "
    "a space that large are almost perpendicular to any fixed direction, including the one training moved along "
    "(a typical overlap is 1/√{n} ≈ {overlap}), so the plane shows only {random} of the path's motion and the "
    "path collapses to a dot near the ★. The PCA plane is built from the path itself and shows {pca} of it."
)


@dataclass
class PathProjection:
    """The path's coordinates in a plane, one per snapshot, final weights at (0, 0)."""

    steps: list[int]
    xs: np.ndarray
    ys: np.ndarray
    #: Fraction of each snapshot's displacement from the final weights that the plane shows (0..1).
    captured: np.ndarray
    #: For PCA: the share of the path's variance along each direction; None for a random plane.
    explained: tuple[float, float] | None = None


def path_deltas(
    path: Sequence[Mapping[str, torch.Tensor]], centre: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """The path as one float32 matrix: row ``i`` is ``w_i − centre`` flattened (parameter order of ``centre``)."""
    names = list(centre)
    c = torch.cat([centre[n].reshape(-1).float() for n in names])
    return torch.stack([torch.cat([p[n].reshape(-1).float() for n in names]) for p in path]) - c


def project_deltas(
    deltas: torch.Tensor, steps: Sequence[int], dx_flat: torch.Tensor, dy_flat: torch.Tensor
) -> PathProjection:
    """Least-squares coordinates of each row of ``deltas`` in the plane spanned by two flat directions."""
    basis = torch.stack([dx_flat.float(), dy_flat.float()])  # 2×P
    gram = (basis @ basis.T).double()
    coords = torch.linalg.solve(gram, (basis @ deltas.T).double())  # 2×S
    # |projection|² = cᵀ G c: no P-sized work
    proj_len = torch.einsum("is,ij,js->s", coords, gram, coords).clamp_min(0).sqrt()
    lengths = deltas.double().norm(dim=1)
    captured = torch.where(lengths > 0, proj_len / lengths.clamp_min(1e-300), torch.ones_like(lengths))
    return PathProjection(list(steps), coords[0].numpy(), coords[1].numpy(), captured.clamp(0, 1).numpy())


def project_path(
    path: Sequence[Mapping[str, torch.Tensor]],
    steps: Sequence[int],
    centre: Mapping[str, torch.Tensor],
    dx: Mapping[str, torch.Tensor],
    dy: Mapping[str, torch.Tensor],
) -> PathProjection:
    """Least-squares coordinates of each ``path`` point in the plane ``centre + a·dx + b·dy``.

    The directions need not be orthogonal (two random ones almost are); ``captured`` is the
    length of each projected displacement over its true length.
    """
    names = list(centre)
    return project_deltas(path_deltas(path, centre), steps, flatten(dx, names), flatten(dy, names))


def pca_of_deltas(deltas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """Top two principal directions (flat, unit, orthogonal) of the rows of ``deltas`` and their shares
    of the variance. Uses the small S×S Gram matrix (S snapshots ≪ P weights)."""
    if deltas.shape[0] < 3:
        raise LossvizInputError(
            msg("the path needs at least 3 saved weight snapshots for PCA directions: train a little longer")
        )
    centred = deltas - deltas.mean(dim=0, keepdim=True)
    k = (centred @ centred.T).double()
    evals, evecs = torch.linalg.eigh(k)  # ascending
    evals = evals.flip(0).clamp_min(0)
    evecs = evecs.flip(1)
    total = float(evals.sum())
    if total <= 0 or float(evals[1]) <= total * 1e-12:
        raise LossvizInputError(
            msg("the saved weights do not move in two directions, so there is no PCA plane")
        )
    d1 = centred.T @ evecs[:, 0].float()
    d1 = d1 / d1.norm()
    d2 = centred.T @ evecs[:, 1].float()
    d2 = d2 - (d2 @ d1) * d1  # re-orthogonalise after float32 rounding
    d2 = d2 / d2.norm()
    # orient each so the path starts at negative coordinates (a reproducible picture)
    if float(deltas[0] @ d1) > 0:
        d1 = -d1
    if float(deltas[0] @ d2) > 0:
        d2 = -d2
    return d1, d2, (float(evals[0]) / total, float(evals[1]) / total)


def pca_directions(
    path: Sequence[Mapping[str, torch.Tensor]], final: Mapping[str, torch.Tensor]
) -> tuple[Params, Params, tuple[float, float]]:
    """The top two principal directions of the path ``{w_i − w_final}`` (unit length, orthogonal) and
    the share of the path's variance each explains (Li et al. 2018, section 7)."""
    d1, d2, explained = pca_of_deltas(path_deltas(path, final))
    return unflatten(d1, final), unflatten(d2, final), explained


def project_path_pca(
    path: Sequence[Mapping[str, torch.Tensor]],
    steps: Sequence[int],
    final: Mapping[str, torch.Tensor],
    deltas: torch.Tensor | None = None,
) -> tuple[PathProjection, Params, Params]:
    """The path on its own PCA plane through the final weights, and the two directions."""
    deltas = path_deltas(path, final) if deltas is None else deltas
    d1, d2, explained = pca_of_deltas(deltas)
    proj = project_deltas(deltas, steps, d1, d2)
    proj.explained = explained
    return proj, unflatten(d1, final), unflatten(d2, final)


def why_random_plane_note(n_params: int, random_capture: float, pca_capture: float | None) -> Message:
    """The sentence explaining why a random plane shows almost none of the path."""
    params = {
        "n": f"{n_params:,}",
        "overlap": f"{1 / math.sqrt(max(1, n_params)):.4f}",
        "random": f"{100 * random_capture:.2f}%",
    }
    if pca_capture is None:
        return Message(WHY_RANDOM, params)
    return Message(WHY_RANDOM_PCA, {**params, "pca": f"{100 * pca_capture:.0f}%"})
