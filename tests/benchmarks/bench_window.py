"""Benchmarks of the window on the toy preset: step → repainted window, sentence edit → repainted
window (target < 16 ms each), and startup → shown window.

    python -m tests.benchmarks.bench_window          # prints the figures as JSON

* **step**: the Next / Back actions (what the → / ← keys and toolbar buttons trigger), walking
  forward through all 42 stages and back again, so every sample is a step between neighbouring
  stages and every layout change of the canvas is included;
* **sentence edit**: real key presses in the sentence box (Backspace, then the letter again:
  "creature" ↔ "creatur", whose last word is not in the vocabulary), so every keystroke runs a
  new trace and every view subscribed to it refreshes;
* **startup**: a fresh Python process imports the app, loads the toy preset, builds and shows
  the window and paints it once; measured inside the process from before the first Qt import
  to the idle, painted window, and from outside as the whole process's wall time up to that
  moment.

Each sample is timed as described in :mod:`tests.benchmarks.gui`: from the action until the
event loop is idle, with every paint it caused done; the canvas's heatmaps must have painted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .gui import TARGET_MS, Repaint, canvas_matrices, changed_canvas_viewports, close_window, qt_app, summary, toy_window

ROOT = Path(__file__).resolve().parents[2]
TEXT = "a fluffy blue creature"


def step_to_repaint_ms(rounds: int = 3, warmup_rounds: int = 1) -> dict[str, Any]:
    """Median (p90, max) ms from one Next/Back step to the repainted window, all stages, both ways."""
    app = qt_app()
    with tempfile.TemporaryDirectory() as tmp:
        window = toy_window(Path(tmp), text=TEXT)
        timer = Repaint()
        try:
            ids = window.state.model.stage_ids()
            window.state.first()
            window.navigator.setFocus()  # (→ / ← step from anywhere but a text field)
            timer.drain()
            before, changed = (lambda: canvas_matrices(window)), (lambda old: changed_canvas_viewports(window, old))
            samples = []
            for round_ in range(warmup_rounds + rounds):
                for name in ("next", "back"):
                    for _ in range(len(ids) - 1):
                        sample = timer.sample(window.actions[name].trigger, changed, before)
                        if round_ >= warmup_rounds:
                            samples.append(sample)
            figures = summary(samples)
            figures["reference"] = _references(timer, window)
        finally:
            timer.close()
            close_window(window)
    app.processEvents()
    return {"preset": "toy", "text": TEXT, "stages": len(ids), **figures}


def _references(timer: Repaint, window, runs: int = 40) -> dict[str, Any]:  # noqa: ANN001
    """Yardsticks measured in the same window and run: a full synchronous repaint of the whole
    window (every widget painted, nothing recomputed) and an action that changes nothing."""
    import statistics

    full = [timer.sample(window.repaint, lambda _: [])["total"] for _ in range(runs)]
    idle = [timer.sample(lambda: None, lambda _: [])["total"] for _ in range(runs)]
    return {
        "full_window_repaint_median_ms": round(statistics.median(full), 2),
        "no_op_median_ms": round(statistics.median(idle), 3),
    }


def sentence_edit_to_repaint_ms(runs: int = 120, warmup: int = 20) -> dict[str, Any]:
    """Median (p90, max) ms from one key press in the sentence box to the repainted window."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    app = qt_app()
    with tempfile.TemporaryDirectory() as tmp:
        window = toy_window(Path(tmp), stage="blocks.0.attn.pattern", text=TEXT)
        timer = Repaint()
        try:
            edit = window.sentence_box.edit
            edit.setFocus()
            edit.end(False)
            timer.drain()
            before, changed = (lambda: canvas_matrices(window)), (lambda old: changed_canvas_viewports(window, old))
            samples = []
            for i in range(warmup + runs):
                if i % 2 == 0:
                    press = lambda: QTest.keyClick(edit, Qt.Key.Key_Backspace)  # noqa: E731
                else:
                    press = lambda: QTest.keyClick(edit, "e")  # noqa: E731
                sample = timer.sample(press, changed, before)
                if i >= warmup:
                    samples.append(sample)
            assert window.state.text == TEXT, f"the edits should end where they began, got {window.state.text!r}"
            figures = summary(samples)
        finally:
            timer.close()
            close_window(window)
    app.processEvents()
    return {"preset": "toy", "stage": "blocks.0.attn.pattern", "keys": "Backspace / 'e' at the end of the sentence", **figures}


_STARTUP_CHILD = r"""
import json, os, sys, time
start = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, sys.argv[1])
from tests.benchmarks.gui import Repaint, qt_app
from PySide6.QtCore import QSettings
app = qt_app()
imported = time.perf_counter()
from ui.app import LaunchOptions, build_window
options = LaunchOptions(preset="toy", model=None, text=None, stage=None, layer=None, head=None, screenshot=None, size=(1400, 900))
window = build_window(options, QSettings(os.path.join(sys.argv[2], "s.ini"), QSettings.Format.IniFormat), recovery_dir=os.path.join(sys.argv[2], "recovery"))
built = time.perf_counter()
window.resize(1400, 900)
window.show()
Repaint().drain()
shown = time.perf_counter()
print(json.dumps({"import_s": imported - start, "build_s": built - imported, "show_s": shown - built, "total_s": shown - start}))
sys.stdout.flush()
window.state.undo_stack.setClean()
window.close()
"""


def _start_once(env: dict[str, str]) -> tuple[float, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        begin = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _STARTUP_CHILD, str(ROOT), tmp],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )
        line = child.stdout.readline()
        wall = time.perf_counter() - begin
        _, err = child.communicate()
        if not line:
            raise RuntimeError(f"the startup process failed:\n{err}")
        return wall, json.loads(line)


def startup_seconds(runs: int = 3) -> dict[str, Any]:
    """Median seconds from a new process to the shown, painted window (toy preset), in parts.

    Python's compiled-bytecode cache is kept in a private temporary folder (nothing is written
    into the project), so the first start compiles every module ("cold", reported alone) and
    the timed starts after it read the cache, as an installed app does ("warm", the median).
    """
    with tempfile.TemporaryDirectory(prefix="pycache-") as cache:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env |= {"QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": cache}
        cold_wall, _ = _start_once(env)
        starts = [_start_once(env) for _ in range(runs)]
    starts.sort(key=lambda start: start[0])
    wall, parts = starts[len(starts) // 2]
    return {
        "runs": runs,
        "process_wall_median_s": round(wall, 3),
        "in_process_s": round(parts["total_s"], 3),
        "imports_s": round(parts["import_s"], 3),
        "build_window_s": round(parts["build_s"], 3),
        "show_and_paint_s": round(parts["show_s"], 3),
        "cold_first_start_s": round(cold_wall, 3),
    }


def window_figures(quick: bool = False) -> dict[str, Any]:
    """Step, sentence-edit and startup figures (``quick``: fewer samples)."""
    return {
        "step_to_repaint": step_to_repaint_ms(rounds=1 if quick else 3),
        "sentence_edit_to_repaint": sentence_edit_to_repaint_ms(runs=40 if quick else 120),
        "startup": startup_seconds(runs=1 if quick else 3),
    }


def main() -> int:
    report = window_figures()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    for name in ("step_to_repaint", "sentence_edit_to_repaint"):
        print(f"{name}: median {report[name]['median_ms']} ms (target < {TARGET_MS:g} ms)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
