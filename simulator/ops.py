"""Numerically careful building blocks shared by the forward pass and training.

Every function takes and returns plain NumPy arrays and keeps the input's dtype.
"""

from __future__ import annotations

import math

import numpy as np

_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function to double precision: the standard library's ``math.erf``, element by element.

    A plain map over the elements is faster than a NumPy power series with enough terms for full
    precision (about 100 passes over the array), both for a toy model's few hundred activations
    and for a large model's hundreds of thousands.
    """
    arr = np.asarray(x)
    out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    values = arr.astype(np.float64).ravel().tolist()
    result = np.fromiter(map(math.erf, values), dtype=np.float64, count=len(values)).reshape(arr.shape)
    return result.astype(out_dtype, copy=False)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x·Φ(x), as in BERT."""
    return (0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """The tanh approximation of GELU used by GPT-2 ("gelu_new")."""
    inner = _SQRT_TWO_OVER_PI * (x + 0.044715 * x * x * x)
    return (0.5 * x * (1.0 + np.tanh(inner))).astype(x.dtype, copy=False)


ACTIVATION_FUNCTIONS = {"relu": relu, "gelu": gelu, "gelu_tanh": gelu_tanh}


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax that tolerates −inf entries (they become exactly 0) and huge finite values.

    A slice that is entirely −inf has no defined softmax; it comes out as all zeros rather than NaN.
    """
    peak = x.max(axis=axis, keepdims=True)  # array methods and in-place fixes: fewer, cheaper calls
    peak[~np.isfinite(peak)] = 0
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        shifted = np.exp(x - peak)
    total = shifted.sum(axis=axis, keepdims=True)
    total[~(total > 0)] = 1
    return (shifted / total).astype(x.dtype, copy=False)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (population variance, eps inside the square root).

    Each row is first divided by its largest deviation, so squares cannot overflow even for
    values near the top of the float range; mathematically this changes nothing.
    """
    n = x.shape[-1]  # sum / n gives the same bits as mean() with less call overhead
    centred = x - x.sum(axis=-1, keepdims=True) / n
    spread = np.abs(centred).max(axis=-1, keepdims=True)
    spread[~((spread > 0) & np.isfinite(spread))] = 1
    unit = centred / spread
    var = (unit * unit).sum(axis=-1, keepdims=True) / n
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        normed = unit / np.sqrt(var + eps / (spread * spread))
    return (normed * weight + bias).astype(x.dtype, copy=False)


def sinusoidal_positions(n_pos: int, d_model: int, dtype: np.dtype) -> np.ndarray:
    """The fixed positional code of "Attention Is All You Need": sin on even, cos on odd dims."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    pair = np.arange(0, d_model, 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, pair / d_model)
    table = np.zeros((n_pos, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return table.astype(dtype)


def causal_mask(n_pos: int) -> np.ndarray:
    """True where a query (row) would look at a later key (column)."""
    index = np.arange(n_pos)  # a comparison of ranges costs a fifth of np.triu on small sizes
    return index[:, None] < index[None, :]


def one_hot(ids: np.ndarray, columns: tuple[int, ...] | None = None) -> np.ndarray:
    """Rows of zeros with a 1 at each token's id: the lookup that embedding performs.

    ``columns`` limits the vocabulary shown to those ids (in that order).
    """
    cols = np.asarray(columns if columns is not None else range(int(ids.max()) + 1))
    return (np.asarray(ids)[:, None] == cols[None, :]).astype(np.float64)
