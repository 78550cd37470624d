"""Test setup: Qt runs offscreen (decided before Qt is imported), and GUI fixture factories."""

from __future__ import annotations

import os
from typing import Callable

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _machine_files_stay_intact():
    """Fail the run if anything replaced /dev/null (a rename over it as root makes it a regular
    file, which breaks every program on the machine); tests run as root in CI."""
    import stat

    yield
    if os.path.exists(os.devnull):
        assert stat.S_ISCHR(os.stat(os.devnull).st_mode), f"{os.devnull} is no longer a character device"


@pytest.fixture
def settings_path(tmp_path):
    """A private settings file, so tests never read or write the user's settings."""
    return tmp_path / "settings.ini"


def _unexpected_dialog(*args, **kwargs):
    raise AssertionError(f"a modal dialog would have blocked the test: {args[1:3]}")


@pytest.fixture
def make_main_window(qtbot, settings_path, monkeypatch) -> Callable:
    """Factory for shown main windows with temporary settings (recovery copies go next to them);
    checks for leftovers after. Message boxes and the export options dialog fail the test unless
    the test replaces them."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, _unexpected_dialog)
    from ui.export import ExportOptionsDialog

    monkeypatch.setattr(ExportOptionsDialog, "ask", staticmethod(_unexpected_dialog))

    from ui.app import LaunchOptions, build_window

    made = []

    def factory(preset: str = "toy", text: str | None = None, stage: str | None = None, head: int | None = None, model: str | None = None):
        settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
        options = LaunchOptions(
            preset=None if model else preset, model=model, text=text, stage=stage, layer=None, head=head,
            screenshot=None, size=(1400, 900),
        )
        window = build_window(options, settings)
        # edits made by the test are not "unsaved work" to ask about when the window is closed
        qtbot.addWidget(window, before_close_func=lambda w: w.state.undo_stack.setClean())
        window.resize(1400, 900)
        with qtbot.waitExposed(window):  # (a context manager: called bare it does not wait)
            window.show()
        qtbot.waitUntil(window.isActiveWindow, timeout=3000)  # window shortcuts need an active window
        made.append(window)
        return window

    yield factory
    from tests.gui_actions import close_checked

    for window in made:
        close_checked(window)
    QApplication.processEvents()
    leftovers = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w not in made]
    assert not leftovers, f"windows left open: {[w.objectName() or type(w).__name__ for w in leftovers]}"
