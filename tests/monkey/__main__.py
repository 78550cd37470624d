"""Replay the monkey outside pytest: ``python -m tests.monkey --seed 1234 --steps 3000`` or
``python -m tests.monkey --replay monkey-steps.json`` (the file a failed run leaves next to it).

Runs offscreen with private settings in a temporary folder and prints a JSON report (timings,
memory); a failure prints the step, the reason and the steps performed, and exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

DEFAULT_SEED = 20240607
DEFAULT_TEXT = "a fluffy blue creature"
#: a laptop-sized window: every panel is there, and repainting costs less than at full HD
WINDOW_SIZE = (1024, 700)


def make_window(folder: Path, preset: str = "toy", text: str | None = DEFAULT_TEXT):  # noqa: ANN201
    """A shown, active main window with settings and recovery copies inside ``folder``."""
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ui.app import LaunchOptions, build_window

    QApplication.instance() or QApplication([sys.argv[0]])
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    options = LaunchOptions(preset=preset, model=None, text=text, stage=None, layer=None, head=None, screenshot=None, size=(1400, 900))
    window = build_window(options, settings, recovery_dir=folder / "recovery")
    window.resize(*WINDOW_SIZE)
    window.show()
    QTest.qWaitForWindowExposed(window)
    window.activateWindow()
    QTest.qWaitForWindowActive(window)
    return window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.monkey", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--steps", type=int, default=3000, help="how many steps of the seed to run")
    parser.add_argument("--replay", type=Path, help="a steps file written by a failed run")
    parser.add_argument("--preset", default="toy")
    parser.add_argument("--verbose", action="store_true", help="print each step before performing it")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    warnings.simplefilter("error")  # as pyproject's filterwarnings: a warning fails the run in pytest too

    from tests.monkey.runner import Monkey, MonkeyFailure, load_steps

    seed, steps = (None, args.steps)
    if args.replay is not None:
        seed, steps = load_steps(args.replay)
    else:
        seed = args.seed
    with tempfile.TemporaryDirectory(prefix="monkey-") as tmp:
        folder = Path(tmp)
        window = make_window(folder, args.preset)
        monkey = Monkey(window, folder / "work", seed)
        (folder / "work").mkdir()
        progress = (lambda i, step: print(f"{i:5d} {step.to_json()}", file=sys.stderr, flush=True)) if args.verbose else None
        try:
            report = monkey.run(steps, memory_marks=(500, 1000, 1500, 2000, 2500), progress=progress)
        except MonkeyFailure as failure:
            print(str(failure), file=sys.stderr)
            keep = Path.cwd() / "monkey-steps.json"
            if failure.saved is not None and failure.saved.exists():
                keep.write_text(failure.saved.read_text(encoding="utf-8"), encoding="utf-8")
                print(f"\nsteps written to {keep}", file=sys.stderr)
            return 1
        finally:
            window.state.undo_stack.setClean()
            window.close()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: Qt objects kept alive by a failure's traceback may crash it
