"""Every row of the bad-input catalogue (``tests/bad_input_catalogue.py``): the user sees a clear
message, and nothing changed or was lost.

"Clear" means: the expected fragment, no traceback, and for the command lines exactly one line on
stderr with a non-zero exit status. "Nothing changed" means, wherever the input went: the same
model object with every weight bit for bit, the same sentence and trace, the same undo history
and modified marker, the same file the session belongs to, the file already on disk unchanged,
and no output or temporary file left behind.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox

import simulator
from bad_input_catalogue import (
    BULK,
    CATALOGUE,
    CHECKPOINT,
    CLI_APP,
    CLI_ENGINE,
    EXPERIMENT,
    EXPERIMENTS_PANEL,
    EXPORT,
    MODEL_FILE,
    MODEL_FILE_WINDOW,
    SAVE_SESSION,
    SENTENCE,
    SESSION_FILE,
    STARTUP_SETTINGS,
    TABLE_CELL,
    WEIGHT_CELL,
    Case,
)
from simulator.errors import ModelFileError, SimulatorError
from simulator.model_file import MODEL_SCHEMA, model_arrays, model_meta, write_npz_atomic
from tests.gui_actions import assert_params_bit_equal, click_cell, panel_for, params_copy

W_Q = "blocks.0.attn.W_Q"
GPT2_TINY = Path(__file__).parent / "fixtures" / "checkpoints" / "gpt2-tiny"
Button = QMessageBox.StandardButton


def rows(where: str) -> list:
    return [pytest.param(case, id=f"{case.input[:40]!r}") for case in CATALOGUE if case.where == where]


def assert_clear(message: str, case: Case) -> None:
    assert case.expected.lower() in message.lower(), f"{case.where} / {case.input!r}: expected {case.expected!r} in {message!r}"
    assert "Traceback" not in message


def test_the_catalogue_covers_every_place_and_is_a_table() -> None:
    wheres = {case.where for case in CATALOGUE}
    assert wheres == {CLI_ENGINE, CLI_APP, SENTENCE, WEIGHT_CELL, TABLE_CELL, BULK, SESSION_FILE, MODEL_FILE,
                      MODEL_FILE_WINDOW, CHECKPOINT, SAVE_SESSION, EXPORT, STARTUP_SETTINGS, EXPERIMENT,
                      EXPERIMENTS_PANEL}
    assert len(set(CATALOGUE)) == len(CATALOGUE), "a row is listed twice"
    assert all(case.expected for case in CATALOGUE)
    from bad_input_catalogue import markdown

    assert markdown().count("\n") == len(CATALOGUE) + 1


# -- bad files, built from good ones ------------------------------------------------------------------------
def _toy_session_parts() -> tuple[dict[str, np.ndarray], dict]:
    from ui.session_file import SESSION_SCHEMA, SESSION_VERSION

    model = simulator.build_preset("toy")
    meta = {
        "schema": SESSION_SCHEMA, "version": SESSION_VERSION, **model_meta(model),
        "session": {"text": "a cat", "stage": "embed", "layer": None, "head": 0,
                    "options": {"causal": True, "scale_scores": True, "temperature": 1.0},
                    "view": {"layout": "rows", "show_numbers": True, "high_contrast": False, "show_difference": False},
                    "ablations": []},
    }
    return dict(model_arrays(model)), meta


def _toy_model_parts() -> tuple[dict[str, np.ndarray], dict]:
    model = simulator.build_preset("toy")
    return dict(model_arrays(model)), {"schema": MODEL_SCHEMA, "version": 1, **model_meta(model)}


def _write(target: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    write_npz_atomic(target, arrays, meta)


def _npz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _huge_header(arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    """A real archive whose embed.W_E member announces 10^12 float32 values (4 TB) in 64 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    members = {f"{k}.npy": _npy(v) for k, v in arrays.items() if k != "param/embed.W_E"}
    members["param/embed.W_E.npy"] = header.getvalue() + bytes(64)
    members["meta.json.npy"] = _npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return _npz_bytes(members)


@functools.lru_cache(maxsize=None)
def _zip_bomb_bytes(meta_json: str) -> bytes:
    """meta.json plus an embed.W_E member of 1 GiB of zeros that deflates to about 1 MB."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (65536, 4096)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("meta.json.npy", _npy(np.frombuffer(meta_json.encode(), dtype=np.uint8)))
        with archive.open("param/embed.W_E.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            chunk = bytes(1 << 24)
            for _ in range(64):
                member.write(chunk)
    return buffer.getvalue()


def _zip_bomb(target: Path, parts: Callable) -> None:
    """A 1 MB file whose honest-looking config (d_model 4096, vocab 65536) lets W_E inflate to 1 GiB."""
    _, meta = parts()
    meta["config"].update(d_model=4096, d_head=2048, d_mlp=64, vocab_size=65536)
    meta["labels"] = None
    target.write_bytes(_zip_bomb_bytes(json.dumps(meta)))


def _claiming_npy(shape: tuple[int, ...], descr: str) -> bytes:
    """An .npy header announcing ``shape`` followed by only 64 bytes of data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue() + bytes(64)


def _changed(change: Callable[[dict, dict], None]) -> Callable[[Path, Callable], None]:
    def build(target: Path, parts: Callable) -> None:
        arrays, meta = parts()
        change(arrays, meta)
        _write(target, arrays, meta)

    return build


def _set_param(name: str, index: tuple, value: float, dtype=None) -> Callable[[dict, dict], None]:  # noqa: ANN001
    def change(arrays: dict, meta: dict) -> None:
        array = np.array(arrays[f"param/{name}"], dtype=dtype or arrays[f"param/{name}"].dtype)
        array[index] = value
        arrays[f"param/{name}"] = array

    return change


def _good_then(edit: Callable[[bytes], bytes]) -> Callable[[Path, Callable], None]:
    def build(target: Path, parts: Callable) -> None:
        arrays, meta = parts()
        good = target.with_name("good-" + target.name)
        _write(good, arrays, meta)
        target.write_bytes(edit(good.read_bytes()))
        good.unlink()

    return build


LESSON = """---
id: broken
title: Broken
concepts: attention
preset: fluffy
---

## One step
sentence: a fluffy blue creature
stage: blocks.0.attn.pattern

```question
type: pick-cell
prompt: Where does the creature look?
compute: argmax row creature
```
"""


def _lesson(old: str, new: str) -> Callable[[Path, Callable], Path]:
    """A lesson file: the good one above with one line changed (for ``lessons check``)."""
    def build(target: Path, parts: Callable) -> Path:
        assert old in LESSON
        lesson = target.with_suffix(".md")
        lesson.write_text(LESSON.replace(old, new, 1))
        return lesson

    return build


BAD_FILES: dict[str, Callable[[Path, Callable], None]] = {
    "a lesson with an unknown stage": _lesson("blocks.0.attn.pattern", "blocks.0.attn.patern"),
    "a lesson with an unknown question type": _lesson("type: pick-cell", "type: guess"),
    "a lesson question without compute": _lesson("compute: argmax row creature\n", ""),
    "a lesson with a cell outside the matrix": _lesson("argmax row creature", "argmax row 9"),
    "a lesson without a title": _lesson("title: Broken\n", ""),
    "empty file": lambda target, parts: target.write_bytes(b""),
    "first half of a good file": _good_then(lambda data: data[: len(data) // 2]),
    "random bytes": lambda target, parts: target.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
    "a text file": lambda target, parts: target.write_text("Lesson plan: attention, then the MLP.\n"),
    "a zip without meta.json": lambda target, parts: target.write_bytes(_npz_bytes({"param/embed.W_E.npy": _npy(np.zeros((40, 16), np.float32))})),
    "meta.json that is not JSON": lambda target, parts: target.write_bytes(_npz_bytes({"meta.json.npy": _npy(np.frombuffer(b"{not json", np.uint8))})),
    "schema of another program": _changed(lambda a, m: m.update(schema="someone-else/notes")),
    "schema version 99": _changed(lambda a, m: m.update(version=99)),
    "schema version 0": _changed(lambda a, m: m.update(version=0)),
    "W_Q of shape [2, 16, 7]": _changed(lambda a, m: a.update({f"param/{W_Q}": np.zeros((2, 16, 7), np.float32)})),
    "NaN inside W_Q": _changed(_set_param(W_Q, (0, 1, 2), np.nan)),
    "+inf inside W_E": _changed(_set_param("embed.W_E", (3, 3), np.inf)),
    "1e39 inside W_E (beyond float32)": _changed(_set_param("embed.W_E", (3, 3), 1e39, dtype=np.float64)),
    "text instead of numbers in W_E": _changed(lambda a, m: a.update({"param/embed.W_E": np.full((40, 16), "x")})),
    "config claims d_model 10^9": _changed(lambda a, m: m["config"].update(d_model=10**9)),
    "config claims vocab_size 10^12": _changed(lambda a, m: m["config"].update(vocab_size=10**12)),
    "config claims n_heads -2": _changed(lambda a, m: m["config"].update(n_heads=-2)),
    "config claims d_model 16.5": _changed(lambda a, m: m["config"].update(d_model=16.5)),
    "config with an unknown key": _changed(lambda a, m: m["config"].update(colour="blue")),
    "activation swish": _changed(lambda a, m: m["config"].update(act="swish")),
    "an array header claiming 10^12 values": lambda target, parts: target.write_bytes(_huge_header(*parts())),
    "embed.W_E missing": _changed(lambda a, m: a.pop("param/embed.W_E")),
    "an extra parameter": _changed(lambda a, m: a.update({"param/blocks.0.attn.W_X": np.zeros(3, np.float32)})),
    "a vocabulary with a word twice": _changed(lambda a, m: m["tokenizer"].update(vocab=["<unk>", "a", "a"])),
    "a tokenizer larger than the vocabulary": _changed(lambda a, m: m["tokenizer"].update(vocab=["<unk>"] + [f"w{i}" for i in range(100)])),
    "stage blocks.7.attn.q": _changed(lambda a, m: m["session"].update(stage="blocks.7.attn.q")),
    "head 5 of 2": _changed(lambda a, m: m["session"].update(head=5)),
    "temperature -1": _changed(lambda a, m: m["session"]["options"].update(temperature=-1)),
    "head 9 of 2 switched off": _changed(lambda a, m: m["session"].update(
        ablations=[{"stage": "blocks.0.attn.z", "head": 9, "index": None, "mode": "zero"}])),
    "a switch-off of mode 'half'": _changed(lambda a, m: m["session"].update(
        ablations=[{"stage": "blocks.0.attn.z", "head": 0, "index": None, "mode": "half"}])),
    "an empty sentence": _changed(lambda a, m: m["session"].update(text="")),
    "a model file": lambda target, parts: simulator.save_model(simulator.build_preset("toy"), target),
    "a session file": lambda target, parts: _write(target, *_toy_session_parts()),
    "a folder": lambda target, parts: target.mkdir(),
    "a folder named like a file": lambda target, parts: target.mkdir(),
    "no such file": lambda target, parts: None,
    "a named pipe (FIFO)": lambda target, parts: os.mkfifo(target),
    "a path of 5,000 characters": lambda target, parts: target.parent / ("a" * 5000),
    "a file name of 300 characters": lambda target, parts: target.with_name("b" * 300 + ".npz"),
    "meta.json nested 100,000 deep": lambda target, parts: target.write_bytes(_npz_bytes({"meta.json.npy": _npy(np.frombuffer(b"[" * 100_000 + b"]" * 100_000, np.uint8))})),
    "info that is text": _changed(lambda a, m: m.update(info="a toy model")),
    "notes that are a list": _changed(lambda a, m: m["info"].update(notes=["look at the pattern"])),
    "a note that is a number": _changed(lambda a, m: m["info"].update(notes={"embed": 3})),
    "suggested sentences that are text": _changed(lambda a, m: m["info"].update(suggested="a cat")),
    "a vocabulary whose entries are numbers": _changed(lambda a, m: m["tokenizer"]["vocab"].__setitem__(1, 7)),
    "a vocabulary that is an object": _changed(lambda a, m: m["tokenizer"].update(vocab={"<unk>": 0})),
    "a tokenizer kind that is a list": _changed(lambda a, m: m["tokenizer"].update(kind=["word"])),
    "dimension names that are text": _changed(lambda a, m: m["labels"].update(dims="abcdefghijklmnop")),
    "config claims d_model 'sixteen'": _changed(lambda a, m: m["config"].update(d_model="sixteen")),
    "config that is a list": _changed(lambda a, m: m.update(config=[16, 2, 8])),
    "options that are a list": _changed(lambda a, m: m["session"].update(options=[True, True, 1.0])),
    "a 1 MB file whose W_E inflates to 1 GiB": _zip_bomb,
    "meta.json that claims 1 GiB": lambda target, parts: target.write_bytes(_npz_bytes({"meta.json.npy": _claiming_npy((1 << 30,), "|u1")})),
    "W_Q stored as complex numbers": _changed(lambda a, m: a.update({f"param/{W_Q}": np.zeros((2, 16, 8), np.complex64)})),
    "meta.json with a 5,000-digit integer": lambda target, parts: target.write_bytes(_npz_bytes({"meta.json.npy": _npy(np.frombuffer(b'{"version": ' + b"9" * 5000 + b"}", np.uint8))})),
}


def bad_file(folder: Path, name: str, session: bool) -> Path:
    """The bad file ``name`` in ``folder`` (a builder may return another path to use instead)."""
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    target = folder / f"{'session' if session else 'model'}-{slug}.npz"
    other = BAD_FILES[name](target, _toy_session_parts if session else _toy_model_parts)
    return other if isinstance(other, Path) else target


def _contents(path: Path) -> bytes | None:
    """The bytes of a regular file at ``path``, or None (also for names the OS refuses)."""
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


# -- command lines --------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\{[^}]*\}\S*|'[^']*'|\S+")


def argv_of(case: Case, tmp: Path) -> list[str]:
    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key == "tmp":
            return str(tmp)
        kind, _, value = key.partition(":")
        if kind == "file":
            return str(bad_file(tmp / "bad", value, session=False))
        if kind == "words":
            return " ".join(["cat"] * int(value))
        if kind == "long":  # a path of N characters, beyond what the OS takes
            return "a" * int(value)
        if kind == "longname":  # a file name of N characters in the temporary folder
            return str(tmp / ("b" * int(value) + ".npz"))
        raise KeyError(key)

    argv = []
    for token in _TOKEN.findall(case.input):
        if token.startswith("'") and token.endswith("'"):
            token = token[1:-1]
        argv.append(re.sub(r"\{([^}]*)\}", fill, token))
    return argv


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {stderr!r}"
    return lines[0]


def no_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.suffix in (".tmp", ".png", ".jpg") or p.name == "t.npz")


@pytest.mark.parametrize("case", rows(CLI_ENGINE))
def test_engine_command_line(case: Case, tmp_path: Path, capsys) -> None:
    from simulator.cli import run

    argv = argv_of(case, tmp_path)
    capsys.readouterr()
    code = run(argv)
    out, err = capsys.readouterr()
    assert code == (1 if argv[:2] == ["lessons", "check"] else 2)  # a lesson's problems exit with 1
    assert_clear(one_line(err), case)
    assert out == ""
    assert no_leftovers(tmp_path) == []


@pytest.fixture
def app_names(qapp):  # noqa: ANN001, ANN201
    """ui.app.run names the application; put the test run's names back afterwards."""
    names = (qapp.organizationName(), qapp.applicationName())
    yield
    qapp.setOrganizationName(names[0])
    qapp.setApplicationName(names[1])


@pytest.mark.parametrize("case", rows(CLI_APP))
def test_app_command_line(case: Case, tmp_path: Path, capsys, app_names) -> None:
    from ui.app import run

    argv = argv_of(case, tmp_path)
    if "--screenshot" not in argv:  # a mistake must stop it before any window; never wait for one
        argv += ["--screenshot", str(tmp_path / "shot.png")]
    capsys.readouterr()
    code = run(argv)
    _, err = capsys.readouterr()
    assert code in (1, 2)
    line = one_line(err)
    assert line.startswith("transformer-sim: ")
    assert_clear(line, case)
    assert no_leftovers(tmp_path) == []
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]


# -- the window ------------------------------------------------------------------------------------------------
class Dialogs:
    """Stand-ins for the static dialogs, recording what the user was told."""

    def __init__(self, monkeypatch, answer=Button.Discard, chosen: str = "") -> None:  # noqa: ANN001
        self.answer = answer
        self.chosen = chosen
        self.warnings: list[str] = []
        monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: self.answer)
        monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: self.warnings.append(text) or Button.Ok)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (self.chosen, ""))
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (self.chosen, ""))
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: self.chosen)


class Snapshot:
    """Everything that must not change when an input is refused."""

    def __init__(self, window) -> None:  # noqa: ANN001
        state = window.state
        self.window = window
        self.model = state.model
        self.params = params_copy(state.model)
        self.text = state.text
        self.trace = state.trace
        self.stage = state.stage_id
        self.history = (state.undo_stack.index(), state.undo_stack.count())
        self.modified = window.isWindowModified()
        self.path = window.sessions.path

    def assert_unchanged(self) -> None:
        window, state = self.window, self.window.state
        assert state.model is self.model
        assert_params_bit_equal(state.model, self.params)
        assert state.text == self.text and state.trace is self.trace and state.stage_id == self.stage
        assert (state.undo_stack.index(), state.undo_stack.count()) == self.history
        assert window.isWindowModified() == self.modified and window.sessions.path == self.path


def _edited_window(make_main_window, tmp_path: Path):  # noqa: ANN001, ANN202
    """A window saved to mine.npz and then edited (unsaved work that must not be lost)."""
    from ui.bulk_ops import ZERO, Scope, bulk_command

    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    assert window.sessions.save_as(tmp_path / "mine.npz")
    window.state.undo_stack.push(bulk_command(window.state, ZERO, Scope("blocks.1.mlp.b_in")))
    assert window.isWindowModified()
    return window


def _words(text: str) -> str:
    match = re.fullmatch(r"\{words:(\d+)\}", text)
    return " ".join(["cat"] * int(match.group(1))) if match else text


LONG_SENTENCES = {
    "the cat × 625 (5,000 characters)": "the cat " * 625,
    "?!?! × 1250 (5,000 characters of punctuation)": "?!?!" * 1250,
    "🙂 × 5000 (5,000 emoji)": "🙂" * 5000,
}


@pytest.mark.parametrize("case", rows(SENTENCE))
def test_sentence_box(case: Case, make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    state, box = window.state, window.sentence_box
    text = LONG_SENTENCES.get(case.input, _words(case.input))
    before = Snapshot(window)
    ids = tuple(state.trace.ids)
    box.edit.setFocus()
    box.edit.selectAll()
    if text:
        QApplication.clipboard().setText(text)
        QTest.keyClick(box.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        assert box.edit.text() == text
    else:
        QTest.keyClick(box.edit, Qt.Key.Key_Delete)
    if case.expected.startswith("→"):  # accepted: runs, with the unknown pieces flagged
        assert state.text == text and not box.error_label.isVisible()
        assert any(case.expected in chip for chip in box.chips()), box.chips()
        assert state.trace.unknown
        window.actions["undo"].trigger()  # nothing lost: one undo brings the sentence back
        assert state.text == before.text and tuple(state.trace.ids) == ids
        assert_params_bit_equal(state.model, before.params)
        return
    assert box.error_label.isVisible()
    assert_clear(box.error_label.text(), case)
    before.assert_unchanged()
    QTest.keyClick(box.edit, Qt.Key.Key_Escape)
    assert box.edit.text() == before.text and not box.error_label.isVisible()
    before.assert_unchanged()


def _type(editor: QLineEdit, text: str) -> None:
    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    if text.isascii():
        QTest.keyClicks(editor, text)
    else:
        editor.insert(text)


@pytest.mark.parametrize("case", rows(WEIGHT_CELL))
def test_weight_cell(case: Case, make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    before = Snapshot(window)
    click_cell(panel_for(window, W_Q), 2, 3)
    editor = window.weight_editor.active_editor
    assert editor is not None
    _type(editor, case.input)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.weight_editor.active_editor is editor, "the editor stays open so the value can be fixed"
    assert editor.error_label.isVisible()
    assert_clear(editor.error_label.text(), case)
    assert case.expected.lower() in window.statusBar().currentMessage().lower()
    before.assert_unchanged()
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert window.weight_editor.active_editor is None
    before.assert_unchanged()


@pytest.mark.parametrize("case", rows(TABLE_CELL))
def test_table_cell(case: Case, make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    window.actions["params"].trigger()
    window.params_browser.select(W_Q, head=0)
    window.actions["table"].trigger()
    table = window.weight_table
    assert table.model.name == W_Q
    before = Snapshot(window)
    index = table.model.index(1, 2)
    table.view.setFocus()
    table.view.setCurrentIndex(index)
    table.view.edit(index)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    _type(editor, case.input)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QApplication.processEvents()  # the view commits the editor's data on the next event loop turn
    assert table.error.isVisible()
    assert_clear(table.error.text(), case)
    before.assert_unchanged()


BULK_REQUESTS = {
    "scale blocks.0.attn.W_Q by 1e39": ("scale", W_Q, None, 1e39),
    "scale blocks.0.attn.W_Q by nan": ("scale", W_Q, None, float("nan")),
    "identity on blocks.0.mlp.b_in (a vector)": ("identity", "blocks.0.mlp.b_in", None, 1.0),
    "zero row 99 of embed.W_E (40 rows)": ("zero", "embed.W_E", 99, 1.0),
}


@pytest.mark.parametrize("case", rows(BULK))
def test_bulk_operation(case: Case, make_main_window) -> None:
    from ui.bulk_ops import Scope, bulk_command

    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    op, name, row, factor = BULK_REQUESTS[case.input]
    before = Snapshot(window)
    with pytest.raises(SimulatorError) as refused:
        window.state.undo_stack.push(bulk_command(window.state, op, Scope(name, row=row), factor=factor))
    assert_clear(str(refused.value), case)
    before.assert_unchanged()


@pytest.mark.parametrize("case", rows(SESSION_FILE))
def test_session_file(case: Case, make_main_window, tmp_path: Path, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch, Button.Discard)
    path = bad_file(tmp_path / "bad", case.input, session=True)
    bad_kept = _contents(path)
    window = _edited_window(make_main_window, tmp_path)
    kept = (tmp_path / "mine.npz").read_bytes()
    before = Snapshot(window)
    peak = _peak_mb()
    assert not window.sessions.open_session(path)
    assert _peak_mb() - peak < 200, "a file announcing a huge array was allocated before it was refused"
    assert len(dialogs.warnings) == 1
    assert_clear(dialogs.warnings[0], case)
    assert "The current session is unchanged" in dialogs.warnings[0]
    before.assert_unchanged()
    assert (tmp_path / "mine.npz").read_bytes() == kept, "the session's own file is untouched"
    assert bad_kept is None or path.read_bytes() == bad_kept, "opening never writes to the file opened"


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.parametrize("case", rows(MODEL_FILE))
def test_model_file(case: Case, tmp_path: Path) -> None:
    path = bad_file(tmp_path, case.input, session=False)
    content = _contents(path)
    peak = _peak_mb()
    with pytest.raises(ModelFileError) as refused:
        simulator.load(path)
    assert _peak_mb() - peak < 200, "a file announcing a huge array was allocated before it was refused"
    assert_clear(str(refused.value), case)
    assert content is None or path.read_bytes() == content


@pytest.mark.parametrize("case", rows(MODEL_FILE_WINDOW))
def test_model_file_in_the_window(case: Case, make_main_window, tmp_path: Path, monkeypatch, qtbot) -> None:
    path = bad_file(tmp_path / "bad", case.input, session=False)
    dialogs = Dialogs(monkeypatch, chosen=str(path))
    window = _edited_window(make_main_window, tmp_path)
    before = Snapshot(window)
    window.actions["load_model"].trigger()
    loader = getattr(window, "model_loader", None)
    if loader is not None:  # models load on a worker thread
        qtbot.waitUntil(lambda: not loader.is_loading, timeout=10_000)
    assert len(dialogs.warnings) == 1
    assert_clear(dialogs.warnings[0], case)
    assert "The current model is unchanged" in dialogs.warnings[0]
    before.assert_unchanged()


def _checkpoint(folder: Path, name: str) -> Path:
    """A copy of the tiny GPT-2 checkpoint, broken as ``name`` says."""
    from safetensors.numpy import load_file, save_file

    target = folder / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if name == "an empty folder":
        target.mkdir(parents=True)
        return target
    shutil.copytree(GPT2_TINY, target)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    weights = target / "model.safetensors"

    def rewrite_config(**changes: object) -> None:
        (target / "config.json").write_text(json.dumps({**config, **changes}), encoding="utf-8")

    def rewrite_weight(change: Callable[[np.ndarray], np.ndarray]) -> None:
        tensors = load_file(str(weights))
        key = next(k for k in tensors if k.endswith("h.0.mlp.c_fc.weight"))
        tensors[key] = change(tensors[key].copy())
        save_file(tensors, str(weights))

    if name == "config.json that is not JSON":
        (target / "config.json").write_text("{oops", encoding="utf-8")
    elif name == "model_type llama":
        rewrite_config(model_type="llama")
    elif name == "n_embd 10^9":
        rewrite_config(n_embd=10**9)
    elif name == "n_embd not a multiple of n_head":
        rewrite_config(n_embd=config["n_embd"] + 1)
    elif name == "no model.safetensors":
        weights.unlink()
    elif name == "only pytorch_model.bin":
        weights.rename(target / "pytorch_model.bin")
    elif name == "model.safetensors cut in half":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    elif name == "NaN inside a weight":
        rewrite_weight(lambda w: np.where(np.arange(w.size).reshape(w.shape) == 5, np.float32(np.nan), w))
    elif name == "a weight of the wrong shape":
        rewrite_weight(lambda w: np.zeros((w.shape[0], w.shape[1] + 1), w.dtype))
    elif name == "n_layer as text":
        rewrite_config(n_layer="two")
    elif name == "config.json that is a list":
        (target / "config.json").write_text(json.dumps([config]), encoding="utf-8")
    elif name == "config.json nested 100,000 deep":
        (target / "config.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif name == "config.json with a 5,000-digit integer":
        (target / "config.json").write_text(json.dumps(config)[:-1] + ', "n_extra": ' + "9" * 5000 + "}", encoding="utf-8")
    elif name == "modules.json nested 100,000 deep":
        (target / "modules.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif name == "tokenizer.json whose post-processor names no special tokens":
        _checkpoint_bert_like_post_processor(target)
    elif name == "no tokenizer files":
        for file in ("tokenizer.json", "vocab.json", "merges.txt"):
            (target / file).unlink(missing_ok=True)
    else:
        raise KeyError(name)
    return target


def _checkpoint_bert_like_post_processor(target: Path) -> None:
    """A tokenizer.json whose template adds a [CLS] it never defines (the Rust library panics on it)."""
    path = target / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    cls = {"SpecialToken": {"id": "[CLS]", "type_id": 0}}
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [cls, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [cls, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {},
    }
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("case", rows(CHECKPOINT))
def test_checkpoint_folder(case: Case, tmp_path: Path) -> None:
    folder = _checkpoint(tmp_path, case.input)
    files = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(ModelFileError) as refused:
        simulator.load(folder)
    assert_clear(str(refused.value), case)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files


SAVE_TARGETS: dict[str, Callable[[Path], Path]] = {
    "a folder that does not exist": lambda tmp: tmp / "no" / "such" / "folder" / "s.npz",
    "inside a file (as if it were a folder)": lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file" / "s.npz",
    "an existing folder named like the file": lambda tmp: (tmp / "folder.npz").mkdir() or tmp / "folder.npz",
    "a folder nobody can write (/proc)": lambda tmp: Path("/proc/transformer-sim-session.npz"),
    "a named pipe (FIFO)": lambda tmp: os.mkfifo(tmp / "pipe.npz") or tmp / "pipe.npz",
    "a file name of 300 characters": lambda tmp: tmp / ("b" * 300 + ".npz"),
    "a path of 5,000 characters": lambda tmp: tmp / ("a" * 5000 + ".npz"),
    "a link to a device (/dev/zero)": lambda tmp: (tmp / "zero.npz").symlink_to("/dev/zero") or tmp / "zero.npz",
    # the dialog's name has no suffix: it must be refused as named, never saved as /dev/zero.npz
    "a device with no suffix (/dev/zero)": lambda tmp: Path("/dev/zero"),
}


@pytest.mark.parametrize("case", rows(SAVE_SESSION))
def test_save_session(case: Case, make_main_window, tmp_path: Path, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch)
    window = _edited_window(make_main_window, tmp_path)
    kept = (tmp_path / "mine.npz").read_bytes()
    target = SAVE_TARGETS[case.input](tmp_path)
    before = Snapshot(window)
    dialogs.chosen = str(target)
    window.actions["save_as"].trigger()
    assert len(dialogs.warnings) == 1
    assert_clear(dialogs.warnings[0], case)
    assert "Nothing was lost" in dialogs.warnings[0]
    before.assert_unchanged()
    assert window.isWindowModified(), "the work is still unsaved, and says so"
    assert (tmp_path / "mine.npz").read_bytes() == kept
    assert not [p for p in tmp_path.rglob("*.tmp")], "no temporary file is left behind"
    assert not Path("/dev/zero.npz").exists(), "nothing is written next to a device"


def _half_written_saves(monkeypatch, fail_on: int) -> None:  # noqa: ANN001
    """The ``fail_on``-th QPixmap.save writes half a file and fails, as on a full disk."""
    from PySide6.QtGui import QPixmap

    calls = []
    original = QPixmap.save

    def save(pixmap, name, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(name)
        if len(calls) == fail_on:
            Path(name).write_bytes(b"\x89PNG half")
            return False
        return original(pixmap, name, *args, **kwargs)

    monkeypatch.setattr(QPixmap, "save", save)


@pytest.mark.parametrize("case", rows(EXPORT))
def test_export(case: Case, make_main_window, tmp_path: Path, monkeypatch, settings_path: Path) -> None:
    dialogs = Dialogs(monkeypatch)
    if case.input.startswith("saved export options"):  # a damaged saved choice: said with the next export
        settings_path.write_text("[export]\n" + case.input.split("options ", 1)[1].replace(" and ", "\n") + "\ncaption=true\n")
        window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
        assert window.exporter.canvas_png(str(tmp_path / "picture.png"))
        assert_clear(window.statusBar().currentMessage(), case)
        assert "set back to the defaults" in window.statusBar().currentMessage()
        size = window.canvas.size()
        assert QImage(str(tmp_path / "picture.png")).size() == QSize(size.width(), size.height() + 32), "the good choice (caption) still applies"
        assert window.exporter.canvas_png(str(tmp_path / "again.png"))
        assert "could not be read" not in window.statusBar().currentMessage(), "said once"
        from PySide6.QtCore import QSettings

        kept = QSettings(str(settings_path), QSettings.Format.IniFormat)
        assert not kept.contains("export/size") and not kept.contains("export/scale"), "the damaged values were set aside"
        assert not dialogs.warnings
        return
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    before = Snapshot(window)
    exporter = window.exporter
    if "full disk" in case.input or "disk full" in case.input:  # an earlier export, then a save that fails midway
        every = case.input.startswith("every stage")
        folder = tmp_path / "pictures"
        folder.mkdir()
        assert exporter.all_stages(str(folder)) if every else exporter.canvas_png(str(folder / "picture.png"))
        dialogs.warnings.clear()
        kept = {p.name: p.read_bytes() for p in folder.iterdir()}
        _half_written_saves(monkeypatch, fail_on=3 if every else 1)
        assert not (exporter.all_stages(str(folder)) if every else exporter.canvas_png(str(folder / "picture.png")))
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == kept, "every earlier picture is intact, no temporary file left"
    elif case.input.startswith("every stage"):
        target = tmp_path / "slides.png"
        target.write_text("not a folder")
        assert not exporter.all_stages(str(target))
        assert target.read_text() == "not a folder"
    else:
        folder = Path("/proc") if "/proc" in case.input else tmp_path / "no" / "such"
        suffix = ".svg" if case.input.startswith("SVG") else ".png"
        target = folder / f"transformer-sim-picture{suffix}"
        save = exporter.canvas_svg if suffix == ".svg" else exporter.canvas_png
        assert not save(str(target))
        assert not target.exists()
    assert len(dialogs.warnings) == 1
    assert_clear(dialogs.warnings[0], case)
    before.assert_unchanged()


@pytest.mark.parametrize("case", rows(STARTUP_SETTINGS))
def test_startup_settings(case: Case, make_main_window, settings_path: Path) -> None:
    """A damaged saved layout never stops the app: it is removed, the status bar says so, and the
    window starts with its defaults (and saves a good layout on close)."""
    from PySide6.QtCore import QSettings

    lines = case.input.replace(" and ", "\n")  # the ini file's own text, backslash escapes included
    settings_path.write_text("[window]\n" + lines + "\n[display]\nshow_numbers=false\n", encoding="utf-8")
    window = make_main_window(text="a fluffy blue creature")
    assert_clear(window.statusBar().currentMessage(), case)
    assert "default layout" in window.statusBar().currentMessage()
    assert not window.state.view.show_numbers, "the other saved settings still apply"
    assert window.navigator_dock.isVisible() and window.explanation_dock.isVisible()
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    damaged = [key for key in ("window/geometry", "window/state") if key.split("/")[1] in case.input]
    assert not [key for key in damaged if settings.contains(key)], "the damaged values were set aside"
    window.save_settings()
    settings.sync()
    assert all(not settings.value(key).isEmpty() for key in ("window/geometry", "window/state"))


@pytest.mark.parametrize("case", rows(EXPERIMENT))
def test_experiment(case: Case) -> None:
    """An ablation, patch, lens or attribution that cannot be done: one line, and the model, its
    weights and the plain trace's cached stages are unchanged."""
    from simulator import experiments as ex

    model = simulator.load(GPT2_TINY)
    text = "The cat sat on the river bank."
    plain = model.trace(text)
    logits = plain["logits"]
    weights = {name: np.array(value) for name, value in model.params.items()}
    names = {
        "Ablate": ex.Ablate, "Patch": ex.Patch, "logit_lens": ex.logit_lens, "logit_attribution": ex.logit_attribution,
        "trace": lambda *interventions: model.trace(text, interventions=list(interventions)),
        "short": model.trace("The cat sat on"), "plain": plain,
        "encoder": simulator.load(GPT2_TINY.parent / "bert-tiny").trace(text),
    }
    with pytest.raises(SimulatorError) as refused:
        eval(case.input, {"__builtins__": {}}, names)
    message = str(refused.value)
    assert_clear(message, case)
    assert "\n" not in message
    assert all(np.array_equal(model.params[name], value) for name, value in weights.items())
    assert model.trace(text)["logits"] is logits


@pytest.mark.parametrize("case", rows(EXPERIMENTS_PANEL))
def test_experiments_panel(case: Case, make_main_window) -> None:
    """A patching sweep or an attribution token the panel cannot use: one line, no sweep
    started, nothing drawn changed and no undo step."""
    import re

    window = make_main_window("toy", text="the cat walks by the bank")
    panel = window.experiments
    window.experiments_dock.show()
    state = window.state
    depth = state.undo_stack.count()
    if case.input.startswith("attribution"):
        tab = panel.attribution
        panel.setCurrentWidget(tab)
        before = tab.parts()
        tab.chooser.typed.setText(re.search("“(.*)”", case.input).group(1))
        tab.chooser.typed.returnPressed.emit()
        assert tab.parts() == before
    else:
        tab = panel.patching
        panel.setCurrentWidget(tab)
        if "token A = token B" in case.input:
            tab.token_b.set_token(tab.token_a.token())
            second = "the dog walks by the bank"
        else:
            second = re.search("“(.*?)”", case.input).group(1)
        assert not tab.run_sweep(second)
        assert not tab.running and tab.table.rowCount() == 0
    message = tab.message.text()
    assert_clear(message, case)
    assert "\n" not in message
    assert state.undo_stack.count() == depth
