"""Data shipped with the app: presets, lesson and explanation texts, icons.

Kept as a package so that an installed wheel carries it next to ``simulator`` and ``ui``.
"""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
