"""One forward pass of one input, evaluated lazily stage by stage.

A trace snapshots the model's parameters when it is made, so values it computes later still
belong to that moment: edits made afterwards show up only in new traces. Stages are looked up
in the model's shared cache first, so a new trace recomputes only what an edit touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np

from simulator.errors import UnknownStageError
from simulator.ops import sealed
from simulator.stages import StageSpec

if TYPE_CHECKING:
    from simulator.experiments import Intervention, Plan
    from simulator.model import Model


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
        self._intervention_keys: Mapping[str, tuple] = plan.keys if plan is not None else {}

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
    def cache_key(self, stage_id: str) -> tuple:
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

    def _intervened(self, stage_id: str, spec: StageSpec, key: tuple, own: tuple) -> np.ndarray:
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

