"""``python -m tests.benchmarks``: run every benchmark and print one JSON object with the figures."""

from __future__ import annotations

import argparse
import json
import sys

from .report import run_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--toy-runs", type=int, default=2000, help="timed toy forward passes (default 2000)")
    parser.add_argument("--gpt2-runs", type=int, default=15, help="timed GPT-2-shaped passes per engine (default 15)")
    parser.add_argument("--skip-gpt2", action="store_true",
                        help="no GPT-2-sized model: no PyTorch comparison and no memory figures (they need ~2 GB)")
    parser.add_argument("--skip-window", action="store_true", help="no window figures (step, edit, scrub, startup)")
    parser.add_argument("--skip-long-input", action="store_true",
                        help="no keystroke at 1,024 tokens of GPT-2 small (its 'before' run needs ~9 GB)")
    parser.add_argument("--only-long-input", action="store_true", help="only the keystroke at 1,024 tokens, before and after")
    parser.add_argument("--quick", action="store_true", help="fewer samples everywhere (a rough run in about a minute)")
    args = parser.parse_args(argv)
    if args.quick:
        args.toy_runs = min(args.toy_runs, 300)
        args.gpt2_runs = min(args.gpt2_runs, 3)
    if args.only_long_input:
        from .report import long_input_figures

        json.dump(long_input_figures(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    report = run_all(
        toy_runs=args.toy_runs,
        gpt2_runs=None if args.skip_gpt2 else args.gpt2_runs,
        window=not args.skip_window,
        memory=not args.skip_gpt2,
        quick=args.quick,
        long_input=not (args.skip_gpt2 or args.skip_long_input),
    )
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
