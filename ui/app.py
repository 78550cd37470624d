"""``transformer-sim`` / ``python -m ui``: open the main window, or render it to a PNG and exit.

Bad arguments exit with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

APP_ORG = "TransformerStepSim"
APP_ID = "transformer-step-sim"
DEFAULT_SCREENSHOT_SIZE = (1600, 1000)


class UsageError(Exception):
    """A command-line mistake, reported in one line."""


@dataclass(frozen=True)
class LaunchOptions:
    preset: str | None
    model: str | None
    text: str | None
    stage: str | None
    layer: int | None
    head: int | None
    screenshot: str | None
    size: tuple[int, int]
    #: a built-in lesson id or a lesson file to open, and its step (from 1; None: where it was left)
    lesson: str | None = None
    lesson_step: int | None = None
    #: the interface's language (None: the saved choice, else the system's)
    lang: str | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise UsageError(f"{self.prog}: {message}")


def parse_args(argv: Sequence[str]) -> LaunchOptions:
    parser = _Parser(prog="transformer-sim", description="Step through a transformer's forward pass.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", help="a built-in model (see `python -m simulator presets`)")
    source.add_argument("--model", help="a saved .npz model or a checkpoint folder")
    parser.add_argument("--text", help="the sentence to start with")
    parser.add_argument("--stage", help="a stage id such as blocks.0.attn.pattern (or a kind such as attn.pattern with --layer)")
    parser.add_argument("--layer", type=int, help="layer for --stage given as a kind")
    parser.add_argument("--head", type=int, help="attention head to show")
    parser.add_argument("--screenshot", metavar="FILE.png", help="render the window to a PNG and exit")
    parser.add_argument("--size", default=None, metavar="WxH", help="window size for --screenshot (default 1600x1000)")
    parser.add_argument("--lang", default=None, metavar="CODE", help="the interface's language: en or de (default: the saved choice, else the system's)")
    parser.add_argument("--lesson", metavar="ID_OR_FILE", help="open a lesson (see `python -m simulator lessons`) or a lesson file")
    parser.add_argument("--lesson-step", type=int, metavar="N", help="start the lesson at step N (from 1)")
    args = parser.parse_args(list(argv))
    size = DEFAULT_SCREENSHOT_SIZE
    if args.size is not None:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise UsageError(f"transformer-sim: --size must look like 1600x1000, got {args.size!r}") from None
        if not (320 <= w <= 8000 and 240 <= h <= 8000):
            raise UsageError("transformer-sim: --size must be between 320x240 and 8000x8000")
        size = (w, h)
    if args.screenshot is not None and not args.screenshot.lower().endswith(".png"):
        raise UsageError("transformer-sim: --screenshot needs a file name ending in .png")
    if args.lang is not None and args.lang not in ("en", "de"):
        raise UsageError(f"transformer-sim: --lang must be en or de, got {args.lang!r}")
    if args.lesson_step is not None and args.lesson is None:
        raise UsageError("transformer-sim: --lesson-step needs --lesson")
    if args.lesson_step is not None and args.lesson_step < 1:
        raise UsageError(f"transformer-sim: --lesson-step counts from 1, got {args.lesson_step}")
    if args.lesson is not None and not args.lesson.strip():
        raise UsageError("transformer-sim: --lesson needs a lesson id or a lesson file")
    return LaunchOptions(args.preset, args.model, args.text, args.stage, args.layer, args.head, args.screenshot, size,
                         args.lesson, args.lesson_step, args.lang)


def resolve_stage(model, stage: str | None, layer: int | None) -> str:  # noqa: ANN001 (engine Model)
    """A full stage id from --stage/--layer, or a clear error."""
    from simulator.errors import SimulatorError

    n = model.config.n_layers
    if layer is not None and not 0 <= layer < max(n, 1):
        raise SimulatorError(f"--layer must be between 0 and {n - 1}")
    if stage is None:
        if layer is None:
            return model.stage_ids()[0]
        return f"blocks.{layer}.resid_pre"
    if stage in model.graph:
        if layer is not None and model.graph[stage].layer not in (None, layer):
            raise SimulatorError(f"--stage {stage} is in layer {model.graph[stage].layer}, not --layer {layer}")
        return stage
    candidate = f"blocks.{layer if layer is not None else 0}.{stage}"
    if candidate in model.graph:
        return candidate
    model.stage_spec(stage)  # raises with a helpful message
    return stage


def build_window(options: LaunchOptions, settings=None, recovery_dir=None):  # noqa: ANN001, ANN201 (Qt types imported lazily)
    """Load the model, make the state and the window, and apply the launch options.

    ``recovery_dir`` overrides where crash-recovery copies live (tests); screenshots neither
    offer nor write them. ``--lesson`` plays a lesson in the lesson dock: one that cannot be
    found or read is an error; one that fails its checks opens with its problems listed.
    """
    import simulator
    from simulator.errors import SimulatorError
    from ui.main_window import MainWindow
    from ui.state import AppState

    lesson = None
    if options.lesson is not None:
        from simulator.lessons import load_lesson

        lesson = load_lesson(options.lesson)  # (not found, a folder, not text: one line, exit 2)
        steps = len(lesson.steps)
        if options.lesson_step is not None and steps and not 1 <= options.lesson_step <= steps:
            raise SimulatorError(f"--lesson-step must be between 1 and {steps} (the steps of {options.lesson})")
    # an empty --model is a mistake (simulator.load says so), not a request for the default
    name = options.model if options.model is not None else (options.preset or simulator.default_preset())
    model = simulator.load(name)
    state = AppState(model, options.text)
    state.set_stage(resolve_stage(model, options.stage, options.layer))
    if options.head is not None:
        if not 0 <= options.head < model.config.n_heads:
            raise SimulatorError(f"--head must be between 0 and {model.config.n_heads - 1}")
        state.set_head(options.head)
    window = MainWindow(state, settings, recovery_dir=recovery_dir, recovery=not options.screenshot)
    # a lesson that fails its checks is listed in the lesson dock (and a message), never raised
    if lesson is not None and window.lesson_player.play(lesson, options.lesson_step, announce=not options.screenshot):
        state.undo_stack.clear()  # the lesson's set-up is where this session starts
    return window


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: Sequence[str]) -> int:
    try:
        options = parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if options.screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import qInstallMessageHandler

    previous = qInstallMessageHandler(None)

    def without_platform_notes(mode, context, message: str) -> None:  # noqa: ANN001 (Qt types)
        """Qt's messages as usual (to the handler before ours, or stderr), minus the platform
        notes that are not about the app."""
        if any(note in message for note in _PLATFORM_NOTES):
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(without_platform_notes)
    try:
        return _run(options)
    finally:
        qInstallMessageHandler(previous)


#: what Qt's offscreen and some X11 platforms print on every window shown, harmlessly
_PLATFORM_NOTES = ("does not support propagateSizeHints",)


def _run(options: "LaunchOptions") -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from simulator.errors import SimulatorError

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(APP_ORG)
    app.setApplicationName(APP_ID)
    from ui.i18n import choose_language, install_language

    install_language(choose_language(options.lang, None if options.screenshot else QSettings()))
    if not options.screenshot:
        try:
            window = build_window(options, None)
        except SimulatorError as exc:
            print(f"transformer-sim: {exc}", file=sys.stderr)
            return 2
        window.show()
        return app.exec()
    # A screenshot must leave the user's settings alone, and Qt saves an ini file by writing a
    # temporary file and renaming it over the target: so the settings live in a private folder
    # of our own that is removed afterwards (never a shared path such as os.devnull).
    with tempfile.TemporaryDirectory(prefix="transformer-sim-shot-") as private:
        settings = QSettings(str(Path(private) / "settings.ini"), QSettings.Format.IniFormat)
        try:
            return _screenshot(app, options, settings)
        except SimulatorError as exc:
            print(f"transformer-sim: {exc}", file=sys.stderr)
            return 2
        finally:
            settings.sync()
            del settings


def _screenshot(app, options: "LaunchOptions", settings) -> int:  # noqa: ANN001 (Qt types imported lazily)
    """Render the window off screen into ``options.screenshot`` and close it."""
    from PySide6.QtCore import Qt

    window = build_window(options, settings)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.resize(*options.size)
    window.show()
    for _ in range(3):
        app.processEvents()
    ok = window.grab().save(options.screenshot)
    window.close()
    if not ok:
        print(f"transformer-sim: could not write {options.screenshot}", file=sys.stderr)
        return 1
    return 0
