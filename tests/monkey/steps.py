"""The monkey's repertoire: every kind of thing a user can do in the main window.

A :class:`Step` is a name and JSON-able arguments drawn from a seeded ``random.Random`` alone
(:func:`draw_step`), never from the window, so a seed always gives the same list of steps.
Arguments that must fit the window (which panel, which cell, which stage) are large integers
taken modulo what is there when the step is performed (:class:`Performer`), so any list of
steps can be replayed, shortened or edited.

``Performer.perform`` drives the window as a user would (actions and shortcuts, real mouse
clicks and drags on heatmap viewports, typing and pasting into line edits, dialogs answered
by :mod:`tests.monkey.dialogs`), checks what that particular step promises (a refused value
changes nothing and says why, a failed save keeps the session, ...), and returns how the
undo history may have moved: ``"view"`` (no edit), ``"edit"`` or ``"undo"``.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QDialog, QDockWidget, QLineEdit

import simulator
from tests.monkey.checks import require
from tests.monkey.dialogs import Dialogs

K = Qt.Key
M = Qt.KeyboardModifier
BIG = 10**6
#: pyqtgraph ignores mouse moves closer together than 10 ms (its mouseRateLimit)
MOVE_INTERVAL_MS = 12
#: cells narrower or lower than this many pixels are too small to aim the mouse at
MIN_CELL_PX = 3
CHECKPOINTS = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"


@dataclass(frozen=True)
class Step:
    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps([self.name, self.args], ensure_ascii=True)

    @classmethod
    def from_json(cls, item: Any) -> "Step":
        name, args = item
        return cls(str(name), dict(args))


class Skip(Exception):
    """The step does not apply to what is on screen (e.g. no weight panel at this stage)."""


# -- drawing steps from a seed --------------------------------------------------------------------------
NAV_ACTIONS = ("next", "back", "first", "last", "next_layer", "prev_layer", "next_head", "prev_head")
NAV_KEYS = ("Right", "Left", "Space", "PgDown", "PgUp", "Home", "End", "Ctrl+Up", "Ctrl+Down", "]", "[")
TOGGLES = ("causal", "scale", "columns", "numbers", "contrast", "difference")
TEXT_KINDS = (
    "valid", "valid", "valid", "valid", "unknown", "unknown", "empty", "whitespace", "punctuation", "emoji",
    "long", "control", "numbers", "mixed_case", "rtl", "combining", "long_word",
)
GOOD_NUMBERS = ("0", "0.5", "-1.25", "2", "−0,5", " 0.125 ", "1e-3", "-7.5e-1", "3", "-2", "1_000", "+.5", "1e-45", "12.5")
EXTREME_NUMBERS = ("1e30", "-1e30", "3.4e38", "-3.4e38", "1e20")
BAD_NUMBERS = ("abc", "nan", "NaN", "inf", "-inf", "Infinity", "1e39", "1e309", "", "   ", "1,2,3", "0x10", "½", "--1", "1e", "٫", "🙂")
DOCKS = ("navigator", "explanation", "next_token", "embedding", "params", "table", "history")
RANDOM_KEYS = (
    "Right", "Left", "Up", "Down", "Home", "End", "PgUp", "PgDown", "Space", "Return", "Escape", "Tab", "Backspace",
    "Delete", "a", "z", "7", ".", "F1", "F2", "F5", "Ctrl+Z", "Ctrl+Y", "Ctrl+Shift+Z", "Ctrl+A", "Ctrl+C", "Ctrl+V",
    "Ctrl+S", "Ctrl+O", "Ctrl+N", "Ctrl+E", "Ctrl+Shift+C", "Ctrl+T", "Ctrl+H", "Ctrl+Shift+P", "Ctrl+Shift+M",
    "Ctrl+Shift+D", "Ctrl+Shift+L", "Ctrl+Shift+N", "Ctrl+Shift+H", "Ctrl+Shift+F", "P", "]", "[",
)
KEY_TARGETS = ("window", "sentence", "canvas", "navigator", "params_tree", "table")


def _cell(rng: random.Random) -> dict[str, int]:
    return {"panel": rng.randrange(BIG), "row": rng.randrange(BIG), "col": rng.randrange(BIG)}


def _number_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(GOOD_NUMBERS) if rng.random() < 0.5 else f"{rng.uniform(-3, 3):.{rng.randint(0, 6)}g}"
    if roll < 0.65:
        return rng.choice(EXTREME_NUMBERS)
    return rng.choice(BAD_NUMBERS)


def _gen_sentence(rng: random.Random) -> dict[str, Any]:
    return {
        "kind": rng.choice(TEXT_KINDS), "seed": rng.randrange(BIG), "mode": rng.choice(("replace", "replace", "append", "insert")),
        "pos": rng.randrange(BIG), "how": rng.choice(("type", "type", "paste")), "end": rng.choice(("enter", "escape", "tab", "none", "none")),
    }


GENERATORS: dict[str, tuple[float, Callable[[random.Random], dict[str, Any]]]] = {
    "action": (16, lambda r: {"name": r.choice(NAV_ACTIONS)}),
    "key": (9, lambda r: {"key": r.choice(NAV_KEYS)}),
    "jump": (6, lambda r: {"stage": r.randrange(BIG)}),
    "play": (1, lambda r: {"steps": r.randint(1, 3), "via": r.choice(("action", "key"))}),
    "layer_box": (2.5, lambda r: {"value": r.randrange(BIG), "by": r.choice((0, 1, -1))}),
    "head_box": (2.5, lambda r: {"value": r.randrange(BIG), "by": r.choice((0, 1, -1))}),
    "toggle": (6, lambda r: {"name": r.choice(TOGGLES)}),
    "temperature": (1.5, lambda r: {"fraction": round(r.random(), 3)}),
    "sentence": (7, _gen_sentence),
    "append": (1.5, lambda r: {"rank": r.randrange(BIG)}),
    "type_weight": (7, lambda r: {**_cell(r), "text": _number_text(r), "end": r.choice(("enter", "enter", "escape", "focus_out"))}),
    "scrub": (5, lambda r: {**_cell(r), "offsets": [r.randint(-120, 120) for _ in range(r.randint(1, 3))] + r.choice(([], [0]))}),
    "browser_edit": (2.5, lambda r: {**_cell(r), "param": r.randrange(BIG), "head": r.randrange(BIG), "text": _number_text(r)}),
    "bulk": (2.5, lambda r: {
        "param": r.randrange(BIG), "head": r.randrange(BIG), "row": r.choice((None, r.randrange(BIG))),
        "scope": r.choice(("Row", "Head", "Whole")), "op": r.choice(("reset", "zero", "randomise", "identity", "scale")),
        "seed": r.randrange(1000), "factor": r.choice((2.0, -1.0, 0.0, 0.5, 1000.0, -1000.0, 0.001)),
    }),
    "table_edit": (1.5, lambda r: {**_cell(r), "param": r.randrange(BIG), "head": r.randrange(BIG), "text": _number_text(r)}),
    "undo": (7, lambda r: {"via": r.choice(("action", "action", "key"))}),
    "redo": (4, lambda r: {"via": r.choice(("action", "action", "key"))}),
    "history": (0.8, lambda r: {"index": r.randrange(BIG)}),
    "save": (1.5, lambda r: {"kind": r.choice(("new", "new", "same", "missing_folder", "is_folder", "unwritable"))}),
    "open": (2.0, lambda r: {
        "kind": r.choice(("saved",) * 6 + ("random_bytes", "truncated", "empty", "missing", "model_file", "folder")),
        "index": r.randrange(BIG), "answer": r.choice(("save", "discard", "discard", "cancel")),
    }),
    "new": (0.4, lambda r: {"answer": r.choice(("save", "discard", "cancel"))}),
    "export": (0.8, lambda r: {
        "kind": r.choice(("panel_png", "panel_png", "canvas_png", "panel_svg", "canvas_svg", "copy", "bad_folder")),
        "panel": r.randrange(BIG),
    }),
    "export_all": (0.02, lambda r: {}),
    "preset": (1.0, lambda r: {
        "index": r.randrange(BIG), "via": r.choice(("menu", "menu", "picker", "picker_keys", "picker_cancel")), "sentence": r.randrange(BIG),
    }),
    "load_model": (0.5, lambda r: {"kind": r.choice(("good", "good", "random_bytes", "huge", "nan", "gpt2_folder", "bert_folder"))}),
    "presentation": (1.2, lambda r: {"via": r.choice(("key", "action", "escape"))}),
    "dock": (1.5, lambda r: {"name": r.choice(DOCKS)}),
    "hover": (4, lambda r: {**_cell(r)}),
    "dialog": (0.3, lambda r: {"name": r.choice(("shortcuts", "about"))}),
    "k_box": (0.5, lambda r: {"value": r.randint(0, 60)}),
    "embedding_after": (0.5, lambda r: {"index": r.randrange(BIG)}),
    # laptop to desktop sizes (the window's minimum width decides the smallest); the picture of a
    # huge window would swamp what the memory check is after
    "resize": (0.3, lambda r: {"w": r.randint(500, 1600), "h": r.randint(400, 1000)}),
    "random_key": (3, lambda r: {"target": r.choice(KEY_TARGETS), "key": r.choice(RANDOM_KEYS)}),
}


def draw_step(rng: random.Random) -> Step:
    names = list(GENERATORS)
    weights = [GENERATORS[n][0] for n in names]
    name = rng.choices(names, weights)[0]
    return Step(name, GENERATORS[name][1](rng))


#: variants the opening tour goes through once each, so that every one-time cost (a checkpoint's
#: tokenizer library, presentation fonts, the first export) is paid before memory is measured
TOUR_VARIANTS: dict[str, list[dict[str, Any]]] = {
    "load_model": [{"kind": k} for k in ("good", "random_bytes", "huge", "nan", "gpt2_folder", "bert_folder")],
    # (Model menu order: fluffy, bank, mole, tiny-trained, toy)
    "preset": [{"index": 3, "via": "picker", "sentence": 1}, {"index": 1, "via": "picker_cancel", "sentence": 0},
               {"index": 4, "via": "menu", "sentence": 0}],
    # every kind of sentence once: fonts for emoji and right-to-left scripts, the most chips
    "sentence": [{"kind": k, "seed": i, "mode": "replace", "pos": 0, "how": "paste", "end": "none"} for i, k in enumerate(dict.fromkeys(TEXT_KINDS))],
    "export": [{"kind": k, "panel": 0} for k in ("panel_png", "canvas_png", "panel_svg", "canvas_svg", "copy", "bad_folder")],
    "presentation": [{"via": "key"}, {"via": "escape"}],
    "dialog": [{"name": "shortcuts"}, {"name": "about"}],
}


def draw_steps(seed: int, count: int) -> list[Step]:
    """``count`` steps for ``seed``: an opening tour of every kind of step in a random order
    (with every variant listed in :data:`TOUR_VARIANTS`), then steps drawn by weight."""
    rng = random.Random(seed)
    tour = [Step(name, args) for name, variants in TOUR_VARIANTS.items() for args in variants]
    tour += [Step(name, make(rng)) for name, (_, make) in GENERATORS.items() if name not in TOUR_VARIANTS]
    rng.shuffle(tour)
    steps = tour[:count]
    while len(steps) < count:
        steps.append(draw_step(rng))
    return steps


# -- what the steps cover ------------------------------------------------------------------------------
#: every kind of user action the monkey promises to do (the issue's list), with how often the CI
#: seed must do it at least; ``tests/test_monkey.py`` holds the generator to it
REQUIRED_CATEGORIES: dict[str, int] = {
    "step through stages": 100,
    "jump to a stage": 30,
    "play / pause": 10,
    "change layer": 20,
    "change head": 20,
    **{f"toggle {name}": 10 for name in TOGGLES},
    "sentence: valid": 20,
    "sentence: empty": 5,
    "sentence: unknown words": 10,
    "sentence: punctuation only": 5,
    "sentence: emoji": 5,
    "sentence: 5,000 characters": 5,
    "sentence: control characters": 5,
    "weight typed: valid": 50,
    "weight typed: garbage": 30,
    "weight scrubbed": 50,
    "bulk operation": 20,
    "undo": 50,
    "redo": 30,
    "save session": 10,
    "open session": 10,
    "refused session or model file": 10,
    "export": 10,
    "change preset": 10,
    "preset picker": 5,
    "presentation mode on/off": 10,
}
_NAV_STEPS = {"next", "back", "first", "last", "Right", "Left", "Space", "PgDown", "PgUp", "Home", "End"}
_LAYER_STEPS = {"next_layer", "prev_layer", "Ctrl+Up", "Ctrl+Down"}
_HEAD_STEPS = {"next_head", "prev_head", "]", "["}
_SENTENCE_KINDS = {
    "valid": "valid", "mixed_case": "valid", "numbers": "valid", "unknown": "unknown words", "rtl": "unknown words",
    "combining": "unknown words", "long_word": "unknown words", "punctuation": "punctuation only", "emoji": "emoji",
    "long": "5,000 characters", "control": "control characters",
}


def _parses(text: str) -> bool:
    from simulator.errors import ParamError
    from ui.weight_editing import parse_value

    try:
        parse_value(text)
    except ParamError:
        return False
    return True


def categories(step: Step) -> list[str]:
    """Which of :data:`REQUIRED_CATEGORIES` (and finer ones) a step counts towards."""
    name, a = step.name, step.args
    found: list[str] = []
    if name in ("action", "key"):
        what = a.get("name", a.get("key"))
        if what in _NAV_STEPS:
            found.append("step through stages")
        elif what in _LAYER_STEPS:
            found.append("change layer")
        elif what in _HEAD_STEPS:
            found.append("change head")
    elif name == "jump":
        found.append("jump to a stage")
    elif name == "play":
        found.append("play / pause")
    elif name == "layer_box":
        found.append("change layer")
    elif name == "head_box":
        found.append("change head")
    elif name == "toggle":
        found.append(f"toggle {a['name']}")
    elif name == "sentence":
        kind = a["kind"]
        if kind in ("empty", "whitespace"):
            if a["mode"] == "replace":
                found.append("sentence: empty")
        else:
            found.append(f"sentence: {_SENTENCE_KINDS[kind]}")
    elif name in ("type_weight", "browser_edit", "table_edit"):
        if a.get("end", "enter") != "escape":
            found.append("weight typed: valid" if _parses(a["text"]) else "weight typed: garbage")
    elif name == "scrub":
        found.append("weight scrubbed")
    elif name == "bulk":
        found.append("bulk operation")
    elif name in ("undo", "redo"):
        found.append(name)
    elif name == "history":
        found += ["undo", "redo"]
    elif name == "save":
        found.append("save session" if a["kind"] in ("new", "same") else "refused session or model file")
    elif name == "open":
        found.append("open session" if a["kind"] == "saved" else "refused session or model file")
    elif name == "load_model" and a["kind"] in ("random_bytes", "huge", "nan"):
        found.append("refused session or model file")
    elif name in ("export", "export_all"):
        found.append("export")
    elif name == "preset":
        found.append("change preset")
        if a["via"] != "menu":
            found.append("preset picker")
    elif name == "presentation":
        found.append("presentation mode on/off")
    return found


def coverage(steps: list[Step]) -> dict[str, int]:
    """How many steps count towards each category, required ones first (zeros included)."""
    counts = dict.fromkeys(REQUIRED_CATEGORIES, 0)
    for step in steps:
        for category in categories(step):
            counts[category] = counts.get(category, 0) + 1
    return counts


# -- sentences --------------------------------------------------------------------------------------------
def make_text(kind: str, vocab: list[str], rng: random.Random) -> str:
    words = [w for w in vocab if w.isalnum() and not w.startswith("<")] or ["a"]
    if kind == "valid":
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
    if kind == "unknown":
        return " ".join(rng.choice(words + ["zebra", "blorf", "xyzzy", "quokka", "zürich", "don't"]) for _ in range(rng.randint(1, 5)))
    if kind == "empty":
        return ""
    if kind == "whitespace":
        return rng.choice((" ", "   ", "\t", " \u00a0 ", "\u3000"))
    if kind == "punctuation":
        return "".join(rng.choice(".,!?;:-—…'\"()[]{}") for _ in range(rng.randint(1, 12)))
    if kind == "emoji":
        return rng.choice(("🙂", "🐱🐶", "👍🏽", "👨‍👩‍👧", "🇫🇷", "a 🙂 " + words[0], "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"))
    if kind == "long":
        return rng.choice(("the cat " * 625, "a" * 5000, "🙂" * 2500, ("x" * 49 + " ") * 100))
    if kind == "control":
        return rng.choice(("the\x00cat", "a\x07b\x1bc", "cat\r\ndog", "\u200b\ufeff" + words[0], "\x7f", "a\u202eb", "x\u2028y", "\x01\x02\x03"))
    if kind == "numbers":
        return rng.choice(("3.14 42", "1e9", "0", "12 34 56"))
    if kind == "mixed_case":
        return " ".join(w.upper() if rng.random() < 0.5 else w.capitalize() for w in (rng.choice(words) for _ in range(3)))
    if kind == "rtl":
        return "مرحبا " + words[0] + " שלום"
    if kind == "combining":
        return "cafe\u0301 e\u0301 " + words[0]
    if kind == "long_word":
        return "a" * rng.randint(40, 300)
    raise ValueError(kind)


def _typeable(text: str) -> bool:
    return len(text) <= 24 and all(32 <= ord(ch) < 127 for ch in text)


# -- performing steps -----------------------------------------------------------------------------------------
KEYS = {
    "Right": K.Key_Right, "Left": K.Key_Left, "Up": K.Key_Up, "Down": K.Key_Down, "Home": K.Key_Home, "End": K.Key_End,
    "PgUp": K.Key_PageUp, "PgDown": K.Key_PageDown, "Space": K.Key_Space, "Return": K.Key_Return, "Escape": K.Key_Escape,
    "Tab": K.Key_Tab, "Backspace": K.Key_Backspace, "Delete": K.Key_Delete, "F1": K.Key_F1, "F2": K.Key_F2, "F5": K.Key_F5,
    "]": K.Key_BracketRight, "[": K.Key_BracketLeft, ".": K.Key_Period, "7": K.Key_7,
}


def parse_key(text: str) -> tuple[Qt.Key, Qt.KeyboardModifier]:
    parts = text.split("+") if text not in ("+",) else [text]
    mods = M.NoModifier
    for part in parts[:-1]:
        mods |= {"Ctrl": M.ControlModifier, "Shift": M.ShiftModifier, "Alt": M.AltModifier}[part]
    last = parts[-1]
    key = KEYS.get(last) or getattr(K, f"Key_{last.upper()}")
    return key, mods


class Performer:
    """Carries out steps on one main window, with files in ``folder``."""

    def __init__(self, window: Any, folder: Path, dialogs: Dialogs) -> None:
        self.window = window
        self.folder = Path(folder)
        self.dialogs = dialogs
        self.saved: list[Path] = []
        self.counter = 0
        self.skipped = 0
        self.skipped_by_step: dict[str, int] = {}
        #: the steps that did what they say (not skipped as not applying to the screen)
        self.performed: list[Step] = []
        self.times: dict[str, list[float]] = {}
        self._files = self._bad_files()

    # -- setup ------------------------------------------------------------------------------------------
    def _bad_files(self) -> dict[str, Path]:
        folder = self.folder / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        files = {
            "random_bytes": folder / "random.npz",
            "empty": folder / "empty.npz",
            "truncated": folder / "truncated.npz",
            "missing": folder / "missing.npz",
            "model_file": folder / "model.npz",
            "folder": folder / "a-folder.npz",
            "good_model": folder / "tiny.npz",
            "huge": folder / "huge.npz",
            "nan": folder / "nan.npz",
        }
        files["random_bytes"].write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        files["empty"].write_bytes(b"")
        simulator.save_model(simulator.build_preset("toy"), files["model_file"])
        data = files["model_file"].read_bytes()
        files["truncated"].write_bytes(data[: len(data) // 2])
        files["folder"].mkdir(exist_ok=True)
        simulator.save_model(simulator.build_preset("tiny-trained"), files["good_model"])
        from simulator.model_file import write_npz_atomic

        meta = {"schema": "transformer-step-sim/model", "version": 1, "config": {
            "d_model": 10**9, "n_heads": 1, "d_head": 10**9, "n_layers": 1, "d_mlp": 4, "vocab_size": 4, "n_ctx": 4}}
        write_npz_atomic(files["huge"], {}, meta)
        model = simulator.build_preset("toy")
        from simulator.model_file import model_arrays, model_meta

        arrays = dict(model_arrays(model))
        bad = np.array(arrays["param/blocks.0.attn.W_Q"])
        bad[0, 0, 0] = np.nan
        arrays["param/blocks.0.attn.W_Q"] = bad
        write_npz_atomic(files["nan"], arrays, {"schema": "transformer-step-sim/model", "version": 1, **model_meta(model)})
        (self.folder / "exports").mkdir(exist_ok=True)
        return files

    # -- the entry point ------------------------------------------------------------------------------------
    def perform(self, step: Step) -> str:
        """Do the step; return "view", "edit" or "undo" (how the history may have moved)."""
        self.dialogs.reset()
        handler = getattr(self, f"do_{step.name}")
        start = time.perf_counter()
        try:
            kind = handler(**step.args)
            self.performed.append(step)
        except Skip:
            self.skipped += 1
            self.skipped_by_step[step.name] = self.skipped_by_step.get(step.name, 0) + 1
            kind = "view"
        finally:
            self._settle()
            self.times.setdefault(step.name, []).append(time.perf_counter() - start)
        return kind

    # -- helpers --------------------------------------------------------------------------------------------
    @property
    def state(self):  # noqa: ANN201
        return self.window.state

    def _settle(self) -> None:
        # a key that started playing ("P" typed into the window) pauses at once: playing on
        # across steps would make the run depend on timing, and a seed must replay exactly
        if self.window.actions["play"].isChecked():
            self.window.actions["play"].setChecked(False)
        QApplication.processEvents()
        for widget in QApplication.topLevelWidgets():  # a dialog a key opened (F1): the user closes it
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()
        QApplication.processEvents()
        # a closed dialog hands activation back to its parent on a desktop, not offscreen: the user
        # clicking back into the window activates it (else keys would go nowhere, and a cell editor
        # without focus would take Enter for leaving the field)
        self._activate()

    def _activate(self) -> None:
        if not self.window.isActiveWindow():
            self.window.activateWindow()
            self.window.raise_()
            QApplication.processEvents()

    def _dock(self, name: str) -> QDockWidget:
        return getattr(self.window, f"{name}_dock")

    def _reveal(self, name: str) -> None:
        """Bring a dock to the front as a user would (its tab); skip in presentation mode."""
        if self.window.in_presentation:
            raise Skip
        dock = self._dock(name)
        if not dock.isVisible():
            dock.toggleViewAction().trigger()
        dock.raise_()
        QApplication.processEvents()
        if not dock.isVisible():
            raise Skip

    def _editable_panels(self) -> list[Any]:
        return [p for p in self.window.canvas.panels if p.matrix is not None and p.matrix.editable and p.isVisible()]

    @staticmethod
    def _shape(panel: Any) -> tuple[int, int]:
        data = panel.matrix.data
        return (1, data.shape[0]) if data.ndim == 1 else data.shape

    def _cell_point(self, panel: Any, row: int, col: int) -> tuple[int, int, QPoint]:
        rows, cols = self._shape(panel)
        r, c = row % rows, col % cols
        pos = panel.cell_center_in_widget(r, c)
        point = QPoint(int(round(pos.x())), int(round(pos.y())))
        if not panel.viewport().rect().contains(point):
            raise Skip  # scrolled out of sight: the user cannot click it
        first, last = panel.cell_center_in_widget(0, 0), panel.cell_center_in_widget(rows - 1, cols - 1)
        if (cols > 1 and (last.x() - first.x()) / (cols - 1) < MIN_CELL_PX) or (rows > 1 and (last.y() - first.y()) / (rows - 1) < MIN_CELL_PX):
            raise Skip  # a long vector in a narrow panel: cells of a pixel or less cannot be aimed at
        return r, c, point

    def _history_mark(self) -> tuple[int, int]:
        stack = self.state.undo_stack
        return stack.index(), stack.count()

    def _expect_pushed(self, before: tuple[int, int], what: str) -> None:
        index, count = self._history_mark()
        require((index, count) == (before[0] + 1, before[0] + 1), f"{what}: expected one new undo step after {before}, found {(index, count)}")

    def _expect_unchanged(self, before: tuple[int, int], params: dict[str, np.ndarray], what: str) -> None:
        require(self._history_mark() == before, f"{what}: the undo history changed from {before} to {self._history_mark()}")
        for name, value in params.items():
            require(self.state.model.params[name].tobytes() == value.tobytes(), f"{what}: {name} changed")

    def _next_name(self, stem: str, suffix: str) -> Path:
        self.counter += 1
        return self.folder / "exports" / f"{stem}-{self.counter}{suffix}"

    # -- navigation -----------------------------------------------------------------------------------------
    def do_action(self, name: str) -> str:
        self.window.actions[name].trigger()
        return "view"

    def do_key(self, key: str) -> str:
        self._activate()
        code, mods = parse_key(key)
        QTest.keyClick(self.window, code, mods)
        return "view"

    def do_jump(self, stage: int) -> str:
        nav = self.window.navigator
        if not nav.isVisible():
            raise Skip
        ids = self.state.model.stage_ids()
        sid = ids[stage % len(ids)]
        item = nav.item_for(sid)
        nav.scrollToItem(item)
        rect = nav.visualItemRect(item)
        if rect.isEmpty() or not nav.viewport().rect().contains(rect.center()):
            raise Skip
        QTest.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, M.NoModifier, rect.center())
        require(self.state.stage_id == sid, f"clicking {sid} in the navigator went to {self.state.stage_id}")
        return "view"

    def do_play(self, steps: int, via: str) -> str:
        """Play for exactly ``steps`` stage changes, then pause (deterministic, unlike waiting)."""
        window, state = self.window, self.state
        seen = [0]

        def counted(_: str) -> None:
            seen[0] += 1
            if seen[0] >= steps:
                window.play_timer.stop()  # no further tick until the step pauses below

        state.stage_changed.connect(counted)
        try:
            if via == "key":
                self._activate()
                QTest.keyClick(window, K.Key_P)
            else:
                window.actions["play"].trigger()
            if window.actions["play"].isChecked() and seen[0] < steps:
                window.play_timer.setInterval(1)
                deadline = time.monotonic() + 5
                while seen[0] < steps and window.actions["play"].isChecked() and time.monotonic() < deadline:
                    QTest.qWait(1)
        finally:
            state.stage_changed.disconnect(counted)
            if window.actions["play"].isChecked():
                window.actions["play"].setChecked(False)
        require(not window.play_timer.isActive(), "the play timer still runs after pausing")
        return "view"

    def _spin(self, box: Any, value: int, by: int) -> None:
        if not box.isEnabled() or not box.isVisible():
            raise Skip
        if by:
            box.stepBy(by)
        else:
            box.setValue(box.minimum() + value % (box.maximum() - box.minimum() + 1))

    def do_layer_box(self, value: int, by: int) -> str:
        self._spin(self.window.layer_box, value, by)
        return "view"

    def do_head_box(self, value: int, by: int) -> str:
        self._spin(self.window.head_box, value, by)
        return "view"

    def do_toggle(self, name: str) -> str:
        self.window.actions[name].trigger()
        return "edit"

    def do_temperature(self, fraction: float) -> str:
        self._reveal("next_token")
        slider = self.window.next_token.temperature_slider
        if not slider.isEnabled():
            raise Skip
        slider.setValue(slider.minimum() + int(round(fraction * (slider.maximum() - slider.minimum()))))
        return "edit"

    def do_k_box(self, value: int) -> str:
        self._reveal("next_token")
        self.window.next_token.k_box.setValue(value)
        return "view"

    def do_embedding_after(self, index: int) -> str:
        self._reveal("embedding")
        box = self.window.embedding.after_choice
        if box.count():
            box.setCurrentIndex(index % box.count())
        return "view"

    # -- the sentence --------------------------------------------------------------------------------------------
    def do_sentence(self, kind: str, seed: int, mode: str, pos: int, how: str, end: str) -> str:
        window, state = self.window, self.state
        vocab = list(getattr(state.model.tokenizer, "vocab", ())) or state.text.split()
        text = make_text(kind, vocab, random.Random(seed))
        edit = window.sentence_box.edit
        self._activate()
        edit.setFocus()
        if mode == "replace":
            edit.selectAll()
        elif mode == "append":
            edit.end(False)
            text = " " + text if text else text
        else:
            edit.setCursorPosition(pos % (len(edit.text()) + 1))
        trace_before, text_before = state.trace, state.text
        if how == "type" and _typeable(text):
            if text:
                QTest.keyClicks(edit, text)
            elif edit.hasSelectedText():
                QTest.keyClick(edit, K.Key_Delete)
            pasted = False
        else:
            QApplication.clipboard().setText(text)
            QTest.keyClick(edit, K.Key_V, M.ControlModifier)
            pasted = True
        shown = edit.text()
        error = state.check_text(shown)
        if error:
            require(state.text_error == error, f"the box holds {shown[:60]!r}, which cannot run ({error}), but the error shown is {state.text_error!r}")
            require(window.sentence_box.error_label.text() == error, "the sentence error is not shown under the box")
            if pasted:
                require(state.trace is trace_before and state.text == text_before, "a sentence that cannot run changed the trace")
        else:
            require(state.text_error == "", f"the box holds runnable text {shown[:60]!r} but shows the error {state.text_error!r}")
            require(tuple(state.trace.ids) == tuple(state.model.encode(shown).ids),
                    f"the box holds {shown[:60]!r} but the trace runs {state.text[:60]!r}")
        if end == "enter":
            QTest.keyClick(edit, K.Key_Return)
        elif end == "escape":
            QTest.keyClick(edit, K.Key_Escape)
            require(edit.text() == state.text and state.text_error == "", "Escape did not put back the last sentence that ran")
        elif end == "tab":
            QTest.keyClick(edit, K.Key_Tab)
        return "edit"

    def do_append(self, rank: int) -> str:
        self._reveal("next_token")
        view = self.window.next_token
        if not view.supported or not view.append_button.isEnabled() or not view.predictions():
            raise Skip
        view.choose(rank % len(view.predictions()))
        token = view.chosen_token()
        before = self._history_mark()
        QTest.mouseClick(view.append_button, Qt.MouseButton.LeftButton)
        if self._history_mark() != before:
            self._expect_pushed(before, "Append")
            require(int(self.state.trace.ids[-1]) == token, "Append did not add the chosen token")
        else:
            require(view.message.isVisible() and view.message.text(), "Append added nothing and did not say why")
        return "edit"

    # -- weights -------------------------------------------------------------------------------------------------
    def _type_into_cell(self, panel: Any, row: int, col: int, text: str, end: str, what: str) -> None:
        state = self.state
        r, c, point = self._cell_point(panel, row, col)
        target = self.window.weight_editor.target(panel, r, c)
        if target is None:
            raise Skip
        name, index = target
        before_params = {name: np.array(state.model.params[name])}
        before = self._history_mark()
        QTest.qWait(MOVE_INTERVAL_MS)
        QTest.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, M.NoModifier, point)
        editor = self.window.weight_editor.active_editor
        require(editor is not None and editor.isVisible(), f"{what}: clicking {name}{index} did not open an editor")
        editor.selectAll()
        QTest.keyClick(editor, K.Key_Delete)
        if _typeable(text):
            QTest.keyClicks(editor, text)
        else:
            editor.insert(text)
        dtype = state.model.params[name].dtype
        from simulator.errors import ParamError
        from ui.weight_editing import parse_value

        try:
            value = dtype.type(parse_value(text, dtype))
        except ParamError:
            value = None
        if end == "enter":
            QTest.keyClick(editor, K.Key_Return)
            if value is None:
                require(self.window.weight_editor.active_editor is editor, f"{what}: a refused value {text!r} closed the editor")
                require(editor.error_label.isVisible() and bool(editor.error_label.text()), f"{what}: {text!r} was refused without a message")
                self._expect_unchanged(before, before_params, f"{what} {text!r}")
                QTest.keyClick(editor, K.Key_Escape)
                require(self.window.weight_editor.active_editor is None, f"{what}: Escape did not close the editor")
            else:
                require(self.window.weight_editor.active_editor is None, f"{what}: {text!r} was accepted but the editor stayed open")
                self._expect_pushed(before, f"{what} {text!r}")
                require(state.model.params[name][index] == value, f"{what}: {name}{index} is {state.model.params[name][index]}, typed {text!r}")
        elif end == "escape":
            QTest.keyClick(editor, K.Key_Escape)
            require(self.window.weight_editor.active_editor is None, f"{what}: Escape did not close the editor")
            self._expect_unchanged(before, before_params, f"{what} cancelled")
        else:  # click somewhere else: the field loses focus
            self.window.sentence_box.edit.setFocus()
            QApplication.processEvents()
            if value is None or value == before_params[name][index]:
                self._expect_unchanged(before, before_params, f"{what} {text!r} left by focus")
            else:
                self._expect_pushed(before, f"{what} {text!r} left by focus")

    def do_type_weight(self, panel: int, row: int, col: int, text: str, end: str) -> str:
        panels = self._editable_panels()
        if not panels:
            raise Skip
        self._type_into_cell(panels[panel % len(panels)], row, col, text, end, "typing into a weight cell")
        return "edit"

    def do_scrub(self, panel: int, row: int, col: int, offsets: list[int]) -> str:
        panels = self._editable_panels()
        if not panels:
            raise Skip
        target_panel = panels[panel % len(panels)]
        r, c, start = self._cell_point(target_panel, row, col)
        target = self.window.weight_editor.target(target_panel, r, c)
        if target is None:
            raise Skip
        name, index = target
        old = np.array(self.state.model.params[name])
        before = self._history_mark()
        viewport = target_panel.viewport()
        QTest.qWait(MOVE_INTERVAL_MS)
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, M.NoModifier, start)
        for dy in offsets:
            QTest.qWait(MOVE_INTERVAL_MS)
            QTest.mouseMove(viewport, start - QPoint(0, dy))
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, M.NoModifier, start - QPoint(0, offsets[-1]))
        require(not self.window.weight_editor.scrubbing, "a scrub gesture is still in progress after the mouse was released")
        now = self.state.model.params[name]
        if now.tobytes() == old.tobytes():
            require(self._history_mark() == before, "a scrub that changed nothing left an undo step")
        else:
            self._expect_pushed(before, f"scrubbing {name}{index}")
            changed = np.argwhere(now != old).tolist()
            require(changed == [list(index)], f"scrubbing {name}{index} changed {changed}")
        return "edit"

    def _browser(self, param: int, head: int) -> Any:
        self._reveal("params")
        browser = self.window.params_browser
        names = browser.names()
        name = names[param % len(names)]
        browser.select(name, head=head % self.state.model.config.n_heads)
        QApplication.processEvents()
        return browser

    def do_browser_edit(self, panel: int, row: int, col: int, param: int, head: int, text: str) -> str:
        browser = self._browser(param, head)
        self._type_into_cell(browser.heatmap, row, col, text, "enter", "typing into the Parameters browser")
        return "edit"

    def do_bulk(self, param: int, head: int, row: int | None, scope: str, op: str, seed: int, factor: float) -> str:
        browser = self._browser(param, head)
        if row is not None and browser.heatmap.matrix is not None and not browser.heatmap.matrix.extra.get("vector"):
            r, c, point = self._cell_point(browser.heatmap, row, 0)
            QTest.qWait(MOVE_INTERVAL_MS)
            QTest.mouseClick(browser.heatmap.viewport(), Qt.MouseButton.LeftButton, M.NoModifier, point)
            if self.window.weight_editor.active_editor is not None:
                QTest.keyClick(self.window.weight_editor.active_editor, K.Key_Escape)
        if not browser.bulk_toggle.isChecked():
            QTest.mouseClick(browser.bulk_toggle, Qt.MouseButton.LeftButton)
        texts = [browser.scope_box.itemText(i) for i in range(browser.scope_box.count())]
        matching = [i for i, t in enumerate(texts) if t.startswith(scope)]
        if not matching:
            raise Skip
        browser.scope_box.setCurrentIndex(matching[0])
        browser.seed_box.setValue(seed)
        browser.factor_box.setValue(factor)
        button = browser.bulk_buttons[op]
        if not button.isEnabled() or not button.isVisible():
            raise Skip
        name = browser.current_name
        before_params = {name: np.array(self.state.model.params[name])}
        before = self._history_mark()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        if self._history_mark() == before:
            require(browser.bulk_error.isVisible() and bool(browser.bulk_error.text()), f"bulk {op} on {texts[matching[0]]} did nothing and said nothing")
            self._expect_unchanged(before, before_params, f"refused bulk {op}")
        else:
            self._expect_pushed(before, f"bulk {op}")
        return "edit"

    def do_table_edit(self, panel: int, row: int, col: int, param: int, head: int, text: str) -> str:
        browser = self._browser(param, head)
        QTest.mouseClick(browser.table_button, Qt.MouseButton.LeftButton)
        QApplication.processEvents()
        table = self.window.weight_table
        if not table.isVisible():
            raise Skip
        model = table.view.model()
        if not model.rowCount() or not model.columnCount():
            raise Skip
        index = model.index(row % model.rowCount(), col % model.columnCount())
        name = table.model.name
        before_params = {name: np.array(self.state.model.params[name])}
        before = self._history_mark()
        table.view.setCurrentIndex(index)
        table.view.scrollTo(index)
        table.view.setFocus()
        table.view.edit(index)
        editor = QApplication.focusWidget()
        if not isinstance(editor, QLineEdit):
            raise Skip
        editor.selectAll()
        editor.insert(text)
        QTest.keyClick(editor, K.Key_Return)
        QApplication.processEvents()
        if self._history_mark() == before:
            require(table.error.isVisible() and bool(table.error.text()), f"the table refused {text!r} without saying why")
            self._expect_unchanged(before, before_params, f"table edit {text!r}")
        else:
            self._expect_pushed(before, f"table edit {text!r}")
        return "edit"

    # -- undo ----------------------------------------------------------------------------------------------------
    def _undo_redo(self, which: str, via: str) -> str:
        before = self._history_mark()
        if via == "key":
            self._activate()
            self.window.canvas.setFocus()
            key, mods = parse_key("Ctrl+Z" if which == "undo" else "Ctrl+Shift+Z")
            QTest.keyClick(self.window, key, mods)
        else:
            self.window.actions[which].trigger()
        index, count = self._history_mark()
        if count != before[1]:
            return "edit"
        if via == "action":
            step = -1 if which == "undo" else 1
            possible = 0 <= before[0] + step <= count
            require(index == (before[0] + step if possible else before[0]), f"{which} moved the history from {before[0]} to {index}")
        return "undo"

    def do_undo(self, via: str) -> str:
        return self._undo_redo("undo", via)

    def do_redo(self, via: str) -> str:
        return self._undo_redo("redo", via)

    def do_history(self, index: int) -> str:
        self._reveal("history")
        view = self.window.history.list
        model = view.model()
        row = index % model.rowCount()
        rect = view.visualRect(model.index(row, 0))
        if rect.isEmpty() or not view.viewport().rect().contains(rect.center()):
            view.scrollTo(model.index(row, 0))
            rect = view.visualRect(model.index(row, 0))
            if rect.isEmpty() or not view.viewport().rect().contains(rect.center()):
                raise Skip
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, M.NoModifier, rect.center())
        require(self.state.undo_stack.index() == row, f"clicking history line {row} left the stack at {self.state.undo_stack.index()}")
        return "undo"

    # -- files ----------------------------------------------------------------------------------------------------
    def _session_fingerprint(self) -> tuple:
        state = self.state
        return (state.model, state.text, tuple(state.trace.ids), self._history_mark(), self.window.sessions.path)

    def do_save(self, kind: str) -> str:
        sessions = self.window.sessions
        before = self._session_fingerprint()
        was_modified = sessions.modified
        if kind in ("new", "same"):
            target = self.folder / f"session-{self.counter + 1}.npz"
            self.counter += 1
            self.dialogs.save_name = str(target)
            self.window.actions["save_as" if kind == "new" or sessions.path is None else "save"].trigger()
            require(not self.dialogs.told("warning"), f"saving failed: {[t.text for t in self.dialogs.told('warning')]}")
            require(not sessions.modified and not self.window.isWindowModified(), "a successful save left the session modified")
            require(sessions.path is not None and sessions.path.is_file(), "the saved file is not there")
            self.saved.append(sessions.path)
            return "view"
        target = {
            "missing_folder": self.folder / "no" / "such" / "folder" / "s.npz",
            "is_folder": self._files["folder"],
            "unwritable": Path("/proc/monkey-session.npz"),
        }[kind]
        self.dialogs.save_name = str(target)
        self.window.actions["save_as"].trigger()
        warnings = self.dialogs.told("warning")
        require(len(warnings) == 1 and "Nothing was lost" in warnings[0].text, f"saving to {target} was not refused clearly: {warnings}")
        require(self._session_fingerprint() == before and sessions.modified == was_modified, f"a failed save to {target} changed the session")
        return "view"

    def _answer_prompt(self, answer: str) -> None:
        self.dialogs.question_answer = answer
        if answer == "save":
            self.counter += 1
            self.dialogs.save_name = str(self.folder / f"session-{self.counter}.npz")

    def do_open(self, kind: str, index: int, answer: str) -> str:
        sessions = self.window.sessions
        if kind == "saved":
            existing = [p for p in self.saved if p.is_file()]
            if not existing:
                raise Skip
            path = existing[index % len(existing)]
        else:
            path = self._files[kind]
        self._answer_prompt(answer)
        self.dialogs.open_name = str(path)
        before = self._session_fingerprint()
        was_modified = sessions.modified
        self.window.actions["open"].trigger()
        asked = bool(self.dialogs.told("question"))
        require(asked == was_modified, f"opening asked about unsaved changes: {asked}, but modified was {was_modified}")
        if asked and answer == "cancel":
            require(self._session_fingerprint() == before, "Cancel at the unsaved-changes prompt still changed the session")
            return "view"
        if asked and answer == "save":
            require(not self.dialogs.told("warning") or kind != "saved", "saving before opening failed")
        if kind == "saved":
            require(not self.dialogs.told("warning"), f"opening a saved session failed: {[t.text for t in self.dialogs.told('warning')]}")
            require(sessions.path == path and not sessions.modified and self.state.undo_stack.count() == 0,
                    "an opened session is not clean, or does not belong to its file")
        else:
            warnings = self.dialogs.told("warning")
            require(len(warnings) == 1 and "The current session is unchanged" in warnings[0].text,
                    f"opening {path.name} was not refused clearly: {[w.text for w in warnings]}")
            state = self.state
            require(state.model is before[0] and state.text == before[1] and tuple(state.trace.ids) == before[2],
                    f"a refused open of {path.name} changed the session")
        return "edit"

    def do_new(self, answer: str) -> str:
        self._answer_prompt(answer)
        before = self._session_fingerprint()
        was_modified = self.window.sessions.modified
        self.window.actions["new"].trigger()
        asked = bool(self.dialogs.told("question"))
        require(asked == was_modified, "New asked about unsaved changes when there were none, or did not ask")
        if asked and answer == "cancel":
            require(self._session_fingerprint() == before, "Cancel at the prompt still started a new session")
            return "view"
        require(self.state.undo_stack.count() == 0 and not self.window.sessions.modified and self.window.sessions.path is None,
                "New did not start a clean, untitled session")
        return "edit"

    def do_export(self, kind: str, panel: int) -> str:
        actions = self.window.actions
        if kind == "copy":
            actions["copy_image"].trigger()
            return "view"
        self.dialogs.item_index = panel
        if kind == "bad_folder":
            self.dialogs.save_name = str(self.folder / "no" / "such" / "picture.png")
            actions["export_png"].trigger()
            warnings = self.dialogs.told("warning")
            require(len(warnings) == 1 and "does not exist" in warnings[0].text, f"an export into a missing folder was not refused clearly: {warnings}")
            return "view"
        suffix = ".svg" if kind.endswith("svg") else ".png"
        target = self._next_name(kind, suffix)
        self.dialogs.save_name = str(target)
        action = {"panel_png": "export_panel_png", "canvas_png": "export_png", "panel_svg": "export_panel_svg", "canvas_svg": "export_svg"}[kind]
        actions[action].trigger()
        require(not self.dialogs.told("warning"), f"export {kind} failed: {[t.text for t in self.dialogs.told('warning')]}")
        require(target.is_file() and target.stat().st_size > 0, f"export {kind} wrote no file")
        target.unlink()
        return "view"

    def do_export_all(self) -> str:
        self.counter += 1
        folder = self.folder / "exports" / f"all-{self.counter}"
        folder.mkdir()
        self.dialogs.folder = str(folder)
        stage = self.state.stage_id
        self.window.actions["export_all"].trigger()
        written = sorted(folder.iterdir())
        require(len(written) == len(self.state.model.stage_ids()), f"export all wrote {len(written)} pictures")
        require(self.state.stage_id == stage, "export all did not come back to the stage on screen")
        for path in written:
            path.unlink()
        folder.rmdir()
        return "view"

    def do_preset(self, index: int, via: str, sentence: int) -> str:
        """A preset from the Model menu, or from the preset picker (Ctrl+M): opened with the mouse
        or Enter, with one of its suggested sentences or keeping the current one, or cancelled."""
        window = self.window
        names = list(window.preset_actions)
        name = names[index % len(names)]
        model = self.state.model
        if via == "menu":
            window.preset_actions[name].trigger()
            require(self.state.model is not model and self.state.model.info.name == name, f"choosing preset {name} did not switch to it")
            return "edit"
        from ui.panels.preset_picker import PresetPickerDialog

        if window.in_presentation:
            raise Skip  # no menus, no dialogs in presentation mode
        before = self._session_fingerprint()
        self._activate()
        QTest.keyClick(window, K.Key_M, M.ControlModifier)
        shown = [d for d in window.findChildren(PresetPickerDialog) if d.isVisible()]
        require(len(shown) == 1, f"Ctrl+M opened {len(shown)} preset pickers")
        dialog = shown[0]
        dialog.select_preset(name)
        rows = dialog.sentence_list.count()
        if rows:
            dialog.sentence_list.setCurrentRow(sentence % rows)
        text = dialog.selected_sentence()
        if via == "picker_cancel":
            QTest.keyClick(dialog.preset_list, K.Key_Escape)
            require(not dialog.isVisible(), "Escape did not close the preset picker")
            require(self._session_fingerprint() == before, "cancelling the preset picker changed the session")
            return "view"
        if via == "picker_keys":
            dialog.preset_list.setFocus()
            QTest.keyClick(dialog.preset_list, K.Key_Return)
        else:
            QTest.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
        require(not dialog.isVisible(), f"opening {name} ({via}) did not close the preset picker")
        require(self.state.model is not model and self.state.model.info.name == name, f"opening {name} in the preset picker did not switch to it")
        require(text is None or self.state.text == text, f"opening {name} with {text!r} runs {self.state.text!r}")
        return "edit"

    def _wait_for_loader(self) -> None:
        """Models load on a worker thread: wait until the load under way has ended."""
        loader = getattr(self.window, "model_loader", None)
        deadline = time.monotonic() + 30
        while loader is not None and loader.is_loading and time.monotonic() < deadline:
            QTest.qWait(5)
        require(loader is None or not loader.is_loading, "a model load never ended")

    def do_load_model(self, kind: str) -> str:
        window = self.window
        model = self.state.model
        if kind.endswith("_folder"):
            if "open_model" not in dict(window.actions.items()):
                raise Skip
            path = CHECKPOINTS / {"gpt2_folder": "gpt2-tiny", "bert_folder": "bert-tiny"}[kind]
            self.dialogs.folder = str(path)
            window.actions["open_model"].trigger()
        else:
            path = self._files["good_model" if kind == "good" else kind]
            self.dialogs.open_name = str(path)
            window.actions["load_model"].trigger()
        self._wait_for_loader()
        warnings = self.dialogs.told("warning")
        if kind == "good" or kind.endswith("_folder"):
            require(not warnings and self.state.model is not model, f"loading {path.name} failed: {[w.text for w in warnings]}")
        else:
            require(len(warnings) == 1 and "The current model is unchanged" in warnings[0].text,
                    f"loading {path.name} was not refused clearly: {[w.text for w in warnings]}")
            require(self.state.model is model, f"a refused model file {path.name} changed the model")
        return "edit"

    # -- the window -----------------------------------------------------------------------------------------------
    def do_presentation(self, via: str) -> str:
        window = self.window
        if via == "key":
            self._activate()
            QTest.keyClick(window, K.Key_F5)
        elif via == "escape":
            self._activate()
            window.canvas.setFocus()
            QTest.keyClick(window, K.Key_Escape)
        else:
            window.actions["presentation"].trigger()
        QApplication.processEvents()
        require(window.in_presentation == window.actions["presentation"].isChecked(), "presentation mode and its action disagree")
        require(window.menuBar().isVisible() != window.in_presentation, "the menu bar shows in presentation mode (or hides outside it)")
        return "view"

    def do_dock(self, name: str) -> str:
        self._dock(name).toggleViewAction().trigger()
        return "view"

    def do_hover(self, panel: int, row: int, col: int) -> str:
        panels = [p for p in self.window.canvas.panels if p.isVisible() and p.matrix is not None]
        if not panels:
            raise Skip
        target = panels[panel % len(panels)]
        _, _, point = self._cell_point(target, row, col)
        QTest.mouseMove(target.viewport(), point)
        return "view"

    def do_dialog(self, name: str) -> str:
        self.window.actions[name].trigger()
        return "view"

    def do_resize(self, w: int, h: int) -> str:
        if self.window.in_presentation:
            raise Skip
        self.window.resize(w, h)
        return "view"

    def do_random_key(self, target: str, key: str) -> str:
        self._activate()
        widgets = {
            "window": self.window,
            "sentence": self.window.sentence_box.edit,
            "canvas": self.window.canvas,
            "navigator": self.window.navigator,
            "params_tree": self.window.params_browser.tree,
            "table": self.window.weight_table.view,
        }
        widget = widgets[target]
        if not widget.isVisible():
            raise Skip
        if widget is not self.window:
            widget.setFocus()
        code, mods = parse_key(key)
        # whatever the key opens asks for a file or an answer: the user cancels
        QTest.keyClick(widget, code, mods)
        # an editor the key opened (a cell editor; typing or F2 in the weight table) is cancelled
        # too: left open, the next click elsewhere would commit it on top of that step's own edit
        if self.window.weight_editor.active_editor is not None:
            QTest.keyClick(self.window.weight_editor.active_editor, K.Key_Escape)
        table = self.window.weight_table.view
        if table.state() == QAbstractItemView.State.EditingState:
            editor = QApplication.focusWidget()
            QTest.keyClick(editor if editor is not None else table, K.Key_Escape)
            require(table.state() != QAbstractItemView.State.EditingState, "Escape did not close the table editor")
        return "edit"


def timing_summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"count": len(v), "total_s": round(sum(v), 2), "mean_ms": round(1e3 * sum(v) / len(v), 1)}
        for name, v in sorted(times.items(), key=lambda kv: -sum(kv[1]))
    }


def describe(steps: list[Step]) -> str:
    return "\n".join(f"{i:5d} {s.to_json()}" for i, s in enumerate(steps))


