"""Accessible names for the window's widgets, so a screen reader can say what each one is.

Names are given where a widget is known by its object name; any other widget that can take the
keyboard falls back to its tooltip (the same words a sighted user gets on hover). Panels name
themselves after their matrix and describe the cell under the keyboard's cursor (see
``ui.panels.heatmap``).
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QTabBar, QWidget

#: object name → what a screen reader says for it
ACCESSIBLE_NAMES = {
    "stageCanvas": "Stage canvas: the current stage as an equation of matrices; Tab moves into its panels",
    "pipelineNavigator": "Forward pass: every stage in order",
    "explanationText": "What happens here: the explanation of the current stage",
    "sentenceEdit": "Sentence",
    "nextTokenPlot": "Next-token probabilities chart",
    "embeddingPlot": "Embedding space chart",
    "speedBox": "Play speed",
    "layerBox": "Layer",
    "headBox": "Attention head",
    "topKBox": "How many of the most likely tokens to show",
    "temperatureSlider": "Temperature",
    "tokenChoice": "Token to append",
    "seedBox": "Sampling seed",
    "topPBox": "Top-p for sampling",
}


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).strip()


def name_widgets(root: QWidget) -> None:
    """Give every widget under ``root`` that has no accessible name one (known names first,
    then its tooltip); the docks' tab bars are named after what they switch between."""
    for widget in root.findChildren(QWidget):
        if widget.accessibleName():
            continue
        name = ACCESSIBLE_NAMES.get(widget.objectName()) or _plain(widget.toolTip())
        if not name and isinstance(widget, QTabBar):
            tabs = ", ".join(widget.tabText(i) for i in range(widget.count()))
            name = f"Panel tabs: {tabs}" if tabs else "Panel tabs"
        if name:
            widget.setAccessibleName(name)
