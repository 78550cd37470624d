"""Benchmark: one scrubbed weight change to the repainted stage canvas, toy preset (target < 16 ms).

    python -m tests.benchmarks.bench_edit          # prints the figures as JSON

Each sample is one step of a scrub gesture on W_Q at ``blocks.0.attn.q``: the heatmap's
``scrub_moved`` signal (what a mouse move during a drag emits) → the weight editor → the engine
edit and a new trace → every view subscribed to the state refreshed ("update") → ``canvas.repaint()``
and ``processEvents()``, which paints the changed panels ("paint"). A second figure repeats it with
the Parameters browser and the table editor open on the same tensor, repainting the whole window.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MS = 16.0
STAGE = "blocks.0.attn.q"
WEIGHT = "blocks.0.attn.W_Q"


def _window(folder: Path):  # noqa: ANN202 (Qt types are imported lazily)
    from PySide6.QtCore import QSettings

    from ui.app import LaunchOptions, build_window

    options = LaunchOptions(
        preset="toy", model=None, text="a fluffy blue creature", stage=STAGE, layer=None, head=None,
        screenshot=None, size=(1400, 900),
    )
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    return build_window(options, settings, recovery_dir=folder / "recovery")


def _scrub_samples(app, window, panel, repaint, runs: int, warmup: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """(total, update) milliseconds per scrub step; update = the edit and every view's refresh."""
    row, col = 2, 3
    panel.scrub_started.emit(row, col)
    totals, updates = [], []
    try:
        for i in range(warmup + runs):
            dy = float(1 + i % 80)  # a different value every step, as while dragging
            start = time.perf_counter()
            panel.scrub_moved.emit(row, col, dy)
            updated = time.perf_counter()
            repaint()
            app.processEvents()
            if i >= warmup:
                totals.append((time.perf_counter() - start) * 1e3)
                updates.append((updated - start) * 1e3)
    finally:
        panel.scrub_finished.emit(row, col, 0.0)
    assert window.state.undo_stack.count() == 0, "a scrub that ends where it began leaves no undo step"
    return totals, updates


def _figures(samples: tuple[list[float], list[float]]) -> dict[str, Any]:
    totals, updates = samples
    ordered = sorted(totals)
    median = statistics.median(ordered)
    update = statistics.median(updates)
    return {
        "median_ms": round(median, 3),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
        "update_median_ms": round(update, 3),
        "paint_median_ms": round(statistics.median(t - u for t, u in zip(totals, updates)), 3),
        "within_target": median < TARGET_MS,
    }


def edit_to_repaint_ms(runs: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Median (and p90, max) milliseconds from one scrubbed value change to the repainted canvas."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        window = _window(Path(tmp))
        window.resize(1400, 900)
        window.show()
        for _ in range(5):
            app.processEvents()
        panel = next(p for p in window.canvas.panels if p.matrix is not None and p.matrix.source == WEIGHT)
        canvas = _figures(_scrub_samples(app, window, panel, window.canvas.repaint, runs, warmup))
        window.actions["params"].trigger()
        window.params_browser.select(WEIGHT, head=0)
        window.actions["table"].trigger()
        for _ in range(5):
            app.processEvents()
        with_browser = _figures(_scrub_samples(app, window, panel, window.repaint, runs, warmup))
        window.state.undo_stack.setClean()
        window.close()
    return {
        "preset": "toy",
        "stage": STAGE,
        "weight": WEIGHT,
        "runs": runs,
        "target_ms": TARGET_MS,
        "canvas": canvas,
        "window_with_params_browser_and_table": with_browser,
    }


def main() -> int:
    report = edit_to_repaint_ms()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    print(f"scrub → repainted canvas: median {report['canvas']['median_ms']} ms (target < {TARGET_MS:g} ms)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
