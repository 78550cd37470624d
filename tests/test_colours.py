"""Colours that mean something: readable numbers on every cell colour, scales from the bulk of
the values with outliers marked, +∞ never drawn as masked, and honest change-view scales."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui_actions import panel_for
from ui import colors
from ui.panels.heatmap import beyond_scale

MAPS = [(kind, palette) for kind in (colors.DIVERGING, colors.SEQUENTIAL) for palette in colors.PALETTES]


@pytest.mark.parametrize(("kind", "high"), MAPS)
def test_numbers_meet_4_5_to_1_contrast_on_every_cell_colour(kind: str, high: bool) -> None:
    """White on pale yellow and black on dark brown vanished in high contrast."""
    lut = colors.argb_lut(kind, high)
    values = -1.0 + 2.0 * (np.arange(colors.LUT_SIZE) + 0.5) / (colors.LUT_SIZE - 1)  # one per colour of the map
    assert np.array_equal(colors.lut_index(values, (-1.0, 1.0)), np.arange(colors.LUT_SIZE))
    white = colors.light_text(values, (-1.0, 1.0), kind, high)
    cell = colors.relative_luminance(lut)
    text = np.where(white, 1.0, 0.0)
    ratios = colors.contrast_ratio(cell, text)
    worst = int(np.argmin(ratios))
    assert ratios.min() >= 4.5, f"colour #{lut[worst] & 0xFFFFFF:06x}: {ratios[worst]:.2f}:1"


def test_contrast_ratio_matches_the_wcag_examples() -> None:
    assert colors.contrast_ratio(1.0, 0.0) == pytest.approx(21.0)
    grey = colors.relative_luminance(np.array([0xFF777777], dtype=np.uint32))[0]
    assert colors.contrast_ratio(grey, 1.0) == pytest.approx(4.48, abs=0.01)


def test_plus_infinity_is_drawn_at_the_top_of_the_scale_not_as_masked(make_main_window) -> None:
    lut = colors.argb_lut(colors.DIVERGING)
    image = colors.argb_image(np.array([[np.inf, -np.inf, np.nan, 5.0]]), (-1.0, 1.0), colors.DIVERGING)
    assert image[0, 0] == lut[-1] and image[0, 3] == lut[-1]
    assert image[0, 1] == 0 and image[0, 2] == 0  # hatched underneath
    assert beyond_scale(np.array([[np.inf, -np.inf, np.nan, 0.5, -3.0]]), (-1.0, 1.0)).tolist() == [[0, 0], [0, 4]]


def test_the_attention_sink_does_not_set_the_scale_of_the_queries(make_main_window) -> None:
    """fluffy's 84.85 "rest on the first word" entries set a ±100 scale on Q and K: the keys
    (at most 8) and the noun's own question (2.83) were invisible."""
    window = make_main_window("fluffy", text="a fluffy blue creature", stage="blocks.0.attn.q")
    panel = panel_for(window, "blocks.0.attn.q")
    low, high = panel.matrix.levels
    assert low == -high and 2.83 < high < 84.85
    assert len(panel.beyond_cells) >= 3  # the sink entries: saturated and marked
    assert "beyond the scale" in panel.subtitle()


def test_one_huge_typed_weight_does_not_wash_out_its_matrix(make_main_window) -> None:
    window = make_main_window("fluffy", text="a fluffy blue creature", stage="blocks.0.attn.q")
    state = window.state
    before = panel_for(window, "blocks.0.attn.W_Q").matrix.levels
    assert window.weight_editor.set_value("blocks.0.attn.W_Q", (0, 27, 1), "1e30")
    w_q = panel_for(window, "blocks.0.attn.W_Q")
    assert w_q.matrix.levels[1] <= 2 * before[1], "one typed 1e30 set W_Q's whole scale"
    assert len(w_q.beyond_cells) == 1
    assert np.isfinite(state.trace["blocks.0.attn.q"]).all()


def test_a_tiny_change_is_not_drawn_saturated(make_main_window) -> None:
    window = make_main_window("fluffy", text="a fluffy blue creature", stage="blocks.0.attn.q")
    stage_levels = window.canvas.result_panel.matrix.levels
    old = float(window.state.model.params["blocks.0.attn.W_Q"][0, 27, 1])
    assert window.weight_editor.set_value("blocks.0.attn.W_Q", (0, 27, 1), repr(old + 0.002))
    window.actions["difference"].trigger()
    change = window.canvas.result_panel.matrix
    assert change.title.startswith("Change")
    peak = float(np.abs(change.data).max())
    assert 0 < peak < 0.01
    assert change.levels[1] >= 0.1 * stage_levels[1] > 100 * peak
    assert window.state.undo_stack.undoText().startswith("edit"), "switching the view on is not an edit"


def test_next_token_probabilities_of_15_percent_are_not_drawn_on_an_empty_map(make_main_window) -> None:
    window = make_main_window("fluffy", text="a fluffy blue creature", stage="probs")
    probs = window.state.trace["probs"]
    assert 0.1 < float(probs.max()) < 0.2
    assert window.canvas.result_panel.matrix.levels == (0.0, 0.2)
    window.state.set_stage("blocks.0.attn.pattern")
    assert window.canvas.result_panel.matrix.levels == (0.0, 1.0)  # attention weights keep 0..1


def test_a_confident_model_keeps_the_whole_probability_scale(make_main_window) -> None:
    window = make_main_window("tiny-trained", stage="probs")
    assert float(window.state.trace["probs"].max()) > 0.5
    assert window.canvas.result_panel.matrix.levels == (0.0, 1.0)


def test_high_contrast_gaps_and_operators_follow_the_theme(make_main_window) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QWidget

    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    strip = window.canvas.findChild(QWidget, "canvasStrip")
    normal = strip.palette().color(QPalette.ColorRole.Window)
    window.actions["contrast"].trigger()
    assert strip.palette().color(QPalette.ColorRole.Window).name() == "#000000"
    labels = [label for label in window.canvas.findChildren(type(window.readout)) if label.text() in ("·", "+", "=")]
    assert labels and all(label.palette().color(QPalette.ColorRole.WindowText).name() == "#f0f0f0" for label in labels)
    window.actions["contrast"].trigger()
    assert strip.palette().color(QPalette.ColorRole.Window) == normal


def _simulate_deuteranopia(argb: np.ndarray) -> np.ndarray:
    """Viénot, Brettel and Mollon's (1999) linear-RGB projection for deuteranopes."""
    words = np.asarray(argb, dtype=np.uint32)
    rgb = np.stack([(words >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]])
    return np.clip(linear @ matrix.T, 0, 1)


def test_the_default_maps_keep_negative_and_positive_apart_for_deuteranopes() -> None:
    """Classic blue–red's two ends are told apart by red–green too; the safe map's by blue–yellow."""
    lut = colors.argb_lut(colors.DIVERGING, colors.SAFE)
    seen = _simulate_deuteranopia(lut)
    low, high = seen[:64].mean(axis=0), seen[-64:].mean(axis=0)
    assert low[2] - low[0] > 0.2 and high[0] - high[2] > 0.2  # bluish below zero, yellowish above
    sequential = colors.relative_luminance(colors.argb_lut(colors.SEQUENTIAL, colors.SAFE))
    assert np.all(np.diff(sequential) < 0)  # light to dark without a bump: order reads in grey too


def test_colour_blind_safe_is_the_default_and_a_view_choice(make_main_window) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    state = window.state
    assert state.view.colour_blind_safe and window.actions["colour_safe"].isChecked()
    panel = window.canvas.result_panel
    safe = panel._image.copy()
    window.actions["colour_safe"].trigger()
    assert not state.view.colour_blind_safe and colors.palette_for(state.view) == colors.CLASSIC
    assert window.canvas.result_panel._image != safe
    state.undo_stack.undo()
    assert state.view.colour_blind_safe


def test_without_numbers_negative_cells_carry_a_sign_mark(make_main_window, qtbot) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.scores")
    window.resize(1600, 1000)
    qtbot.wait(20)
    panel = window.canvas.result_panel
    negatives = int((np.asarray(panel.matrix.data) < 0).sum())
    assert negatives > 0 and panel.sign_marks() == 0  # numbers show the sign
    window.actions["numbers"].trigger()
    assert panel.sign_marks() == negatives
