"""Session files: the whole model plus where the learner was, in one ``.npz``.

A session holds everything needed to come back to the same screen: the model (configuration,
every weight, vocabulary, labels, description), the sentence, the current stage and head, the
run options (causal mask, scaling, temperature) and the view toggles. It reuses the model file
format of :mod:`simulator.model_file` and adds a ``session`` section. Layout (schema
``transformer-step-sim/session``, version 2):

* ``param/<name>``: one array per parameter, in the model's dtype (exactly the model file's
  arrays, so the round trip is bit for bit);
* ``original/<name>``: for each parameter edited since the model was loaded, its value as
  loaded, so "reset to the preset's value" still works after reopening;
* ``meta.json``: UTF-8 JSON with ``schema``, ``version``, the model's ``config``, ``labels``,
  ``tokenizer`` and ``info``, and ``session``::

      {"text": "a fluffy blue creature", "stage": "blocks.0.attn.pattern", "layer": 0,
       "head": 1, "options": {"causal": true, "scale_scores": true, "temperature": 1.0},
       "view": {"layout": "rows", "show_numbers": true, "high_contrast": false,
                "show_difference": false},
       "ablations": [{"stage": "blocks.1.attn.z", "head": 0, "index": null, "mode": "zero"}]}

``ablations`` (version 2) lists the switched-off parts (:class:`ui.state.Switch`); a version 1
file has none, and is read as such.

Files are written to a temporary file and renamed into place, so a failed save never damages
the previous file. Loading checks everything before anything is used and raises a
:class:`~simulator.errors.ModelFileError` whose message can be shown to the user as is.
See also ``resources/docs/session-format.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import ModelFileError, SimulatorError, json_kind
from simulator.model import Model
from simulator.model_file import (
    MODEL_SCHEMA,
    PARAM_PREFIX,
    Description,
    check_schema,
    model_arrays,
    model_from_parts,
    model_meta,
    read_description,
    read_npz,
    write_npz_atomic,
)
from ui.state import (
    LAYOUT_COLUMNS,
    LAYOUT_ROWS,
    SWITCH_MODES,
    AppState,
    Switch,
    ViewOptions,
    checked_options,
)

SESSION_SCHEMA = "transformer-step-sim/session"
SESSION_VERSION = 2
#: the first version whose session section lists the switched-off parts
ABLATIONS_VERSION = 2
SESSION_SUFFIX = ".npz"
ORIGINAL_PREFIX = "original/"


@dataclass(frozen=True)
class Session:
    """A model with the learner's place in it; what a session file stores."""

    model: Model
    text: str
    stage: str
    head: int
    options: dict[str, Any]
    view: ViewOptions
    #: the parameters as loaded (for "reset to the preset's value")
    pristine: dict[str, np.ndarray]
    #: the switched-off parts
    ablations: tuple[Switch, ...] = ()

    @classmethod
    def from_state(cls, state: AppState) -> Session:
        return cls(
            state.model, state.text, state.stage_id, state.head, state.options, state.view, dict(state.pristine_params()),
            state.ablations,
        )

    def install(self, state: AppState) -> None:
        """Make this session the state's current one (all or nothing)."""
        state.set_pristine(self.model, self.pristine)
        state.apply_session(self.model, self.text, self.stage, self.head, self.options, self.view, self.ablations)


def save_session(path: str | os.PathLike[str], session: Session, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``session`` to ``path`` atomically; raises :class:`ModelFileError` saying why not.

    ``extra`` adds top-level JSON members (e.g. ``recovery`` for crash copies); readers ignore
    members they do not know.
    """
    model = session.model
    arrays = model_arrays(model)
    for name, value in model.params.items():
        original = session.pristine.get(name)
        if original is not None and not np.array_equal(original, value):
            arrays[ORIGINAL_PREFIX + name] = original
    meta = {
        **(extra or {}),
        "schema": SESSION_SCHEMA,
        "version": SESSION_VERSION,
        **model_meta(model),
        "session": {
            "text": session.text,
            "stage": session.stage,
            "layer": model.graph[session.stage].layer,
            "head": session.head,
            "options": dict(session.options),
            "view": {f.name: getattr(session.view, f.name) for f in fields(ViewOptions)},
            "ablations": [{"stage": a.stage, "head": a.head, "index": a.index, "mode": a.mode} for a in session.ablations],
        },
    }
    write_npz_atomic(path, arrays, meta)


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and check a session file; raises :class:`ModelFileError` with a readable reason."""
    name = Path(path).name
    described: list[Description] = []

    def members(meta: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        if meta.get("schema") == MODEL_SCHEMA:
            raise ModelFileError(f"{name} is a model file, not a session: open it with Model → Load model file…")
        check_schema(meta, SESSION_SCHEMA, SESSION_VERSION, name)
        described.append(read_description(meta, name))
        params = described[0].members()
        originals = {ORIGINAL_PREFIX + key[len(PARAM_PREFIX):]: shape for key, shape in params.items()}
        return {**params, **originals}

    arrays, meta = read_npz(path, members)
    section = meta.get("session")
    if not isinstance(section, dict):
        raise ModelFileError(f"{name} has no session section: it is damaged or was not written by this app")
    model = model_from_parts(arrays, meta, name, described[0])
    pristine = _originals(arrays, model, name)
    try:
        text = _require(section, "text", str, name)
        stage = _require(section, "stage", str, name)
        head = _require(section, "head", int, name)
        if stage not in model.graph:
            raise ModelFileError(f"{name}: its stage {stage!r} does not exist in its model")
        if not 0 <= head < model.config.n_heads:
            raise ModelFileError(f"{name}: its head {head} is outside 0..{model.config.n_heads - 1}")
        options = checked_options(_require(section, "options", dict, name))
        view = _view(_require(section, "view", dict, name), name)
        model.encode(text)
        ablations = _ablations(section, meta["version"], name)
        if ablations:
            model.trace(text, interventions=[a.intervention() for a in ablations])
    except ModelFileError:
        raise
    except SimulatorError as exc:
        raise ModelFileError(f"{name}: {exc}") from exc
    return Session(model, text, stage, head, options, view, pristine, ablations)


def _ablations(section: Mapping[str, Any], version: int, name: str) -> tuple[Switch, ...]:
    """The switched-off parts of a session section (none before :data:`ABLATIONS_VERSION`)."""
    if version < ABLATIONS_VERSION:
        return ()
    entries = _require(section, "ablations", list, name)
    out: list[Switch] = []
    for n, entry in enumerate(entries):
        where = f"{name}: switched-off part {n + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("stage"), str):
            raise ModelFileError(f"{where} must be an object with a stage id, got {json_kind(entry)}")
        for key in ("head", "index"):
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ModelFileError(f"{where}: {key} must be a whole number or null, got {json_kind(value)}")
        if entry.get("mode") not in SWITCH_MODES:
            raise ModelFileError(f"{where}: mode must be {' or '.join(map(repr, SWITCH_MODES))}, got {entry.get('mode')!r}")
        switch = Switch(entry["stage"], entry.get("head"), entry.get("index"), entry["mode"])
        if any(s.part == switch.part for s in out):
            raise ModelFileError(f"{where} switches off {switch.stage} twice")
        out.append(switch)
    return tuple(out)


def _originals(arrays: Mapping[str, np.ndarray], model: Model, name: str) -> dict[str, np.ndarray]:
    pristine = dict(model.params)
    for key, value in arrays.items():
        if not key.startswith(ORIGINAL_PREFIX):
            continue
        param = key[len(ORIGINAL_PREFIX):]
        if param not in pristine:
            raise ModelFileError(f"{name}: it keeps an original value for {param!r}, which its model does not have")
        expected = pristine[param]
        if value.shape != expected.shape or value.dtype.kind not in "fiub" or not np.all(np.isfinite(value)):
            raise ModelFileError(f"{name}: the original value of {param} is damaged (shape {value.shape}, expected {expected.shape})")
        original = value.astype(expected.dtype)
        original.flags.writeable = False
        pristine[param] = original
    return pristine


def _require(section: Mapping[str, Any], key: str, kind: type, name: str) -> Any:
    if key not in section:
        raise ModelFileError(f"{name}: its session section lacks {key!r}")
    value = section[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        wanted = {str: "text", int: "a whole number", dict: "a JSON object", list: "a JSON list"}.get(kind, kind.__name__)
        raise ModelFileError(f"{name}: session {key!r} must be {wanted}, got {json_kind(value)}")
    return value


def _view(data: Mapping[str, Any], name: str) -> ViewOptions:
    values: dict[str, Any] = {}
    for f in fields(ViewOptions):
        if f.name not in data:
            continue  # older files may lack newer toggles: keep the default
        value = data[f.name]
        if f.name == "layout":
            if value not in (LAYOUT_ROWS, LAYOUT_COLUMNS):
                raise ModelFileError(f"{name}: view layout must be {LAYOUT_ROWS!r} or {LAYOUT_COLUMNS!r}, got {value!r}")
        elif not isinstance(value, bool):
            raise ModelFileError(f"{name}: view option {f.name!r} must be true or false, got {value!r}")
        values[f.name] = value
    return ViewOptions(**values)
