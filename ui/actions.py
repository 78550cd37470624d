"""Every menu item, toolbar button and shortcut, declared once.

Menus, the toolbar, the shortcuts dialog and tests all use the same :class:`QAction` objects,
looked up by name (``actions["next"]``).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from ui.i18n import tr


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False
    #: shorter text for toolbar buttons ("" = the menu text)
    short: str = ""


SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("new", "&New session", ("Ctrl+N",), "Start again from the model as it was built, with the default sentence"),
    ActionSpec("open", "&Open session…", ("Ctrl+O",), "Open a saved session: model, weights, sentence and view"),
    ActionSpec("save", "&Save session", ("Ctrl+S",), "Save the session: model, every weight, sentence, stage and view"),
    ActionSpec("save_as", "Save session &as…", ("Ctrl+Shift+S",), "Save the session under a new name"),
    ActionSpec("export_png", "Current stage as &PNG…", ("Ctrl+E",), "Save a picture of the stage canvas"),
    ActionSpec("export_svg", "Current stage as &SVG…", (), "Save the stage canvas as a vector drawing"),
    ActionSpec("export_panel_png", "One &panel as PNG…", (), "Save a picture of one matrix of the canvas"),
    ActionSpec("export_panel_svg", "One pa&nel as SVG…", (), "Save one matrix of the canvas as a vector drawing"),
    ActionSpec("copy_image", "&Copy stage picture", ("Ctrl+Shift+C",), "Copy a picture of the stage canvas to the clipboard"),
    ActionSpec("export_all", "&All stages as numbered PNGs…", ("Ctrl+Shift+E",), "One picture per stage, in forward order, for slides"),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), "Close the app"),
    ActionSpec("next", "&Next stage", ("Right", "Space", "PgDown"), "Step forward to the next stage", short="Next"),
    ActionSpec("back", "&Previous stage", ("Left", "PgUp"), "Step back to the previous stage", short="Back"),
    ActionSpec("first", "&First stage", ("Home",), "Jump to the first stage (tokens)", short="First"),
    ActionSpec("last", "&Last stage", ("End",), "Jump to the last stage", short="Last"),
    ActionSpec("play", "&Play", ("P",), "Step through the stages automatically", checkable=True),
    ActionSpec("next_layer", "Next &layer", ("Ctrl+Down",), "Same stage, one layer deeper"),
    ActionSpec("prev_layer", "Previous l&ayer", ("Ctrl+Up",), "Same stage, one layer earlier"),
    ActionSpec("next_head", "Next &head", ("]",), "Show the next attention head"),
    ActionSpec("prev_head", "Previous h&ead", ("[",), "Show the previous attention head"),
    ActionSpec("focus_sentence", "Edit the &sentence", ("F2",), "Put the cursor in the sentence box"),
    ActionSpec("causal", "&Causal mask", ("Ctrl+Shift+M",), "Hide later words from earlier ones", checkable=True),
    ActionSpec("scale", "&Scale scores by √d_k", ("Ctrl+Shift+D",), "Divide attention scores by √d_head before the softmax", checkable=True, short="÷√d_k"),
    ActionSpec("columns", "&Queries as columns (3Blue1Brown)", ("Ctrl+Shift+L",), "Draw queries as columns, as in 3Blue1Brown's videos", checkable=True, short="Queries as columns"),
    ActionSpec("numbers", "&Numbers in cells", ("Ctrl+Shift+N",), "Write the values inside small matrices", checkable=True, short="Numbers"),
    ActionSpec("contrast", "&High-contrast colours", ("Ctrl+Shift+H",), "Colours that read well on a projector", checkable=True),
    ActionSpec("colour_safe", "Colour-&blind-safe colours", ("Ctrl+Shift+B",), "Blue–orange and white-to-purple maps that read with red–green colour blindness (off: classic blue–red)", checkable=True),
    ActionSpec("difference", "Show &change since the last edit", ("Ctrl+Shift+F",), "Draw the result as new − old after a weight edit", checkable=True, short="Show change"),
    ActionSpec("show_table", "Show as &table", ("Ctrl+Alt+T",), "The matrix the keyboard is in (or the result) as a table of numbers with headers, for screen readers and spreadsheets"),
    ActionSpec("history", "&History", ("Ctrl+H",), "List every edit; click one to go back to it"),
    ActionSpec("params", "&Parameters browser", ("Ctrl+Shift+P",), "Every weight of the model by name; view and edit any of them (again: close it)"),
    ActionSpec("table", "&Table editor", ("Ctrl+T",), "Edit the chosen weight matrix as a table of numbers (again: close it)"),
    ActionSpec("choose_preset", "&Choose preset…", ("Ctrl+M",), "Pick a built-in model: read what it shows, then open it, with a suggested sentence if you like", short="Presets…"),
    ActionSpec("load_model", "&Load model file…", ("Ctrl+Shift+O",), "Switch to a saved model (.npz) or a checkpoint folder"),
    ActionSpec("open_model", "Open &Model…", ("Ctrl+Alt+O",), "Open a checkpoint folder (GPT-2, BERT, sentence-transformers such as all-MiniLM-L6-v2); it loads in the background and can be cancelled"),
    ActionSpec("presentation", "P&resentation mode", ("F5",), "Full screen, large fonts, simple chrome", checkable=True, short="Present"),
    ActionSpec("leave_presentation", "Leave presentation mode", ("Esc",), "Back to the normal window"),
    ActionSpec("zoom_in", "Zoom &in", ("Ctrl+=", "Ctrl++"), "Larger cells, numbers and labels on the canvas (for projectors)"),
    ActionSpec("zoom_out", "Zoom &out", ("Ctrl+-",), "Smaller cells, numbers and labels on the canvas"),
    ActionSpec("zoom_reset", "&Actual size", ("Ctrl+0",), "The canvas at 100 %"),
    ActionSpec("reset_layout", "&Reset layout", (), "Put every panel back where it was at the first start"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", ("F1",), "List every keyboard shortcut"),
    ActionSpec("about", "&About", (), "About this app"),
)


class Actions:
    """The app's actions, created once per main window."""

    def __init__(self, parent: QWidget) -> None:
        self._actions: dict[str, QAction] = {}
        for spec in SPECS:
            action = QAction(tr("Actions", spec.text), parent)
            action.setObjectName(f"action_{spec.name}")
            if spec.shortcuts:
                action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            text = tr("Actions", spec.tip) if spec.tip else ""
            tip = text + (f" ({', '.join(spec.shortcuts)})" if spec.shortcuts else "")
            action.setToolTip(tip)
            action.setStatusTip(text)
            action.setCheckable(spec.checkable)
            if spec.short:
                action.setIconText(tr("Actions", spec.short))
            parent.addAction(action)
            self._actions[spec.name] = action

    def __getitem__(self, name: str) -> QAction:
        return self._actions[name]

    def add(self, name: str, action: QAction) -> None:
        """Register an action made elsewhere (e.g. the undo stack's Undo/Redo)."""
        self._actions[name] = action

    def items(self) -> list[tuple[str, QAction]]:
        return list(self._actions.items())
