"""Small read-outs of a trace for the app's side views: top-k, a 2-D PCA, cosine similarity,
the change between two traces.

Pure NumPy, like the rest of the engine: the GUI asks these functions instead of doing maths
itself, and they can be tested (and used from notebooks) without Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def change(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """new − old, entry by entry, for the "show change since the last edit" view.

    Where the old value is not finite the new value stands (a masked −∞ stays −∞, and an entry
    that just became finite shows what it is now); a difference beyond the float range is ±∞,
    without a warning.
    """
    old, new = np.asarray(old), np.asarray(new)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(new) & np.isfinite(old), new - np.where(np.isfinite(old), old, 0), new)


def top_k(probs_row: np.ndarray | Sequence[float], k: int) -> list[tuple[int, float]]:
    """The ``k`` largest entries of a 1-D array as ``(index, value)``, largest first.

    Ties keep the lower index first, so the order is stable from one call to the next. ``k``
    larger than the array gives every entry; ``k`` must be at least 1.
    """
    row = np.asarray(probs_row, dtype=np.float64)
    if row.ndim != 1:
        raise ValueError(f"top_k needs a 1-D array, got shape {row.shape}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, got {k!r}")
    k = min(int(k), row.shape[0])
    if k == 0:
        return []
    keys = np.where(np.isnan(row), -np.inf, row)
    if k < row.shape[0]:
        # the k-th largest value; every entry above it is in, ties at it are taken by index
        threshold = np.partition(keys, row.shape[0] - k)[row.shape[0] - k]
        candidates = np.flatnonzero(keys >= threshold)
    else:
        candidates = np.arange(row.shape[0])
    order = candidates[np.lexsort((candidates, -keys[candidates]))][:k]
    return [(int(i), float(row[i])) for i in order]


def sample_next(
    probs_row: np.ndarray | Sequence[float], seed: int, k: int | None = None, top_p: float = 1.0
) -> tuple[int, float]:
    """Draw the next token from a row of next-token probabilities, reproducibly.

    The candidates are the ``k`` most likely tokens (top-k; all when None), then the fewest of
    those, most likely first, whose probabilities add up to at least ``top_p`` (nucleus
    sampling; 1.0 keeps them all); their probabilities are renormalised and one is drawn with a
    generator seeded by ``seed``, so the same seed, row and settings always give the same token.
    The temperature is already in the row (``probs = softmax(logits / T)``). Returns the token
    id and its probability among the candidates.
    """
    row = np.asarray(probs_row, dtype=np.float64)
    if row.ndim != 1 or row.size == 0:
        raise ValueError(f"sample_next needs a non-empty 1-D row of probabilities, got shape {row.shape}")
    if not np.all(np.isfinite(row)) or np.any(row < 0) or row.sum() <= 0:
        raise ValueError("the probabilities must be finite, non-negative and not all zero")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"the seed must be a whole number of at least 0, got {seed!r}")
    if not (isinstance(top_p, (int, float)) and not isinstance(top_p, bool) and 0 < top_p <= 1):
        raise ValueError(f"top_p must be a number in (0, 1], got {top_p!r}")
    ranked = top_k(row, row.shape[0] if k is None else k)
    ids = np.array([i for i, _ in ranked])
    probs = np.array([p for _, p in ranked])
    probs = probs / probs.sum()
    keep = int(np.searchsorted(np.cumsum(probs), top_p - 1e-12) + 1)  # the fewest reaching top_p
    ids, probs = ids[:keep], probs[:keep] / probs[:keep].sum()
    rng = np.random.default_rng(int(seed))
    index = int(rng.choice(len(ids), p=probs))
    return int(ids[index]), float(probs[index])


def pca_2d(arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Project sets of row vectors onto the two main axes of all of them together.

    ``arrays`` are ``[n_i, d]`` arrays of the same width ``d``. The axes are fitted on every row
    of every array (centred on their common mean), so the sets share one picture. Returns one
    ``[n_i, 2]`` array of coordinates per input and the fraction of the total variance each of
    the two axes explains. When there are fewer than two directions of variation (one point,
    identical points, ``d = 1``) the missing coordinates and fractions are 0, never NaN.
    Each axis is oriented so that its largest loading is positive, which keeps the picture from
    flipping between calls on the same data. Rows holding NaN or ±inf (a model whose huge weights
    overflowed) cannot be placed: they are left out of the fit and put at (0, 0).
    """
    mats = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not mats:
        raise ValueError("pca_2d needs at least one array")
    for m in mats:
        if m.ndim != 2:
            raise ValueError(f"pca_2d needs 2-D arrays of row vectors, got shape {m.shape}")
        if m.shape[1] != mats[0].shape[1]:
            raise ValueError("all arrays given to pca_2d must have the same number of columns")
    stacked = np.concatenate(mats, axis=0)
    coords = np.zeros((stacked.shape[0], 2))
    ratio = np.zeros(2)
    finite = np.all(np.isfinite(stacked), axis=1)
    if not finite.all():
        placed, fitted_ratio = pca_2d([stacked[finite]]) if finite.any() and stacked.shape[1] else ([np.zeros((0, 2))], ratio)
        coords[finite] = placed[0]
        splits = np.cumsum([m.shape[0] for m in mats])[:-1]
        return list(np.split(coords, splits, axis=0)), fitted_ratio
    if stacked.shape[0] and stacked.shape[1]:
        centred = stacked - stacked.mean(axis=0)
        scale = float(np.abs(stacked).max())
        unit = centred / scale if scale > 0 else centred  # keeps squares of huge values finite
        _, singular, vt = np.linalg.svd(unit, full_matrices=False)
        power = singular**2
        total = float(power.sum())
        # ignore variation at the level of rounding noise: identical points stay identical
        tiny = 1e-24 * stacked.shape[0]
        n = min(2, vt.shape[0])
        for j in range(n):
            if power[j] <= tiny:
                break
            axis = vt[j]
            axis = axis if axis[np.argmax(np.abs(axis))] >= 0 else -axis
            coords[:, j] = centred @ axis
            ratio[j] = power[j] / total
    splits = np.cumsum([m.shape[0] for m in mats])[:-1]
    return list(np.split(coords, splits, axis=0)), ratio


def cosine_similarity(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> float | np.ndarray:
    """cos θ = a·b / (|a| |b|), in −1..1.

    Two vectors give a number; two ``[n, d]`` and ``[m, d]`` arrays give the ``[n, m]`` table of
    every row of ``a`` against every row of ``b``. A zero vector has no direction: its
    similarity with anything is 0.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != y.ndim or x.ndim not in (1, 2) or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cosine_similarity needs two vectors or two row tables of equal width, got {x.shape} and {y.shape}")
    x2 = np.atleast_2d(x)
    y2 = np.atleast_2d(y)
    nx = np.linalg.norm(x2, axis=1)
    ny = np.linalg.norm(y2, axis=1)
    ux = np.divide(x2, nx[:, None], out=np.zeros_like(x2), where=nx[:, None] > 0)
    uy = np.divide(y2, ny[:, None], out=np.zeros_like(y2), where=ny[:, None] > 0)
    table = np.clip(ux @ uy.T, -1.0, 1.0)
    return float(table[0, 0]) if x.ndim == 1 else table


@dataclass(frozen=True)
class Basis2D:
    """A fixed 2-D frame for row vectors: the centre and the two axes points are projected on.

    ``axes`` is ``[2, d]`` with unit rows, or zero rows where there was no direction of variation;
    ``ratio`` is the fraction of the fitted rows' variance each axis explains.
    """

    mean: np.ndarray
    axes: np.ndarray
    ratio: np.ndarray


def pca_basis(arrays: Sequence[np.ndarray], max_rows: int | None = None) -> Basis2D:
    """The two main axes of all rows of ``arrays`` (``[n_i, d]``, same ``d``), kept for later use.

    Fitted once (for example on a model's token embeddings ``W_E``) and reused with
    :func:`project_2d`, it gives every sentence the same picture, so a word's point can be
    compared between sentences; :func:`pca_2d` instead fits each picture anew. The result is
    deterministic and each axis is oriented so that its largest loading is positive (the frame
    does not flip between calls). Fewer than two directions of variation (one row, identical
    rows, ``d = 1``) leave the missing axes zero, never NaN; rows holding NaN or ±inf are left
    out of the fit. ``max_rows`` fits on that many evenly spaced rows at most (the same ones on
    every call), so a 50,000-word vocabulary takes a fraction of a second instead of seconds.
    """
    mats = [np.asarray(a) for a in arrays]
    if not mats:
        raise ValueError("pca_basis needs at least one array")
    for m in mats:
        if m.ndim != 2:
            raise ValueError(f"pca_basis needs 2-D arrays of row vectors, got shape {m.shape}")
        if m.shape[1] != mats[0].shape[1]:
            raise ValueError("all arrays given to pca_basis must have the same number of columns")
    if max_rows is not None and (isinstance(max_rows, bool) or int(max_rows) != max_rows or max_rows < 1):
        raise ValueError(f"max_rows must be a whole number of at least 1, got {max_rows!r}")
    stacked = mats[0] if len(mats) == 1 else np.concatenate(mats, axis=0)
    if max_rows is not None and stacked.shape[0] > max_rows:
        stacked = stacked[np.linspace(0, stacked.shape[0] - 1, int(max_rows)).round().astype(int)]
    d = stacked.shape[1]
    rows = stacked[np.all(np.isfinite(stacked), axis=1)]
    axes = np.zeros((2, d))
    ratio = np.zeros(2)
    rows = rows.astype(np.float64)
    if not rows.shape[0] or not d:
        return Basis2D(np.zeros(d), axes, ratio)
    scale = float(np.abs(rows).max())
    unit = rows / scale if scale > 0 else rows  # keeps squares of huge values finite
    centre = unit.mean(axis=0)
    centred = unit - centre
    power, vectors = np.linalg.eigh(centred.T @ centred)
    power, vectors = power[::-1], vectors[:, ::-1]  # largest first
    total = float(np.clip(power, 0, None).sum())
    # variation at the level of rounding noise is no direction: identical points stay identical
    floor = max(1e-24 * rows.shape[0], 1e-10 * float(power[0]))
    for j in range(min(2, d)):
        if power[j] <= floor:
            break
        axis = vectors[:, j]
        axes[j] = axis if axis[np.argmax(np.abs(axis))] >= 0 else -axis
        ratio[j] = power[j] / total
    return Basis2D(centre * scale, axes, ratio)


def project_2d(basis: Basis2D, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Coordinates ``[n_i, 2]`` of each ``[n_i, d]`` array in ``basis`` (``(x − mean) · axes``).

    Rows holding NaN or ±inf cannot be placed and are put at (0, 0), as :func:`pca_2d` does.
    """
    d = basis.mean.shape[0]
    out = []
    for a in arrays:
        m = np.asarray(a, dtype=np.float64)
        if m.ndim != 2 or m.shape[1] != d:
            raise ValueError(f"project_2d needs [n, {d}] arrays, got shape {m.shape}")
        finite = np.all(np.isfinite(m), axis=1)
        coords = np.zeros((m.shape[0], 2))
        with np.errstate(over="ignore", invalid="ignore"):
            coords[finite] = (m[finite] - basis.mean) @ basis.axes.T
        coords[~np.isfinite(coords)] = 0.0
        out.append(coords)
    return out
