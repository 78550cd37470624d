"""The interface in a second language: Qt's translation system with a German catalogue."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ui.actions import SPECS
from ui.app import UsageError, parse_args
from ui.i18n import CATALOGUES, LANGUAGES, install_language

DOCK_TITLES = ("Forward pass", "What happens here", "Next-token prediction", "Embedding space", "Compare sentences", "Parameters", "Weight table", "History")
MENU_TITLES = ("&File", "&Edit", "&Navigate", "&View", "&Model", "&Window", "&Help", "Open &recent", "&Export", "&Panels", "&Language")


def _catalogue(language: str) -> dict[tuple[str, str], str]:
    root = ET.parse(CATALOGUES / f"{language}.ts").getroot()
    return {
        (context.findtext("name"), message.findtext("source")): message.findtext("translation") or ""
        for context in root.iter("context")
        for message in context.iter("message")
    }


def _interface_strings() -> list[tuple[str, str]]:
    strings = [("Actions", text) for spec in SPECS for text in (spec.text, spec.short, spec.tip) if text]
    return strings + [("Menus", title) for title in MENU_TITLES] + [("Docks", title) for title in DOCK_TITLES]


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_interface_string_has_a_translation(language: str) -> None:
    """The list of what is missing (empty when the catalogue is complete)."""
    catalogue = _catalogue(language)
    missing = [f"{context}: {text}" for context, text in _interface_strings() if not catalogue.get((context, text))]
    assert not missing, f"{language} lacks {len(missing)} strings: {missing}"


def test_the_compiled_catalogue_matches_its_source(qapp) -> None:  # noqa: ANN001
    from PySide6.QtCore import QTranslator

    translator = QTranslator()
    assert translator.load(str(CATALOGUES / "de.qm"))
    stale = [(c, s) for (c, s), t in _catalogue("de").items() if translator.translate(c, s) != t]
    assert not stale, f"de.qm is older than de.ts (rebuild it with pyside6-lrelease): {stale[:3]}"


def test_lang_de_shows_the_menus_in_german(make_main_window) -> None:
    assert parse_args(["--lang", "de"]).lang == "de"
    try:
        assert install_language("de")
        window = make_main_window()
        titles = [action.text() for action in window.menuBar().actions()]
        assert titles[:3] == ["&Datei", "&Bearbeiten", "&Navigieren"]
        assert window.actions["next"].text() == "&Nächster Schritt"
        assert window.navigator_dock.windowTitle() == "Vorwärtsdurchlauf"
        window.actions["zoom_in"].trigger()
        assert window.actions["zoom_reset"].text() == "&Originalgröße (jetzt 115 %)"
    finally:
        install_language("en")
    assert make_main_window().menuBar().actions()[0].text() == "&File"


def test_an_unknown_language_is_refused_and_the_menu_keeps_the_choice(make_main_window) -> None:
    with pytest.raises(UsageError, match="--lang must be en or de"):
        parse_args(["--lang", "xx"])
    window = make_main_window()
    window.findChild(type(window.actions["next"]), "action_language_de").trigger()
    assert window.settings.value("display/language") == "de"
    assert "next start" in window.statusBar().currentMessage()
