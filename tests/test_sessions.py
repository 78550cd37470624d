"""Sessions: save/open round trips, bad files, failed saves, the unsaved-changes prompt, recent
files, persisted settings, and crash recovery."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

import simulator
from simulator.model_file import write_npz_atomic
from tests.gui_actions import all_stages, assert_params_bit_equal, assert_stages_equal, params_copy
from ui.session_file import SESSION_SCHEMA, Session, load_session, save_session
from ui.state import LAYOUT_COLUMNS

W_Q = "blocks.0.attn.W_Q"
Button = QMessageBox.StandardButton


class Dialogs:
    """Stand-ins for the static QMessageBox functions, recording what the user was told."""

    def __init__(self, monkeypatch, answer: QMessageBox.StandardButton = Button.Cancel) -> None:
        self.answer = answer
        self.questions: list[str] = []
        self.warnings: list[str] = []
        monkeypatch.setattr(QMessageBox, "question", self._question)
        monkeypatch.setattr(QMessageBox, "warning", self._warning)

    def _question(self, parent, title, text, *args, **kwargs):
        self.questions.append(text)
        return self.answer

    def _warning(self, parent, title, text, *args, **kwargs):
        self.warnings.append(text)
        return Button.Ok


def edit_everything(window) -> None:
    """Weights, sentence, stage, head, run options and view toggles, all away from the defaults."""
    from ui.commands import SetParamCommand, SetTextCommand

    state = window.state
    state.undo_stack.push(SetParamCommand(state, W_Q, np.float32(0.123456789), (1, 2, 3)))
    state.undo_stack.push(_bulk_zero(state))
    state.undo_stack.push(SetTextCommand(state, "the mole dug a hole by the river", merge=False))
    state.set_stage("blocks.1.attn.pattern")
    state.set_head(1)
    window.actions["scale"].trigger()
    window.actions["columns"].trigger()
    window.actions["numbers"].trigger()


def _bulk_zero(state):
    from ui.bulk_ops import ZERO, Scope, bulk_command

    return bulk_command(state, ZERO, Scope("blocks.1.mlp.b_in"))


def test_save_and_open_round_trip_is_bit_exact(make_main_window, tmp_path, monkeypatch) -> None:
    Dialogs(monkeypatch)
    window = make_main_window(text="a fluffy blue creature")
    edit_everything(window)
    state = window.state
    saved_params = params_copy(state.model)
    saved_stages = all_stages(state.trace)
    path = tmp_path / "lesson.npz"
    assert window.sessions.save_as(path)
    assert not window.isWindowModified() and window.windowTitle().startswith("lesson.npz[*] — ")

    other = make_main_window()
    assert other.sessions.open_session(path)
    s = other.state
    assert_params_bit_equal(s.model, saved_params)
    assert_stages_equal(s.trace, saved_stages)
    assert s.text == "the mole dug a hole by the river"
    assert (s.stage_id, s.head) == ("blocks.1.attn.pattern", 1)
    assert s.options == {"causal": True, "scale_scores": False, "temperature": 1.0}
    assert s.view.layout == LAYOUT_COLUMNS and not s.view.show_numbers
    assert s.model.config == state.model.config and s.model.tokenizer.to_spec() == state.model.tokenizer.to_spec()
    assert s.model.info == state.model.info
    assert other.sessions.path == path and not other.isWindowModified()
    assert s.undo_stack.count() == 0
    # "reset to the preset's value" still knows the values as loaded
    for name, value in state.pristine_params().items():
        assert s.pristine_params()[name].tobytes() == value.tobytes(), name
    # saving again gives identical arrays
    again = tmp_path / "again.npz"
    assert other.sessions.save_as(again)
    with np.load(path) as a, np.load(again) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if key != "meta.json":
                assert a[key].tobytes() == b[key].tobytes(), key


def test_session_file_is_documented_npz_with_schema(tmp_path) -> None:
    model = simulator.build_preset("toy")
    model.set_param(W_Q, 1.0, (0, 0, 0))
    from ui.state import ViewOptions

    pristine = dict(simulator.build_preset("toy").params)
    session = Session(model, "a cat", "embed", 0, {"causal": True, "scale_scores": True, "temperature": 0.5}, ViewOptions(), pristine)
    path = tmp_path / "s.npz"
    save_session(path, session)
    with np.load(path) as data:
        meta = json.loads(data["meta.json"].tobytes().decode("utf-8"))
        files = set(data.files)
    assert meta["schema"] == SESSION_SCHEMA and meta["version"] == 2
    assert meta["session"]["text"] == "a cat" and meta["session"]["options"]["temperature"] == 0.5
    assert {f"param/{n}" for n in model.params} <= files
    assert files - {f"param/{n}" for n in model.params} == {"meta.json", f"original/{W_Q}"}
    back = load_session(path)
    assert back.pristine[W_Q].tobytes() == pristine[W_Q].tobytes()
    assert Path(simulator.__file__).parent.parent.joinpath("resources/docs/session-format.md").is_file()


def _valid_session(tmp_path) -> Path:
    from ui.state import ViewOptions

    model = simulator.build_preset("toy")
    path = tmp_path / "good.npz"
    save_session(path, Session(model, "a cat", "embed", 0, {"causal": True, "scale_scores": True, "temperature": 1.0},
                               ViewOptions(), dict(model.params)))
    return path


def _rewrite(path: Path, target: Path, change) -> Path:
    with np.load(path) as data:
        arrays = {k: np.array(data[k]) for k in data.files}
    meta = json.loads(arrays.pop("meta.json").tobytes().decode("utf-8"))
    change(arrays, meta)
    write_npz_atomic(target, arrays, meta)
    return target


def _truncated(tmp_path, good):
    data = good.read_bytes()
    (tmp_path / "bad.npz").write_bytes(data[: len(data) // 2])


def _corrupt(tmp_path, good):
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(0)
    for i in rng.integers(100, len(data) - 100, 400):
        data[i] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(data))


def _not_a_zip(tmp_path, good):
    (tmp_path / "bad.npz").write_text("this is a lesson plan, not a session")


def _model_file(tmp_path, good):
    simulator.save_model(simulator.build_preset("toy"), tmp_path / "bad.npz")


def _wrong_schema(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: meta.update(schema="someone-else/notes"))


def _newer_version(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: meta.update(version=99))


def _wrong_shape(tmp_path, good):
    def change(arrays, meta):
        arrays[f"param/{W_Q}"] = np.zeros((2, 16, 7), dtype=np.float32)

    _rewrite(good, tmp_path / "bad.npz", change)


def _missing_param(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: arrays.pop(f"param/{W_Q}"))


def _nan_weight(tmp_path, good):
    def change(arrays, meta):
        arrays[f"param/{W_Q}"] = np.full((2, 16, 8), np.nan, dtype=np.float32)

    _rewrite(good, tmp_path / "bad.npz", change)


def _unknown_stage(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: meta["session"].update(stage="blocks.7.attn.q"))


def _bad_head(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: meta["session"].update(head=5))


def _no_session(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: meta.pop("session"))


def _bad_temperature(tmp_path, good):
    _rewrite(good, tmp_path / "bad.npz", lambda arrays, meta: meta["session"]["options"].update(temperature=-1))


def _wrong_shape_original(tmp_path, good):
    def change(arrays, meta):
        arrays[f"original/{W_Q}"] = np.zeros(3, dtype=np.float32)

    _rewrite(good, tmp_path / "bad.npz", change)


def _missing(tmp_path, good):
    pass  # bad.npz is never written


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (_truncated, "damaged"), (_corrupt, ""), (_not_a_zip, "damaged"), (_model_file, "model file, not a session"),
        (_wrong_schema, "not a session file"), (_newer_version, "newer version"), (_wrong_shape, "shape"),
        (_missing_param, "missing parameters"), (_nan_weight, "NaN"), (_unknown_stage, "blocks.7.attn.q"),
        (_bad_head, "head"), (_no_session, "no session section"), (_bad_temperature, "temperature"),
        (_wrong_shape_original, "original value"), (_missing, "no such file"),
    ],
)
def test_bad_session_files_are_refused_and_the_session_stays(make_main_window, tmp_path, monkeypatch, make_bad, reason) -> None:
    dialogs = Dialogs(monkeypatch)
    good = _valid_session(tmp_path)
    make_bad(tmp_path, good)
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    state = window.state
    assert window.sessions.save_as(tmp_path / "mine.npz")
    state.undo_stack.push(_bulk_zero(state))
    model, text, params, trace = state.model, state.text, params_copy(state.model), state.trace
    count = state.undo_stack.count()
    assert not window.sessions.open_session(tmp_path / "bad.npz")  # Cancel at "save your changes?"
    assert len(dialogs.questions) == 1 and dialogs.warnings == []
    dialogs.answer = Button.Discard
    assert not window.sessions.open_session(tmp_path / "bad.npz")
    assert len(dialogs.warnings) == 1 and "The current session is unchanged" in dialogs.warnings[0]
    assert reason in dialogs.warnings[0]
    assert "Traceback" not in dialogs.warnings[0]
    assert window.statusBar().currentMessage()
    assert state.model is model and state.text == text and state.trace is trace
    assert_params_bit_equal(state.model, params)
    assert state.undo_stack.count() == count and window.isWindowModified()
    assert window.sessions.path == tmp_path / "mine.npz"


def test_saving_to_a_missing_or_unwritable_place_keeps_everything(make_main_window, tmp_path, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch)
    window = make_main_window()
    state = window.state
    good = tmp_path / "kept.npz"
    assert window.sessions.save_as(good)
    before = good.read_bytes()
    state.undo_stack.push(_bulk_zero(state))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    a_folder = tmp_path / "folder.npz"
    a_folder.mkdir()
    for target in (tmp_path / "no" / "such" / "folder" / "s.npz", blocker / "s.npz", a_folder):
        assert not window.sessions.save_as(target)
        assert "Nothing was lost" in dialogs.warnings[-1]
        assert window.sessions.path == good and window.isWindowModified()
    assert len(dialogs.warnings) == 3
    assert "does not exist" in dialogs.warnings[0] and "does not exist" in dialogs.warnings[1]
    assert a_folder.is_dir()
    # a read-only folder (tests run as root, so the refusal is simulated where the file is created)
    import simulator.model_file as model_file

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(model_file.tempfile, "mkstemp", refuse)
    assert not window.sessions.save()
    assert "Permission denied" in dialogs.warnings[-1] and "unchanged" in dialogs.warnings[-1]
    assert good.read_bytes() == before, "the previous file is intact"
    assert window.isWindowModified() and window.sessions.path == good
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files are left behind"
    # a failure while writing (disk full) also leaves the old file
    monkeypatch.undo()
    Dialogs(monkeypatch)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_file.np, "savez", full)
    assert not window.sessions.save()
    assert good.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("answer", [Button.Cancel, Button.Discard, Button.Save])
def test_unsaved_changes_prompt_on_new_open_and_close(make_main_window, tmp_path, monkeypatch, answer) -> None:
    dialogs = Dialogs(monkeypatch, answer)
    other = _valid_session(tmp_path)
    window = make_main_window()
    state = window.state
    saved_as = tmp_path / "answered.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved_as), ""))
    # no changes: no question
    assert window.sessions.new_session()
    assert dialogs.questions == []
    state.undo_stack.push(_bulk_zero(state))
    assert window.isWindowModified() and "*" in window.windowTitle().replace("[*]", "*")
    model = state.model
    result = window.sessions.open_session(other)
    assert len(dialogs.questions) == 1 and "not saved" in dialogs.questions[0]
    if answer == Button.Cancel:
        assert not result and state.model is model and window.isWindowModified()
        assert not window.sessions.new_session() and state.model is model
        assert not window.close() and window.isVisible()
        return
    assert result and state.model is not model and not window.isWindowModified()
    assert window.sessions.path == other
    assert saved_as.exists() == (answer == Button.Save)
    state.undo_stack.push(_bulk_zero(state))
    dialogs.answer = Button.Discard
    assert window.close()


def test_title_shows_file_and_modified_marker(make_main_window, tmp_path, monkeypatch) -> None:
    Dialogs(monkeypatch)
    window = make_main_window()
    assert window.windowTitle().startswith("Untitled[*] — Toy")
    assert not window.isWindowModified()
    window.actions["numbers"].trigger()
    assert window.isWindowModified()
    window.actions["undo"].trigger()
    assert not window.isWindowModified()
    window.actions["numbers"].trigger()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "named"), ""))
    window.actions["save"].trigger()
    assert window.sessions.path == tmp_path / "named.npz"
    assert window.windowTitle().startswith("named.npz[*]") and not window.isWindowModified()


def test_recent_files_are_listed_persisted_and_reopened(make_main_window, tmp_path, monkeypatch, settings_path) -> None:
    dialogs = Dialogs(monkeypatch)
    window = make_main_window()
    first, second = tmp_path / "one.npz", tmp_path / "two.npz"
    assert window.sessions.save_as(first)
    assert window.sessions.save_as(second)
    titles = [a.text() for a in window.recent_menu.actions() if a.data()]
    assert titles == ["&1 two.npz", "&2 one.npz"]
    stored = QSettings(str(settings_path), QSettings.Format.IniFormat).value("session/recent", [], type=list)
    assert stored == [str(second.resolve()), str(first.resolve())]
    window.recent_menu.actions()[1].trigger()
    assert window.sessions.path == first
    first.unlink()
    assert not window.sessions.open_session(first)
    assert "no such file" in dialogs.warnings[-1]
    assert [a.data() for a in window.recent_menu.actions() if a.data()] == [str(second.resolve())]


def test_window_layout_and_display_options_persist(make_main_window, settings_path, monkeypatch) -> None:
    Dialogs(monkeypatch, Button.Discard)
    window = make_main_window()
    window.actions["params"].trigger()
    window.actions["columns"].trigger()
    window.actions["numbers"].trigger()
    window.speed_box.setCurrentIndex(3)
    window.close()
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    assert settings.value("display/layout") == LAYOUT_COLUMNS
    again = make_main_window()
    assert again.state.view.layout == LAYOUT_COLUMNS and not again.state.view.show_numbers
    assert again.actions["columns"].isChecked() and not again.actions["numbers"].isChecked()
    assert again.params_dock.isVisible() and again.speed_box.currentIndex() == 3
    assert again.state.undo_stack.count() == 0, "restored preferences are not edits"


def test_autosave_while_modified_and_removed_when_saved_or_closed(make_main_window, tmp_path, monkeypatch, qtbot) -> None:
    Dialogs(monkeypatch)
    window = make_main_window()
    recovery = window.recovery
    assert recovery.folder == tmp_path / "recovery"
    assert recovery.timer.interval() == 30_000 and not recovery.timer.isActive()
    window.state.undo_stack.push(_bulk_zero(window.state))
    assert recovery.timer.isActive()
    recovery.timer.setInterval(20)
    qtbot.waitUntil(recovery.file.exists, timeout=3000)
    copy = load_session(recovery.file)
    assert np.all(copy.model.params["blocks.1.mlp.b_in"] == 0)
    mtime = recovery.file.stat().st_mtime_ns
    assert not recovery.autosave_if_needed(), "nothing changed since the last copy"
    assert recovery.file.stat().st_mtime_ns == mtime
    assert window.sessions.save_as(tmp_path / "saved.npz")
    assert not recovery.file.exists() and not recovery.timer.isActive()
    window.actions["numbers"].trigger()
    assert recovery.autosave()
    assert recovery.file.exists()
    dialog_answer = Dialogs(monkeypatch, Button.Discard)
    assert window.close()
    assert dialog_answer.questions, "closing asked about the unsaved change"
    assert not recovery.file.exists(), "a clean exit removes the recovery copy"


def test_recovery_copy_of_a_crashed_run_is_offered_and_restored(make_main_window, tmp_path, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch, Button.Yes)
    window = make_main_window(stage="blocks.0.attn.q")
    window.sessions.save_as(tmp_path / "lesson.npz")
    window.state.apply_param(W_Q, 3.0, (0, 4, 4))
    window.state.undo_stack.push(_bulk_zero(window.state))
    edited = params_copy(window.state.model)
    assert window.recovery.autosave()
    crashed = window.recovery.folder / "recovery-999999999-1.npz"  # a run that died without cleaning up
    shutil.copy(window.recovery.file, crashed)
    window.state.undo_stack.setClean()
    window.close()
    assert crashed.exists() and not window.recovery.file.exists()

    restored = make_main_window()
    assert len(dialogs.questions) == 1 and "lesson.npz" in dialogs.questions[0]
    assert_params_bit_equal(restored.state.model, edited)
    assert restored.state.stage_id == "blocks.0.attn.q"
    assert restored.isWindowModified() and restored.sessions.path == tmp_path / "lesson.npz"
    assert not crashed.exists() and restored.recovery.file.exists()


def test_declining_recovery_deletes_the_copy_and_a_live_window_copy_is_not_offered(make_main_window, tmp_path, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch, Button.No)
    first = make_main_window()
    first.state.undo_stack.push(_bulk_zero(first.state))
    assert first.recovery.autosave()
    crashed = first.recovery.folder / "recovery-999999999-2.npz"
    shutil.copy(first.recovery.file, crashed)
    second = make_main_window()
    assert len(dialogs.questions) == 1, "only the crashed copy is offered, not the running window's"
    assert not crashed.exists() and first.recovery.file.exists()
    assert not second.isWindowModified()
    pristine = simulator.build_preset("toy").params
    assert_params_bit_equal(second.state.model, {k: np.array(v) for k, v in pristine.items()})


def test_a_damaged_recovery_copy_is_set_aside(make_main_window, tmp_path, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch, Button.Yes)
    folder = tmp_path / "recovery"
    folder.mkdir()
    (folder / "recovery-999999999-3.npz").write_bytes(b"PK\x03\x04 garbage")
    window = make_main_window()
    assert dialogs.warnings and "could not be read" in dialogs.warnings[0]
    assert not window.isWindowModified()
    assert (folder / "recovery-999999999-3.npz.damaged").exists()
    assert not any(p.suffix == ".npz" for p in folder.iterdir())


def test_recovery_copies_are_named_uniquely_even_when_process_ids_repeat(make_main_window, monkeypatch) -> None:
    import itertools

    from ui import recovery as recovery_module
    from ui.recovery import RecoveryManager

    window = make_main_window()
    names = set()
    for _ in range(2):  # a new process with the same pid starts its instance counter again
        monkeypatch.setattr(recovery_module, "_instances", itertools.count(1))
        names.add(RecoveryManager(window.state, window.recovery.folder, lambda: None).file.name)
    assert len(names) == 2
