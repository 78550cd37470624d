"""Colour maps and the look of masked cells, chosen so colours mean the same thing everywhere.

Signed quantities use a diverging map (one colour below zero, white at zero, another above);
quantities in 0..1 (attention patterns, probabilities) use a sequential map from light to dark.
Three palettes: colour-blind safe (the default: blue–orange, and a perceptually uniform
white-to-purple ramp, both readable with red–green colour blindness), classic (blue–red), and
high contrast (on black, for projectors). Masked cells are hatched grey, which is not a colour
of any scale. Functions take the palette's name, or a bool for "high contrast or not" (False
is the default palette).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

DIVERGING = "diverging"
SEQUENTIAL = "sequential"

SAFE = "safe"
CLASSIC = "classic"
HIGH = "high"
#: palette names with what the View menu calls them
PALETTES = {SAFE: "Colour-blind safe", CLASSIC: "Classic blue–red", HIGH: "High contrast"}

_MAPS = {
    (DIVERGING, SAFE): ["#1b4f9c", "#79a8d8", "#ffffff", "#f3a05a", "#a14c00"],
    (SEQUENTIAL, SAFE): ["#ffffff", "#fec287", "#f1605d", "#9e2f7f", "#2c115f"],
    (DIVERGING, CLASSIC): ["#1f4e9c", "#6b9bd1", "#ffffff", "#e8836b", "#a8201f"],
    (SEQUENTIAL, CLASSIC): ["#ffffff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
    (DIVERGING, HIGH): ["#00e5ff", "#006b78", "#000000", "#8a6d00", "#ffe600"],
    (SEQUENTIAL, HIGH): ["#000000", "#3b0f70", "#b63679", "#fb8861", "#fcfdbf"],
}


def palette_name(palette: bool | str) -> str:
    """A palette's name: True is high contrast, False the default (colour-blind safe)."""
    if isinstance(palette, str):
        if palette not in PALETTES:
            raise ValueError(f"unknown palette {palette!r}: one of {', '.join(PALETTES)}")
        return palette
    return HIGH if palette else SAFE


def palette_for(view: object) -> str:
    """The palette a view draws with: high contrast wins, else colour-blind safe or classic."""
    if getattr(view, "high_contrast", False):
        return HIGH
    return SAFE if getattr(view, "colour_blind_safe", True) else CLASSIC

HIGHLIGHT = QColor("#ff9f1c")
HOVER = QColor("#111111")
HOVER_HIGH_CONTRAST = QColor("#ffffff")


def colormap(kind: str, high_contrast: bool | str = False) -> pg.ColorMap:
    colors = _MAPS[(kind, palette_name(high_contrast))]
    return pg.ColorMap(np.linspace(0.0, 1.0, len(colors)), [QColor(c) for c in colors])


LUT_SIZE = 256


@lru_cache(maxsize=None)
def argb_lut(kind: str, high_contrast: bool | str = False) -> np.ndarray:
    """The colour map as :data:`LUT_SIZE` opaque 0xAARRGGBB words (for a premultiplied ARGB32 image)."""
    rgb = colormap(kind, high_contrast).getLookupTable(0.0, 1.0, LUT_SIZE, alpha=False).astype(np.uint32)
    lut = np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    lut.flags.writeable = False
    return lut


def lut_index(data: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Which entry of the colour map each value gets: ``levels`` spread over the map, values
    beyond them (+∞ too) clipped to its ends; NaN and −∞ get entry 0 (they are drawn hatched)."""
    lo, hi = levels
    span = hi - lo
    if not (np.isfinite(lo) and np.isfinite(span) and span > 0):  # no usable scale: the bottom colour
        lo, scale = 0.0, 0.0
    else:
        scale = (LUT_SIZE - 1) / span
    data = np.asarray(data, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        clean = np.where(np.isposinf(data), hi if np.isfinite(hi) else 0.0, np.where(np.isfinite(data), data, lo))
        scaled = (clean - lo) * scale
        return np.clip(np.nan_to_num(scaled, nan=0.0), 0, LUT_SIZE - 1).astype(np.intp)


def argb_image(data: np.ndarray, levels: tuple[float, float], kind: str, high_contrast: bool | str = False) -> np.ndarray:
    """A 2-D array of values as 0xAARRGGBB words: ``levels`` spread over the colour map (values
    outside, +∞ included, are clipped to its ends); NaN and −∞ fully transparent (hatched below)."""
    out = argb_lut(kind, high_contrast)[lut_index(data, levels)]
    hidden = np.isnan(data) | np.isneginf(data)
    if hidden.any():
        out[hidden] = 0
    return out


def relative_luminance(argb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of 0xAARRGGBB colours (alpha ignored)."""
    words = np.asarray(argb, dtype=np.uint32)
    channels = np.stack([(words >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1) / 255.0
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(luminance_a: np.ndarray | float, luminance_b: np.ndarray | float) -> np.ndarray:
    """WCAG 2 contrast ratio (1 to 21) between colours of the given relative luminances."""
    a, b = np.asarray(luminance_a, dtype=np.float64), np.asarray(luminance_b, dtype=np.float64)
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


@lru_cache(maxsize=None)
def light_text_lut(kind: str, high_contrast: bool | str = False) -> np.ndarray:
    """Per colour-map entry: True where white text contrasts more than black with the cell.
    The better of the two always reaches at least 4.58:1 (WCAG AA asks 4.5:1)."""
    luminance = relative_luminance(argb_lut(kind, high_contrast))
    white = contrast_ratio(luminance, 1.0)
    black = contrast_ratio(luminance, 0.0)
    lut = white > black
    lut.flags.writeable = False
    return lut


def light_text(values: np.ndarray, levels: tuple[float, float], kind: str, high_contrast: bool | str) -> np.ndarray:
    """True where text on a cell of this value should be white, False where black (arrays too):
    whichever contrasts more with the cell's own colour."""
    return light_text_lut(kind, high_contrast)[lut_index(np.asarray(values), levels)]


def masked_brush(high_contrast: bool | str = False) -> QBrush:
    brush = QBrush(QColor("#7a7a7a" if palette_name(high_contrast) == HIGH else "#9e9e9e"), Qt.BrushStyle.BDiagPattern)
    return brush


def masked_background(high_contrast: bool | str = False) -> QColor:
    return QColor("#3a3a3a" if palette_name(high_contrast) == HIGH else "#e6e6e6")


def text_color_for(value: float, levels: tuple[float, float], kind: str, high_contrast: bool | str) -> QColor:
    """Black or white, whichever reads better on the cell's colour."""
    return QColor("#ffffff") if light_text(np.asarray(value), levels, kind, high_contrast) else QColor("#000000")
