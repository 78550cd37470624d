"""``python -m simulator.training``: retrain the ``tiny-trained`` preset's shipped weights.

    python -m simulator.training                  # writes resources/presets/tiny-trained.npz
    python -m simulator.training --out my.npz     # somewhere else
    python -m simulator.training --seed 1 --steps 500

The run is seeded (corpus, initial weights and batch order), so the same seed on the same
machine gives the same weights. It prints progress, the training time, the held-out accuracy
against its baselines, and what each attention head learned to look at.

The command re-runs itself in a tuned environment (unless ``OPENBLAS_NUM_THREADS`` or a
sibling is already set): BLAS libraries get one thread, because these matrices are too small to
gain from threads and threaded BLAS slows down several-fold when another program keeps the
second core busy; and glibc keeps freed memory for reuse instead of handing it back after every
step, which otherwise spends a quarter of the time in page faults.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from simulator.errors import SimulatorError
from simulator.training.tiny import SETTINGS, WEIGHTS_PATH, retrain
from simulator.training.trainer import StepReport

PROGRESS_EVERY = 250
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
MEMORY_VARIABLES = {"MALLOC_TRIM_THRESHOLD_": "1000000000", "MALLOC_MMAP_THRESHOLD_": "1000000000"}


def run_tuned(argv: Sequence[str]) -> int | None:
    """Re-run this command with one BLAS thread and glibc keeping freed memory; ``None`` if the
    environment already chooses a thread count (then this process does the work itself)."""
    if any(name in os.environ for name in THREAD_VARIABLES):
        return None
    env = {**MEMORY_VARIABLES, **os.environ, **{name: "1" for name in THREAD_VARIABLES}}
    return subprocess.call([sys.executable, "-m", "simulator.training", *argv], env=env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.training", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help=f"output .npz (default: {WEIGHTS_PATH})")
    parser.add_argument("--seed", type=int, default=SETTINGS.seed, help="seed of the initial weights and batch order")
    parser.add_argument("--steps", type=int, default=SETTINGS.steps, help="number of Adam steps")
    parser.add_argument("--quiet", action="store_true", help="print only the final report")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    settings = dataclasses.replace(SETTINGS, seed=args.seed, steps=args.steps)

    def progress(report: StepReport) -> None:
        if report.step % PROGRESS_EVERY == 0 or report.step == settings.steps:
            print(f"step {report.step:5d}/{settings.steps}  loss {report.loss:.3f}  lr {report.lr:.2e}", flush=True)

    start = time.perf_counter()
    try:
        report = retrain(args.out, settings, None if args.quiet else progress)
    except SimulatorError as exc:
        print(f"python -m simulator.training: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"saved {args.out} ({time.perf_counter() - start:.1f} s in all, corpus and evaluation included)")
    return 0


if __name__ == "__main__":
    code = run_tuned(sys.argv[1:])
    sys.exit(main() if code is None else code)
