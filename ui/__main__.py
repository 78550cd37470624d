"""Entry point for ``python -m ui``."""

from ui.app import main

main()
