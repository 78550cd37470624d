"""``transformer-sim``: the app's entry point."""

from __future__ import annotations

import sys

from simulator.cli import run


def main() -> None:
    sys.exit(run(["stages", *sys.argv[1:]]))
