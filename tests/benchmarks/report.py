"""Measure the workloads and collect the figures as one JSON-able dict.

``summary`` holds the headline figures, each with its target; the sections below it hold the
details: the engine on the toy preset and on a GPT-2-small-shaped model (against PyTorch on the
same weights, interleaved, when PyTorch is installed), the window on the toy preset (step,
sentence edit and scrub to the repainted window, with yardsticks measured in the same run;
see :mod:`tests.benchmarks.gui` for what "repainted" means), startup to a shown window, a
residual-stream patching sweep against its naive cost, memory with a GPT-2-small-sized
checkpoint (the engine alone, and the app's window on it), and a keystroke at GPT-2 small's
full 1,024-token context, before and after issue 12's fix (see
:mod:`tests.benchmarks.bench_long_input`).
"""

from __future__ import annotations

import os
import platform
import time
from functools import partial
from typing import Any, Callable

import numpy as np

import simulator

from .workloads import GPT2_TOKENS, TOY_TEXT, build_gpt2_small, fresh_forward, gpt2_ids, median_seconds, torch_twin

TOY_TARGET_MS = 1.0
RATIO_TARGET = 1.3
#: Pause before each timed large pass, so one library's idle worker threads stop spinning
#: before the other library starts (both use every core).
SETTLE_SECONDS = 0.05


def toy_figures(runs: int) -> dict[str, Any]:
    """The toy preset's forward pass from an empty cache: every stage, and just ``probs``."""
    model = simulator.load("toy")
    every = median_seconds(lambda: fresh_forward(model, TOY_TEXT), runs, warmup=50)
    probs = median_seconds(lambda: fresh_forward(model, TOY_TEXT, ["probs"]), runs, warmup=50)
    return {
        "text": TOY_TEXT,
        "tokens": len(model.trace(TOY_TEXT).ids),
        "stages": len(model.stage_ids()),
        "runs": runs,
        "every_stage_median_ms": round(every * 1e3, 4),
        "probs_only_median_ms": round(probs * 1e3, 4),
        "target_ms": TOY_TARGET_MS,
        "within_target": every * 1e3 < TOY_TARGET_MS,
    }


def _timed(action: Callable[[], Any]) -> float:
    """Seconds taken by one call, after letting idle worker threads settle."""
    time.sleep(SETTLE_SECONDS)
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def gpt2_figures(runs: int) -> dict[str, Any]:
    """A GPT-2-small-shaped model: the engine against PyTorch on the same weights, interleaved."""
    model = build_gpt2_small()
    ids = gpt2_ids()
    twin = torch_twin(model)
    every = partial(fresh_forward, model, ids)
    probs = partial(fresh_forward, model, ids, ["probs"])
    figures: dict[str, Any] = {
        "config": model.config.to_dict(),
        "parameters": model.n_params(),
        "tokens": GPT2_TOKENS,
        "runs": runs,
        "cpu_count": os.cpu_count(),
    }
    every()
    probs()
    if twin is None:
        figures["numpy_every_stage_median_ms"] = round(median_seconds(every, runs) * 1e3, 2)
        figures["numpy_probs_only_median_ms"] = round(median_seconds(probs, runs) * 1e3, 2)
        figures["torch"] = None
        figures["note"] = "PyTorch is not installed: the comparison was skipped"
        return figures
    torch_probs = twin.forward(ids).numpy()
    figures["max_abs_difference_of_probs"] = float(np.max(np.abs(torch_probs - fresh_forward(model, ids)["probs"])))
    times: dict[str, list[float]] = {"every": [], "probs": [], "torch": []}
    for _ in range(runs):  # interleaved, so load changes hit both engines alike
        times["every"].append(_timed(every))
        times["probs"].append(_timed(probs))
        times["torch"].append(_timed(partial(twin.forward, ids)))
    medians = {key: float(np.median(values)) for key, values in times.items()}
    figures.update({
        "numpy_every_stage_median_ms": round(medians["every"] * 1e3, 2),
        "numpy_probs_only_median_ms": round(medians["probs"] * 1e3, 2),
        "torch_median_ms": round(medians["torch"] * 1e3, 2),
        "torch_version": twin.torch.__version__,
        "torch_threads": twin.torch.get_num_threads(),
        "ratio_every_stage_numpy_over_torch": round(medians["every"] / medians["torch"], 3),
        "ratio_probs_only_numpy_over_torch": round(medians["probs"] / medians["torch"], 3),
        "target_ratio": RATIO_TARGET,
        "within_target": medians["every"] / medians["torch"] <= RATIO_TARGET,
    })
    return figures


def window_figures(quick: bool = False) -> dict[str, Any]:
    """Step / sentence edit / scrub to the repainted window, toy preset, and startup."""
    from .bench_edit import edit_to_repaint_ms
    from .bench_window import sentence_edit_to_repaint_ms, startup_seconds, step_to_repaint_ms

    return {
        "step_to_repaint": step_to_repaint_ms(rounds=1 if quick else 3),
        "sentence_edit_to_repaint": sentence_edit_to_repaint_ms(runs=40 if quick else 120),
        "scrub_to_repaint": edit_to_repaint_ms(runs=60 if quick else 200),
        "startup": startup_seconds(runs=1 if quick else 3),
    }


def patching_figures(quick: bool = False) -> dict[str, Any]:
    """A residual-stream patching sweep (every layer × position) on the GPT-2-small shape, 16
    tokens: reusing the clean and corrupted runs against one full forward pass per patch."""
    from .bench_patching import patching_sweep_figures

    return patching_sweep_figures(quick=quick)


def memory_figures() -> dict[str, Any]:
    """A GPT-2-small-sized checkpoint: the engine's load and pass, and the app's window on it."""
    from .bench_gpt2_scale import gpt2_scale_figures

    figures = gpt2_scale_figures(window=True)
    window = figures.get("window", {})
    return {
        "parameters": figures["parameters"],
        "engine_load_seconds": figures["load_seconds"],
        "engine_peak_rss_mb": figures["peak_rss_mb"],
        "window_peak_rss_mb": window.get("peak_rss_mb"),
        "window_show_seconds": window.get("show_window_seconds"),
        "target_mb": figures["rss_target_mb"],
        "within_target": max(figures["peak_rss_mb"], window.get("peak_rss_mb", 0.0)) < figures["rss_target_mb"],
        "details": figures,
    }


def long_input_figures() -> dict[str, Any]:
    """A keystroke at 1,024 tokens of a GPT-2-small-shaped model: before and after."""
    from .bench_long_input import long_input_figures as figures

    return figures(tokens=1024)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    toy, gpt2, window, memory = report["toy"], report["gpt2_small_shape"], report["window"], report["memory"]
    out: dict[str, Any] = {"engine_toy_forward_median_ms": toy["every_stage_median_ms"]}
    if gpt2:
        out["engine_gpt2_small_shape_forward_median_ms"] = gpt2["numpy_every_stage_median_ms"]
        out["engine_over_pytorch_ratio"] = gpt2.get("ratio_every_stage_numpy_over_torch")
    if window:
        for name in ("step_to_repaint", "sentence_edit_to_repaint"):
            out[f"{name}_median_ms"] = window[name]["median_ms"]
        out["scrub_to_repaint_median_ms"] = window["scrub_to_repaint"]["window"]["median_ms"]
        out["full_window_repaint_median_ms (yardstick)"] = window["step_to_repaint"]["reference"]["full_window_repaint_median_ms"]
        out["startup_to_shown_window_s"] = window["startup"]["process_wall_median_s"]
    sweep = report.get("patching_sweep")
    if sweep:
        out["patching_sweep_gpt2_small_shape_16_tokens_s"] = {
            "reusing_runs": sweep["sweep_reusing_runs_s"], "naive": sweep["naive_sweep_s"], "speedup": sweep["speedup"],
        }
    if memory:
        out["peak_rss_gpt2_small_mb"] = {"engine": memory["engine_peak_rss_mb"], "window": memory["window_peak_rss_mb"]}
    long_input = report.get("long_input")
    if long_input:
        for mode in ("before", "after"):
            figures = long_input[mode]
            out[f"gpt2_small_1024_tokens_keystroke_{mode}"] = {
                key: figures[key] for key in ("keystroke_to_repaint_ms", "keystroke_to_result_ms", "longest_gui_freeze_ms", "peak_rss_mb")
            }
    targets = {"engine_toy_under_1_ms": toy["within_target"]}
    if gpt2 and "ratio_every_stage_numpy_over_torch" in gpt2:
        targets["engine_within_1.3x_pytorch"] = gpt2["within_target"]
    if window:
        for name in ("step_to_repaint", "sentence_edit_to_repaint"):
            targets[f"{name}_under_16_ms"] = window[name]["within_target"] and window[name]["every_sample_painted"]
        scrub = window["scrub_to_repaint"]["window"]
        targets["scrub_to_repaint_under_16_ms"] = scrub["within_target"] and scrub["every_sample_painted"]
    if memory:
        targets["peak_rss_under_1.5_gb"] = memory["within_target"]
    if long_input:
        targets["gpt2_small_1024_tokens_window_repaints_within_100_ms"] = long_input["within_freeze_target"]
    out["targets_met"] = targets
    return out


def run_all(
    toy_runs: int, gpt2_runs: int | None, window: bool = True, memory: bool = True, quick: bool = False, long_input: bool = True
) -> dict[str, Any]:
    """Every figure, with the versions they were measured with; no GPT-2 part when ``gpt2_runs``
    is None, no window, memory or long-input part when those are False."""
    import os as _os

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": _os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in _os.getloadavg()] if hasattr(_os, "getloadavg") else None,
    }
    try:
        import PySide6
        import pyqtgraph

        report["pyside6"], report["pyqtgraph"] = PySide6.__version__, pyqtgraph.__version__
    except ImportError:
        pass
    report["summary"] = {}
    report["toy"] = toy_figures(toy_runs)
    # the window before the GPT-2-sized part: that one leaves a large heap and PyTorch's threads behind
    report["window"] = window_figures(quick) if window else None
    report["gpt2_small_shape"] = gpt2_figures(gpt2_runs) if gpt2_runs else None
    report["patching_sweep"] = patching_figures(quick) if gpt2_runs else None
    report["memory"] = memory_figures() if memory else None
    report["long_input"] = long_input_figures() if long_input else None
    report["summary"] = _summary(report)
    return report
