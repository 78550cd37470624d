"""The app's single source of truth: which model, which sentence, which stage, which options.

Views read from the state and subscribe to its signals; they never change it directly but go
through commands (:mod:`ui.commands`) on the state's undo stack, or through navigation methods
(stepping and hovering are not edits, so they are not undoable). The state asks the engine for
every number; it does no maths itself.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from simulator import experiments as ex
from simulator.errors import SimulatorError
from simulator.model import Model
from simulator.trace import Trace

LAYOUT_ROWS = "rows"  #: queries are rows, as in papers and code
LAYOUT_COLUMNS = "columns"  #: queries are columns, as in 3Blue1Brown's videos

#: a pass whose tokens × d_model × layers is above this runs on a worker thread (GPT-2 small from
#: about 230 tokens; every toy and teaching model stays on the GUI thread, synchronous)
BACKGROUND_COST = 1 << 21


@dataclass(frozen=True)
class ViewOptions:
    """How things are drawn; none of these change any number."""

    layout: str = LAYOUT_ROWS
    show_numbers: bool = True
    high_contrast: bool = False
    #: blue–orange and white-to-purple maps that read with red–green colour blindness (else
    #: the classic blue–red); high contrast takes precedence
    colour_blind_safe: bool = True
    show_difference: bool = False


#: how a part can be switched off: its values set to zero, or to their mean over the sentence
SWITCH_MODES = ex.MODES


@dataclass(frozen=True)
class Switch:
    """One switched-off part of the model, as an ablation the engine applies to every trace:
    one head (its weighted values ``blocks.L.attn.z``, ``head=h``), one MLP neuron
    (``blocks.L.mlp.post``, ``index=n``) or a whole MLP (``blocks.L.mlp.post``, no index)."""

    stage: str
    head: int | None = None
    index: int | None = None
    mode: str = "zero"

    @property
    def part(self) -> tuple[str, int | None, int | None]:
        """Which part is switched off, whatever the mode (at most one switch per part)."""
        return (self.stage, self.head, self.index)

    def intervention(self) -> ex.Ablate:
        """The engine's ablation for this switch."""
        return ex.Ablate(self.stage, head=self.head, index=self.index, mode=self.mode)

    def describe(self, model: Model) -> str:
        """E.g. "head 1 of block 0" (the model's name for the head) or "neuron 5 of block 1's MLP"."""
        layer = model.graph[self.stage].layer if self.stage in model.graph else None
        if self.head is not None:
            name = model.axis_labels("head", layer, model.config.n_heads)[self.head]
            return f"{name} of block {layer}"
        if self.index is not None:
            return f"neuron {self.index} of block {layer}'s MLP"
        return f"the MLP of block {layer}"


def head_switch(layer: int, head: int, mode: str = "zero") -> Switch:
    """Switch off head ``head`` of block ``layer``."""
    return Switch(f"blocks.{layer}.attn.z", head=head, mode=mode)


def neuron_switch(layer: int, neuron: int | None, mode: str = "zero") -> Switch:
    """Switch off MLP neuron ``neuron`` of block ``layer`` (None: the whole MLP)."""
    return Switch(f"blocks.{layer}.mlp.post", index=neuron, mode=mode)


@dataclass(frozen=True)
class Snapshot:
    """Everything a model switch changes, so that undoing it can put it all back."""

    model: Model
    text: str
    options: dict[str, Any]
    stage: str
    head: int
    ablations: tuple[Switch, ...] = ()


@dataclass(frozen=True)
class ModelPlan:
    """A model switch worked out before it is made: the sentence, run options and trace it
    will install (see :meth:`AppState.plan_model`)."""

    model: Model
    text: str
    options: dict[str, Any]
    trace: Trace


@dataclass(frozen=True)
class Hover:
    """The cell under the mouse: which panel, which data indices, and a readable description."""

    panel: str
    source: str
    index: tuple[int, ...]
    text: str


class AppState(QObject):
    """Model, sentence, run options, current stage and head, view options, hover."""

    model_changed = Signal()
    trace_changed = Signal()
    stage_changed = Signal(str)
    head_changed = Signal(int)
    view_changed = Signal()
    hover_changed = Signal(object)
    text_error_changed = Signal(str)
    message = Signal(str)
    #: the set of switched-off parts changed (the trace changes with it)
    ablations_changed = Signal()
    #: a long pass started (True) or ended (False) on the worker thread
    busy_changed = Signal(bool)
    #: stages done and to do of the long pass being computed
    progress = Signal(int, int)
    #: from the worker thread (queued to the GUI thread): generation, trace, finished
    _background_done = Signal(int, object, bool)
    _background_progress = Signal(int, int, int)

    def __init__(self, model: Model, text: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._model = model
        self._options: dict[str, Any] = {
            "causal": model.config.causal,
            "scale_scores": model.config.scale_scores,
            "temperature": 1.0,
        }
        self._view = ViewOptions()
        self._head = 0
        self._hover: Hover | None = None
        self._text_error = ""
        self._baseline: Trace | None = None
        #: the switched-off parts, part of every trace the state makes (see :class:`Switch`)
        self._ablations: tuple[Switch, ...] = ()
        #: the current trace without the switched-off parts, made when first asked for
        self._plain: tuple[Trace, Trace] | None = None
        #: passes costlier than this (tokens × d_model × layers) are computed on a worker thread
        self.background_cost = BACKGROUND_COST
        #: the trace a worker is computing, to be installed when done (None: nothing in flight)
        self._pending: Trace | None = None
        #: bumped by every new trace: a worker's result for an older one is dropped
        self._generation = 0
        self._progress_shown = -1
        self._needs: list[weakref.WeakMethod] = []
        self._background_done.connect(self._background_finished)
        self._background_progress.connect(self._background_step)
        #: per model object: its parameters as loaded, for "reset to the preset's value"
        self._pristine: weakref.WeakKeyDictionary[Model, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
        self._remember_pristine(model)
        start_text = text if text is not None else default_text(model)
        self._text = start_text
        self._trace = self._make_trace(start_text)  # raises SimulatorError on a bad start text
        self._stage = model.stage_ids()[0]

    # -- reading -----------------------------------------------------------------------------
    @property
    def model(self) -> Model:
        return self._model

    @property
    def trace(self) -> Trace:
        return self._trace

    @property
    def ablations(self) -> tuple[Switch, ...]:
        """The switched-off parts, in the order they were switched off."""
        return self._ablations

    def ablation_for(self, part: tuple[str, int | None, int | None]) -> Switch | None:
        """The switch of ``part`` (see :attr:`Switch.part`), or None if it is on."""
        return next((s for s in self._ablations if s.part == part), None)

    @property
    def plain_trace(self) -> Trace:
        """The current trace without the switched-off parts (the trace itself when none are):
        same sentence, options and weights, so the two can be shown side by side."""
        trace = self._trace
        if not trace.interventions:
            return trace
        if self._plain is None or self._plain[0] is not trace:
            plain = ex.rerun(trace, [])
            self._plain = (trace, plain)
        return self._plain[1]

    @property
    def text(self) -> str:
        """The sentence of the current trace (the last one that could be run), or of the one
        being computed in the background (see :attr:`busy`)."""
        return self._text

    @property
    def busy(self) -> bool:
        """Whether a long pass is being computed on a worker thread; :attr:`trace` is then still
        the previous one, and is replaced (``trace_changed``) when the pass is done."""
        return self._pending is not None

    def register_needs(self, needs: Callable[[], Iterable[str]]) -> None:
        """Declare what a view will read from each new trace: ``needs()`` (a bound method, held
        weakly; asked on the GUI thread) gives stage ids or :data:`NEXT_TOKEN_PROBS`, or nothing
        while the view is hidden. A long pass computes them before the trace is installed."""
        self._needs.append(weakref.WeakMethod(needs))

    @property
    def text_error(self) -> str:
        return self._text_error

    @property
    def stage_id(self) -> str:
        return self._stage

    @property
    def layer(self) -> int | None:
        return self._model.graph[self._stage].layer

    @property
    def head(self) -> int:
        return self._head

    @property
    def view(self) -> ViewOptions:
        return self._view

    @property
    def hover(self) -> Hover | None:
        return self._hover

    def option(self, name: str) -> Any:
        return self._options[name]

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    @property
    def baseline(self) -> Trace | None:
        """The trace before the last model edit, for the "difference" view (None if none).

        While that view is off only the values of the current layer's stages are held (the
        colour scales compare with them); the rest would double the memory of a long pass for
        nothing, and are computed again from the trace's parameter snapshot if the view is
        switched on (see :meth:`Trace.trimmed`).
        """
        return self._baseline

    def pristine_params(self) -> Mapping[str, np.ndarray]:
        """The current model's parameters as they were when it was loaded (read-only arrays)."""
        return self._pristine[self._model]

    def set_pristine(self, model: Model, params: Mapping[str, np.ndarray]) -> None:
        """Declare what "as loaded" means for ``model`` (a session file may carry the originals)."""
        checked = {}
        for name, value in model.params.items():
            original = np.asarray(params.get(name, value))
            if original.shape != value.shape:
                raise SimulatorError(f"the original of {name} has shape {original.shape}, expected {value.shape}")
            if original.dtype.kind not in "fiub" or not np.all(np.isfinite(original)):
                raise SimulatorError(f"the original of {name} must be finite numbers")
            frozen = original.astype(value.dtype, copy=True)
            frozen.flags.writeable = False
            checked[name] = frozen
        self._pristine[model] = checked

    def snapshot(self) -> Snapshot:
        """Model object, sentence, run options, stage and head, as they are now."""
        return Snapshot(self._model, self._text, dict(self._options), self._stage, self._head, self._ablations)

    # -- navigation (not undoable) -------------------------------------------------------------
    def set_stage(self, stage_id: str) -> None:
        if stage_id not in self._model.graph:
            raise SimulatorError(self._model._unknown_stage_message(stage_id))
        if stage_id != self._stage:
            self._stage = stage_id
            self.set_hover(None)
            self.stage_changed.emit(stage_id)

    def step(self, delta: int) -> None:
        ids = self._model.stage_ids()
        index = ids.index(self._stage) + delta
        self.set_stage(ids[max(0, min(len(ids) - 1, index))])

    def first(self) -> None:
        self.set_stage(self._model.stage_ids()[0])

    def last(self) -> None:
        self.set_stage(self._model.stage_ids()[-1])

    def set_layer(self, layer: int) -> None:
        """Jump to the same kind of stage in another layer (or the layer's first stage)."""
        n = self._model.config.n_layers
        if not 0 <= layer < n:
            raise SimulatorError(f"layer must be between 0 and {n - 1}")
        spec = self._model.graph[self._stage]
        target = f"blocks.{layer}.{spec.kind}" if spec.layer is not None else f"blocks.{layer}.resid_pre"
        self.set_stage(target if target in self._model.graph else f"blocks.{layer}.resid_pre")

    def set_head(self, head: int) -> None:
        n = self._model.config.n_heads
        if not 0 <= head < n:
            raise SimulatorError(f"head must be between 0 and {n - 1}")
        if head != self._head:
            self._head = head
            self.set_hover(None)
            self.head_changed.emit(head)

    def set_hover(self, hover: Hover | None) -> None:
        if hover != self._hover:
            self._hover = hover
            self.hover_changed.emit(hover)

    def check_text(self, text: str) -> str:
        """An error message for text the model cannot run, or "" (changes nothing)."""
        try:
            self._model.encode(text)
        except SimulatorError as exc:
            return str(exc)
        return ""

    def show_text_error(self, error: str) -> None:
        """Report a sentence that cannot run; the last good trace stays on screen."""
        if error != self._text_error:
            self._text_error = error
            self.text_error_changed.emit(error)

    # -- edits: called by commands only ------------------------------------------------------------
    def apply_text(self, text: str) -> None:
        trace = self._make_trace(text, self._options)
        self._text = text
        self._install_when_ready(trace)
        self.show_text_error("")

    def apply_option(self, name: str, value: Any) -> None:
        if name not in self._options:
            raise SimulatorError(f"unknown option {name!r}")
        options = dict(self._options, **{name: value})
        trace = self._make_trace(self._text, options)
        self._options = options
        self._install_when_ready(trace)

    def apply_ablations(self, ablations: Iterable[Switch]) -> None:
        """Make ``ablations`` the switched-off parts; the trace is made again with them.
        Raises :class:`SimulatorError` (changing nothing) if one does not fit the model."""
        switches = tuple(ablations)
        trace = self._make_trace(self._text, self._options, switches)
        self._ablations = switches
        self._install_when_ready(trace)
        self.ablations_changed.emit()

    def apply_view(self, **changes: Any) -> None:
        view = replace(self._view, **changes)
        if view != self._view:
            self._view = view
            if self._baseline is not None:
                self._baseline = self._kept(self._baseline)
            self.view_changed.emit()

    def apply_param(self, name: str, value: Any, index: Any = None, update_baseline: bool = True) -> None:
        """Edit a weight through the engine, remembering the trace before it for the diff view.

        A gesture that edits many times (scrubbing) passes ``update_baseline=False`` after its
        first change, so the difference view compares with the state before the whole gesture.
        """
        before = self._pending or self._trace
        self._model.set_param(name, value, index)
        if update_baseline or self._baseline is None:
            self._baseline = self._kept(before)
        self._install_when_ready(self._make_trace(self._text, self._options))

    def plan_model(self, model: Model, text: str | None = None) -> ModelPlan:
        """Work out a switch to ``model`` without making it: ``text`` (or the current sentence)
        if the model can run it, else the model's default sentence.

        Raises :class:`SimulatorError` with one line when the model can run neither, so the
        switch can be refused before anything (history, "modified" mark) changes.
        """
        candidate = text if text is not None else self._text
        options = {"causal": model.config.causal, "scale_scores": model.config.scale_scores, "temperature": self._options["temperature"]}
        try:
            return ModelPlan(model, candidate, options, model.trace(candidate, **options))
        except SimulatorError as first:
            fallback = default_text(model)
            try:
                return ModelPlan(model, fallback, options, model.trace(fallback, **options))
            except SimulatorError as exc:
                raise SimulatorError(
                    f"{model.info.title} cannot run the sentence ({first}) nor a default one ({exc})"
                ) from exc

    def apply_model(self, model: Model, text: str | None = None, stage: str | None = None, plan: ModelPlan | None = None) -> None:
        """Switch to another model (preset or file), keeping the sentence if it still runs.

        ``plan`` is a :meth:`plan_model` result for this model, made just before (it saves
        tracing twice); without one the switch is planned here.
        """
        if plan is None or plan.model is not model:
            plan = self.plan_model(model, text)
        self._supersede()
        had_ablations = bool(self._ablations)
        self._ablations = ()
        self._model = model
        self._options = dict(plan.options)
        self._text = plan.text
        self._trace = plan.trace
        self._baseline = None
        self._head = min(self._head, model.config.n_heads - 1)
        self._stage = stage if stage in model.graph else (self._stage if self._stage in model.graph else model.stage_ids()[0])
        self._hover = None
        self._text_error = ""
        self._remember_pristine(model)
        self.model_changed.emit()
        if had_ablations:
            self.ablations_changed.emit()

    def apply_session(
        self,
        model: Model,
        text: str,
        stage: str,
        head: int,
        options: Mapping[str, Any],
        view: ViewOptions | None = None,
        ablations: Iterable[Switch] = (),
    ) -> None:
        """Install a whole session at once (a file, a recovery copy, a snapshot); all or nothing.

        Raises :class:`SimulatorError` with a readable message and changes nothing when the
        parts do not fit together (unknown stage, head out of range, text the model cannot run,
        a switched-off part the model does not have).
        """
        if stage not in model.graph:
            raise SimulatorError(model._unknown_stage_message(stage))
        if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < model.config.n_heads:
            raise SimulatorError(f"head must be a whole number between 0 and {model.config.n_heads - 1}, got {head!r}")
        opts = checked_options(options)
        switches = tuple(ablations)
        for switch in switches:
            if not isinstance(switch, Switch):
                raise SimulatorError(f"a switched-off part must be a Switch, got {type(switch).__name__}")
        trace = model.trace(text, **opts, interventions=[s.intervention() for s in switches] or None)
        self._supersede()
        had_ablations = bool(self._ablations) or bool(switches)
        self._ablations = switches
        self._model = model
        self._options = opts
        self._text = text
        self._trace = trace
        self._baseline = None
        self._head = head
        self._stage = stage
        self._hover = None
        self._text_error = ""
        self._remember_pristine(model)
        view_changed = view is not None and view != self._view
        if view is not None:
            self._view = view
        self.model_changed.emit()
        if had_ablations:
            self.ablations_changed.emit()
        if view_changed:
            self.view_changed.emit()

    def restore(self, snapshot: Snapshot) -> None:
        """Go back to a :meth:`snapshot` (used by undo of a model switch)."""
        self.apply_session(
            snapshot.model, snapshot.text, snapshot.stage, snapshot.head, snapshot.options, ablations=snapshot.ablations
        )

    # -- internals -------------------------------------------------------------------------------
    def _make_trace(self, text: str, options: dict[str, Any] | None = None, ablations: tuple[Switch, ...] | None = None) -> Trace:
        opts = options or self._options
        switches = self._ablations if ablations is None else ablations
        return self._model.trace(text, **opts, interventions=[s.intervention() for s in switches] or None)

    def _kept(self, trace: Trace) -> Trace:
        """``trace`` as the baseline holds it: whole while the change view is on, else only the
        values of the current stage's layer (see :attr:`baseline`)."""
        if self._view.show_difference:
            return trace
        return trace.trimmed(self._layer_stages(trace))

    def _layer_stages(self, trace: Trace) -> list[str]:
        """The stages of the current stage's layer (of the embedding and output for a stage
        outside the blocks) in ``trace``'s model: what the canvas reads for the current stage."""
        graph = trace.model.graph
        current = graph.get(self._stage)
        layer = current.layer if current is not None else None
        return [sid for sid, spec in graph.items() if spec.layer == layer]

    def _remember_pristine(self, model: Model) -> None:
        if model not in self._pristine:
            self._pristine[model] = dict(model.params)  # the engine never edits arrays in place

    def _install(self, trace: Trace) -> None:
        self._trace = trace
        self.set_hover(None)
        self.trace_changed.emit()

    def _cost(self, trace: Trace) -> int:
        c = trace.model.config
        return int(trace.ids.shape[0]) * c.d_model * max(c.n_layers, 1)

    def _install_when_ready(self, trace: Trace) -> None:
        """Install ``trace`` now, or, for a long pass, once a worker thread has computed what
        the current stage and the visible views need (the window keeps repainting meanwhile);
        either way any pass still in flight is superseded."""
        self._supersede()
        if self._cost(trace) <= self.background_cost:
            self._install(trace)
            return
        wanted = self._wanted(trace)
        shown = self._trace
        if shown.model is trace.model and not (shown is self._baseline and self._view.show_difference):
            # on screen until replaced: only what the canvas may still read is held meanwhile
            shown.forget(self._layer_stages(shown))
        generation = self._generation
        self._pending = trace
        self._progress_shown = -1
        self.busy_changed.emit(True)
        self._background_step(generation, 0, 1)
        worker = threading.Thread(
            target=self._compute_in_background, args=(generation, trace, wanted), name="forward-pass", daemon=True
        )
        worker.start()

    def _supersede(self) -> None:
        """Drop the pass in flight, if any: its worker stops at its next stage."""
        self._generation += 1
        if self._pending is not None:
            self._pending = None
            self.busy_changed.emit(False)

    def _wanted(self, trace: Trace) -> list[str]:
        """What the canvas and the visible views will read: the current stage and the stages of
        its layer (the colour scales compare them), without the vocabulary-wide ones unless
        shown, plus whatever registered views need."""
        graph = trace.model.graph
        current = graph.get(self._stage)
        layer = current.layer if current is not None else None
        wanted = [self._stage] if current is not None else []
        wanted += [sid for sid, spec in graph.items() if spec.layer == layer and "vocab" not in spec.axes]
        alive = []
        for ref in self._needs:
            needs = ref()
            if needs is None:
                continue
            alive.append(ref)
            try:
                wanted.extend(needs())
            except RuntimeError:  # the view's widget is already gone
                continue
        self._needs = alive
        return wanted

    def _compute_in_background(self, generation: int, trace: Trace, wanted: list[str]) -> None:
        """On the worker thread: compute, then hand the trace to the GUI thread (queued)."""
        finished = True
        try:
            finished = trace.compute(
                wanted,
                keep_going=lambda: generation == self._generation,
                progress=lambda done, total: _emit(self._background_progress, generation, done, total),
            )
        except Exception:  # noqa: BLE001 (installed anyway: the GUI thread reads the stage again and shows the error)
            finished = True
        _emit(self._background_done, generation, trace, finished)

    def _background_step(self, generation: int, done: int, total: int) -> None:
        if generation != self._generation or self._pending is None:
            return
        percent = 100 * done // max(total, 1)
        self.progress.emit(done, total)
        if percent // 10 != self._progress_shown // 10:
            self._progress_shown = percent
            tokens = int(self._pending.ids.shape[0])
            self.message.emit(f"Computing the forward pass for {tokens:,} tokens… {percent}%")

    def _background_finished(self, generation: int, trace: Trace, finished: bool) -> None:
        if generation != self._generation or trace is not self._pending or not finished:
            return
        self._pending = None
        self.busy_changed.emit(False)
        self._install(trace)
        self.message.emit(f"Forward pass for {int(trace.ids.shape[0]):,} tokens done")


def _emit(signal: Any, *args: Any) -> None:
    """Emit from a worker thread; a state deleted meanwhile (its window closed) has nobody to tell."""
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


def checked_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Run options (causal, scale_scores, temperature) validated, or a :class:`SimulatorError`."""
    try:
        causal, scale, temperature = options["causal"], options["scale_scores"], options["temperature"]
    except (KeyError, TypeError) as exc:
        raise SimulatorError(f"run options are incomplete: missing {exc}") from exc
    if not isinstance(causal, bool) or not isinstance(scale, bool):
        raise SimulatorError("the causal mask and scaling options must be true or false")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise SimulatorError(f"temperature must be a number, got {temperature!r}")
    if not math.isfinite(temperature) or temperature <= 0:
        raise SimulatorError(f"temperature must be a positive number, got {temperature!r}")
    return {"causal": causal, "scale_scores": scale, "temperature": float(temperature)}


def default_text(model: Model) -> str:
    """The model's first suggested sentence that it can run, else the longest start of one that
    fits its context (a model with a short context), else its first few vocabulary words."""
    suggested = [s for s in model.info.suggested if isinstance(s, str)]
    words = [model.tokenizer.id_to_token(i) for i in range(min(model.tokenizer.vocab_size, 4))]
    candidates = suggested + [
        " ".join(sentence.split()[:n]) for sentence in suggested for n in range(len(sentence.split()) - 1, 0, -1)
    ] + [" ".join(words[:n]) for n in range(len(words), 0, -1)]
    for candidate in candidates:
        try:
            model.encode(candidate)
            return candidate
        except SimulatorError:
            continue
    return " ".join(words)  # nothing runs: tracing it reports why
