"""Numerically careful building blocks shared by the forward pass and training.

Every function takes and returns plain NumPy arrays and keeps the input's dtype.

Overflow: a value is ±inf only when its exact value is beyond the dtype's range. A stored ±inf
stands for such a value, so sums and products treat it as "a finite number too large to
store": a term with an exact zero factor is exactly 0 (a zero weight, or a masked attention
weight, cancels even an overflowed value), infinite terms of one sign give ±inf, and
infinite terms of both signs (or a NaN) give NaN, the honest answer when the result is unknown.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np

_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


def sealed(value: np.ndarray) -> np.ndarray:
    """``value`` made read-only for good, for arrays the engine shares and hands out.

    An array that owns its memory can be switched writable again by whoever holds it, and so
    can a view whose base is writable. The result is a read-only view whose base is read-only
    (a writable base is locked: it is a temporary nobody else holds, since the engine's
    inputs are sealed already); memory not held by a NumPy array is copied first.
    """
    base = value.base
    if base is not None and not isinstance(base, np.ndarray):
        value = value.copy()
        base = None
    if base is None:
        value.flags.writeable = False
        return value.view()
    if base.flags.writeable:
        base.flags.writeable = False
    if value.flags.writeable:
        value.flags.writeable = False
    return value


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
    """Exact GELU, x·Φ(x), as in BERT. GELU(−∞) is its limit 0 (not −∞ · 0 = NaN)."""
    # x is raised to the lowest finite value so that −∞ · 0 (NaN) becomes −max · 0 = 0
    return (0.5 * np.maximum(x, _lowest(x.dtype)) * (1.0 + erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """The tanh approximation of GELU used by GPT-2 ("gelu_new").

    For huge |x| the cube overflows to ±inf, which tanh turns into exactly ±1: the right limit
    (x, or 0). GELU(−∞) is 0.
    """
    inner = _SQRT_TWO_OVER_PI * (x + 0.044715 * x * x * x)
    return (0.5 * np.maximum(x, _lowest(x.dtype)) * (1.0 + np.tanh(inner))).astype(x.dtype, copy=False)


ACTIVATION_FUNCTIONS = {"relu": relu, "gelu": gelu, "gelu_tanh": gelu_tanh}


@lru_cache(maxsize=None)
def _finfo(dtype: np.dtype) -> np.finfo:
    """``np.finfo``, cached (it costs a microsecond, and the forward pass asks often)."""
    return np.finfo(dtype)


def _lowest(dtype: np.dtype) -> np.floating:
    """The most negative finite number of a float dtype."""
    return _finfo(dtype).min


def all_finite(x: np.ndarray) -> bool:
    """True if no entry is ±inf or NaN. One BLAS call (Σ x², which NaN and ±inf survive), about
    twice as fast as ``np.isfinite(x).all()`` on small arrays; entries beyond √max make it say
    False, which only sends the caller down its careful (still correct) path."""
    return math.isfinite(np.vdot(x, x))


def softmax(
    x: np.ndarray,
    axis: int = -1,
    temperature: float | None = None,
    where: np.ndarray | Callable[[], np.ndarray] | None = None,
) -> np.ndarray:
    """Softmax of ``x / temperature`` along ``axis``, as exp((x − max) / T) / Σ exp((x − max) / T).

    Subtracting the maximum before dividing by T means huge finite scores (and small T) cannot
    overflow. Infinite and NaN entries get the softmax's limit, so a slice is a distribution
    (sums to 1) unless it holds a NaN:

    * −inf entries get exactly 0;
    * if any entry is +inf, the +inf entries share the slice equally and the rest get 0;
    * a slice that is entirely −inf (every score overflowed downwards: a tie) is uniform over
      the entries ``where`` allows (an array, or a function returning one, called only then;
      default: all entries); entries ``where`` excludes stay 0, and a slice with none allowed
      is all zeros;
    * a slice holding a NaN is all NaN: its softmax is undetermined.
    """
    peak = x.max(axis=axis, keepdims=True)
    if not all_finite(peak):
        return _softmax_limits(x, axis, peak, temperature, where)
    with np.errstate(under="ignore", over="ignore"):
        shifted = x - peak  # ≤ 0; −inf for masked entries (and for overflowing gaps: exp gives 0)
        if temperature is not None:
            shifted /= temperature
        np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=axis, keepdims=True)  # ≥ 1: the peak contributes exp(0)
    return shifted


def _softmax_limits(
    x: np.ndarray,
    axis: int,
    peak: np.ndarray,
    temperature: float | None,
    where: np.ndarray | Callable[[], np.ndarray] | None,
) -> np.ndarray:
    """:func:`softmax` when some slice's maximum is ±inf or NaN (rare: only after overflow)."""
    with np.errstate(all="ignore"):
        shifted = x - np.where(np.isfinite(peak), peak, 0)
        if temperature is not None:
            shifted /= temperature
        exps = np.exp(shifted)
        out = exps / exps.sum(axis=axis, keepdims=True)  # right wherever the peak is finite
        ties = x == np.inf
        out = np.where(peak == np.inf, ties / ties.sum(axis=axis, keepdims=True), out)
        down = peak == -np.inf
        if down.any():
            allowed = np.ones(x.shape, dtype=bool)
            if where is not None:
                allowed &= where() if callable(where) else where
            uniform = allowed / np.maximum(allowed.sum(axis=axis, keepdims=True), 1)
            out = np.where(down, uniform, out)
        out = np.where(np.isnan(peak), np.nan, out)
    return out.astype(x.dtype, copy=False)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (population variance, eps inside the square root).

    Rows are centred on their first entry before the mean is taken, so a constant row gives
    exactly 0 (LN = bias), however large its value. If anything overflows (values beyond about
    √max), the rows are redone scaled by a power of two near their largest magnitude (exact, and
    mathematically a no-op), so neither the mean nor the squares can overflow even for values
    near the top of the float range. A row holding ±inf or NaN comes out NaN: how large its
    overflowed entries were is unknown.
    """
    n = x.shape[-1]  # sum / n gives the same bits as mean() with less call overhead
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = x - x[..., :1]
        centred = shifted - shifted.sum(axis=-1, keepdims=True) / n
        var = (centred * centred).sum(axis=-1, keepdims=True) / n
    overflowed = None if all_finite(var) else ~np.isfinite(var[..., 0])
    with np.errstate(invalid="ignore"):
        normed = centred / np.sqrt(var + eps)
    out = (normed * weight + bias).astype(x.dtype, copy=False)
    if overflowed is not None and overflowed.any():  # redo just those rows, so others keep their bits
        out[overflowed] = _layer_norm_scaled(x[overflowed], weight, bias, eps)
    return out


def _layer_norm_scaled(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    n = x.shape[-1]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        _, exponent = np.frexp(np.abs(x).max(axis=-1, keepdims=True))
        np.maximum(exponent, 0, out=exponent)  # only scale down: small rows are left as they are
        unit = np.ldexp(x, -exponent)  # |unit| < 1
        shifted = unit - unit[..., :1]
        centred = shifted - shifted.sum(axis=-1, keepdims=True) / n
        var = (centred * centred).sum(axis=-1, keepdims=True) / n
        # (x − mean) / √(var_x + eps) = centred / √(var + eps·4^−e); the tiny term only matters
        # for a constant row (centred = 0) whose eps·4^−e underflowed, where it avoids 0 / 0.
        floor = np.ldexp(np.asarray(eps, dtype=x.dtype), -2 * exponent) + _tiny(x.dtype)
        normed = centred / np.sqrt(var + floor)
        return (normed * weight + bias).astype(x.dtype, copy=False)


def _tiny(dtype: np.dtype) -> np.floating:
    """The smallest normal number of a float dtype."""
    return _finfo(dtype).tiny


def matmul(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``a @ b + bias`` (batched like ``@``; ``bias`` along the last axis), overflowing only where
    the exact result is beyond the dtype's range.

    The ordinary product is computed first; only if it holds ±inf or NaN are those entries
    recomputed in float64 (where products of float32 values are exact), with each row of ``a``
    and column of ``b`` scaled by a power of two so no partial product or partial sum can
    overflow (e.g. 1e30·1e30 − 1e30·1e30 + 0.5 in float32 is 0.5, not NaN), and with the rules
    for stored ±inf and NaN in the module docstring.
    """
    out = a @ b
    if bias is not None:
        out += bias
    if all_finite(out):
        return out
    return np.where(np.isfinite(out), out, _careful_matmul(a, b, bias))


def _careful_matmul(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    with np.errstate(all="ignore"):
        finite_a, finite_b = np.isfinite(a), np.isfinite(b)
        if finite_a.all() and finite_b.all():
            return _scaled_matmul(a, b, bias)
        # The finite terms alone, first as the ordinary product computes them (so entries whose
        # infinite inputs only meet zeros, e.g. masked attention weights, keep their usual bits).
        a0, b0 = np.where(finite_a, a, 0), np.where(finite_b, b, 0)
        finite_part = a0 @ b0 if bias is None else a0 @ b0 + bias
        if not all_finite(finite_part):
            finite_part = np.where(np.isfinite(finite_part), finite_part, _scaled_matmul(a0, b0, bias))
        return _with_infinite_terms(finite_part, a, b, finite_a, finite_b)


def _scaled_matmul(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``a @ b + bias`` for finite inputs in float64 with power-of-two scaling: ±inf only where
    the exact result is beyond the range of the inputs' dtype."""
    dtype = np.result_type(a, b)
    a0, b0 = a.astype(np.float64), b.astype(np.float64)
    if bias is not None:  # the bias is one more term: a column of ones times a row of biases
        a0 = np.concatenate([a0, np.ones(a0.shape[:-1] + (1,))], axis=-1)
        row = np.broadcast_to(bias, b0.shape[:-2] + (1, b0.shape[-1]))
        b0 = np.concatenate([b0, row.astype(np.float64)], axis=-2)
    # Scale rows of a and columns of b to at most 2^500: products stay below 2^1000 and their
    # sums (at most 2^17 terms) below the float64 limit, while terms 2^1000 times smaller than
    # the largest still do not underflow.
    _, row_exp = np.frexp(np.abs(a0).max(axis=-1, keepdims=True))
    _, col_exp = np.frexp(np.abs(b0).max(axis=-2, keepdims=True))
    a0 = np.ldexp(a0, _HEADROOM - row_exp)
    b0 = np.ldexp(b0, _HEADROOM - col_exp)
    if dtype == np.float32:
        product = a0 @ b0  # products of float32 values are exact in float64
    else:  # split into halves whose products are exact, so equal terms cancel exactly
        a_hi, a_lo = _split(a0)
        b_hi, b_lo = _split(b0)
        product = a_hi @ b_hi + (a_hi @ b_lo + a_lo @ b_hi) + a_lo @ b_lo
    return np.ldexp(product, row_exp + col_exp - 2 * _HEADROOM).astype(dtype)


def _with_infinite_terms(
    finite_part: np.ndarray, a: np.ndarray, b: np.ndarray, finite_a: np.ndarray, finite_b: np.ndarray
) -> np.ndarray:
    with np.errstate(all="ignore"):
        # Terms with an infinite factor and no zero or NaN factor, counted by sign with
        # indicator products (inclusion–exclusion for terms where both factors are infinite).
        sign_a, sign_b = np.sign(np.where(np.isnan(a), 0.0, a)), np.sign(np.where(np.isnan(b), 0.0, b))
        inf_a, inf_b = np.where(finite_a, 0.0, sign_a), np.where(finite_b, 0.0, sign_b)
        signed = inf_a @ sign_b + sign_a @ inf_b - inf_a @ inf_b
        count = np.abs(inf_a) @ np.abs(sign_b) + np.abs(sign_a) @ np.abs(inf_b) - np.abs(inf_a) @ np.abs(inf_b)
        nan_a, nan_b = np.isnan(a).astype(np.float64), np.isnan(b).astype(np.float64)
        nonzero_a, nonzero_b = (a != 0).astype(np.float64), (b != 0).astype(np.float64)
        has_nan = (nan_a @ nonzero_b + nonzero_a @ nan_b) > 0
        return _combine(finite_part, count + signed > 0, count - signed > 0, has_nan)


_HEADROOM = 500


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's split: x = hi + lo with at most 26 significant bits in each (|x| < 2^990)."""
    scaled = x * 134217729.0  # 2^27 + 1
    hi = scaled - (scaled - x)
    return hi, x - hi


def _combine(finite_part: np.ndarray, up: np.ndarray, down: np.ndarray, has_nan: np.ndarray) -> np.ndarray:
    """The finite terms' sum, overridden by infinite terms (and by an overflowed finite sum)."""
    up = up | (finite_part == np.inf)
    down = down | (finite_part == -np.inf)
    out = np.where(up, np.inf, np.where(down, -np.inf, finite_part))
    return np.where(has_nan | (up & down), np.nan, out).astype(finite_part.dtype, copy=False)


def add(*terms: np.ndarray) -> np.ndarray:
    """Element-wise sum of arrays (broadcast together) that overflows only if the exact sum does.

    One addition rounds once, so two terms need no care; with more, a partial sum can overflow
    although the total would not (3e38 + 3e38 − 3e38 in float32), and those entries are redone.
    """
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    if len(terms) > 2 and not all_finite(total):
        stacked = np.stack(np.broadcast_arrays(*terms))
        total = np.where(np.isfinite(total), total, _careful_sum(stacked))
    return total


def sum_over(x: np.ndarray, axis: int = 0, bias: np.ndarray | None = None, mean: bool = False) -> np.ndarray:
    """``x.sum(axis) + bias``, or ``x.mean(axis)``, overflowing only if the exact result does."""
    out = x.mean(axis=axis) if mean else x.sum(axis=axis)
    if bias is not None:
        out = out + bias
    if all_finite(out):
        return out
    stacked = np.moveaxis(x, axis, 0)
    if bias is not None:
        stacked = np.concatenate([stacked, np.broadcast_to(bias, (1,) + stacked.shape[1:])])
    return np.where(np.isfinite(out), out, _careful_sum(stacked, x.shape[axis] if mean else 1))


def _careful_sum(stacked: np.ndarray, divisor: int = 1) -> np.ndarray:
    """Σ over the first axis (÷ divisor), each entry's terms scaled by a power of two first."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(stacked)
        terms = np.where(finite, stacked, 0).astype(np.float64, copy=False)
        _, exponent = np.frexp(np.abs(terms).max(axis=0))
        total = np.ldexp(terms, -exponent).sum(axis=0) / divisor
        finite_part = np.ldexp(total, exponent).astype(stacked.dtype)
        if finite.all():
            return finite_part
        up, down = (stacked == np.inf).any(axis=0), (stacked == -np.inf).any(axis=0)
        return _combine(finite_part, up, down, np.isnan(stacked).any(axis=0))


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
