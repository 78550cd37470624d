"""Experiments in the window: switching parts of the model off, and the Experiments dock.

Switching off: right-click a head or an MLP (the navigator, a head's panel, an MLP neuron column)
for "Switch off (zero)", "Switch off (mean)" or "Switch on"; each is one undo step
(:class:`ui.commands.SwitchPartCommand`) and the state traces with the ablations.

The Experiments dock has three tabs, each drawing what :mod:`simulator.experiments` computes:
Attribution (every part's contribution to a token's logit), Logit lens (the top token at every
position after every layer) and Patching (how much of a logit difference each residual-stream
patch of a second sentence restores).
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from simulator.model import Model
from ui.commands import SwitchPartCommand
from ui.state import SWITCH_MODES, AppState, Hover, Switch, head_switch, neuron_switch

SWITCH_OFF_TEXT = {"zero": "Switch off (zero)", "mean": "Switch off (mean)"}
SWITCH_ON_TEXT = "Switch on"


def add_switch_actions(menu: QMenu, state: AppState, part: Switch) -> list[QAction]:
    """Add "Switch off (zero)", "Switch off (mean)" and "Switch on" for ``part`` to ``menu``;
    the one matching the part's current state is disabled. Returns the actions in that order."""
    current = state.ablation_for(part.part)
    actions = []
    for mode in SWITCH_MODES:
        action = menu.addAction(SWITCH_OFF_TEXT[mode])
        action.setEnabled(current is None or current.mode != mode)
        action.triggered.connect(lambda _=False, m=mode: state.undo_stack.push(SwitchPartCommand(state, part, m)))
        actions.append(action)
    action = menu.addAction(SWITCH_ON_TEXT)
    action.setEnabled(current is not None)
    action.triggered.connect(lambda _=False: state.undo_stack.push(SwitchPartCommand(state, part, None)))
    actions.append(action)
    return actions


def switch_for_hover(model: Model, hover: Hover | None) -> Switch | None:
    """The part under the mouse in the stage canvas: the head of a cell of a per-head stage, or
    the neuron of a cell of an MLP's hidden layer (``mlp.pre`` / ``mlp.post``); else None."""
    if hover is None or hover.source not in model.graph:
        return None
    spec = model.graph[hover.source]
    if spec.layer is None or len(hover.index) != len(spec.axes):
        return None
    if "head" in spec.axes and ".attn." in hover.source:
        return head_switch(spec.layer, int(hover.index[spec.axes.index("head")]))
    if "d_mlp" in spec.axes:
        return neuron_switch(spec.layer, int(hover.index[spec.axes.index("d_mlp")]))
    return None


def panel_switch_part(state: AppState, source: str) -> Switch | None:
    """The part a right-click on a canvas panel showing ``source`` switches: the head or neuron
    of the cell under the mouse, else the current head of a per-head attention panel."""
    model = state.model
    hover = state.hover
    if hover is not None and hover.source == source:
        part = switch_for_hover(model, hover)
        if part is not None:
            return part
    spec = model.graph.get(source)
    if spec is not None and spec.layer is not None and "head" in spec.axes and ".attn." in source:
        return head_switch(spec.layer, state.head)
    return None


def add_panel_switch_actions(state: AppState, source: str, menu: QMenu) -> None:
    """A canvas panel's right-click menu: its head's or neuron's switch actions, if it has one."""
    part = panel_switch_part(state, source)
    if part is None:
        return
    title = menu.addAction(part.describe(state.model)[:1].upper() + part.describe(state.model)[1:])
    title.setEnabled(False)
    add_switch_actions(menu, state, part)
    menu.addSeparator()
