"""Measure the workloads and collect the figures as one JSON-able dict."""

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


def run_all(toy_runs: int, gpt2_runs: int | None) -> dict[str, Any]:
    """Every figure, with the versions they were measured with; no GPT-2 part when ``gpt2_runs`` is None."""
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "toy": toy_figures(toy_runs),
    }
    report["gpt2_small_shape"] = gpt2_figures(gpt2_runs) if gpt2_runs else None
    return report
