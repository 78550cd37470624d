"""The interface's language: Qt's translation system with the compiled catalogues in
``resources/i18n`` (``<lang>.ts`` is the source a translator edits, ``<lang>.qm`` what Qt loads;
rebuild with ``pyside6-lrelease resources/i18n/de.ts -qm resources/i18n/de.qm``).

The language is, in order: ``--lang``, the one chosen in View → Language (kept in the
settings), the system's. English needs no catalogue; a language without one falls back to it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QSettings, QTranslator

#: the languages the interface can be shown in, with their own names
LANGUAGES = {"en": "English", "de": "Deutsch"}
SETTINGS_KEY = "display/language"
CATALOGUES = Path(__file__).resolve().parents[1] / "resources" / "i18n"

_installed: list[QTranslator] = []


def tr(context: str, text: str) -> str:
    """``text`` in the interface's language (``context`` as in the catalogue: Actions, Menus)."""
    return QCoreApplication.translate(context, text)


def choose_language(requested: str | None, settings: QSettings | None = None) -> str:
    """The language to use: the requested one, else the saved choice, else the system's."""
    if requested:
        return requested
    saved = settings.value(SETTINGS_KEY, "", type=str) if settings is not None else ""
    if saved in LANGUAGES:
        return saved
    system = QLocale.system().name().split("_")[0]
    return system if system in LANGUAGES else "en"


def install_language(language: str) -> bool:
    """Make Qt translate into ``language`` from now on (before the window is built); True if a
    catalogue was loaded (English has none and needs none)."""
    app = QCoreApplication.instance()
    for translator in _installed:
        if app is not None:
            app.removeTranslator(translator)
    _installed.clear()
    if language == "en" or app is None:
        return False
    translator = QTranslator()
    if not translator.load(str(CATALOGUES / f"{language}.qm")):
        return False
    app.installTranslator(translator)
    _installed.append(translator)
    return True
