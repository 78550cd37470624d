"""The window benchmarks under pytest-benchmark: ``pytest tests/benchmarks --benchmark-only``.

Figures, not pass/fail timings: each test runs one measurement (see :mod:`tests.benchmarks.gui`
for how "to the repainted window" is timed) and stores its medians in the benchmark's
``extra_info``; the tests only check that every sample did repaint what changed.
"""

from __future__ import annotations

from .bench_edit import edit_to_repaint_ms
from .bench_window import sentence_edit_to_repaint_ms, startup_seconds, step_to_repaint_ms

KEYS = ("median_ms", "p90_ms", "cpu_median_ms", "update_median_ms", "paint_median_ms")


def test_step_to_repaint(benchmark) -> None:
    figures = benchmark.pedantic(step_to_repaint_ms, kwargs={"rounds": 1}, rounds=1, iterations=1)
    benchmark.extra_info.update({key: figures[key] for key in KEYS} | figures["reference"])
    assert figures["every_sample_painted"]


def test_sentence_edit_to_repaint(benchmark) -> None:
    figures = benchmark.pedantic(sentence_edit_to_repaint_ms, kwargs={"runs": 60}, rounds=1, iterations=1)
    benchmark.extra_info.update({key: figures[key] for key in KEYS})
    assert figures["every_sample_painted"]


def test_scrub_to_repaint(benchmark) -> None:
    figures = benchmark.pedantic(edit_to_repaint_ms, kwargs={"runs": 100}, rounds=1, iterations=1)
    benchmark.extra_info.update({key: figures["window"][key] for key in KEYS})
    assert figures["window"]["every_sample_painted"]


def test_startup(benchmark) -> None:
    figures = benchmark.pedantic(startup_seconds, kwargs={"runs": 1}, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    assert figures["process_wall_median_s"] > 0
