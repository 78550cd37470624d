"""Benchmark: one scrubbed weight change to the repainted canvas, toy preset (target < 16 ms).

    python -m tests.benchmarks.bench_edit          # prints the figures as JSON

Each sample is one step of a real scrub gesture on W_Q at ``blocks.0.attn.q``: the left button
is pressed on a cell of the W_Q panel and held, and each sample is one mouse move (a different
height each time, as while dragging) on the panel's viewport. pyqtgraph turns it into a drag
event, the panel into ``scrub_moved``, the weight editor into an engine edit and a new trace,
and every view subscribed to the state refreshes ("update"); then the event loop runs until it
is idle, painting every changed widget ("paint"); see :mod:`tests.benchmarks.gui` for what
"repainted" means and how it is checked. Between samples the benchmark waits a little (not
timed), because pyqtgraph drops mouse moves closer than 10 ms apart, as a real drag's are.

A second figure repeats it with the Parameters browser and the weight table open on the same
tensor (both follow every change), timing the whole window the same way.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .gui import TARGET_MS, Repaint, canvas_matrices, changed_canvas_viewports, close_window, qt_app, summary, toy_window

STAGE = "blocks.0.attn.q"
WEIGHT = "blocks.0.attn.W_Q"
CELL = (2, 3)
#: pyqtgraph's default mouse rate limit is 100 moves a second
MOVE_INTERVAL_S = 0.011


def _wait(seconds: float) -> None:
    """Let time pass without giving the core away (a sleep would add the wake-up to the sample)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _scrub_samples(timer: Repaint, window, panel, runs: int, warmup: int, expected) -> list[dict[str, float]]:  # noqa: ANN001
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    viewport = panel.viewport()
    centre = panel.cell_center_in_widget(*CELL)
    start = QPoint(round(centre.x()), round(centre.y()))
    no_modifier = Qt.KeyboardModifier.NoModifier
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, no_modifier, start)
    samples = []
    try:
        for i in range(warmup + runs):
            dy = 20 + i % 60  # a different height every move, as while dragging up and down
            _wait(MOVE_INTERVAL_S)
            sample = timer.sample(lambda dy=dy: QTest.mouseMove(viewport, start - QPoint(0, dy)), expected, lambda: canvas_matrices(window))
            if i >= warmup:
                samples.append(sample)
    finally:
        _wait(MOVE_INTERVAL_S)
        QTest.mouseMove(viewport, start)
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, no_modifier, start)
        timer.drain()
    assert not window.weight_editor.scrubbing, "the scrub should have ended with the release"
    assert window.state.undo_stack.count() == 0, "a scrub that ends where it began leaves no undo step"
    return samples


def edit_to_repaint_ms(runs: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Median (and p90, max) milliseconds from one scrubbed value change to the repainted canvas."""
    app = qt_app()
    with tempfile.TemporaryDirectory() as tmp:
        window = toy_window(Path(tmp), stage=STAGE)
        timer = Repaint()
        try:
            panel = next(p for p in window.canvas.panels if p.matrix is not None and p.matrix.source == WEIGHT)
            changed = window.state.trace
            canvas = summary(_scrub_samples(timer, window, panel, runs, warmup, lambda old: changed_canvas_viewports(window, old)))
            assert window.state.trace is not changed, "the scrub should have run new traces"
            window.actions["params"].trigger()
            window.params_browser.select(WEIGHT, head=0)
            window.actions["table"].trigger()
            timer.drain()
            expected = lambda old: [*changed_canvas_viewports(window, old), window.params_browser.heatmap.viewport()]  # noqa: E731
            with_browser = summary(_scrub_samples(timer, window, panel, runs, warmup, expected))
        finally:
            timer.close()
            close_window(window)
    app.processEvents()
    return {
        "preset": "toy",
        "stage": STAGE,
        "weight": WEIGHT,
        "gesture": f"left button held on W_Q cell {CELL}, one mouse move per sample",
        "window": canvas,
        "window_with_params_browser_and_table": with_browser,
    }


def main() -> int:
    report = edit_to_repaint_ms()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    print(f"scrub → repainted window: median {report['window']['median_ms']} ms (target < {TARGET_MS:g} ms)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
