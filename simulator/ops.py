"""Numerically careful building blocks shared by the forward pass and training.

Every function takes and returns plain NumPy arrays and keeps the input's dtype.
"""

from __future__ import annotations

import math

import numpy as np

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)
_ERF_SATURATION = 6.0  # erf(6) = 1 - 2e-17: exactly 1 in double precision


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, accurate to a few ulps in float64, with NumPy alone.

    Uses erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), whose terms are all of one
    sign, so nothing cancels; beyond |x| = 6 erf is ±1 to double precision.
    """
    arr = np.asarray(x)
    out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    a = np.clip(arr.astype(np.float64), -_ERF_SATURATION, _ERF_SATURATION)
    if a.size == 0:
        return a.astype(out_dtype)
    a2 = a * a
    n_terms = int(2.0 * float(a2.max()) + 40.0)
    term = a.copy()
    total = a.copy()
    two_a2 = 2.0 * a2
    for n in range(1, n_terms + 1):
        term *= two_a2 / (2 * n + 1)
        total += term
    result = _TWO_OVER_SQRT_PI * np.exp(-a2) * total
    np.clip(result, -1.0, 1.0, out=result)
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
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        shifted = np.exp(x - peak)
    total = np.sum(shifted, axis=axis, keepdims=True)
    safe_total = np.where(total > 0, total, 1)
    return (shifted / safe_total).astype(x.dtype, copy=False)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (population variance, eps inside the square root).

    Each row is first divided by its largest deviation, so squares cannot overflow even for
    values near the top of the float range; mathematically this changes nothing.
    """
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    spread = np.max(np.abs(centred), axis=-1, keepdims=True)
    spread = np.where((spread > 0) & np.isfinite(spread), spread, 1)
    unit = centred / spread
    var = np.mean(unit * unit, axis=-1, keepdims=True)
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
    return np.triu(np.ones((n_pos, n_pos), dtype=bool), k=1)
