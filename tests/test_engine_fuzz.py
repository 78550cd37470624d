"""Engine fuzzing: extreme but finite weights, sizes from 1 to large-ish, every configuration.

Weights are drawn per tensor from regimes that mix zeros, tiny (1e-30), ordinary and huge
(1e15, ±1e30; float64 models also ±1e200, so their overflow paths are reached too) values,
including all-zero tensors (LayerNorm of a constant row), constant tensors and random-sign tensors
of one magnitude (exact cancellations and ties).

What "no NaN/inf where the maths is finite" means here
-------------------------------------------------------
Every stage is checked against its *own inputs*: the stored values of the stages it reads,
the parameters and the run options. Once an earlier stage has really overflowed to ±inf, the
amount by which it overflowed is lost, so no stage can be expected to recover it. The
expected value is computed here, independently of the engine's code, in a wider format in
which nothing the model's dtype can hold overflows (float64 for float32 models, x87 80-bit
long double for float64 models). ε is the model dtype's machine epsilon, MAX its largest
finite value, k the number of terms of a sum. A stored ±inf stands for "a finite value
beyond ±MAX".

1. Copies (``embed``, learned ``pos_embed``, ``token_type_embed``, ``masked``) are exact;
   ``masked`` is −inf exactly at the future keys of a causal model; the sinusoidal
   ``pos_embed`` is finite, within 4ε of the formula.
2. Sums and matrix products (``resid_*``, ``attn.q|k|v``, ``scores``, ``z``, ``head_out``,
   ``attn_out``, ``mlp.pre``, ``mlp_out``, ``logits``, ``pooled``), entry by entry, term by
   term. A term with an exact-zero factor is exactly 0, whatever the other factor (a zero
   weight or a masked attention weight cancels even an overflowed or NaN value). Let F be
   the exact sum of the finite terms and S the sum of their magnitudes. Then:

   * a NaN term (NaN times non-zero) makes the entry NaN;
   * infinite terms, together with F when F lies beyond ±MAX, decide the entry: ±inf if they
     all have that sign, NaN if they have both;
   * with only finite terms the entry is never NaN; if finite it is within 8(k+2)·(ε·S + tiny)
     of F (the classical bound for a sum computed in the dtype, tiny being its smallest normal
     number, for underflow); it may be ±inf only with F's sign
     and only if F is beyond ±MAX, or within 8(k+2)·2⁻⁵²·S of it (cancellation so deep that
     even float64 cannot resolve whether the exact value fits). In particular a sum whose
     partial sums overflow but whose exact value fits comes out finite (1e30·1e30 − 1e30·1e30 + b
     in float32 is b).

3. Element-wise stages (``scaled``, ``mlp.post``) give the function's value at each input
   (within 16ε·|x| + 16·tiny) and its limits at ±inf (GELU(−∞) = ReLU(−∞) = 0, ±∞/√d = ±∞);
   NaN stays NaN.
4. LayerNorm (``ln1``, ``ln2``, ``ln_final``, ``embed_ln``): a row holding ±inf or NaN is all
   NaN (its value depends on how far beyond MAX the entries were); every finite row, however
   large or constant, is finite and within 16(d+2)·ε·(√d·|w| + |b|) of the exact value
   (a constant row gives exactly the bias, up to that tolerance; the fuzzed weights keep
   √d·|w| + |b| below MAX, so that value always fits). ``embed_ln`` normalises
   E + P + S, which it rounds to the dtype first, so it is allowed a further 2ε·max|x|/σ·|w|.
5. Softmax stages (``pattern``, ``probs``, computed from ``masked`` and ``logits`` / T): a row
   holding a NaN score is all NaN; otherwise the row is a distribution — never NaN, entries
   ≥ 0, summing to 1 within 8(n+2)·ε, masked (future) keys exactly 0 — and equals, within
   8(n+2)·ε: uniform over the +inf scores if there are any; uniform over the allowed keys if
   every allowed score is −inf; else exp((x − max)/T) / Σ exp((x − max)/T).
6. Every stage has the model's dtype and its documented shape, and (causal models) changing
   the last token leaves every earlier position bit-for-bit unchanged, overflow or not.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from engine_models import word_vocab
from reference_forward import reference_param_shapes, reference_stage_ids

ACTS = ("relu", "gelu", "gelu_tanh")
NORMS = ("none", "pre", "post")
POSITIONALS = ("none", "sinusoidal", "learned")
DTYPES = ("float32", "float64")
#: every combination the issue names: act × norm × positional × causal × scale_scores × dtype
COMBOS = list(itertools.product(ACTS, NORMS, POSITIONALS, (False, True), (False, True), DTYPES))

#: the format the expectations are computed in, per model dtype
WIDE = {"float32": np.dtype(np.float64), "float64": np.dtype(np.longdouble)}
LONG_DOUBLE_IS_WIDER = np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp
needs_long_double = pytest.mark.skipif(
    not LONG_DOUBLE_IS_WIDER, reason="float64 expectations need an extended-range long double (x86-64)"
)

MAGNITUDES = {"float32": (1e-30, 1e-3, 1.0, 1e3, 1e15, 1e30), "float64": (1e-30, 1e-3, 1.0, 1e3, 1e15, 1e30, 1e200)}
REGIMES = ("zero", "normal", "scaled", "constant", "signs", "mixed")

FUZZ = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- models ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzCase:
    model: simulator.Model
    ids: tuple[int, ...]
    token_types: tuple[int, ...] | None
    temperature: float

    def trace(self, ids: tuple[int, ...] | None = None) -> simulator.Trace:
        return self.model.trace(list(self.ids if ids is None else ids), temperature=self.temperature, token_types=self.token_types)


def tensor(rng: np.random.Generator, shape: tuple[int, ...], regime: str, dtype: str) -> np.ndarray:
    """One parameter tensor in a weight regime (all finite in the dtype)."""
    mags = MAGNITUDES[dtype]
    if regime == "zero":
        return np.zeros(shape)
    if regime == "normal":
        return rng.standard_normal(shape)
    if regime == "scaled":
        return rng.standard_normal(shape) * mags[rng.integers(len(mags))]
    if regime == "constant":
        return np.full(shape, mags[rng.integers(len(mags))] * rng.choice((-1.0, 1.0)))
    if regime == "signs":
        return rng.choice((-1.0, 1.0), size=shape) * mags[rng.integers(len(mags))]
    choices = np.asarray((0.0,) + mags)  # mixed: every entry its own magnitude and sign
    return rng.choice(choices, size=shape) * rng.choice((-1.0, 1.0), size=shape) * rng.uniform(0.5, 2.0, size=shape)


@st.composite
def fuzz_cases(
    draw: st.DrawFn,
    act: str,
    norm: str,
    positional: str,
    causal: bool,
    scale_scores: bool,
    dtype: str,
    large: bool = False,
) -> FuzzCase:
    """A model of the given kind with random sizes, options and weight regimes, plus an input."""
    if large:
        sizes = dict(d_model=96, n_heads=4, d_head=24, d_mlp=192, vocab_size=128, n_ctx=24, n_layers=2)
    else:
        small = st.one_of(st.just(1), st.integers(1, 12))
        sizes = dict(
            d_model=draw(small, label="d_model"),
            n_heads=draw(st.integers(1, 3), label="n_heads"),
            d_head=draw(st.one_of(st.just(1), st.integers(1, 8)), label="d_head"),
            d_mlp=draw(small, label="d_mlp"),
            vocab_size=draw(st.integers(1, 10), label="vocab_size"),
            n_ctx=draw(st.one_of(st.just(1), st.integers(1, 6)), label="n_ctx"),
            n_layers=draw(st.integers(0, 2), label="n_layers"),
        )
    config = simulator.ModelConfig(
        **sizes,
        act=act,
        norm=norm,
        ln_eps=draw(st.sampled_from((1e-5, 1e-12, 0.1)), label="ln_eps"),
        positional=positional,
        causal=causal,
        scale_scores=scale_scores,
        dtype=dtype,
        n_token_types=draw(st.integers(0, 2), label="n_token_types"),
        embed_norm=norm != "none" and draw(st.booleans(), label="embed_norm"),
        unembed=draw(st.booleans(), label="unembed") if not large else True,
        pooling=draw(st.sampled_from(("none", "mean")), label="pooling"),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    params = {
        name: tensor(rng, shape, draw(st.sampled_from(REGIMES), label=name), dtype)
        for name, shape in reference_param_shapes(config).items()
    }
    model = simulator.Model(config, params, simulator.WordTokenizer(word_vocab(config.vocab_size)))
    n = draw(st.integers(1, config.n_ctx), label="tokens")
    ids = tuple(draw(st.lists(st.integers(0, config.vocab_size - 1), min_size=n, max_size=n), label="ids"))
    types = None
    if config.n_token_types:
        types = tuple(draw(st.lists(st.integers(0, config.n_token_types - 1), min_size=n, max_size=n), label="types"))
    temperature = draw(st.sampled_from((1.0, 0.05, 0.7, 20.0)), label="temperature")
    return FuzzCase(model, ids, types, temperature)


# -- expectations --------------------------------------------------------------------------------


def fail(stage_id: str, what: str, bad: np.ndarray, got: np.ndarray, want: Any = None) -> None:
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    detail = f"got {got[where]!r}" + ("" if want is None else f", expected {np.asarray(want)[where]!r}")
    raise AssertionError(f"{stage_id}: {what} at {where} ({int(bad.sum())} entries): {detail}")


def check_sum(stage_id: str, got: np.ndarray, terms: np.ndarray, dtype: str, divisor: int = 1) -> None:
    """Rule 2: ``got`` is Σ terms over the last axis (÷ divisor); ``terms`` are in the wide format."""
    info = np.finfo(dtype)
    big, k = float(info.max), terms.shape[-1]
    with np.errstate(all="ignore"):
        finite_terms = np.where(np.isfinite(terms), terms, 0)
        exact = finite_terms.sum(axis=-1) / divisor
        scale = np.abs(finite_terms).sum(axis=-1) / divisor
        has_nan = np.isnan(terms).any(axis=-1)
        up, down = (terms == np.inf).any(axis=-1), (terms == -np.inf).any(axis=-1)
        tol = 8 * (k + 2) * (float(info.eps) * scale + float(info.tiny))
        tol_wide = 8 * (k + 2) * 2.0**-52 * scale
        plus_forced = up | (exact - tol_wide > big)
        minus_forced = down | (exact + tol_wide < -big)
        plus_possible = up | (exact + tol_wide >= big)
        minus_possible = down | (exact - tol_wide <= -big)
        g = got.astype(terms.dtype)
        ok = (
            (np.isnan(g) & (has_nan | ((up | down) & plus_possible & minus_possible)))
            | ((g == np.inf) & ~has_nan & plus_possible & ~minus_forced)
            | ((g == -np.inf) & ~has_nan & minus_possible & ~plus_forced)
            | (np.isfinite(g) & ~has_nan & ~up & ~down & (np.abs(g - exact) <= tol))
        )
    if not ok.all():
        fail(stage_id, "sum or product off its exact value", ~ok, got, exact)


def product_terms(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """The terms of ``a @ b (+ bias)`` (batched), term index last; a zero factor makes a term 0."""
    left = a[..., :, None, :]
    right = np.swapaxes(b, -1, -2)[..., None, :, :]
    with np.errstate(all="ignore"):
        terms = np.where((left == 0) | (right == 0), 0, left * right)
    if bias is not None:
        terms = np.concatenate([terms, np.broadcast_to(bias[..., None], terms.shape[:-1] + (1,))], axis=-1)
    return terms


def check_elementwise(stage_id: str, got: np.ndarray, want: np.ndarray, x: np.ndarray, dtype: str) -> None:
    """Rule 3: same NaN and ±inf places as ``want``; finite entries within 16ε·|x| + 16·tiny."""
    info = np.finfo(dtype)
    g = got.astype(want.dtype)
    with np.errstate(all="ignore"):
        close = np.abs(g - want) <= 16 * float(info.eps) * np.abs(x) + 16 * float(info.tiny)
    ok = np.where(np.isnan(want), np.isnan(g), np.where(np.isinf(want), g == want, np.isfinite(g) & close))
    if not ok.all():
        fail(stage_id, "element-wise value off", ~ok, got, want)


def check_layer_norm(stage_id: str, got: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float, dtype: str, rounded_input: bool = False) -> None:
    """Rule 4, with x_i − mean written as the mean of the differences x_i − x_j (no big − big)."""
    info = np.finfo(dtype)
    d = x.shape[-1]
    bad_rows = ~np.isfinite(x).all(axis=-1)
    if not np.isnan(got[bad_rows]).all():
        fail(stage_id, "row with ±inf/NaN input is not NaN", bad_rows[:, None] & ~np.isnan(got), got)
    rows = x[~bad_rows]
    if not rows.size:
        return
    centred = (rows[:, :, None] - rows[:, None, :]).mean(axis=-1)
    sigma = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + x.dtype.type(eps))
    want = centred / sigma * w + b
    tol = 16 * (d + 2) * float(info.eps) * (math.sqrt(d) * np.abs(w) + np.abs(b))
    if rounded_input:
        tol = tol + 2 * float(info.eps) * np.abs(rows).max(axis=-1, keepdims=True) / sigma * np.abs(w)
    g = got[~bad_rows].astype(x.dtype)
    ok = np.isfinite(g) & (np.abs(g - want) <= tol)
    if not ok.all():
        fail(stage_id, "LayerNorm off its exact value", ~ok, g, want)


def check_softmax(stage_id: str, got: np.ndarray, x: np.ndarray, dtype: str, allowed: np.ndarray | None = None, temperature: float = 1.0) -> None:
    """Rule 5 for the rows of ``x`` (last axis), ``allowed`` marking keys the mask lets through."""
    info = np.finfo(dtype)
    n = x.shape[-1]
    allowed = np.ones(x.shape, dtype=bool) if allowed is None else np.broadcast_to(allowed, x.shape)
    tol = 8 * (n + 2) * float(info.eps)
    nan_rows = np.isnan(x).any(axis=-1)
    if not np.isnan(got[nan_rows]).all():
        fail(stage_id, "row with a NaN score is not NaN", nan_rows[..., None] & ~np.isnan(got), got)
    with np.errstate(all="ignore"):
        up = (x == np.inf).any(axis=-1, keepdims=True)
        down = ~up & ((x == -np.inf) | ~allowed).all(axis=-1, keepdims=True)
        peak = np.where(np.isnan(x), -np.inf, x).max(axis=-1, keepdims=True)
        exps = np.exp((x - np.where(np.isfinite(peak), peak, 0)) / x.dtype.type(temperature))
        regular = exps / exps.sum(axis=-1, keepdims=True)
        ties = (x == np.inf) / np.maximum((x == np.inf).sum(axis=-1, keepdims=True), 1)
        uniform = allowed / allowed.sum(axis=-1, keepdims=True)
        want = np.where(up, ties, np.where(down, uniform, regular))
        g = got.astype(x.dtype)
        rows = ~nan_rows
        ok = (np.abs(g - want) <= tol) & (g >= 0) & (allowed | (g == 0))
        ok &= np.abs(g.sum(axis=-1, keepdims=True) - 1) <= tol
    bad = ~ok & rows[..., None]
    if bad.any():
        fail(stage_id, "softmax row off (or not a distribution)", bad, got, want)


def check_stage(case: FuzzCase, trace: simulator.Trace, stage_id: str) -> None:
    """The expectation for one stage, from the stage's own (stored) inputs."""
    model, c = case.model, case.model.config
    spec = model.stage_spec(stage_id)
    got = trace[stage_id]
    if stage_id == "tokens":
        np.testing.assert_array_equal(got, np.asarray(case.ids))
        return
    assert got.dtype == c.np_dtype, f"{stage_id}: dtype {got.dtype}, model {c.dtype}"
    dims = {**trace.dims, "query_pos": len(case.ids), "key_pos": len(case.ids), "head": c.n_heads, "vocab": c.vocab_size}
    assert got.shape == tuple(dims[a] for a in spec.axes), f"{stage_id}: shape {got.shape} for axes {spec.axes}"
    wide = WIDE[c.dtype]
    inputs = [np.asarray(trace[i]).astype(wide) for i in spec.inputs]
    p = {name: np.asarray(model.params[name]).astype(wide) for name in spec.params}
    kind = spec.kind
    n = len(case.ids)
    if kind == "embed":
        np.testing.assert_array_equal(got, model.params["embed.W_E"][list(case.ids)], err_msg=stage_id)
    elif kind == "pos_embed" and c.positional == "learned":
        np.testing.assert_array_equal(got, model.params["pos_embed.W_pos"][:n], err_msg=stage_id)
    elif kind == "pos_embed":
        pos, j = np.arange(n)[:, None], np.arange(c.d_model)[None, :]
        angle = pos / 10000.0 ** ((j - j % 2) / c.d_model)
        want = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
        assert np.isfinite(got).all() and np.abs(got - want).max() <= 4 * np.finfo(c.dtype).eps, stage_id
    elif kind == "token_type_embed":
        types = list(case.token_types) if case.token_types is not None else [0] * n
        np.testing.assert_array_equal(got, model.params["token_type_embed.W_tt"][types], err_msg=stage_id)
    elif kind in ("resid_pre", "resid_mid", "resid_post", "resid_final"):
        check_sum(stage_id, got, np.stack(inputs, axis=-1), c.dtype)
    elif kind == "embed_ln":
        check_layer_norm(stage_id, got, np.sum(inputs, axis=0), p["embed_ln.w"], p["embed_ln.b"], c.ln_eps, c.dtype, rounded_input=True)
    elif kind in ("ln1", "ln2", "ln_final"):
        prefix = stage_id
        check_layer_norm(stage_id, got, inputs[0], p[prefix + ".w"], p[prefix + ".b"], c.ln_eps, c.dtype)
    elif kind in ("attn.q", "attn.k", "attn.v"):
        m = kind[-1].upper()
        w, b = (p[name] for name in spec.params)
        assert spec.params[0].endswith(f"W_{m}")
        check_sum(stage_id, got, product_terms(inputs[0][None], w, b[:, None, :]), c.dtype)
    elif kind == "attn.scores":
        check_sum(stage_id, got, product_terms(inputs[0], np.swapaxes(inputs[1], -1, -2)), c.dtype)
    elif kind == "attn.scaled":
        if trace.option("scale_scores"):
            with np.errstate(all="ignore"):
                want = inputs[0] / np.sqrt(wide.type(c.d_head))
            check_elementwise(stage_id, got, want, want, c.dtype)
        else:
            np.testing.assert_array_equal(got, trace[spec.inputs[0]], err_msg=stage_id)
    elif kind == "attn.masked":
        scaled = trace[spec.inputs[0]]
        future = np.triu(np.ones((n, n), dtype=bool), k=1) & bool(trace.option("causal"))
        np.testing.assert_array_equal(got, np.where(future, -np.inf, scaled), err_msg=stage_id)
    elif kind == "attn.pattern":
        allowed = ~np.triu(np.ones((n, n), dtype=bool), k=1) if trace.option("causal") else None
        check_softmax(stage_id, got, inputs[0], c.dtype, allowed)
    elif kind == "attn.z":
        check_sum(stage_id, got, product_terms(inputs[0], inputs[1]), c.dtype)
    elif kind == "attn.head_out":
        check_sum(stage_id, got, product_terms(inputs[0], p[spec.params[0]]), c.dtype)
    elif kind == "attn_out":
        heads = np.moveaxis(inputs[0], 0, -1)
        bias = np.broadcast_to(p[spec.params[0]][:, None], heads.shape[:-1] + (1,))
        check_sum(stage_id, got, np.concatenate([heads, bias], axis=-1), c.dtype)
    elif kind in ("mlp.pre", "mlp_out") or stage_id == "logits":
        w, b = (p[name] for name in spec.params)
        check_sum(stage_id, got, product_terms(inputs[0], w, b), c.dtype)
    elif kind == "mlp.post":
        check_elementwise(stage_id, got, expected_activation(c.act, inputs[0]), inputs[0], c.dtype)
    elif stage_id == "probs":
        check_softmax(stage_id, got, inputs[0], c.dtype, temperature=trace.option("temperature"))
    elif stage_id == "pooled":
        check_sum(stage_id, got, np.moveaxis(inputs[0], 0, -1), c.dtype, divisor=n)
    else:  # pragma: no cover - a new stage kind needs an expectation here
        raise AssertionError(f"no expectation for stage {stage_id!r}")


def expected_activation(act: str, x: np.ndarray) -> np.ndarray:
    """The activation in the wide format, with its limits at ±inf (GELU written with erfc here)."""
    with np.errstate(all="ignore"):
        if act == "relu":
            want = np.where(np.isnan(x) | (x > 0), x, 0)
        elif act == "gelu":
            erfc = np.vectorize(math.erfc, otypes=[np.float64])
            x64 = x.astype(np.float64)
            want = (0.5 * x64 * erfc(-x64 / math.sqrt(2.0))).astype(x.dtype)
        else:
            cube = x * x * x
            want = 0.5 * x * (1 + np.tanh(np.sqrt(x.dtype.type(2) / x.dtype.type(np.pi)) * (x + x.dtype.type(0.044715) * cube)))
    want = np.where(x == -np.inf, 0, want)
    return np.where(x == np.inf, np.inf, want)


def check_case(case: FuzzCase) -> simulator.Trace:
    model = case.model
    assert model.stage_ids() == reference_stage_ids(model.config)
    trace = case.trace()
    for stage_id in model.stage_ids():
        check_stage(case, trace, stage_id)
    return trace


def check_causality(case: FuzzCase, before: simulator.Trace) -> None:
    """Rule 6: with the mask on, a different last token (maybe one that overflows) changes nothing earlier."""
    n, vocab = len(case.ids), case.model.config.vocab_size
    if not before.option("causal") or n < 2 or vocab < 2:
        return
    changed = case.ids[:-1] + ((case.ids[-1] + 1) % vocab,)
    after = case.trace(changed)
    for stage_id in case.model.stage_ids():
        axes = case.model.stage_spec(stage_id).axes
        a, b = before[stage_id], after[stage_id]
        if "pos" in axes:
            axis = axes.index("pos")
            np.testing.assert_array_equal(np.take(a, range(n - 1), axis=axis), np.take(b, range(n - 1), axis=axis), err_msg=stage_id)
        elif stage_id.endswith(("masked", "pattern")):  # whole rows: future keys are masked
            np.testing.assert_array_equal(a[:, : n - 1], b[:, : n - 1], err_msg=stage_id)
        elif axes[-2:] == ("query_pos", "key_pos"):  # raw scores: only the keys a query may see
            np.testing.assert_array_equal(a[:, : n - 1, : n - 1], b[:, : n - 1, : n - 1], err_msg=stage_id)


def combo_param(combo: tuple) -> Any:
    act, norm, positional, causal, scale, dtype = combo
    marks = [needs_long_double] if dtype == "float64" else []
    cid = f"{act}-{norm}-{positional}-{'causal' if causal else 'bidir'}-{'scaled' if scale else 'raw'}-{dtype}"
    return pytest.param(*combo, marks=marks, id=cid)


# -- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("act,norm,positional,causal,scale_scores,dtype", [combo_param(c) for c in COMBOS])
@FUZZ
@given(data=st.data())
def test_every_combination_with_extreme_weights(act, norm, positional, causal, scale_scores, dtype, data) -> None:
    case = data.draw(fuzz_cases(act, norm, positional, causal, scale_scores, dtype))
    trace = check_case(case)
    check_causality(case, trace)


@pytest.mark.parametrize("dtype", [pytest.param("float32"), pytest.param("float64", marks=needs_long_double)])
@pytest.mark.parametrize("regime", ["zero", "constant", "signs", "mixed"])
def test_every_combination_at_the_smallest_sizes(dtype: str, regime: str) -> None:
    """d_model = d_head = n_heads = d_mlp = 1 and one token, for every combination: LN of a 1-vector
    is its bias, the single attention weight is exactly 1."""
    rng = np.random.default_rng(len(regime))
    for act, norm, positional, causal, scale_scores, _ in (c for c in COMBOS if c[-1] == dtype):
        config = simulator.ModelConfig(
            d_model=1, n_heads=1, d_head=1, n_layers=2, d_mlp=1, vocab_size=1, n_ctx=1, act=act, norm=norm,
            positional=positional, causal=causal, scale_scores=scale_scores, dtype=dtype, embed_norm=norm != "none",
            pooling="mean",
        )
        params = {name: tensor(rng, shape, regime, dtype) for name, shape in reference_param_shapes(config).items()}
        case = FuzzCase(simulator.Model(config, params, simulator.WordTokenizer(word_vocab(1))), (0,), None, 1.0)
        trace = check_case(case)
        for layer in range(2):
            p = f"blocks.{layer}."
            defined = ~np.isnan(trace[p + "attn.masked"])  # NaN only after an earlier overflow
            np.testing.assert_array_equal(trace[p + "attn.pattern"][defined], 1.0)
            ln_input = trace[p + ("resid_pre" if norm == "pre" else "resid_mid")]
            if norm != "none" and np.isfinite(ln_input).all():
                np.testing.assert_array_equal(trace[p + "ln1"][0], case.model.params[p + "ln1.b"])


@pytest.mark.parametrize("dtype", [pytest.param("float32"), pytest.param("float64", marks=needs_long_double)])
@settings(max_examples=3, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_large_ish_models(dtype: str, data: st.DataObject) -> None:
    """d_model 96, 4 heads of 24, d_mlp 192, vocab 128, 24 tokens, 2 layers."""
    combo = data.draw(st.sampled_from([c[:-1] for c in COMBOS if c[-1] == dtype]), label="combination")
    case = data.draw(fuzz_cases(*combo, dtype, large=True))
    check_causality(case, check_case(case))


# -- the weak spots, one by one (each failed before the engine's fixes; ReLU was already right) ------


def hand_model(dtype: str = "float32", **overrides: Any) -> simulator.Model:
    """A 2-dimensional, 1-head, 1-layer model with zero weights; tests set what they need."""
    kwargs = dict(d_model=2, n_heads=1, d_head=2, n_layers=1, d_mlp=2, vocab_size=3, n_ctx=3, dtype=dtype, norm="none", positional="none")
    kwargs.update(overrides)
    config = simulator.ModelConfig(**kwargs)
    params = {name: np.zeros(shape) for name, shape in reference_param_shapes(config).items()}
    return simulator.Model(config, params, simulator.WordTokenizer(word_vocab(config.vocab_size)))


def test_scores_that_overflow_to_plus_inf_give_a_distribution() -> None:
    """Huge Q·K overflows to +inf; softmax used to compute inf − inf = NaN."""
    model = hand_model(causal=False)
    model.set_param("embed.W_E", np.asarray([[1e20, 1e20], [1e20, -1e20], [1e-20, 1e-20]]))
    model.set_param("blocks.0.attn.W_Q", np.eye(2)[None] * 1e10)
    model.set_param("blocks.0.attn.W_K", np.eye(2)[None] * 1e10)
    trace = model.trace([0, 1, 2])
    scores = trace["blocks.0.attn.masked"]
    assert np.isposinf(scores[0, 0, 0]) and np.isposinf(scores[0, 1, 1])
    pattern = trace["blocks.0.attn.pattern"]
    np.testing.assert_array_equal(pattern[0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(pattern[0, 1], [0.0, 1.0, 0.0])
    check_case(FuzzCase(model, (0, 1, 2), None, 1.0))


def test_a_row_of_scores_that_all_overflow_to_minus_inf_stays_causal() -> None:
    """Every visible score −inf: uniform over the visible keys, future keys still exactly 0."""
    model = hand_model(causal=True)
    model.set_param("embed.W_E", np.asarray([[1e20, 1e20], [1e20, 1e20], [1e20, 1e20]]))
    model.set_param("blocks.0.attn.W_Q", np.eye(2)[None] * 1e10)
    model.set_param("blocks.0.attn.W_K", -np.eye(2)[None] * 1e10)
    pattern = model.trace([0, 1, 2])["blocks.0.attn.pattern"][0]
    np.testing.assert_allclose(pattern, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-7, atol=0)


@pytest.mark.parametrize("dtype", ["float32", pytest.param("float64", marks=needs_long_double)])
def test_layer_norm_of_huge_rows(dtype: str) -> None:
    """Squares of 1e30 overflow float32; a constant huge row is exactly its bias; a row near the
    top of the range whose entries differ in the sixth digit keeps those differences."""
    top = float(np.finfo(dtype).max) / 2
    big = {"float32": 1e30, "float64": 1e200}[dtype]
    model = hand_model(dtype, norm="pre", d_model=3, vocab_size=4, n_ctx=4)
    model.set_param("embed.W_E", np.asarray([
        [big, big, big], [big, -big, 0.0], [top, top, top], [top, top * (1 - 1e-6), top * (1 - 2e-6)],
    ]))
    for name in ("blocks.0.ln1.w", "ln_final.w"):
        model.set_param(name, np.ones(3))
    model.set_param("blocks.0.ln1.b", np.asarray([1.0, 2.0, 3.0]))
    ln1 = model.trace([0, 1, 2, 3])["blocks.0.ln1"]
    np.testing.assert_array_equal(ln1[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ln1[2], [1.0, 2.0, 3.0])
    root = math.sqrt(1.5)
    np.testing.assert_allclose(ln1[1], [root + 1, 2 - root, 3.0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ln1[3], [root + 1, 2.0, 3 - root], rtol=1e-4, atol=1e-4)
    check_case(FuzzCase(model, (0, 1, 2, 3), None, 1.0))


@pytest.mark.parametrize("dtype", ["float32", pytest.param("float64", marks=needs_long_double)])
def test_sums_whose_partial_sums_overflow_but_whose_value_fits(dtype: str) -> None:
    """top + top − top is top: the heads' sum (attn_out), three embedding parts (resid_pre) and
    the mean over positions (pooled) must not keep an overflowed partial sum."""
    top = float(np.finfo(dtype).max) * 0.9
    heads = hand_model(dtype, d_model=1, n_heads=3, d_head=1)
    heads.set_param("embed.W_E", np.ones((3, 1)))
    heads.set_param("blocks.0.attn.W_V", np.ones((3, 1, 1)))
    heads.set_param("blocks.0.attn.W_O", np.asarray([top, top, -top]).reshape(3, 1, 1))
    np.testing.assert_allclose(heads.trace([0])["blocks.0.attn_out"], [[top]], rtol=1e-6)
    parts = hand_model(dtype, n_layers=0, positional="learned", n_token_types=1, unembed=False)
    parts.set_param("embed.W_E", np.full((3, 2), top))
    parts.set_param("pos_embed.W_pos", np.full((3, 2), top))
    parts.set_param("token_type_embed.W_tt", np.full((1, 2), -top))
    np.testing.assert_allclose(parts.trace([0])["resid_final"], [[top, top]], rtol=1e-6)
    mean = hand_model(dtype, n_layers=0, pooling="mean", unembed=False)
    mean.set_param("embed.W_E", np.full((3, 2), top))
    np.testing.assert_allclose(mean.trace([0, 1])["pooled"], [top, top], rtol=1e-6)
    for model, ids in ((heads, (0,)), (parts, (0,)), (mean, (0, 1))):
        check_case(FuzzCase(model, ids, None, 1.0))


@pytest.mark.parametrize("dtype,big", [("float32", 1e30), pytest.param("float64", 1e200, marks=needs_long_double)])
def test_products_whose_partial_sums_overflow_but_whose_value_fits(dtype: str, big: float) -> None:
    """x = (big, big), W_V columns (big, −big): v = 0 + b_V exactly, not inf − inf = NaN."""
    model = hand_model(dtype)
    model.set_param("embed.W_E", np.full((3, 2), big))
    model.set_param("blocks.0.attn.W_V", np.asarray([[[big, big], [-big, big]]]))
    model.set_param("blocks.0.attn.b_V", np.asarray([[0.5, 0.25]]))
    v = model.trace([0, 1, 2])["blocks.0.attn.v"]
    np.testing.assert_array_equal(v[0, :, 0], 0.5)
    assert np.isposinf(v[0, :, 1]).all()
    check_case(FuzzCase(model, (0, 1, 2), None, 1.0))


def test_a_later_overflow_does_not_leak_into_earlier_positions() -> None:
    """Masked attention weights are exact zeros: 0 · inf is 0 there, not NaN."""
    model = hand_model(causal=True)
    model.set_param("embed.W_E", np.asarray([[1.0, 2.0], [3.0, 4.0], [1e30, 1e30]]))
    model.set_param("blocks.0.attn.W_V", np.eye(2)[None] * 1e30)
    model.set_param("blocks.0.attn.W_O", np.eye(2)[None])
    calm, wild = model.trace([0, 1, 0]), model.trace([0, 1, 2])
    assert np.isinf(wild["blocks.0.attn.v"][0, 2]).all()
    for stage_id in ("blocks.0.attn.z", "blocks.0.resid_post", "logits", "probs"):
        got = wild[stage_id][:, :2] if stage_id.startswith("blocks.0.attn") else wild[stage_id][:2]
        want = calm[stage_id][:, :2] if stage_id.startswith("blocks.0.attn") else calm[stage_id][:2]
        np.testing.assert_array_equal(got, want, err_msg=stage_id)


@pytest.mark.parametrize("act", ["gelu", "gelu_tanh", "relu"])
def test_activations_of_minus_inf_are_zero(act: str) -> None:
    model = hand_model(act=act)
    model.set_param("embed.W_E", np.asarray([[1e30, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    model.set_param("blocks.0.mlp.W_in", np.asarray([[-1e30, 1e30], [0.0, 0.0]]))
    post = model.trace([0])["blocks.0.mlp.post"]
    np.testing.assert_array_equal(post, [[0.0, np.inf]])


def test_probabilities_of_huge_logits_at_low_temperature() -> None:
    """logits / T overflowed to +inf for both words (a fake tie); (logits − max) / T does not."""
    model = hand_model()
    model.set_param("embed.W_E", np.asarray([[3e38, 2e38], [0.0, 0.0], [0.0, 0.0]]))
    model.set_param("unembed.W_U", np.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    probs = model.trace([0], temperature=0.5)["probs"]
    np.testing.assert_array_equal(probs, [[1.0, 0.0, 0.0]])


def test_the_expectations_catch_wrong_values() -> None:
    """The checks above can fail: each is shown a wrong value it must reject."""
    f32 = "float32"
    ones = np.ones(3)
    with pytest.raises(AssertionError):  # NaN where the exact sum fits
        check_sum("s", np.asarray([np.nan], np.float32), np.asarray([[1e60, -1e60, 0.5]]), f32)
    with pytest.raises(AssertionError):  # +inf where the exact sum fits (and float64 can tell)
        check_sum("s", np.asarray([np.inf], np.float32), np.asarray([[1e40, -1e40, 0.5]]), f32)
    with pytest.raises(AssertionError):  # a rounding error far beyond 8(k+2)·ε·S
        check_sum("s", np.asarray([1.001], np.float32), np.asarray([[1.0]]), f32)
    check_sum("s", np.asarray([0.5], np.float32), np.asarray([[1e60, -1e60, 0.5]]), f32)
    check_sum("s", np.asarray([np.nan], np.float32), np.asarray([[np.inf, -np.inf, 0.5]]), f32)
    with pytest.raises(AssertionError):  # LN(constant huge row) must be the bias, not ±w + b
        check_layer_norm("ln", np.asarray([[1.0, -1.0, 1.0]], np.float32), np.full((1, 3), 1e30), ones, 0 * ones, 1e-5, f32)
    with pytest.raises(AssertionError):  # a softmax row that does not sum to 1
        check_softmax("p", np.asarray([[0.0, 0.0]], np.float32), np.asarray([[-np.inf, -np.inf]]), f32)
    with pytest.raises(AssertionError):  # a NaN row where +inf scores define the limit
        check_softmax("p", np.asarray([[np.nan, 0.0]], np.float32), np.asarray([[np.inf, 1.0]]), f32)
    with pytest.raises(AssertionError):  # GELU(−∞) is 0
        check_elementwise("g", np.asarray([np.nan], np.float32), expected_activation("gelu", np.asarray([-np.inf])), np.asarray([-np.inf]), f32)
