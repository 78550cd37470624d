"""Causal experiments on a forward pass: ablation, activation patching, the logit lens and
logit attribution.

    from simulator import experiments as ex
    tr = model.trace(text, interventions=[
        ex.Ablate("blocks.1.attn.z", head=0),                        # zero one head's weighted values
        ex.Ablate("blocks.0.mlp.post", index=[3, 5], mode="mean"),   # mean over this input's positions
        ex.Patch("blocks.0.resid_post", source=model.trace(other), position=3),
    ])
    lens = ex.logit_lens(tr)                                # {stage id: [pos, vocab] logits}
    parts = ex.logit_attribution(tr, token=token_id)        # {part name: contribution}; sums to the logit
    ex.logit_difference(tr, token_a, token_b)               # a patching sweep's usual target
    ex.rerun(tr, [...])                                     # the same run with other interventions

An intervention replaces part of one stage's value as the trace computes it. ``head=`` selects
along the stage's ``head`` axis, ``position=`` along its position axis (``pos``, or
``query_pos`` for attention scores and patterns) and ``index=`` along its last other axis
(``d_model``, ``d_head``, ``d_mlp``, ``key_pos`` or ``vocab``); each is a whole number, a list of
them or a slice, and an axis left out is taken whole. Interventions are part of the cache key of
exactly the stages downstream of their target (``Model.downstream``), so a plain trace of the
same input never sees their values and an intervened trace reuses every stage upstream of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator import ops
from simulator.errors import SimulatorError, UnknownStageError
from simulator.trace import Trace

if TYPE_CHECKING:
    from simulator.model import Model

__all__ = [
    "Ablate", "ExperimentError", "InterventionError", "NoUnembeddingError", "Patch", "PatchSourceError",
    "lens_stages", "logit_attribution", "logit_difference", "logit_lens", "rerun", "restored_fraction",
]

MODES = ("zero", "mean")
#: axes ``position=`` selects (the first one a stage has)
POSITION_AXES = ("pos", "query_pos")

Selector = int | Sequence[int] | slice | None


class ExperimentError(SimulatorError):
    """An experiment that cannot be run as asked."""


class InterventionError(ExperimentError):
    """An ablation or patch whose stage, selection or mode does not fit the model or input."""


class PatchSourceError(InterventionError):
    """A patch whose source run cannot be copied from (not a trace, another model, another length)."""


class NoUnembeddingError(ExperimentError):
    """The logit lens or attribution on a model that makes no logits (a sentence encoder)."""


def _selector(owner: str, name: str, value: Any) -> Selector:
    """``value`` as a whole number, a tuple of them, a slice or None; else an InterventionError."""
    if value is None or isinstance(value, slice):
        if isinstance(value, slice):
            for part in (value.start, value.stop, value.step):
                if part is not None and (isinstance(part, bool) or not isinstance(part, (int, np.integer))):
                    raise InterventionError(f"{owner}: {name}= slice bounds must be whole numbers, got {value!r}")
            if value.step == 0:
                raise InterventionError(f"{owner}: {name}= slice step cannot be 0")
        return value
    if isinstance(value, (bool, np.bool_)):
        raise InterventionError(f"{owner}: {name}= must be a whole number, a list of them or a slice, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (list, tuple, range, np.ndarray)):
        items = list(value.ravel()) if isinstance(value, np.ndarray) else list(value)
        if not items:
            raise InterventionError(f"{owner}: {name}= is an empty list: it selects nothing")
        for item in items:
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
                raise InterventionError(f"{owner}: {name}= must hold whole numbers, got {item!r}")
        return tuple(int(i) for i in items)
    raise InterventionError(f"{owner}: {name}= must be a whole number, a list of them or a slice, got {type(value).__name__}")


def _hashable(value: Selector) -> Any:
    return ("slice", value.start, value.stop, value.step) if isinstance(value, slice) else value


class _Intervention:
    """What ablations and patches share: a target stage and the slice of it they replace."""

    stage: str
    head: Selector
    index: Selector
    position: Selector

    def _check_fields(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.stage, str) or not self.stage:
            raise InterventionError(f"{owner}: the stage must be a stage id such as 'blocks.0.attn.z', got {self.stage!r}")
        for name in ("head", "index", "position"):
            object.__setattr__(self, name, _selector(f"{owner} at {self.stage}", name, getattr(self, name)))

    def _identity(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def key(self, model: Model) -> tuple[Any, ...]:
        """What the intervention contributes to the cache key of the stages downstream of it."""
        raise NotImplementedError

    def replacement(self, trace: Trace, raw: np.ndarray, axes: tuple[str, ...]) -> np.ndarray:
        """Values (broadcastable to ``raw``) that take the place of the selected entries."""
        raise NotImplementedError

    # -- checked against the model and the input ---------------------------------------------
    def _name(self) -> str:
        return f"{type(self).__name__} at {self.stage}"

    def check(self, model: Model, n_tokens: int) -> None:
        """Raise a one-line error if the stage or a selection does not fit the model and input."""
        spec = model.graph.get(self.stage)
        if spec is None:
            raise UnknownStageError(f"{type(self).__name__}: {model._unknown_stage_message(self.stage)}")
        if self.stage == "tokens":
            raise InterventionError(f"{type(self).__name__}: the tokens stage holds token ids; trace another text instead")
        for name in ("head", "position", "index"):
            if getattr(self, name) is not None and _axis_for(spec.axes, name) is None:
                raise InterventionError(
                    f"{self._name()}: {name}= needs a stage with {_AXIS_WORDS[name]}; its axes are {' × '.join(spec.axes)}"
                )
        self.mask(spec.axes, _sizes(model, spec.axes, n_tokens))

    def mask(self, axes: tuple[str, ...], shape: tuple[int, ...]) -> np.ndarray | None:
        """A boolean array broadcastable to ``shape`` marking the replaced entries (None: all)."""
        mask = None
        for name in ("head", "position", "index"):
            selector = getattr(self, name)
            if selector is None:
                continue
            axis = _axis_for(axes, name)
            assert axis is not None
            size = shape[axis]
            chosen = np.zeros(size, dtype=bool)
            chosen[self._indices(name, selector, axes[axis], size)] = True
            view = chosen.reshape([size if i == axis else 1 for i in range(len(shape))])
            mask = view if mask is None else mask & view
        return mask

    def _indices(self, name: str, selector: Selector, axis: str, size: int) -> list[int]:
        if isinstance(selector, slice):
            picked = list(range(size)[selector])
            if not picked:
                raise InterventionError(f"{self._name()}: {name}={_fmt(selector)} selects nothing of {axis} (size {size})")
            return picked
        values = (selector,) if isinstance(selector, int) else selector
        for value in values:  # type: ignore[union-attr]
            if not -size <= value < size:
                raise InterventionError(f"{self._name()}: {name} {value} is out of range ({_range_words(axis, size)})")
        return [v % size for v in values]  # type: ignore[union-attr]

    def apply(self, trace: Trace, raw: np.ndarray) -> np.ndarray:
        """The stage's value with the selected entries replaced."""
        axes = trace.model.graph[self.stage].axes
        replacement = np.asarray(self.replacement(trace, raw, axes), dtype=raw.dtype)
        mask = self.mask(axes, raw.shape)
        if mask is None:
            return np.array(np.broadcast_to(replacement, raw.shape))
        return np.where(mask, replacement, raw)


_AXIS_WORDS = {"head": "a head axis", "position": "a position axis", "index": "an axis other than head and position"}


def _range_words(axis: str, size: int) -> str:
    if axis == "head":
        return f"the model has {size} heads: 0..{size - 1}"
    if axis in ("pos", "query_pos", "key_pos"):
        return f"the input has {size} tokens: 0..{size - 1}, or -{size}..-1"
    return f"{axis} has {size} entries: 0..{size - 1}, or -{size}..-1"


def _axis_for(axes: tuple[str, ...], name: str) -> int | None:
    """Which axis ``head=`` / ``position=`` / ``index=`` selects along, or None if the stage has none."""
    if name == "head":
        return axes.index("head") if "head" in axes else None
    if name == "position":
        return next((i for i, a in enumerate(axes) if a in POSITION_AXES), None)
    others = [i for i, a in enumerate(axes) if a != "head" and a not in POSITION_AXES]
    return others[-1] if others else None


def _sizes(model: Model, axes: tuple[str, ...], n_tokens: int) -> tuple[int, ...]:
    c = model.config
    sizes = {"head": c.n_heads, "pos": n_tokens, "query_pos": n_tokens, "key_pos": n_tokens, "d_model": c.d_model,
             "d_head": c.d_head, "d_mlp": c.d_mlp, "vocab": c.vocab_size}
    return tuple(sizes[a] for a in axes)


def _fmt(selector: Selector) -> str:
    if isinstance(selector, slice):
        return ":".join("" if v is None else str(v) for v in (selector.start, selector.stop)) + (
            "" if selector.step is None else f":{selector.step}"
        )
    return str(list(selector) if isinstance(selector, tuple) else selector)


@dataclass(frozen=True, eq=False)
class Ablate(_Intervention):
    """Replace the selected entries of a stage by zero (``mode="zero"``) or by their mean over
    this input's positions (``mode="mean"``), e.g. ``Ablate("blocks.1.attn.z", head=0)``."""

    stage: str
    head: Selector = None
    index: Selector = None
    position: Selector = None
    mode: str = "zero"

    def __post_init__(self) -> None:
        self._check_fields()
        if self.mode not in MODES:
            raise InterventionError(f"Ablate at {self.stage}: mode must be 'zero' or 'mean', got {self.mode!r}")

    def _identity(self) -> tuple[Any, ...]:
        return ("ablate", self.stage, _hashable(self.head), _hashable(self.index), _hashable(self.position), self.mode)

    def key(self, model: Model) -> tuple[Any, ...]:
        return self._identity()

    def check(self, model: Model, n_tokens: int) -> None:
        super().check(model, n_tokens)
        if self.mode == "mean" and _axis_for(model.graph[self.stage].axes, "position") is None:
            raise InterventionError(f"{self._name()}: mode 'mean' averages over positions, and this stage has no position axis")

    def replacement(self, trace: Trace, raw: np.ndarray, axes: tuple[str, ...]) -> np.ndarray:
        if self.mode == "zero":
            return np.zeros((), dtype=raw.dtype)
        axis = _axis_for(axes, "position")
        with np.errstate(over="ignore", invalid="ignore"):
            return raw.mean(axis=axis, keepdims=True, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Patch(_Intervention):
    """Copy the selected entries of a stage from another run of the same model on an input of the
    same length, e.g. ``Patch("blocks.0.resid_post", source=model.trace(other), position=3)``."""

    stage: str
    source: Trace
    head: Selector = None
    index: Selector = None
    position: Selector = None

    def __post_init__(self) -> None:
        self._check_fields()
        if not isinstance(self.source, Trace):
            raise PatchSourceError(
                f"Patch at {self.stage}: source must be a trace (model.trace(...)), got {type(self.source).__name__}"
            )

    def _identity(self) -> tuple[Any, ...]:
        return ("patch", self.stage, id(self.source), _hashable(self.head), _hashable(self.index), _hashable(self.position))

    def key(self, model: Model) -> tuple[Any, ...]:
        # the source's own cache key names its value exactly: input, options, weights, interventions
        return ("patch", self.stage, self.source.cache_key(self.stage), _hashable(self.head), _hashable(self.index),
                _hashable(self.position))

    def check(self, model: Model, n_tokens: int) -> None:
        if self.source.model is not model:
            raise PatchSourceError(f"{self._name()}: the source is a trace of another model")
        super().check(model, n_tokens)
        n_source = int(self.source.ids.shape[0])
        if n_source != n_tokens:
            raise PatchSourceError(
                f"{self._name()}: the source has {n_source} tokens but the patched input has {n_tokens}; "
                "patching needs two inputs of the same length"
            )

    def replacement(self, trace: Trace, raw: np.ndarray, axes: tuple[str, ...]) -> np.ndarray:
        return self.source[self.stage]


Intervention = Ablate | Patch


@dataclass(frozen=True)
class Plan:
    """Interventions checked against a model and an input, and where they act (for a Trace)."""

    interventions: tuple[Intervention, ...]
    #: stage id -> the interventions that replace part of it, in the order given
    at: Mapping[str, tuple[Intervention, ...]]
    #: stage id -> the keys of every intervention at or upstream of it (its extra cache key)
    keys: Mapping[str, tuple[Any, ...]]
    #: stage id -> the keys of the interventions strictly upstream of it
    upstream_keys: Mapping[str, tuple[Any, ...]]


def plan(model: Model, interventions: Iterable[Intervention] | None, n_tokens: int) -> Plan | None:
    """Check ``interventions`` for ``model`` and an input of ``n_tokens``; None when there are none."""
    if interventions is None:
        return None
    if isinstance(interventions, (Ablate, Patch)):
        interventions = [interventions]
    if isinstance(interventions, (str, bytes, Mapping)) or not isinstance(interventions, Iterable):
        raise InterventionError(f"interventions must be a list of ex.Ablate / ex.Patch, got {type(interventions).__name__}")
    items = tuple(interventions)
    for item in items:
        if not isinstance(item, (Ablate, Patch)):
            raise InterventionError(f"interventions must be ex.Ablate or ex.Patch, got {type(item).__name__}")
        item.check(model, n_tokens)
    if not items:
        return None
    at: dict[str, tuple[Intervention, ...]] = {}
    keys: dict[str, tuple[Any, ...]] = {}
    upstream: dict[str, tuple[Any, ...]] = {}
    for item in items:
        key = item.key(model)
        at[item.stage] = at.get(item.stage, ()) + (item,)
        for sid in model._stage_downstream(item.stage):
            keys[sid] = keys.get(sid, ()) + (key,)
            if sid != item.stage:
                upstream[sid] = upstream.get(sid, ()) + (key,)
    return Plan(items, at, keys, upstream)


def rerun(trace: Trace, interventions: Iterable[Intervention]) -> Trace:
    """The same input, options and weights as ``trace`` with ``interventions``: every stage not
    downstream of them is read from ``trace`` (what it has already read is shared whatever the
    shared cache holds now, so a patching sweep over a fully read run recomputes only the
    stages downstream of each patch)."""
    if not isinstance(trace, Trace):
        raise ExperimentError(f"rerun needs a trace (model.trace(...)), got {type(trace).__name__}")
    return trace._rerun(plan(trace.model, interventions, int(trace.ids.shape[0])))


# -- the logit lens and logit attribution --------------------------------------------------------
def _require_unembedding(trace: Any, what: str) -> Model:
    if not isinstance(trace, Trace):
        raise ExperimentError(f"{what} needs a trace (model.trace(...)), got {type(trace).__name__}")
    model = trace.model
    if not model.config.unembed:
        raise NoUnembeddingError(f"{what} needs a model that predicts tokens; this one has no unembedding (a sentence encoder)")
    return model


def lens_stages(model: Model) -> list[str]:
    """The residual-stream stages the logit lens reads, in forward order.

    Pre-LN (GPT-2) and norm-free models: the stream after the embeddings (``blocks.0.resid_pre``),
    after each attention (``resid_mid``) and after each block (``resid_post``). Post-LN (BERT)
    models: the stream is only ever read normalised, so the lens reads the normalised stream after
    the embeddings (``embed_ln``), after each attention (``ln1``) and after each block (``ln2``).
    The last entry is always the stage the unembedding reads (through ``ln_final`` if any).
    """
    c = model.config
    post = c.norm == "post"
    if not c.n_layers:  # the stream the unembedding reads: embed_ln, resid_final or a lone embed
        return [model.graph["ln_final" if c.has_ln_final else "logits"].inputs[0]]
    out = ["embed_ln" if post and c.embed_norm else "blocks.0.resid_pre"]
    for layer in range(c.n_layers):
        p = f"blocks.{layer}."
        out += [p + "ln1", p + "ln2"] if post else [p + "resid_mid", p + "resid_post"]
    return out


def logit_lens(trace: Trace) -> dict[str, np.ndarray]:
    """{stage id: [pos, vocab] logits}: the model's own final norm (pre-LN models) and
    unembedding applied to the residual stream at every stage of :func:`lens_stages`.

    The last entry equals ``trace["logits"]`` (unless ``ln_final`` or ``logits`` themselves were
    intervened on: the lens applies the final norm and unembedding as the weights define them)."""
    model = _require_unembedding(trace, "the logit lens")
    c = model.config
    w_u, b_u = trace.param("unembed.W_U"), trace.param("unembed.b_U")
    out: dict[str, np.ndarray] = {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for sid in lens_stages(model):
            x = trace[sid]
            if c.has_ln_final:
                x = ops.layer_norm(x, trace.param("ln_final.w"), trace.param("ln_final.b"), c.ln_eps)
            out[sid] = ops.sealed(ops.matmul(x, w_u, b_u))
    return out


def restored_fraction(patched: float, corrupted: float, clean: float) -> float:
    """How much of the clean run's logit difference a patch brings back into the corrupted run:
    (patched − corrupted) / (clean − corrupted); 1 is all of it, 0 none. Raises
    :class:`ExperimentError` when the clean and corrupted differences are equal (nothing to restore)."""
    gap = float(clean) - float(corrupted)
    if gap == 0 or not math.isfinite(gap):
        raise ExperimentError("the clean and corrupted runs give the same logit difference: there is nothing to restore")
    return (float(patched) - float(corrupted)) / gap


def logit_difference(trace: Trace, token: int, other: int, position: int = -1) -> float:
    """``logits[position, token] - logits[position, other]``, the usual target of a patching
    sweep, from the stage the unembedding reads and two of its columns: a sweep that reads
    only this never pays for the whole [pos, vocab] unembedding of every patched run. Equal to
    the difference of ``trace["logits"]`` up to rounding (unless the logits were intervened on)."""
    model = _require_unembedding(trace, "the logit difference")
    c = model.config
    a, b = (_checked_token(t, c.vocab_size) for t in (token, other))
    pos = _checked_position(position, int(trace.ids.shape[0]))
    final = trace[model.graph["logits"].inputs[0]][pos].astype(np.float64)
    w_u, b_u = trace.param("unembed.W_U"), trace.param("unembed.b_U")
    column = w_u[:, a].astype(np.float64) - w_u[:, b].astype(np.float64)
    return float(final @ column) + float(b_u[a]) - float(b_u[b])


def _checked_token(token: Any, vocab_size: int) -> int:
    if isinstance(token, (bool, np.bool_)) or not isinstance(token, (int, np.integer)) or not 0 <= token < vocab_size:
        raise ExperimentError(f"token must be a token id in 0..{vocab_size - 1}, got {token!r}")
    return int(token)


def _checked_position(position: Any, n: int) -> int:
    if isinstance(position, (bool, np.bool_)) or not isinstance(position, (int, np.integer)) or not -n <= position < n:
        raise ExperimentError(f"position must be a whole number in 0..{n - 1} (or -{n}..-1), got {position!r}")
    return int(position) % n


class _Stream:
    """The residual stream at one position as a sum of named parts (float64 vectors)."""

    def __init__(self, trace: Trace, position: int) -> None:
        self.trace, self.pos = trace, position
        self.parts: dict[str, np.ndarray] = {}
        self.targets = {item.stage for item in trace.interventions}

    def value(self, sid: str) -> np.ndarray:
        return np.asarray(self.trace[sid][self.pos], dtype=np.float64)

    def param(self, name: str) -> np.ndarray:
        return np.asarray(self.trace.param(name), dtype=np.float64)

    def add(self, name: str, vector: np.ndarray) -> None:
        self.parts[name] = vector

    def total(self, names: Iterable[str] | None = None) -> np.ndarray:
        chosen = self.parts if names is None else {n: self.parts[n] for n in names}
        return np.sum(list(chosen.values()), axis=0)

    def sync(self, sid: str, names: Iterable[str] | None = None) -> None:
        """If ``sid`` was intervened on, add what the intervention changed as a part of its own,
        so the parts still sum to the stage's actual value."""
        if sid in self.targets:
            self.parts[f"{sid} (intervention)"] = self.value(sid) - self.total(names)

    def norm(self, sid: str, prefix: str, x: np.ndarray, eps: float) -> None:
        """A LayerNorm with its scale frozen at the actual input ``x``: a fixed linear map of every
        part (centre, divide by the frozen scale, multiply by the gain) plus its bias as a part."""
        scale = math.sqrt(float(np.mean((x - x.mean()) ** 2)) + eps)
        gain = self.param(prefix + ".w")
        for name, vector in self.parts.items():
            self.parts[name] = (vector - vector.mean()) / scale * gain
        self.parts[prefix + ".b"] = self.param(prefix + ".b")
        self.sync(sid)


def logit_attribution(trace: Trace, token: int, position: int = -1) -> dict[str, float]:
    """{part name: contribution} to ``trace["logits"][position, token]``; the parts sum to it.

    Parts: the embeddings (``embed``, ``pos_embed``, ``token_type_embed``), every head
    (``blocks.0.attn.head_out[1]``), every MLP's neurons (``blocks.0.mlp_out``, without its bias)
    and every bias (``blocks.0.attn.b_O``, ``blocks.0.mlp.b_out``, each norm's ``.b``,
    ``unembed.b_U``). Every LayerNorm on the path to the logits (the final one for pre-LN models,
    each block's for post-LN models) has its scale frozen at its actual input, which makes the
    logit a sum. A part named ``"<stage> (intervention)"`` holds what an ablation or patch of a
    stream stage changed.
    """
    model = _require_unembedding(trace, "logit attribution")
    c = model.config
    token = _checked_token(token, c.vocab_size)
    s = _Stream(trace, _checked_position(position, int(trace.ids.shape[0])))
    graph = model.graph
    embeds = [sid for sid in ("embed", "pos_embed", "token_type_embed") if sid in graph]
    for sid in embeds:
        s.add(sid, s.value(sid))
    if c.embed_norm:
        s.norm("embed_ln", "embed_ln", s.total(), c.ln_eps)
    for layer in range(c.n_layers):
        p, a = f"blocks.{layer}.", f"blocks.{layer}.attn."
        s.sync(p + "resid_pre")
        heads = trace[a + "head_out"][:, s.pos]
        attn = [f"{a}head_out[{h}]" for h in range(c.n_heads)] + [a + "b_O"]
        for h in range(c.n_heads):
            s.add(attn[h], np.asarray(heads[h], dtype=np.float64))
        s.add(a + "b_O", s.param(a + "b_O"))
        s.sync(p + "attn_out", attn)
        s.sync(p + "resid_mid")
        if c.norm == "post":
            s.norm(p + "ln1", p + "ln1", s.value(p + "resid_mid"), c.ln_eps)
        b_out = s.param(p + "mlp.b_out")
        s.add(p + "mlp_out", s.value(p + "mlp_out") - b_out)
        s.add(p + "mlp.b_out", b_out)
        s.sync(p + "resid_post")
        if c.norm == "post":
            s.norm(p + "ln2", p + "ln2", s.value(p + "resid_post"), c.ln_eps)
    if "resid_final" in graph:
        s.sync("resid_final")
    if c.has_ln_final:
        s.norm("ln_final", "ln_final", s.value(graph["ln_final"].inputs[0]), c.ln_eps)
    column = s.param("unembed.W_U")[:, int(token)]
    out = {name: float(vector @ column) for name, vector in s.parts.items()}
    out["unembed.b_U"] = float(s.param("unembed.b_U")[int(token)])
    if "logits" in s.targets:
        out["logits (intervention)"] = float(trace["logits"][s.pos, int(token)]) - math.fsum(out.values())
    return out
