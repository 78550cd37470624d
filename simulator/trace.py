"""One forward pass of one input, evaluated lazily stage by stage.

A trace snapshots the model's parameters when it is made, so values it computes later still
belong to that moment: edits made afterwards show up only in new traces. Stages are looked up
in the model's shared cache first, so a new trace recomputes only what an edit touched.
"""

from __future__ import annotations

from dataclasses import dataclass
import copy
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from simulator import ops
from simulator.errors import UnknownStageError
from simulator.ops import sealed
from simulator.stages import StageSpec

if TYPE_CHECKING:
    from simulator.experiments import Intervention, Plan
    from simulator.model import Model

#: where :meth:`Trace.next_token_probs` keeps its row in the model's cache and compute log (not a
#: stage id: no stage has this name, so it never shadows one)
NEXT_TOKEN_PROBS = "probs[-1]"
#: up to this many entries (positions × vocabulary) :meth:`Trace.next_token_probs` computes the
#: whole ``probs`` stage: it costs microseconds, and its row then equals the stage bit for bit
#: (a one-row matrix product may round differently from the same row of a full one)
FULL_PROBS_LIMIT = 1 << 16


@dataclass(frozen=True)
class Stage:
    """A stage's description together with its data for one trace."""

    spec: StageSpec
    data: np.ndarray
    #: one tuple of tick labels per axis of ``data`` (token strings on position axes)
    axis_labels: tuple[tuple[str, ...], ...]
    #: e.g. "[head 2 × query_pos 4 × key_pos 4]"
    shape_text: str

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def equation(self) -> str:
        return self.spec.equation

    @property
    def axes(self) -> tuple[str, ...]:
        return self.spec.axes


class Trace(Mapping[str, np.ndarray]):
    """Read-only mapping from stage id to array, computed on first access."""

    def __init__(
        self,
        model: "Model",
        ids: np.ndarray,
        tokens: tuple[str, ...],
        unknown: tuple[int, ...],
        options: dict[str, Any],
        token_types: np.ndarray,
        unknown_text: tuple[str, ...] = (),
        plan: Plan | None = None,
    ) -> None:
        self.model = model
        self.ids = ids  # sealed by the model: the caller cannot switch them writable
        self.tokens = tokens
        self.unknown = unknown
        #: what was typed at each unknown position (same order as ``unknown``)
        self.unknown_text = unknown_text
        self.token_types = token_types
        self._options = dict(options)
        self._params, self._versions = model._snapshot()
        self._values: dict[str, np.ndarray] = {}
        self._input_key = (ids.tobytes(), token_types.tobytes())
        self._plan = plan
        #: the trace a rerun shares its stages upstream of the interventions with
        self._base: Trace | None = None
        #: stage id -> extra cache key naming the interventions at or upstream of the stage
        self._intervention_keys: Mapping[str, tuple[Any, ...]] = plan.keys if plan is not None else {}

    # -- Mapping -----------------------------------------------------------------------------
    def __getitem__(self, stage_id: str) -> np.ndarray:
        """The stage's value: a read-only view of a read-only array (it is shared with other
        traces through the model's cache, so it must not be switchable writable)."""
        value = self._values.get(stage_id)
        if value is None:
            value = self._compute(stage_id)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.model.graph)

    def __len__(self) -> int:
        return len(self.model.graph)

    def __contains__(self, stage_id: object) -> bool:
        return stage_id in self.model.graph

    def computed(self, stage_id: str) -> np.ndarray | None:
        """The stage's value if this trace has already computed it, else None (never computes:
        for views that compare with an older trace without paying for a pass of it)."""
        return self._values.get(stage_id)

    def compute(
        self,
        wanted: Iterable[str],
        keep_going: Callable[[], bool] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> bool:
        """Compute the stages in ``wanted`` (stage ids, or :data:`NEXT_TOKEN_PROBS`) and every
        stage they need, one stage at a time in forward order; True when all are done.

        For a long pass on a worker thread: ``keep_going()`` is asked before each stage (False
        stops early, e.g. when a newer edit made this trace obsolete) and ``progress(done, total)``
        is told after each. The values are the same as reading the stages one by one; a trace
        may be read from another thread meanwhile (each stage is written once, whole, and two
        threads computing the same stage compute the same value).
        """
        graph = self.model.graph
        wanted = list(wanted)
        for sid in wanted:
            if sid != NEXT_TOKEN_PROBS and sid not in graph:
                raise UnknownStageError(self.model._unknown_stage_message(sid))
        roots = [sid for sid in wanted if sid != NEXT_TOKEN_PROBS]
        last_row = NEXT_TOKEN_PROBS in wanted and "probs" in graph
        if last_row:
            roots.append(graph["logits"].inputs[0])
        needed: set[str] = set()
        while roots:
            sid = roots.pop()
            if sid not in needed:
                needed.add(sid)
                roots.extend(graph[sid].inputs)
        order = [sid for sid in graph if sid in needed]
        total = len(order) + int(last_row)
        for done, sid in enumerate(order, 1):
            if keep_going is not None and not keep_going():
                return False
            self[sid]
            if progress is not None:
                progress(done, total)
        if last_row:
            if keep_going is not None and not keep_going():
                return False
            self.next_token_probs()
            if progress is not None:
                progress(total, total)
        return True

    def trimmed(self, keep: Iterable[str]) -> "Trace":
        """The same pass (input, options, parameter snapshot) holding only the values of the
        stages in ``keep`` that this trace has computed; any other stage is computed again from
        the snapshot when read, so every value is still this trace's.

        For an older trace kept for comparison: its snapshot shares the parameter arrays (edits
        replace tensors rather than change them), so a trimmed trace costs little memory.
        """
        keep = set(keep)
        clone = copy.copy(self)
        values = dict(self._values)  # one step: a worker thread may be adding to it
        clone._values = {sid: value for sid, value in values.items() if sid in keep}
        return clone

    def forget(self, keep: Iterable[str]) -> None:
        """Let go of every computed value except those of the stages in ``keep``; a stage let go
        is computed again from the parameter snapshot if read (the same value, at its cost).

        For a trace still on screen while a newer one is computed: holding both whole would
        double the memory of a long pass.
        """
        keep = set(keep)
        for sid in [sid for sid in list(self._values) if sid not in keep]:
            self._values.pop(sid, None)

    def next_token_probs(self) -> np.ndarray:
        """The last row of ``probs``: the model's next-token distribution after the sentence.

        Read-only, [vocab]. When this trace (or the cache) already holds the whole ``probs`` stage,
        or that stage is small (:data:`FULL_PROBS_LIMIT`), its last row is returned. Otherwise only
        the last row of the final residual is unembedded and normalised, as
        ``softmax((x[-1] · W_U + b_U) / T)``: one position instead of all of them (for a
        GPT-2-sized vocabulary and a long sentence the full ``logits`` and ``probs`` are the two
        largest stages of the pass). That value equals the last row of the full stage up to the
        rounding of a one-row matrix product.
        """
        if "probs" not in self.model.graph:
            raise UnknownStageError(self.model._unknown_stage_message("probs"))
        full = self._values.get("probs")
        key = self.cache_key("probs")
        if full is None:
            full = self.model._cache_get("probs", key)
        if full is None and self.ids.shape[0] * self.model.config.vocab_size <= FULL_PROBS_LIMIT:
            full = self["probs"]
        if full is not None:
            return full[-1]
        value = self.model._cache_get(NEXT_TOKEN_PROBS, key)
        if value is None:
            final = self[self.model.graph["logits"].inputs[0]][-1:]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                logits = ops.matmul(final, self._params["unembed.W_U"], self._params["unembed.b_U"])
                value = sealed(np.asarray(ops.softmax(logits, temperature=self._options["temperature"])[0]))
            self.model._cache_put(NEXT_TOKEN_PROBS, key, value)
        return value

    # -- what stages ask for -----------------------------------------------------------------
    def param(self, name: str) -> np.ndarray:
        return self._params[name]

    def option(self, name: str) -> Any:
        return self._options[name]

    def fused(self, name: str) -> np.ndarray:
        """A [head, d_model, d_head] weight laid out as one [d_model, head·d_head] matrix."""
        return self.model._fused(name, self._versions[name], self._params[name])

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    @property
    def text(self) -> str:
        return self.model.decode(self.ids.tolist())

    def stage_ids(self) -> list[str]:
        return list(self.model.graph)

    def param_version(self, name: str) -> int:
        return self._versions[name]

    @property
    def interventions(self) -> tuple[Intervention, ...]:
        """The ablations and patches this trace was made with (see :mod:`simulator.experiments`)."""
        return self._plan.interventions if self._plan is not None else ()

    # -- evaluation --------------------------------------------------------------------------
    def cache_key(self, stage_id: str) -> tuple[Any, ...]:
        """Everything the stage's value depends on: input, options and parameter versions."""
        deps = self.model._deps[stage_id]
        key = (  # map() rather than generators: this runs for every stage of every trace
            self._input_key,
            tuple(map(self._options.__getitem__, deps.options)),
            tuple(map(self._versions.__getitem__, deps.params)),
        )
        extra = self._intervention_keys.get(stage_id)
        return key if extra is None else key + (extra,)

    def _compute(self, stage_id: str) -> np.ndarray:
        spec = self.model.graph.get(stage_id)
        if spec is None:
            raise UnknownStageError(self.model._unknown_stage_message(stage_id))
        experiment = stage_id in self._intervention_keys
        base = self._base
        if base is not None and not experiment and stage_id not in base._intervention_keys:
            shared = self._values[stage_id] = base[stage_id]  # the same value: shared, not recomputed
            return shared
        key = self.cache_key(stage_id)
        value = self.model._cache_get(stage_id, key, experiment)
        if value is None:
            own = self._plan.at.get(stage_id) if self._plan is not None else None
            value = self._evaluate(spec) if own is None else self._intervened(stage_id, spec, key, own)
            value = sealed(value)
            self.model._cache_put(stage_id, key, value, experiment)
        self._values[stage_id] = value
        return value

    def _evaluate(self, spec: StageSpec) -> np.ndarray:
        inputs = [self[i] for i in spec.inputs]
        # Huge (finite) weights may overflow to ±inf or give NaN downstream; that is the
        # value the user asked for and what every view shows, not a warning for stderr.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return np.asarray(spec.compute(self, inputs))

    def _intervened(self, stage_id: str, spec: StageSpec, key: tuple[Any, ...], own: tuple[Any, ...]) -> np.ndarray:
        """The stage's value with its own interventions applied, in order, to the value it has
        before them (a plain trace's cached value when nothing upstream was intervened on)."""
        assert self._plan is not None
        raw = None
        if stage_id not in self._plan.upstream_keys:
            raw = self.model._cache_get(stage_id, key[:3])
        if raw is None:
            raw = self._evaluate(spec)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for item in own:
                raw = item.apply(self, raw)
        return raw

    def _rerun(self, plan: Plan | None) -> Trace:
        """This trace's input, options and weights with other interventions; stages not
        downstream of any of them are shared with this trace (see ``experiments.rerun``)."""
        other = Trace.__new__(Trace)
        other.__dict__.update(self.__dict__)
        other._options = dict(self._options)
        other._plan = plan
        other._intervention_keys = plan.keys if plan is not None else {}
        other._values = {}
        other._base = self
        return other

    def stage(self, stage_id: str) -> Stage:
        """The stage with its data, axis labels and a shape description."""
        data = self[stage_id]
        spec = self.model.graph[stage_id]
        labels = tuple(
            self.axis_labels(axis, spec.layer, size) for axis, size in zip(spec.axes, data.shape)
        )
        shape_text = "[" + " × ".join(f"{a} {n}" for a, n in zip(spec.axes, data.shape)) + "]"
        return Stage(spec, data, labels, shape_text)

    @property
    def token_labels(self) -> tuple[str, ...]:
        """One label per position: the readable piece, and for an unknown word what was typed
        after it ("<unk> cash"), so several unknown words are told apart."""
        display = self.model.tokenizer.display
        labels = [display(t) for t in self.tokens]
        for pos, typed in zip(self.unknown, self.unknown_text):
            if 0 <= pos < len(labels) and typed and typed != labels[pos]:
                labels[pos] = f"{labels[pos]} {typed}"
        return tuple(labels)

    def axis_labels(self, axis: str, layer: int | None, size: int) -> tuple[str, ...]:
        if axis in ("pos", "query_pos", "key_pos"):
            return self.token_labels[:size]
        return self.model.axis_labels(axis, layer, size)

    @property
    def dims(self) -> dict[str, int]:
        """Sizes by name, for filling shape templates such as "({pos}×{d_model})"."""
        c = self.model.config
        return {
            "pos": int(self.ids.shape[0]),
            "d_model": c.d_model,
            "d_head": c.d_head,
            "n_heads": c.n_heads,
            "d_mlp": c.d_mlp,
            "vocab": c.vocab_size,
        }

