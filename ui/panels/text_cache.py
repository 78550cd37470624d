"""Texts measured and laid out once, shared by every panel that draws them.

Labels and many numbers repeat from step to step; measuring, cutting ("…") and laying out a
text costs microseconds each, which a canvas of a few panels repaints hundreds of times. These
caches are bounded (they start again when full).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF, QStaticText, QTransform

_STATIC_CACHE_LIMIT = 8192
_static_cache: dict[tuple[str, str], QStaticText] = {}
_metrics_cache: dict[str, QFontMetricsF] = {}


def _metrics(font: QFont, key: str) -> QFontMetricsF:
    metrics = _metrics_cache.get(key)
    if metrics is None:
        metrics = _metrics_cache[key] = QFontMetricsF(font)
    return metrics


def _static(text: str, font: QFont, key: str) -> QStaticText:
    """A laid-out text, shared by every panel (labels and many numbers repeat from step to step)."""
    found = _static_cache.get((text, key))
    if found is None:
        if len(_static_cache) >= _STATIC_CACHE_LIMIT:
            _static_cache.clear()
        found = QStaticText(text)
        found.setTextFormat(Qt.TextFormat.PlainText)
        found.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
        found.prepare(QTransform(), font)
        _static_cache[(text, key)] = found
    return found


class CachedFont:
    """A font with its cache key, metrics, and the widths and cut texts measured with it."""

    __slots__ = ("font", "key", "metrics", "line", "_widths", "_elided")

    def __init__(self, font: QFont) -> None:
        self.font = QFont(font)
        self.key = self.font.key()
        self.metrics = _metrics(self.font, self.key)
        self.line = self.metrics.height()
        self._widths: dict[str, float] = {}
        self._elided: dict[tuple[str, int], str] = {}

    def static(self, text: str) -> QStaticText:
        return _static(text, self.font, self.key)

    def width(self, text: str) -> float:
        found = self._widths.get(text)
        if found is None:
            if len(self._widths) >= _STATIC_CACHE_LIMIT:
                self._widths.clear()
            found = self._widths[text] = self.metrics.horizontalAdvance(text)
        return found

    def elided(self, text: str, width: float) -> str:
        """``text``, cut with "…" to fit ``width`` pixels."""
        key = (text, int(width))
        found = self._elided.get(key)
        if found is None:
            if len(self._elided) >= _STATIC_CACHE_LIMIT:
                self._elided.clear()
            found = self._elided[key] = self.metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width))
        return found


_fonts: dict[tuple[str, int, bool], CachedFont] = {}


def cached_font(base: QFont, point_size: int, bold: bool = False, base_key: str | None = None) -> CachedFont:
    """``base`` at ``point_size`` (bold or not), one shared :class:`CachedFont` per combination."""
    key = (base_key if base_key is not None else base.key(), point_size, bold)
    found = _fonts.get(key)
    if found is None:
        font = QFont(base)
        font.setPointSize(point_size)
        font.setBold(bold)
        found = _fonts[key] = CachedFont(font)
    return found
