"""A transformer: configuration, named parameters, tokeniser, labels, and a stage cache.

Parameters are never changed in place: an edit replaces the tensor with an edited copy and
gives it a new version number. Traces keep the arrays they were made with, and the cache key
of every stage lists the versions of exactly the parameters it depends on, so an edit makes
only the downstream stages stale.
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from simulator import experiments
from simulator.config import ModelConfig
from simulator.errors import ConfigError, ParamError, TextError, UnknownStageError, json_kind
from simulator.ops import sealed
from simulator.stages import OPTIONS, PER_HEAD_PROJECTION, StageSpec, build_graph, param_axes, param_shapes
from simulator.tokenizer import Encoding, Tokenizer
from simulator.trace import Trace

Index = int | slice | tuple[int | slice, ...] | None


@dataclass(frozen=True)
class ModelLabels:
    """Optional names the GUI puts on axes instead of bare indices."""

    #: one name per embedding dimension
    dims: tuple[str, ...] | None = None
    #: per layer, one name per MLP neuron
    neurons: tuple[tuple[str, ...], ...] | None = None
    #: per layer, one name per attention head
    heads: tuple[tuple[str, ...], ...] | None = None

    def validate(self, config: ModelConfig) -> None:
        if self.dims is not None and len(self.dims) != config.d_model:
            raise ConfigError(f"{len(self.dims)} dimension names given for d_model {config.d_model}")
        for what, table, size in (("neuron", self.neurons, config.d_mlp), ("head", self.heads, config.n_heads)):
            if table is None:
                continue
            if len(table) != config.n_layers:
                raise ConfigError(f"{what} names given for {len(table)} layers; the model has {config.n_layers}")
            for layer, names in enumerate(table):
                if len(names) != size:
                    raise ConfigError(f"layer {layer} has {len(names)} {what} names; expected {size}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dims": list(self.dims) if self.dims is not None else None,
            "neurons": [list(n) for n in self.neurons] if self.neurons is not None else None,
            "heads": [list(h) for h in self.heads] if self.heads is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "ModelLabels":
        """Build from JSON, raising a :class:`ConfigError` that names a field of the wrong type."""
        data = _json_object(data, "labels")

        def names(value: Any, where: str) -> tuple[str, ...]:
            return tuple(_json_list(value, where, str, "text"))

        def nested(key: str) -> tuple[tuple[str, ...], ...] | None:
            value = data.get(key)
            if value is None:
                return None
            rows = _json_list(value, f"labels.{key}", list, "a list of names per layer")
            return tuple(names(row, f"labels.{key}[{layer}]") for layer, row in enumerate(rows))

        dims = data.get("dims")
        return cls(
            dims=None if dims is None else names(dims, "labels.dims"),
            neurons=nested("neurons"),
            heads=nested("heads"),
        )


@dataclass(frozen=True)
class ModelInfo:
    """What a learner reads about a model: where it came from and what to try."""

    name: str = "model"
    title: str = "Model"
    description: str = ""
    suggested: tuple[str, ...] = ()
    #: stage kind (e.g. "attn.pattern") -> what to look for at that stage
    notes: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "suggested": list(self.suggested),
            "notes": dict(self.notes),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "ModelInfo":
        """Build from JSON, raising a :class:`ConfigError` that names a field of the wrong type."""
        data = _json_object(data, "info")

        def text(key: str, default: str) -> str:
            value = data.get(key, default)
            if not isinstance(value, str):
                raise ConfigError(f"info.{key} must be text, got {json_kind(value)}")
            return value

        notes = _json_object(data.get("notes"), "info.notes")
        for kind, note in notes.items():
            if not isinstance(note, str):
                raise ConfigError(f"info.notes[{kind!r}] must be text, got {json_kind(note)}")
        return cls(
            name=text("name", "model"),
            title=text("title", "Model"),
            description=text("description", ""),
            suggested=tuple(_json_list(data.get("suggested", []), "info.suggested", str, "text")),
            notes=dict(notes),
            source=text("source", ""),
        )


def _json_object(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object (None counts as empty), else a :class:`ConfigError`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a JSON object, got {json_kind(value)}")
    return value


def _json_list(value: Any, where: str, item: type, item_name: str) -> list[Any]:
    """``value`` if it is a JSON list of ``item``, else a :class:`ConfigError` naming the entry."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where} must be a list, got {json_kind(value)}")
    for index, entry in enumerate(value):
        if not isinstance(entry, item):
            raise ConfigError(f"{where}[{index}] must be {item_name}, got {json_kind(entry)}")
    return list(value)


@dataclass(frozen=True)
class _Deps:
    """Transitive parameters and options a stage depends on."""

    params: tuple[str, ...]
    options: tuple[str, ...]


class Model:
    """A transformer you can trace and edit. See the package docstring for the public API."""

    def __init__(
        self,
        config: ModelConfig,
        params: Mapping[str, Any],
        tokenizer: Tokenizer,
        labels: ModelLabels | None = None,
        info: ModelInfo | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        """``adopt=True`` hands the parameter arrays over: arrays that own their memory are kept
        (made read-only) instead of copied. Only for callers that keep no reference to them
        (checkpoint loaders, where a copy would double the memory and time of a large load)."""
        self.config = config
        self.tokenizer = tokenizer
        self.labels = labels or ModelLabels()
        self.labels.validate(config)
        self.info = info or ModelInfo()
        if tokenizer.vocab_size > config.vocab_size:
            raise ConfigError(
                f"the tokenizer has {tokenizer.vocab_size} tokens but the model's vocabulary has only {config.vocab_size}"
            )
        self._shapes = param_shapes(config)
        self._params: dict[str, np.ndarray] = {}
        self._load_params(params, adopt)
        self._counter = itertools.count(1)
        self._versions = {name: 0 for name in self._shapes}
        self.graph: dict[str, StageSpec] = build_graph(config)
        #: the layer of the block whose stages use each weight (absent: outside the blocks)
        self._param_layers = {name: spec.layer for spec in self.graph.values() for name in spec.params if spec.layer is not None}
        self._deps = self._dependencies()
        self._cache: dict[str, tuple[tuple[Any, ...], np.ndarray]] = {}
        #: the same for traces with interventions, kept apart so that an experiment never evicts
        #: the plain values the window and the experiment's own upstream stages reuse
        self._experiment_cache: dict[str, tuple[tuple[Any, ...], np.ndarray]] = {}
        self._ancestors: dict[str, frozenset[str]] | None = None
        self._downstream_cache: dict[str, tuple[str, ...]] = {}
        self._fused_cache: dict[str, tuple[int, np.ndarray]] = {}
        self._label_cache: dict[tuple[str, int | None, int], tuple[str, ...]] = {}
        #: ids of stages computed (not served from cache) while a :meth:`recording` is active,
        #: in order (kept only then: a long session would otherwise grow it without end)
        self.compute_log: list[str] = []
        self._recording_depth = 0

    # -- parameters --------------------------------------------------------------------------
    def _load_params(self, params: Mapping[str, Any], adopt: bool) -> None:
        unknown = sorted(set(params) - set(self._shapes))
        if unknown:
            raise ParamError(f"unexpected parameters for this configuration: {', '.join(unknown[:6])}")
        missing = [name for name in self._shapes if name not in params]
        if missing:
            raise ParamError(f"missing parameters: {', '.join(missing[:6])}")
        for name, shape in self._shapes.items():
            self._params[name] = self._checked(name, params[name], shape, adopt)

    def _checked(self, name: str, value: Any, shape: tuple[int, ...], adopt: bool = False) -> np.ndarray:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ParamError(f"{name}: not a numeric array ({exc})") from exc
        if arr.dtype.kind not in "fiub":
            raise ParamError(f"{name}: values must be numbers, got {arr.dtype}")
        if arr.shape != shape:
            raise ParamError(f"{name} must have shape {_fmt_shape(shape)}, got {_fmt_shape(arr.shape)}")
        with np.errstate(over="ignore"):
            cast = arr.astype(self.config.np_dtype, copy=False)
        if not np.all(np.isfinite(cast)):
            raise ParamError(f"{name} contains NaN or infinite values (or values too large for {self.config.dtype})")
        # A converted array is already a private copy. Anything else the caller still holds
        # (even read-only: the owner of memory can switch it writable again) is copied, unless
        # the caller hands the array over (``adopt``: a loader that keeps no reference).
        if cast is arr and not (adopt and arr.base is None):
            cast = arr.copy()
        return sealed(cast)

    @property
    def params(self) -> Mapping[str, np.ndarray]:
        """Read-only mapping from parameter name to read-only array.

        The arrays are read-only views of read-only memory (see :func:`simulator.ops.sealed`), so
        they cannot be switched writable again."""
        return MappingProxyType(self._params)

    def param_shape(self, name: str) -> tuple[int, ...]:
        self._require_param(name)
        return self._shapes[name]

    def param_version(self, name: str) -> int:
        self._require_param(name)
        return self._versions[name]

    def _require_param(self, name: str) -> None:
        if name not in self._shapes:
            close = [n for n in self._shapes if n.split(".")[-1] == name.split(".")[-1]][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ParamError(f"no parameter named {name!r}{hint}")

    def set_param(self, name: str, value: Any, index: Index = None) -> None:
        """Replace a whole tensor (``index=None``), or one entry or slice of it.

        Non-finite values, wrong shapes, bad indices and unknown names are rejected with a
        :class:`ParamError` and leave the model unchanged.
        """
        self._require_param(name)
        shape = self._shapes[name]
        if index is None:
            new = self._checked(name, value, shape)
        else:
            new = self._params[name].copy(order="K")  # keep the memory order: no slow transposing copy
            try:
                target_shape = new[index].shape
            except (IndexError, TypeError) as exc:
                raise ParamError(f"{name}{_fmt_index(index)} is not a valid index for shape {_fmt_shape(shape)}") from exc
            try:
                arr = np.asarray(value)
            except (TypeError, ValueError) as exc:
                raise ParamError(f"{name}: not a numeric value ({exc})") from exc
            if arr.dtype.kind not in "fiub":
                raise ParamError(f"{name}: values must be numbers, got {arr.dtype}")
            with np.errstate(over="ignore"):
                cast = arr.astype(self.config.np_dtype)
            if not np.all(np.isfinite(cast)):
                limit = np.finfo(self.config.np_dtype).max
                raise ParamError(
                    f"{name}{_fmt_index(index)}: value must be a finite number "
                    f"(NaN, infinity and values beyond ±{limit:.3g} are not allowed)"
                )
            try:
                new[index] = np.broadcast_to(cast, target_shape)
            except ValueError as exc:
                raise ParamError(
                    f"{name}{_fmt_index(index)} needs shape {_fmt_shape(target_shape)}, got {_fmt_shape(cast.shape)}"
                ) from exc
            new = sealed(new)
        self._params[name] = new
        self._versions[name] = next(self._counter)

    def _snapshot(self) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        return dict(self._params), dict(self._versions)

    def _fused(self, name: str, version: int, weight: np.ndarray) -> np.ndarray:
        cached = self._fused_cache.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        n_heads, d_model, d_head = weight.shape
        fused = sealed(np.ascontiguousarray(weight.transpose(1, 0, 2).reshape(d_model, n_heads * d_head)))
        if version == self._versions.get(name):
            self._fused_cache[name] = (version, fused)
        return fused

    # -- stages --------------------------------------------------------------------------------
    def stage_ids(self) -> list[str]:
        """Every stage id, in forward order."""
        return list(self.graph)

    def stage_spec(self, stage_id: str) -> StageSpec:
        spec = self.graph.get(stage_id)
        if spec is None:
            raise UnknownStageError(self._unknown_stage_message(stage_id))
        return spec

    def param_layer(self, name: str) -> int | None:
        """The layer of the block whose stages use a weight (None outside the blocks), read from
        the graph rather than parsed out of the name; for labelling the weight's axes."""
        return self._param_layers.get(name)

    def _unknown_stage_message(self, stage_id: str) -> str:
        hint = ""
        if stage_id.startswith("blocks."):
            parts = stage_id.split(".")
            if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) >= self.config.n_layers:
                hint = f" (the model has {self.config.n_layers} layers: 0..{self.config.n_layers - 1})"
        return f"unknown stage {stage_id!r}{hint}"

    def downstream(self, stage_or_param: str) -> list[str]:
        """Stage ids whose value depends on a parameter, option or stage, in forward order."""
        out = []
        for sid, deps in self._deps.items():
            if stage_or_param in deps.params or stage_or_param in deps.options or stage_or_param == sid:
                out.append(sid)
            elif stage_or_param in self.graph and self._depends_on_stage(sid, stage_or_param):
                out.append(sid)
        return out

    def _depends_on_stage(self, sid: str, target: str) -> bool:
        stack = list(self.graph[sid].inputs)
        seen: set[str] = set()
        while stack:
            cur = stack.pop()
            if cur == target:
                return True
            if cur not in seen:
                seen.add(cur)
                stack.extend(self.graph[cur].inputs)
        return False

    def _stage_downstream(self, stage_id: str) -> tuple[str, ...]:
        """The stage and every stage computed from it, in forward order (what
        :meth:`downstream` gives for a stage, from ancestor sets built once: interventions ask
        this for every run of a patching sweep)."""
        cached = self._downstream_cache.get(stage_id)
        if cached is None:
            if self._ancestors is None:
                ancestors: dict[str, frozenset[str]] = {}
                for sid, spec in self.graph.items():  # forward order: inputs are already done
                    ancestors[sid] = frozenset().union(*(ancestors[i] | {i} for i in spec.inputs))
                self._ancestors = ancestors
            cached = tuple(sid for sid, up in self._ancestors.items() if sid == stage_id or stage_id in up)
            self._downstream_cache[stage_id] = cached
        return cached

    def _dependencies(self) -> dict[str, _Deps]:
        deps: dict[str, _Deps] = {}
        for sid, spec in self.graph.items():  # forward order: inputs are already done
            params = set(spec.params)
            options = set(spec.options)
            for inp in spec.inputs:
                params.update(deps[inp].params)
                options.update(deps[inp].options)
            order = [p for p in self._shapes if p in params]
            deps[sid] = _Deps(tuple(order), tuple(o for o in OPTIONS if o in options))
        return deps

    def _cache_get(self, stage_id: str, key: tuple[Any, ...], experiment: bool = False) -> np.ndarray | None:
        hit = (self._experiment_cache if experiment else self._cache).get(stage_id)
        if hit is not None and hit[0] == key:
            return hit[1]
        return None

    def _cache_put(self, stage_id: str, key: tuple[Any, ...], value: np.ndarray, experiment: bool = False) -> None:
        if self._recording_depth:
            self.compute_log.append(stage_id)
        (self._experiment_cache if experiment else self._cache)[stage_id] = (key, value)

    def clear_cache(self) -> None:
        """Forget every computed stage. Weights already laid out for one product per projection
        stay: they belong to a weight version, so an edit replaces them anyway."""
        self._cache.clear()
        self._experiment_cache.clear()

    def prepare_weights(self) -> None:
        """Lay out every per-head Q/K/V weight as one matrix now rather than during the first
        pass (a checkpoint loader calls this on its worker thread, so the first jump deep into a
        large model is not slowed by it)."""
        for name, weight in self._params.items():
            if param_axes(name) == PER_HEAD_PROJECTION and weight.ndim == 3:
                self._fused(name, self._versions[name], weight)

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """Collect the ids of the stages actually computed inside the ``with`` block."""
        start = len(self.compute_log)
        computed: list[str] = []
        self._recording_depth += 1
        try:
            yield computed
        finally:
            self._recording_depth -= 1
            computed.extend(self.compute_log[start:])
            del self.compute_log[start:]

    # -- input ---------------------------------------------------------------------------------
    def encode(self, text: str) -> Encoding:
        """Tokenise, rejecting empty text and text longer than the context window."""
        if not isinstance(text, str):
            raise TextError(f"text must be a string, got {type(text).__name__}")
        if not text.strip():
            raise TextError("the text is empty: type at least one word")
        enc = self.tokenizer.encode(text)
        if not enc.ids:
            raise TextError("the text has no tokens this model can read")
        if len(enc.ids) > self.config.n_ctx:
            raise TextError(
                f"the text has {len(enc.ids)} tokens; this model reads at most {self.config.n_ctx} (its context length)"
            )
        return enc

    def trace(
        self,
        text_or_ids: str | Sequence[int] | np.ndarray,
        temperature: float = 1.0,
        causal: bool | None = None,
        scale_scores: bool | None = None,
        token_types: Sequence[int] | None = None,
        interventions: Sequence[Any] | None = None,
    ) -> Trace:
        """Prepare a forward pass; stages are computed when first read.

        ``interventions``: ablations and patches (:mod:`simulator.experiments`) applied as the
        stages they target are computed; they are checked here, against this input."""
        if isinstance(text_or_ids, str):
            enc = self.encode(text_or_ids)
            ids = np.asarray(enc.ids, dtype=np.int64)
            tokens, unknown, unknown_text = enc.tokens, enc.unknown, enc.unknown_text
        else:
            ids = self._checked_ids(text_or_ids)
            tokens = tuple(self.token_text(int(i)) for i in ids)
            unknown, unknown_text = (), ()
        ids = sealed(ids)
        options = {
            "temperature": _checked_temperature(temperature, self.config.np_dtype),
            "causal": self.config.causal if causal is None else bool(causal),
            "scale_scores": self.config.scale_scores if scale_scores is None else bool(scale_scores),
        }
        types = self._checked_token_types(token_types, ids.shape[0])
        checked = experiments.plan(self, interventions, int(ids.shape[0]))
        return Trace(self, ids, tokens, unknown, options, types, unknown_text, checked)

    def _checked_ids(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        try:
            arr = np.asarray(ids)
        except (TypeError, ValueError) as exc:
            raise TextError(f"token ids must be a list of whole numbers ({exc})") from exc
        if arr.ndim != 1:
            raise TextError("token ids must be a flat list of whole numbers")
        if arr.size == 0:
            raise TextError("no token ids given: give at least one")
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise TextError("token ids must be whole numbers")
        if arr.size > self.config.n_ctx:
            raise TextError(f"{arr.size} token ids given; this model reads at most {self.config.n_ctx}")
        bad = arr[(arr < 0) | (arr >= self.config.vocab_size)]
        if bad.size:
            raise TextError(f"token id {int(bad[0])} is outside the vocabulary (0..{self.config.vocab_size - 1})")
        return arr.astype(np.int64)

    def _checked_token_types(self, token_types: Sequence[int] | None, n: int) -> np.ndarray:
        if token_types is None:
            return sealed(np.zeros(n, dtype=np.int64))
        try:
            arr = np.array(token_types, dtype=np.int64)  # a private copy: the caller may reuse its buffer
        except (TypeError, ValueError, OverflowError) as exc:
            raise TextError(f"token types must be whole numbers ({exc})") from exc
        limit = max(self.config.n_token_types, 1)
        if arr.shape != (n,) or np.any(arr < 0) or np.any(arr >= limit):
            raise TextError(f"token types must be {n} values in 0..{limit - 1}")
        return sealed(arr)

    # -- labels ----------------------------------------------------------------------------------
    def token_text(self, token_id: int) -> str:
        """The tokeniser's piece for ``token_id``, or ``#id`` for an embedding row it has no
        piece for (padded vocabularies: the embedding may have more rows than pieces)."""
        if self.tokenizer.vocab_size <= token_id < self.config.vocab_size:
            return f"#{token_id}"
        return self.tokenizer.id_to_token(token_id)

    def decode(self, ids: Sequence[int]) -> str:
        """Text for token ids; ids beyond the tokeniser's pieces read as ``#id``."""
        ids = [int(i) for i in ids]
        if all(i < self.tokenizer.vocab_size for i in ids):
            return self.tokenizer.decode(ids)
        return " ".join(self.tokenizer.decode([i]) if i < self.tokenizer.vocab_size else f"#{i}" for i in ids)

    def axis_labels(self, axis: str, layer: int | None, size: int) -> tuple[str, ...]:
        """Tick labels for a non-token axis (dimension, neuron, head and vocabulary names)."""
        key = (axis, layer, size)
        cached = self._label_cache.get(key)
        if cached is None:
            cached = self._make_labels(axis, layer, size)
            self._label_cache[key] = cached
        return cached

    def _make_labels(self, axis: str, layer: int | None, size: int) -> tuple[str, ...]:
        lab = self.labels
        if axis == "d_model" and lab.dims is not None:
            return lab.dims[:size]
        if axis == "d_mlp" and lab.neurons is not None and layer is not None:
            return lab.neurons[layer][:size]
        if axis == "head":
            if lab.heads is not None and layer is not None:
                return lab.heads[layer][:size]
            return tuple(f"head {h}" for h in range(size))
        if axis == "vocab":
            return tuple(self.tokenizer.display(self.tokenizer.id_to_token(i)) for i in range(min(size, self.tokenizer.vocab_size))) + tuple(
                f"#{i}" for i in range(self.tokenizer.vocab_size, size)
            )
        return tuple(str(i) for i in range(size))

    # -- misc ------------------------------------------------------------------------------------
    def n_params(self) -> int:
        return int(sum(math.prod(s) for s in self._shapes.values()))

    def __repr__(self) -> str:
        c = self.config
        return (
            f"<Model {self.info.name!r}: {c.n_layers} layers, d_model {c.d_model}, {c.n_heads} heads, "
            f"vocab {c.vocab_size}, {self.n_params():,} parameters>"
        )


def _checked_temperature(value: Any, dtype: np.dtype) -> float:
    """A positive finite temperature that stays positive and finite in the model's dtype.

    Logits are divided by T in that dtype: a T that rounds to 0 there makes 0/0 = NaN in every
    probability, and one that overflows to infinity makes every probability the same NaN-prone
    limit, so both are refused rather than drawn as a masked panel.
    """
    try:
        t = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TextError(f"temperature must be a number, got {value!r}") from exc
    if not math.isfinite(t) or t <= 0:
        raise TextError(f"temperature must be a positive number, got {value!r}")
    info = np.finfo(dtype)
    name = np.dtype(dtype).name
    if t < float(info.tiny):
        raise TextError(f"temperature {t:.3g} is too small for this model's {name} numbers (at least {float(info.tiny):.3g})")
    if t > float(info.max):
        raise TextError(f"temperature {t:.3g} is too large for this model's {name} numbers (at most {float(info.max):.3g})")
    return t


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _fmt_index(index: Index) -> str:
    if isinstance(index, tuple):
        return "[" + ", ".join(_fmt_one(i) for i in index) + "]"
    return "[" + _fmt_one(index) + "]"


def _fmt_one(i: Any) -> str:
    if isinstance(i, slice):
        start = "" if i.start is None else str(i.start)
        stop = "" if i.stop is None else str(i.stop)
        return f"{start}:{stop}"
    return str(i)
