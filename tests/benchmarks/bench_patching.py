"""Benchmark: a full residual-stream patching sweep on a GPT-2-small-shaped model, 16 tokens.

    python -m tests.benchmarks.bench_patching [--quick]     # prints the figures as JSON

The corrupted run's ``blocks.{layer}.resid_post`` is patched into the clean run at every layer ×
position, one patch at a time, and each patched run's logit difference between two tokens at
the last position is read with ``experiments.logit_difference`` (the activation-patching
heatmap; it reads the unembedding's input and two of its columns, not the whole logits stage). The sweep reuses the fully read
clean and corrupted runs (``experiments.rerun``), so each patch recomputes only the stages
downstream of it. The naive cost, measured in the same run, is one full forward pass per patch
(an empty cache each time), interleaved with the sweep patch by patch; ``--quick`` times it on
24 of the 192 patches and scales it up. Both give the same logit differences (checked).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import numpy as np

from simulator import experiments as ex

from .workloads import GPT2_SMALL, build_gpt2_small

TOKENS = 16
#: positions of the clean input the corrupted one changes
CORRUPTED_POSITIONS = (2, 5, 9)


def _inputs() -> tuple[list[int], list[int], int, int]:
    rng = np.random.default_rng(7)
    clean = rng.integers(0, GPT2_SMALL.vocab_size, TOKENS).tolist()
    corrupted = list(clean)
    for pos in CORRUPTED_POSITIONS:
        corrupted[pos] = (clean[pos] + 1 + int(rng.integers(0, 1000))) % GPT2_SMALL.vocab_size
    good, bad = (int(t) for t in rng.integers(0, GPT2_SMALL.vocab_size, 2))
    return clean, corrupted, good, bad


def _read_all(trace: Any) -> None:
    for sid in trace.stage_ids():
        trace[sid]


def patching_sweep_figures(quick: bool = False) -> dict[str, Any]:
    """The sweep with reuse and the naive sweep, timed in the same run, with their agreement."""
    model = build_gpt2_small()
    clean_ids, corrupted_ids, good, bad = _inputs()
    layers = GPT2_SMALL.n_layers
    cells = [(layer, pos) for layer in range(layers) for pos in range(TOKENS)]
    naive_cells = cells[:: max(1, len(cells) // 24)] if quick else cells

    model.clear_cache()
    start = time.perf_counter()
    corrupted = model.trace(corrupted_ids)
    _read_all(corrupted)
    clean = model.trace(clean_ids)
    _read_all(clean)
    runs_s = time.perf_counter() - start

    def patch(layer: int, pos: int) -> ex.Patch:
        return ex.Patch(f"blocks.{layer}.resid_post", source=corrupted, position=pos)

    def difference(trace: Any) -> float:
        return ex.logit_difference(trace, good, bad)

    reused: dict[tuple[int, int], float] = {}
    naive: dict[tuple[int, int], float] = {}
    reuse_times: dict[tuple[int, int], float] = {}
    naive_times, computed_per_patch = [], []
    full_forward_stages = 0
    timed_naive = set(naive_cells)
    for layer, pos in cells:  # interleaved, so changes in the machine's load hit both alike
        begin = time.perf_counter()
        with model.recording() as computed:
            reused[layer, pos] = difference(ex.rerun(clean, [patch(layer, pos)]))
        reuse_times[layer, pos] = time.perf_counter() - begin
        computed_per_patch.append(len(computed))
        if (layer, pos) in timed_naive:
            model.clear_cache()
            begin = time.perf_counter()
            with model.recording() as computed:
                naive[layer, pos] = difference(model.trace(clean_ids, interventions=[patch(layer, pos)]))
            naive_times.append(time.perf_counter() - begin)
            full_forward_stages = len(computed)
    sweep_s = sum(reuse_times.values())
    times = naive_times
    speedup = sum(naive_times) / sum(reuse_times[cell] for cell in naive_cells)  # over the same patches
    naive_per_patch_s = statistics.fmean(times)
    naive_sweep_s = naive_per_patch_s * len(cells)
    worst = max(abs(reused[cell] - naive[cell]) for cell in naive_cells)
    assert worst < 1e-4, f"the reusing sweep and the naive one disagree by {worst}"
    from_logits = float(clean["logits"][-1, good]) - float(clean["logits"][-1, bad])
    assert abs(difference(clean) - from_logits) < 1e-4
    return {
        "config": "GPT-2 small shape (12 layers, d_model 768, 12 heads, d_mlp 3072, vocab 50257), random weights",
        "tokens": TOKENS,
        "patches": len(cells),
        "clean_and_corrupted_runs_s": round(runs_s, 3),
        "sweep_reusing_runs_s": round(sweep_s, 3),
        "sweep_reusing_runs_per_patch_ms": round(sweep_s / len(cells) * 1e3, 2),
        "naive_per_patch_ms": round(naive_per_patch_s * 1e3, 2),
        "naive_sweep_s": round(naive_sweep_s, 3),
        "naive_patches_timed": len(naive_cells),
        "naive_sweep_is_extrapolated": len(naive_cells) != len(cells),
        "speedup": round(speedup, 2),
        "stages_per_full_forward": full_forward_stages,
        "stages_recomputed_per_patch_mean": round(statistics.fmean(computed_per_patch), 1),
        "max_abs_difference_reused_vs_naive": worst,
        "logit_difference_unpatched": difference(clean),
        "logit_difference_fully_corrupted": difference(corrupted),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_patching", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time the naive sweep on 24 of the patches and extrapolate")
    args = parser.parse_args(argv)
    json.dump(patching_sweep_figures(quick=args.quick), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
