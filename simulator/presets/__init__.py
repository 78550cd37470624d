"""Built-in models, found by name.

Every module in this package that defines ``INFO`` (a :class:`~simulator.model.ModelInfo`
whose ``name`` is the preset name), ``ORDER`` (where it sorts in lists) and ``build()``
(returning a fresh :class:`~simulator.model.Model`) is a preset. Adding a preset is adding a
module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import lru_cache
from types import ModuleType
from typing import NamedTuple

from simulator.errors import SimulatorError
from simulator.model import Model, ModelInfo

#: The preset the app opens on when it is available.
PREFERRED_DEFAULT = "fluffy"


@lru_cache(maxsize=None)
def _modules() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for entry in pkgutil.iter_modules(__path__):
        if entry.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{entry.name}")
        info = getattr(module, "INFO", None)
        if isinstance(info, ModelInfo) and callable(getattr(module, "build", None)):
            found[info.name] = module
    return dict(sorted(found.items(), key=lambda item: (getattr(item[1], "ORDER", 100), item[0])))


def preset_names() -> list[str]:
    return list(_modules())


def list_presets() -> list[ModelInfo]:
    """Title, description, suggested sentences and notes of every preset, in display order."""
    return [module.INFO for module in _modules().values()]


def default_preset() -> str:
    names = preset_names()
    return PREFERRED_DEFAULT if PREFERRED_DEFAULT in names else names[0]


class StageKind(NamedTuple):
    """One kind of stage as a learner meets it, e.g. ``attn.pattern`` in every block."""

    kind: str
    #: the stage's title as the navigator shows it, with any block number made general
    title: str
    #: True for stages repeated in every block, False for those before or after the blocks
    in_block: bool


@lru_cache(maxsize=None)
def stage_kinds(name: str) -> tuple[StageKind, ...]:
    """Every stage kind a preset's model shows, in forward order: the keys its notes should cover."""
    kinds: dict[str, StageKind] = {}
    for spec in build_preset(name).graph.values():
        if spec.kind not in kinds:
            title = re.sub(r"\bblock \d+\b", "a block", spec.title)
            kinds[spec.kind] = StageKind(spec.kind, title, spec.block is not None)
    return tuple(kinds.values())


def build_preset(name: str) -> Model:
    module = _modules().get(name)
    if module is None:
        raise SimulatorError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    return module.build()
